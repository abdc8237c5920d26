// Package stdlib holds the compression algorithms a dst script can name: element and
// structure pruners, regularizers, learning-rate schedules and the sparsity figures a run
// reports, together with their signature table ([Signatures]). Each algorithm is a plain
// Go value — a config struct with exported fields whose contracts are documented —
// acting on [nn.Param] values. The interpreter builds these values from checked policies
// with [NewPruner], [NewRegularizer] and [NewLRPolicy] and calls them from its hook
// closures; a Go host may also use them directly in its own training loop. Quantization
// and knowledge distillation live here too; their overviews head quant.go and
// distill.go.
//
// # Semantics
//
// The algorithms follow Intel's Distiller (github.com/IntelLabs/distiller) formula for
// formula. Where Distiller's behaviour is a bug, dst does the right thing and
// the doc comment says so:
//
//   - [LevelMask] zeroes exactly ⌊s·n⌋ weights even when many are tied (ties broken by
//     index), where Distiller zeroes every weight tied at the cut;
//   - [LevelCount] absorbs float rounding (0.29·100 counts 29, not 28);
//   - [AGP.Target] is exactly the initial and final sparsity at the window's ends;
//   - [MeanActivation] ranking prunes the filters with the lowest mean activation;
//   - the channels+layers group lasso ([ParseGroups]) works;
//   - [Rows] and [Cols] always mean the rows and columns of the stored out×in matrix, in
//     the pruners, the regularizers and [Sparsity].
//
// # Pruners and masks
//
// A [Pruner] computes a 0/1 mask for each parameter it is given and installs it with
// [nn.Param.SetMask], which also zeroes the pruned values. Its Check method validates the
// configuration against the parameters before training, so Prune does not fail for shape
// reasons. A mask is computed from the current (already masked) values, so a weight
// pruned once stays pruned under every monotone schedule such as [AGP]. Keeping pruned
// weights at zero during training — re-applying masks after every optimizer step and
// masking the optimizer's momentum — is the training loop's job (nn's optimizers do it).
//
// Element pruners: [ThresholdPruner], [SensitivityPruner], [LevelPruner], [AGPPruner],
// [BaiduRNNPruner], [SplicingPruner], [RandomPruner], [BernoulliPruner]. Structure
// pruners: [StructurePruner] (ranked by [L1], [L2], [APoZ], [MeanActivation], [Gradient]
// or [RandomRank], by a fixed fraction, an [AGP] schedule or a random range, with leader
// dependency), [StructureThresholdPruner] and [BernoulliFilterPruner]. [ValuePruner]
// runs any of them on substitute values (BatchNorm-folded weights). [ZeroGroups] lists
// the all-zero filters or channels that thinning removes; [ChannelStats] accumulates the
// activation statistics the APoZ and mean-activation rankings use.
//
// # Regularizers and schedules
//
// A [Regularizer] returns its loss term and adds its gradient to the parameters'
// gradients: [L1Regularizer], [L2Regularizer], [GroupLasso], [GroupVariance]. The
// learning-rate schedules ([StepLR], [MultiStepLR], [ExponentialLR], [CosineLR],
// [WarmupLR], [PolynomialLR], [MultiStepMultiGammaLR]) are PyTorch's closed forms, pure
// functions of the base rate and the epoch; [Plateau] is the one stateful schedule.
//
// # State
//
// Pruners that cache statistics on first use (the sensitivity pruner's σ, the splicing
// pruner's μ and σ) keep them in the pruner value, keyed by parameter name, and expose
// them through [Stateful] so a checkpoint can carry them. Randomised pruners draw from
// [Rand], a generator determined by their Seed field and the training position, so a
// resumed run draws the same numbers as an uninterrupted one. There is no package-level
// mutable state.
//
// # Concurrency and panics
//
// A pruner or regularizer value is not safe for concurrent use; the functions that take
// no receiver are. Functions panic only on programmer errors — slice lengths that do
// not match, or a regularizer used on a parameter its Check rejected — and say so.
package stdlib
