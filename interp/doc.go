// Package interp binds a checked .dst program to a model's parameters and runs it inside
// a training loop.
//
// # Compiling
//
// [Compile] takes a [lang.Program] (from [Check], or from lang with the same builtin
// table) and an [Options] value naming the parameters, the optimizer, the host's own
// builtins and a logger, and returns a [Scheduler]. Compilation does everything that can
// fail before training: each policy's selected parameter names are mapped to their
// *nn.Param once, its method is built into a stdlib value (pruner, regularizer, learning
// rate schedule) or bound to a host builtin, and the value's Check runs against the
// parameters. A problem is reported as [lang.Diagnostics] naming the policy's source
// range. Quantization-aware training and distillation teachers are installed and loaded
// here, at compile time (quant.go describes the quantize and distill policies).
// [CompileSource] does Check and Compile in one step.
//
// # Running
//
// A Scheduler implements [nn.Hooks]: pass it as [nn.TrainConfig.Hooks], or call its
// methods from a hand-written loop in the order of the event model ([nn.Hooks]). At every
// event the policies run in declaration order:
//
//   - pruners compute new masks at OnEpochBegin of each active epoch (at the second
//     minibatch with skip_first_minibatch), or every K global steps at OnMinibatchBegin
//     for `every K steps` windows; policies `before training` and `after training` run at
//     OnTrainingBegin and OnTrainingEnd. Masks outlive their policy's window;
//   - masks are re-applied at OnMinibatchEnd, so host loops whose optimizer knows
//     nothing of masks are safe; nn's optimizers already mask values and momentum after
//     every step, and a host using them sets Options.OptimizerMasks to skip that pass;
//   - forward_only masks (with double_copies, mask_gradients, keep_mask) are held by
//     the Scheduler, applied at OnMinibatchBegin for the forward pass only and, with
//     keep_mask, made permanent after the window's last epoch; discard_masks drops a
//     policy's masks at OnMinibatchEnd. fold_bn ranks or thresholds a convolution's
//     weight scaled by its following batch normalisation ([nn.FoldedWeight]; it needs
//     Options.Model);
//   - regularizers add their loss to [nn.Step.Loss] and their gradient to the parameters
//     in BeforeBackward on every minibatch of an active epoch; regularizers with a
//     threshold zero the small weights or groups at OnMinibatchEnd, and with keep_mask the
//     last threshold mask of the window becomes permanent;
//   - learning-rate policies set the optimizer's rate at OnEpochBegin from the closed-form
//     schedule, relative to the window's start (PyTorch semantics), or per minibatch for
//     `every 1 steps` windows; plateau reduces the rate at OnEpochEnd. When a schedule's
//     window ends and no other lr policy is active, the base rate (the optimizer's rate at
//     compile time) is restored;
//   - thin policies thin the model (Options.Model) at the first minibatch of their epochs,
//     and `then thin` thins after the policy's last active epoch.
//
// # Errors and panics
//
// A hook returns a [*RuntimeError] naming the policy's source range (file:line:col), the
// event, the epoch and the step. A panic inside a builtin is recovered at the hook
// boundary and returned as a RuntimeError carrying the panic value and stack; the
// Scheduler stays usable. Nothing is swallowed.
//
// # State
//
// Masks live in the parameters (and so in checkpoints). What a checkpoint does not hold
// — the policies' caches (the sensitivity pruner's σ, the splicing pruner's μ and σ),
// the plateau schedule's counters, forward-only masks, the base and current learning
// rates and whether before-training policies already ran — is saved by
// [Scheduler.MarshalState] as JSON and restored by [Scheduler.RestoreState]. Randomised
// pruners draw from generators determined by their seed and the training position, so a
// resumed run draws the same numbers as an uninterrupted one.
//
// # Concurrency
//
// A Scheduler is not safe for concurrent use; it belongs to one training run. Several
// Schedulers compiled from the same Program may run at once on different models.
package interp
