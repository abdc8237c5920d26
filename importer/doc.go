// Package importer converts Intel Distiller's YAML compression schedules into .dst
// scripts with the same meaning.
//
// [Convert] takes the YAML text and returns the .dst source, formatted by lang.Format
// and headed by a comment naming its source; [Import] returns the details as well (the
// model the file names, the parameters it selects). Passing Options.Builtins (normally
// stdlib.Signatures()) checks the script, against Options.Params when given (a zoo
// model's table, or [Result.Synthetic] of a first import when dst lacks the model).
// The package imports lang only; it knows nothing of tensors.
//
// # What becomes what
//
// Every policy becomes one or more statements, in policy order:
//
//   - pruners: AutomatedGradualPruner → `prune W agp si -> sf`; the ranked structure
//     pruners → `prune W filters|channels|blocks level s by l1|l2|apoz|...` (their _AGP
//     forms → `agp si -> sf by ...`, BernoulliFilterPruner_AGP → `by bernoulli`);
//     group_dependency Leader → leader; kwargs.block_shape → block=[...];
//     SparsityLevel/Magnitude/Sensitivity/SplicingPruner take a dictionary, so parameters
//     sharing a value share a statement (level, threshold, sensitivity, splicing);
//     BaiduRNNPruner → rnn; RandomLevelStructureParameterPruner → random a -> b;
//     StructureParameterPruner → threshold with criterion=. Distiller's ranked Rows is
//     dst's channels (both remove input columns of a 2-D weight).
//   - pruner policy args: keep_mask, mask_on_forward_only (forward_only), mask_gradients,
//     use_double_copies (double_copies), discard_masks_at_minibatch_end (discard_masks),
//     skip_first_minibatch, fold_batchnorm (fold_bn) become flags; levels replaces the
//     pruner's levels; mini_batch_pruning_frequency K becomes `every K steps`.
//   - regularizers: L1Regularizer → l1 (threshold when threshold_criteria is set),
//     GroupLassoRegularizer → group_lasso with its group (2D is kernels, 4D is layers) and
//     threshold=max|mean_abs, GroupVarianceRegularizer → group_variance channels; policy
//     arg keep_mask → keep_mask.
//   - quantizers: DorefaQuantizer, PACTQuantizer, WRPNQuantizer,
//     QuantAwareTrainRangeLinearQuantizer (qat) `from epoch 0`, the whole run, which is
//     dst's only window for quantization-aware training (a policy must start at epoch 0
//     with frequency 1; its ending_epoch becomes a comment saying to run that many
//     epochs); PostTrainLinearQuantizer (which no policy schedules) → `quantize * linear
//     ... after training`. Overrides become `override LAYER ...` lines in declaration
//     order (the first match wins in both); null bits for weights and activations →
//     float; an override key that is a regex becomes a regex over the layers' weights.
//     Quantization-aware training has one bit width per run and keeps biases in floating
//     point, so its overrides may only say float, and bits_bias is rejected (qat's
//     implicit default of 32 becomes a comment); a PostTrainLinearQuantizer override's
//     bits_bias, which Distiller does not use, becomes a comment.
//   - lr_schedulers: see below. extensions: the thinning classes → `thin filters`,
//     `thin channels` or `thin contract` at the policy's epochs.
//
// # Windows
//
// A policy's `starting_epoch: S, ending_epoch: E, frequency: F` is `from epoch S to E
// every F` unchanged (quantizer policies excepted, see above): both ends are half-open, so the last active epoch is the last of
// range(S, E, F). `epochs: [a, b]` is `at epochs [a, b]`. Learning-rate policies are the
// exception, because Distiller steps a scheduler at the end of each active epoch with the
// absolute epoch of the next one and keeps the last rate after the window (lr.go explains
// it): the importer computes the rate multiplier Distiller gives every epoch and writes
// `lr multistep` at the epochs where it changes, the one dst lr statement that counts
// absolute epochs and keeps its last rate. ReduceLROnPlateau is rejected: after its
// ending_epoch Distiller holds the rate, which dst's lr plateau cannot.
//
// # Names
//
// Distiller's parameter names carry DataParallel's module. component
// (module.layer1.0.conv1.weight, and features.module.3.weight for AlexNet and VGG); the
// importer writes them without it. Distiller's '*' default key applies to every
// parameter (biases and batch-norm included), so it becomes the regex /.*/ minus the
// parameters named explicitly.
//
// # Errors
//
// Nothing is dropped silently. Unknown classes, unknown keys, duplicate keys, bad values
// and arguments dst cannot honour are [Error]s at the YAML line and column, collected in
// an [ErrorList]; the message names the section, component or policy and the key. A
// file that is not a schedule (an AMC layer list, activation statistics) is a
// [*NotScheduleError]. Settings that change nothing (a component no policy schedules,
// keep_mask without a threshold, a level of 0) are written as comments in the output.
// Constructs the language cannot express are rejected with the reason: per-activation
// quantizer overrides (ReLU modules), input_overrides, separate activation and weight
// modes, null top-level bit widths, per-layer bit widths and bias bit widths in
// quantization-aware training, quantization-aware training that starts after epoch 0,
// AGP driven every K mini-batches, a plateau schedule that holds its rate after its
// window.
package importer
