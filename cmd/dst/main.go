// Command dst trains, compresses, checks and analyses neural networks driven by .dst
// compression schedules. Run `dst --help` for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"
)

// Globals is what every command's Run method receives: the streams to write to and a
// context cancelled on Ctrl-C or SIGTERM.
type Globals struct {
	Ctx    context.Context `kong:"-"`
	Stdout io.Writer       `kong:"-"`
	Stderr io.Writer       `kong:"-"`
}

// CLI is dst's command line.
type CLI struct {
	Train       TrainCmd       `cmd:"" help:"Train a model from the zoo (no compression schedule)."`
	Run         RunCmd         `cmd:"" help:"Train under a .dst compression schedule (or an experiment .hcl); --resume DIR continues a run."`
	Eval        EvalCmd        `cmd:"" help:"Evaluate a checkpoint on the test set."`
	Models      ModelsCmd      `cmd:"" help:"List the model zoo with parameter counts."`
	Version     VersionCmd     `cmd:"" help:"Print dst's version and the kernel path it runs."`
	Check       CheckCmd       `cmd:"" help:"Check .dst schedules against a model; report every error with its position."`
	Fmt         FmtCmd         `cmd:"" help:"Format .dst schedules in the canonical layout (like gofmt)."`
	Summary     SummaryCmd     `cmd:"" help:"Per-layer shapes, parameters, non-zeros, MACs and memory of a model or checkpoint."`
	Sensitivity SensitivityCmd `cmd:"" help:"Prune one parameter at a time to each level and evaluate (shardable), or merge shards."`
	Stats       StatsCmd       `cmd:"" help:"Collect activation statistics (mean, std, extremes, sparsity, APoZ) per layer."`
	Plot        PlotCmd        `cmd:"" help:"Draw PNG charts of a finished run: sparsity bars, accuracy, loss, total sparsity."`
	Thin        ThinCmd        `cmd:"" help:"Remove zeroed filters and channels from a checkpoint (thinning)."`
	Import      ImportCmd      `cmd:"" help:"Convert a Distiller YAML schedule into a .dst script."`
	Export      ExportCmd      `cmd:"" help:"Write a checkpoint as an int8 model file (quantizing it after training) or as an ONNX model."`
	Bench       BenchCmd       `cmd:"" help:"Measure dense, sparse and thinned inference of a checkpoint side by side (and PyTorch with --torch)."`
	Repl        ReplCmd        `cmd:"" help:"Interactive shell: load a model, prune or quantize step by step, evaluate, undo."`
}

// exitError carries a process exit code through a command's returned error.
type exitError struct {
	Code int
	Err  error
}

func (e *exitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}
func (e *exitError) Unwrap() error { return e.Err }

// exitCode wraps err so that dst exits with code; a nil err with a non-zero code exits
// silently with that code.
func exitCode(code int, err error) error { return &exitError{Code: code, Err: err} }

// usageError marks err as a mistake in how dst was invoked (exit status 2).
func usageError(format string, args ...any) error {
	return exitCode(2, fmt.Errorf(format, args...))
}

func main() {
	// Training allocates nothing per minibatch, and the data set is most of the live
	// heap, so a tight GC target costs little time and keeps the peak memory close to
	// the live size (GOGC in the environment still wins).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses args, runs the chosen command and returns the exit status: 0 on success,
// 1 when the command failed, 2 for usage errors (bad flags, missing files, unknown
// names). Errors are printed as one line, never as a stack trace.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	switch {
	case len(args) == 0:
		args = []string{"--help"} // the commands, not an error about the missing one
	case len(args) == 1 && args[0] == "--version":
		args = []string{"version"}
	}
	var cli CLI
	exited := -1
	parser, err := kong.New(&cli,
		kong.Name("dst"),
		kong.Description("dst: neural-network compression schedules as a typed language, on a fast CPU runtime."),
		kong.UsageOnError(),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.ValueFormatter(helpWithDefault),
		kong.Writers(stdout, stderr),
		kong.Exit(func(c int) { exited = c; panic(exitSentinel{}) }),
	)
	if err != nil {
		fmt.Fprintf(stderr, "dst: internal error: %v\n", err)
		return 1
	}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(exitSentinel); ok {
				code = exited
				return
			}
			panic(r)
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "dst: %v\n", err)
		if kctx != nil && len(args) > 0 {
			fmt.Fprintf(stderr, "run 'dst %s --help' for usage\n", kctx.Command())
		}
		return 2
	}
	err = kctx.Run(&Globals{Ctx: ctx, Stdout: stdout, Stderr: stderr})
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(stderr, "dst: %v\n", ee.Err)
		}
		return ee.Code
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "dst: interrupted")
		return 130
	}
	fmt.Fprintf(stderr, "dst: %v\n", err)
	return 1
}

// exitSentinel unwinds kong's --help exit without calling os.Exit inside run.
type exitSentinel struct{}

// helpWithDefault is kong's help text of a flag followed by its default value, unless the
// text already speaks of the default or the default is empty, false or zero.
func helpWithDefault(v *kong.Value) string {
	h := kong.DefaultHelpValueFormatter(v)
	if !v.HasDefault || v.Default == "" || v.Default == "false" || v.Default == "0" || strings.Contains(strings.ToLower(h), "default") {
		return h
	}
	return strings.TrimSuffix(h, ".") + " (default " + v.Default + ")."
}
