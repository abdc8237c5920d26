package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/dst-dev/dst/analysis"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/stdlib"
)

// StatsCmd collects activation statistics of a checkpoint.
type StatsCmd struct {
	Model      string `help:"Model from the zoo (default: the one the checkpoint names)." placeholder:"NAME"`
	Checkpoint string `help:"Checkpoint file (.safetensors)." required:"" type:"existingfile" placeholder:"FILE"`
	Out        string `help:"Output folder for activations.json, activations.csv and calibration.json (the range statistics 'quantize linear' reads)." required:"" type:"path" placeholder:"DIR"`
	Batches    int    `help:"Number of test minibatches to observe (0 = the whole test set)." default:"10" placeholder:"N"`
	Batch      int    `help:"Minibatch size." default:"256" placeholder:"N"`
	Threads    int    `help:"Worker threads (0 = all cores)." default:"0" placeholder:"N"`
	Force      bool   `help:"Overwrite statistics already in --out."`
	DataFlags
}

// statsFiles are the files dst stats writes into --out.
var statsFiles = []string{"activations.json", "activations.csv", "calibration.json"}

// Run observes every layer's output over the test minibatches and writes the statistics,
// and the calibration statistics of every Conv2d and Linear layer's input and output.
func (c *StatsCmd) Run(g *Globals) error {
	if err := setThreads(c.Threads); err != nil {
		return err
	}
	if c.Batch < 1 || c.Batches < 0 {
		return usageError("--batch must be >= 1 and --batches >= 0, got %d and %d", c.Batch, c.Batches)
	}
	if err := checkOutFolder(c.Out, "activation statistics", statsFiles, c.Force); err != nil {
		return err
	}
	m, err := loadModel(c.Model, c.Checkpoint)
	if err != nil {
		return err
	}
	if len(m.Input) != 3 {
		return usageError("dst stats supports image models only; %s takes input %v", m.Name, m.Input)
	}
	_, test, err := c.load(m)
	if err != nil {
		return err
	}
	st, err := analysis.CollectStats(g.Ctx, m, test, c.Batch, c.Batches)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return exitCode(2, fmt.Errorf("--out: %w", err))
	}
	var js, csv bytes.Buffer
	if err := st.WriteJSON(&js); err != nil {
		return err
	}
	if err := st.WriteCSV(&csv); err != nil {
		return err
	}
	// The range statistics post-training quantization reads ('quantize linear … stats
	// "DIR/calibration.json"'), over the same minibatches, of the model it quantizes: with
	// its batch norms folded into their convolutions, as runPTQ folds them.
	if countBN(m) > 0 {
		if err := nn.FoldBatchNorms(m); err != nil {
			return err
		}
	}
	calib, err := stdlib.Calibrate(g.Ctx, m, test, c.Batch, st.Batches)
	if err != nil {
		return err
	}
	calibPath := filepath.Join(c.Out, "calibration.json")
	if err := stdlib.SaveStats(calibPath, calib); err != nil {
		return err
	}
	jsPath, csvPath := filepath.Join(c.Out, "activations.json"), filepath.Join(c.Out, "activations.csv")
	if err := os.WriteFile(jsPath, js.Bytes(), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(csvPath, csv.Bytes(), 0o644); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "LAYER\tTYPE\tMEAN\tSTD\tMIN\tMAX\tSPARSITY\tAPOZ MEAN\tDEAD CHANNELS\t")
	for _, l := range st.Layers {
		apoz, dead := "-", "-"
		if n := len(l.ChannelAPoZ); n > 0 {
			var sum float64
			nd := 0
			for _, a := range l.ChannelAPoZ {
				sum += a
				if a == 1 {
					nd++
				}
			}
			apoz, dead = fmt.Sprintf("%.2f%%", 100*sum/float64(n)), fmt.Sprintf("%d/%d", nd, n)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4g\t%.4g\t%.4g\t%.4g\t%.2f%%\t%s\t%s\t\n", l.Name, l.Label(), l.Mean, l.Std, l.Min, l.Max, 100*l.Sparsity, apoz, dead)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.Stdout, "%d samples in %d batches; wrote %s, %s and %s\n", st.Samples, st.Batches, jsPath, csvPath, calibPath)
	return err
}
