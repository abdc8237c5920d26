// Package analysis answers the questions asked before a compression schedule is chosen:
// where the compute is, which parameters tolerate pruning, and which channels never
// fire. It is what `dst summary`, `dst sensitivity`, `dst stats` and `dst plot` run.
//
// # Summaries
//
// [Summarize] runs a batch-1 forward pass and reports, for every Conv2d, Linear and
// BatchNorm2d layer, its shapes, parameter count, non-zeros, multiply-accumulates (MACs)
// and weight memory, dense and after sparsity. MACs follow Distiller's model performance
// summary (catalog §4.2): a convolution costs volume(OFM)·(C_in/groups)·kh·kw, a linear
// layer in·out, biases and every other layer nothing. Shapes are the current ones, so a
// thinned model is counted at its reduced size.
//
// # Sensitivity analysis
//
// [Sweep] prunes one parameter at a time to each sparsity level — exactly ⌊s·n⌋
// weights of smallest magnitude ([stdlib.LevelPruner]), or the fraction s of the filters
// or channels of lowest mean |w| ([stdlib.StructurePruner] with [stdlib.L1]) — evaluates
// the model, and restores the parameter's values and mask bit for bit (catalog §4.3).
// The (parameter, level) points are independent, so a sweep splits into shards: shard i
// of n evaluates the points whose index j in parameter-major order has j mod n = i.
// Each shard writes a [Part]; [Merge] checks that the parts belong to one sweep and
// cover it exactly once, and returns the same [Result] an unsharded sweep gives, so
// [Result.WriteCSV] writes byte-identical files.
//
// # Activation statistics
//
// [CollectStats] observes every layer's output over a number of batches and keeps, per
// layer, the mean, standard deviation, extremes, the means of per-sample extremes (for
// range calibration), the fraction of zeros, and per channel the mean and the average
// percentage of zeros (APoZ). [Stats.Activations] feeds the APoZ and mean-activation filter
// rankers of [stdlib.StructurePruner].
//
// # Plots
//
// [PlotSensitivity] draws top-1 against sparsity, one curve per parameter, and
// [PlotRun] draws a finished run's per-layer sparsity bars and per-epoch accuracy, loss
// and total-sparsity curves, all as PNG images with gonum.org/v1/plot.
//
// Nothing in this package is safe for concurrent use on the same model.
package analysis
