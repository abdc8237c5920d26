// Package stdlib holds the compression algorithms a dst script can name: element and
// structure pruners, regularizers, learning-rate schedules and the sparsity figures a run
// reports. Each algorithm is a plain Go value — a config struct with exported fields
// whose contracts are documented — acting on [nn.Param] values; the interpreter builds
// these values from a checked script and calls them from its hook closures, and a Go
// host may use them directly in its own training loop.
//
// # Semantics
//
// The algorithms follow Intel's Distiller (see shared/reference/distiller-catalog.md)
// formula for formula. Where Distiller's behaviour is a bug, dst does the right thing and
// the doc comment says so: [LevelMask] zeroes exactly k weights even with ties,
// [MeanActivation] ranking prunes the filters with the lowest mean activation, the
// channels+layers group lasso works, and [Rows]/[Cols] always mean the rows and columns
// of the stored out×in matrix.
//
// # Pruners and masks
//
// A [Pruner] computes a 0/1 mask for each parameter it is given and installs it with
// [nn.Param.SetMask], which also zeroes the pruned values. A mask is recomputed from the
// current (already masked) values, so a weight pruned once stays pruned under every
// monotone schedule. Keeping pruned weights at zero during training — re-applying masks
// after every optimizer step and masking the optimizer's momentum — is the training
// loop's job.
//
// # State
//
// Pruners that cache statistics on first use (the sensitivity pruner's σ, the splicing
// pruner's μ and σ) keep them in the pruner value, keyed by parameter name, and expose
// them through [Stateful] so a checkpoint can carry them. Randomised pruners draw from a
// generator seeded by their Seed field and the training position, so a resumed run draws
// the same numbers as an uninterrupted one. There is no package-level mutable state.
//
// # Concurrency
//
// A pruner or regularizer value is not safe for concurrent use; the functions that take
// no receiver are.
package stdlib
