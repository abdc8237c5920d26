// Package repl is dst's interactive shell: load a model, prune or quantize it step by
// step, evaluate, undo.
//
// # Engine and terminal
//
// The engine is a [Session]: it holds the model, its optimizer, the data (loaded on the
// first command that needs it), the `let` bindings and the live schedule, and runs one
// complete input at a time with [Session.Exec], writing results to Config.Out and problems
// (as lang diagnostics positioned at `<repl>:line:col`) to Config.Err. A Session knows
// nothing of terminals, so tests and scripts drive it directly. [Run] is the thin liner
// layer on top (history file, tab completion from [Session.Complete], Ctrl-C, Ctrl-D);
// [RunScript] reads inputs from any reader without prompts.
//
// # Inputs
//
// An input is one line, or several while brackets or braces are open ([NeedsMore]). It is
// a command (params, show, sparsity, summary, eval, train, schedule, undo, save, save!,
// load, help, :type, exit) or a .dst statement. `save FILE` writes a new file only;
// `save! FILE` may replace one, but never the checkpoint the session started from
// (Config.Checkpoint) or read with `load`. Statements:
//
//   - `let NAME = EXPR` binds a name for every later statement;
//   - a statement without a window (`prune fc1 level 50%`) runs now: it is compiled with
//     the window `before training`, together with the bindings, and its OnTrainingBegin
//     hook fires at once. A method that cannot run before training but has a default
//     window (`regularize fc1 l1 1e-4` → `from epoch 0`) joins the schedule instead;
//   - a statement with a window joins the live schedule, checked together with the
//     statements already in it (so two policies that fight over the same weights are
//     reported with both locations). `train` compiles the schedule into one
//     [interp.Scheduler] and passes it to [nn.Train]; the epoch position is kept across
//     `train` commands, so `at epoch 3` means the fourth epoch of the session. The
//     compiled schedule and its state (whether `before training` policies ran, plateau
//     counters, cached statistics) carry over between `train` commands until the
//     schedule changes; a changed schedule is compiled afresh, so its `before training`
//     policies run at the next `train`. `after training` policies run at the end of
//     every `train`.
//
// `train N steps` trains the next N minibatches of the current epoch (the training set
// in order, shuffled within the slice) without evaluating; the epoch position advances
// when the steps have covered the training set. `train N epochs` always starts a whole
// epoch at the current position.
//
// # Undo
//
// Every command that changes the model — a statement that runs now, a statement that
// joins the schedule, train, load — first pushes a snapshot of every parameter's value
// and mask, every buffer, the optimizer's state and learning rate, the epoch position
// and the schedule. `undo` pops it. Snapshots copy the tensors, including their shapes,
// so undoing a thinning step restores the full layers. The stack holds the last
// Config.UndoDepth snapshots.
//
// # Cancellation
//
// Exec takes a context; cancelling it (the terminal layer does on Ctrl-C) stops eval and
// train between minibatches. The command reports what it finished, and the session
// carries on.
//
// A Session is not safe for concurrent use.
package repl
