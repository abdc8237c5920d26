package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/dst-dev/dst/analysis"
	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/repl"
)

// ReplCmd is the interactive shell.
type ReplCmd struct {
	Model      string  `help:"Model from the zoo (default: the checkpoint's, or simplenet_mnist)." placeholder:"NAME"`
	Checkpoint string  `help:"Checkpoint to start from (.safetensors)." type:"existingfile" placeholder:"FILE"`
	History    string  `help:"History file (default ~/.dst_history); 'none' keeps no history. A file that is not a history (binary, or not line-editor history text) is refused." placeholder:"FILE"`
	Batch      int     `help:"Minibatch size of train and eval." default:"64" placeholder:"N"`
	LR         float64 `name:"lr" help:"SGD learning rate." default:"0.01" placeholder:"X"`
	Momentum   float64 `help:"SGD momentum." default:"0.9" placeholder:"X"`
	WD         float64 `name:"wd" help:"Weight decay." default:"1e-4" placeholder:"X"`
	Seed       uint64  `help:"Seed for initialisation and shuffling." default:"0" placeholder:"N"`
	Threads    int     `help:"Worker threads (0 = all cores)." default:"0" placeholder:"N"`
	DataFlags
}

// Run starts the session: the liner loop when stdin and stdout are a terminal, and
// otherwise a script read from stdin whose results go to stdout (exit status 1 when an
// input failed). Ctrl-C cancels the running command, not the session.
func (c *ReplCmd) Run(g *Globals) error {
	if err := setThreads(c.Threads); err != nil {
		return err
	}
	if c.Batch < 1 {
		return usageError("--batch must be >= 1, got %d", c.Batch)
	}
	// Only the terminal loop keeps a history; a file that is not one is refused
	// before anything is read or written (the loop rewrites it after every input).
	interactive := isTerminal(os.Stdin) && isTerminal(g.Stdout)
	history := c.History
	switch history {
	case "none":
		history = ""
	case "":
		if home, err := os.UserHomeDir(); err == nil {
			history = filepath.Join(home, ".dst_history")
		}
	}
	if interactive && history != "" {
		if err := repl.CheckHistory(history); err != nil {
			return usageError("--history: %v; give another file, or none to keep no history", err)
		}
	}
	var (
		m     *nn.Model
		err   error
		start int
	)
	if c.Checkpoint != "" {
		if m, err = loadModel(c.Model, c.Checkpoint); err != nil {
			return err
		}
		if ci, err := nn.ReadCheckpointInfo(c.Checkpoint); err == nil {
			start = ci.Epoch + 1
		}
	} else {
		name := c.Model
		if name == "" {
			name = "simplenet_mnist"
		}
		if m, err = nn.New(name, c.Seed); err != nil {
			return usageError("%v", err)
		}
	}
	opt, err := nn.NewSGD(m.Params(), nn.SGDConfig{LR: c.LR, Momentum: c.Momentum, WeightDecay: c.WD})
	if err != nil {
		return usageError("%v", err)
	}
	s, err := repl.New(repl.Config{
		Model: m, Checkpoint: c.Checkpoint, Optimizer: opt, Batch: c.Batch, Seed: c.Seed, StartEpoch: start,
		Out: g.Stdout, Err: g.Stderr, Color: isTerminal(g.Stderr), Progress: replBar(g.Stderr),
		Data: func() (*data.Set, *data.Set, error) {
			train, test, err := c.DataFlags.load(m)
			if err != nil {
				return nil, nil, err
			}
			return train, test, nil
		},
		Summary: func(w io.Writer, m *nn.Model) error {
			sum, err := analysis.Summarize(m)
			if err != nil {
				return err
			}
			var zoo int64
			if z, err := nn.New(m.Name, 0); err == nil {
				if zs, err := analysis.Summarize(z); err == nil {
					zoo = zs.Total.MACs
				}
			}
			return writeSummary(&Globals{Stdout: w}, sum, zoo)
		},
	})
	if err != nil {
		return err
	}
	// main's context ends at the first Ctrl-C; the session must outlive Ctrl-C, so it runs
	// on its own context, which SIGTERM ends.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	defer signal.Stop(term)
	go func() {
		select {
		case <-term:
			cancel()
		case <-ctx.Done():
		}
	}()
	if !interactive {
		failed, err := repl.RunScript(ctx, s, os.Stdin)
		if err != nil {
			return err
		}
		if failed > 0 {
			return exitCode(1, fmt.Errorf("repl: %d of the inputs failed", failed))
		}
		return nil
	}
	banner := fmt.Sprintf("dst repl: %s, %d parameters, epoch position %d. Type help for the commands; Tab completes; Ctrl-C stops a command; Ctrl-D exits.",
		m.Name, m.NumParams(), start)
	return repl.Run(ctx, s, repl.LoopOptions{History: history, Banner: banner}, g.Stdout)
}

// replBar is stepBar labelled with the language's 0-based epoch numbers, which the
// repl prints everywhere else; nil when stderr is not a terminal.
func replBar(stderr io.Writer) func(p nn.Progress) {
	bar := stepBar(stderr)
	if bar == nil {
		return nil
	}
	return func(p nn.Progress) {
		p.Epoch-- // stepBar shows Epoch+1
		bar(p)
	}
}
