// Package dst is the root of the dst module: neural-network compression schedules as a
// small typed language, on a CPU tensor runtime of its own.
//
// The folders are the architecture; each layer imports only the ones below it
// (layering_test.go checks it with `go list -deps`):
//
//	cmd/dst   the CLI: train, eval, run, check, fmt, repl, summary, ...
//	repl      the interactive shell (liner) on top of interp
//	interp    binds a checked program to a model: the Scheduler and its hooks
//	lang      grammar, AST, checker, diagnostics, formatter (no tensors)
//	stdlib    pruners, regularizers, quantizers, LR schedules
//	nn        parameters, layers, model zoo, optimizers, training loop, checkpoints
//	data      datasets and minibatch loaders
//	ops       differentiable operations over gorgonia.org/tensor values
//	kernels   numeric loops on slices: GEMM, im2col, pooling, selection, SIMD
package dst
