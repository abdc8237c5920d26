package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/stdlib"
)

// QuantizeFlags add post-training quantization to a command that evaluates or exports a
// checkpoint: `--quantize Q.dst` names a script whose `quantize linear` policy (with its
// override lines) says how. Embed it in a command next to [DataFlags] and call
// [QuantizeFlags.apply] after loading the model.
type QuantizeFlags struct {
	Quantize     string `help:"Quantize the model after loading it: a .dst script with a 'quantize linear' policy (post-training range-linear quantization)." type:"existingfile" placeholder:"Q.dst"`
	CalibBatches int    `help:"Training minibatches (of 256) used to calibrate activation ranges when the policy names no existing stats file; 0 computes the ranges from each evaluated batch instead (dynamic)." default:"20" placeholder:"N"`
}

// apply quantizes m as the --quantize script says, calibrating on train (or reading the
// policy's stats file, or writing it when it does not exist yet), and returns the
// quantized layers; it returns nil, nil without --quantize. Messages go to w.
func (f *QuantizeFlags) apply(ctx context.Context, m *nn.Model, train *data.Set, w io.Writer) ([]stdlib.QuantizedLayer, error) {
	if f.Quantize == "" {
		return nil, nil
	}
	if f.CalibBatches < 0 {
		return nil, usageError("--calib-batches must be >= 0, got %d", f.CalibBatches)
	}
	ptq, statsPath, err := loadPTQ(f.Quantize, m)
	if err != nil {
		return nil, err
	}
	return runPTQ(ctx, m, ptq, statsPath, train, f.CalibBatches, w)
}

// loadPTQ checks a .dst script against m and returns its quantize linear policy.
func loadPTQ(file string, m *nn.Model) (*stdlib.PTQ, string, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, "", usageError("%v", err)
	}
	prog, diags := lang.CheckSource(file, src, lang.Env{Params: paramTable(m), Builtins: stdlib.Signatures()})
	if diags.HasErrors() {
		return nil, "", usageError("%v", diags)
	}
	var pol *lang.Policy
	for _, p := range prog.Policies {
		if p.Kind != lang.KindQuantize {
			continue
		}
		if p.Method != "linear" {
			return nil, "", usageError("%s: quantize %s is quantization-aware training; --quantize takes post-training 'quantize linear'", file, p.Method)
		}
		if pol != nil {
			return nil, "", usageError("%s: more than one quantize policy", file)
		}
		pol = p
	}
	if pol == nil {
		return nil, "", usageError("%s has no quantize policy", file)
	}
	layerOf := func(name string) string {
		if p := m.Param(name); p != nil {
			return p.Layer
		}
		return ""
	}
	ptq, stats, err := stdlib.NewPTQ(pol, layerOf)
	if err != nil {
		return nil, "", usageError("%s: %v", file, err)
	}
	return ptq, stats, nil
}

// runPTQ calibrates (or loads statistics) and quantizes m.
func runPTQ(ctx context.Context, m *nn.Model, ptq *stdlib.PTQ, statsPath string, train *data.Set, batches int, w io.Writer) ([]stdlib.QuantizedLayer, error) {
	if n := countBN(m); n > 0 {
		if err := nn.FoldBatchNorms(m); err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "folded %d batch norms into their convolutions\n", n)
	}
	var stats map[string]*stdlib.LayerStats
	var err error
	if statsPath != "" {
		stats, err = stdlib.LoadStats(statsPath)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, usageError("%v", err)
		}
		if err == nil {
			fmt.Fprintf(w, "calibration statistics from %s\n", statsPath)
		}
	}
	if stats == nil && batches == 0 {
		fmt.Fprintln(w, "dynamic activation ranges (computed from each batch)")
	} else if stats == nil {
		stats, err = stdlib.Calibrate(ctx, m, train, 256, batches)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "calibrated on %d training samples\n", min(train.N, 256*batches))
		if statsPath != "" {
			if err := stdlib.SaveStats(statsPath, stats); err != nil {
				return nil, err
			}
			fmt.Fprintf(w, "wrote calibration statistics to %s\n", statsPath)
		}
	}
	layers, err := ptq.Apply(m, stats)
	if err != nil {
		return nil, usageError("%v", err)
	}
	for _, l := range layers {
		qs := l.Settings
		pc := ""
		if qs.PerChannel {
			pc = " per-channel"
		}
		fmt.Fprintf(w, "  %-8s w%d a%d acc%d %s%s clip %s\n", l.Name, qs.WeightBits, qs.ActBits, qs.AccumBits, qs.Mode, pc, qs.Clip)
	}
	return layers, nil
}

// countBN returns the number of BatchNorm2d layers of m.
func countBN(m *nn.Model) int {
	n := 0
	for _, li := range m.Layers() {
		if li.Type == "BatchNorm2d" {
			n++
		}
	}
	return n
}
