// Package runlog writes what a dst run reports after every epoch: the Distiller-style
// weight-sparsity table, summary.json and a CSV of the per-epoch figures, and the
// TensorBoard scalars that go with them (as tag/value pairs; the caller writes them with
// internal/tfevents, which this package does not import).
//
// # Sparsity table
//
// [Sparsity] computes one [ParamSparsity] row per weight tensor, as Distiller's
// weights_sparsity_summary does, plus totals; [SparsityTable.WriteText] prints it as an
// aligned table. Rows are kept only for 2-D and 4-D tensors whose name contains "weight"
// (see [InTable]).
//
// # summary.json and the CSV
//
// A [SummaryWriter] keeps the whole run's summary in memory and rewrites summary.json
// atomically (temporary file in the same directory, fsync, rename) after every change, so
// a reader or a killed run never sees a half-written file. A [CSVWriter] appends one row per
// epoch and flushes it to disk at once. Both accept a resumed run: [OpenSummaryWriter] and
// [AppendCSV] load what is there and drop the epochs the resumed run will redo.
//
// Non-finite metrics (a diverged run's NaN loss) are written as null in summary.json and
// read back as NaN; the CSV writes NaN, +Inf and -Inf.
//
// None of the types is safe for concurrent use; a run writes its outputs from one
// goroutine (the training loop's OnEpochEnd hook).
package runlog
