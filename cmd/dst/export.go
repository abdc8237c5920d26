package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/alecthomas/kong"
	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/internal/int8model"
	"github.com/dst-dev/dst/internal/onnx"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/ops"
	"github.com/dst-dev/dst/stdlib"
)

// ExportCmd writes an integer model: post-training quantization of a checkpoint, saved
// with int8 weights, scales and zero points.
type ExportCmd struct {
	Int8       string `name:"int8" help:"Checkpoint to quantize and export as an int8 model." type:"existingfile" placeholder:"CHECKPOINT"`
	Format     string `help:"Output format: int8 (safetensors with int8 weights, scales and zero points) or onnx (the dense or thinned float model, opset 13). Default: onnx when -o ends in .onnx, else int8." placeholder:"FORMAT"`
	Checkpoint string `help:"Checkpoint to export (the same as --int8 CHECKPOINT for --format int8)." type:"existingfile" placeholder:"CHECKPOINT"`
	Out        string `short:"o" help:"Output file (.safetensors for int8, .onnx for onnx)." required:"" type:"path" placeholder:"FILE"`
	Model      string `help:"Model from the zoo (default: the one the checkpoint names)." placeholder:"NAME"`
	Bits       int    `help:"Bit width of weights and activations (without --quantize)." default:"8" placeholder:"N"`
	Mode       string `help:"Range-linear mode (without --quantize): sym, sym_restr, asym_u or asym_s." default:"sym" enum:"sym,sym_restr,asym_u,asym_s" placeholder:"MODE"`
	PerCh      bool   `name:"per-channel" help:"Per-output-channel weight scales (without --quantize)."`
	Verify     bool   `help:"Evaluate the quantized model and the reloaded int8 file on the test set and compare their predictions."`
	Force      bool   `help:"Overwrite --out if it exists."`
	Batch      int    `help:"Minibatch size for --verify." default:"500" placeholder:"N"`
	QuantizeFlags
	DataFlags
}

// quantFlagsGiven names the flags of an int8 export without --quantize that the
// command line gives (joined with " and "), or returns "".
func quantFlagsGiven(set func(string) bool) string {
	var given []string
	for _, f := range []string{"bits", "mode", "per-channel"} {
		if set(f) {
			given = append(given, "--"+f)
		}
	}
	return strings.Join(given, " and ")
}

// Run quantizes, writes the file and, with --verify, reloads and compares.
func (c *ExportCmd) Run(g *Globals, kctx *kong.Context) error {
	onnxOut := strings.EqualFold(filepath.Ext(c.Out), ".onnx")
	switch c.Format {
	case "":
		c.Format = "int8"
		if onnxOut && c.Int8 == "" {
			c.Format = "onnx"
		}
	case "int8", "onnx":
	default:
		return usageError("--format must be int8 or onnx, got %q", c.Format)
	}
	switch {
	case c.Format == "int8" && onnxOut:
		return usageError("-o %s names an ONNX file, but the export is int8 (safetensors); use --checkpoint FILE --format onnx, or another name", c.Out)
	case c.Int8 != "" && c.Checkpoint != "" && c.Int8 != c.Checkpoint:
		return usageError("give the checkpoint once: --int8 %s and --checkpoint %s differ", c.Int8, c.Checkpoint)
	case c.Int8 == "" && c.Checkpoint == "":
		return usageError("name the checkpoint to export: --checkpoint FILE (or --int8 FILE)")
	case c.Int8 != "" && c.Format == "onnx":
		return usageError("--int8 exports an int8 model; use --checkpoint FILE with --format onnx")
	}
	if c.Int8 == "" {
		c.Int8 = c.Checkpoint
	}
	// --bits, --mode and --per-channel set the quantization of an int8 export without
	// --quantize; anywhere else they would be ignored, so they are refused.
	if given := quantFlagsGiven(setFlags(kctx)); given != "" && (c.Format == "onnx" || c.Quantize != "") {
		why := "the ONNX export is the float model"
		if c.Format != "onnx" {
			why = "--quantize " + c.Quantize + " sets the quantization"
		}
		verb := "applies"
		if strings.Contains(given, " and ") {
			verb = "apply"
		}
		return usageError("%s %s to an int8 export without --quantize; %s", given, verb, why)
	}
	if c.Format == "onnx" {
		return c.exportONNX(g)
	}
	if absPath(c.Out) == absPath(c.Int8) {
		return usageError("-o %s would overwrite the checkpoint", c.Out)
	}
	if !c.Force && outExists(c.Out) {
		return usageError("-o %s exists; pass --force to overwrite it", c.Out)
	}
	if c.Bits < 2 || c.Bits > 8 {
		return usageError("--bits must lie in [2, 8] for an int8 export, got %d", c.Bits)
	}
	if c.Batch < 1 {
		return usageError("--batch must be >= 1, got %d", c.Batch)
	}
	m, err := loadModel(c.Model, c.Int8)
	if err != nil {
		return err
	}
	train, test, err := c.load(m)
	if err != nil {
		return err
	}
	var fp nn.Metrics
	if c.Verify {
		if fp, err = nn.Evaluate(g.Ctx, m, test, c.Batch); err != nil {
			return err
		}
	}
	if c.CalibBatches < 1 {
		return usageError("--calib-batches must be >= 1 for an export (dynamic ranges cannot be saved), got %d", c.CalibBatches)
	}
	meta := map[string]string{"dst.source": c.Int8}
	if countBN(m) > 0 {
		meta[int8model.FoldedKey] = "true"
	}
	var ql []stdlib.QuantizedLayer
	if c.Quantize == "" {
		mode, perr := stdlib.ParseLinearMode(c.Mode)
		if perr != nil {
			return usageError("%v", perr)
		}
		ptq := &stdlib.PTQ{Default: stdlib.QuantSettings{WeightBits: c.Bits, ActBits: c.Bits, AccumBits: 32, Mode: mode, PerChannel: c.PerCh}}
		ql, err = runPTQ(g.Ctx, m, ptq, "", train, c.CalibBatches, g.Stdout)
	} else {
		ql, err = c.apply(g.Ctx, m, train, g.Stdout)
	}
	if err != nil {
		return err
	}
	layers := len(ql)
	for _, l := range quantLayers(m) {
		if l.In.Max-l.In.Min > 255 {
			return usageError("layer %s has activations wider than 8 bits; an int8 export needs at most 8", l.Info().Name)
		}
	}
	if !c.Verify {
		if err := int8model.Save(c.Out, m, meta); err != nil {
			return err
		}
		fmt.Fprintf(g.Stdout, "wrote %s (%d int8 layers)\n", c.Out, layers)
		return nil
	}
	// With --verify the file reaches -o only once it predicts as the quantized model:
	// it is written beside it first and checked as read back.
	tmp := c.Out + ".verifying"
	if err := int8model.Save(tmp, m, meta); err != nil {
		return err
	}
	defer os.Remove(tmp) // gone after the rename, or when verification fails
	fq, fqPred, err := predict(g, m, test, c.Batch)
	if err != nil {
		return err
	}
	im, _, err := int8model.Load(tmp, func(name string) (*nn.Model, error) { return nn.New(name, 0) })
	if err != nil {
		return err
	}
	iq, iqPred, err := predict(g, im, test, c.Batch)
	if err != nil {
		return err
	}
	diff := 0
	for i := range fqPred {
		if fqPred[i] != iqPred[i] {
			diff++
		}
	}
	fmt.Fprintf(g.Stdout, "%s on %s (%d samples): float %.2f%%, fake-quant %.2f%%, int8 file %.2f%%; predictions differing: %d\n",
		m.Name, test.Name, test.N, fp.Top1, fq, iq, diff)
	if diff != 0 {
		why := ""
		if hasActQuant(m) {
			why = " (the checkpoint's quantization-aware training quantizes activations in a way the int8 format does not hold: export it without --verify, or export its float model)"
		}
		return exitCode(1, fmt.Errorf("the int8 model predicts differently from the quantized model on %d samples%s; %s not written", diff, why, c.Out))
	}
	if err := os.Rename(tmp, c.Out); err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "wrote %s (%d int8 layers)\n", c.Out, layers)
	return nil
}

// hasActQuant reports whether m quantizes activations outside its RangeLinear layers
// (quantization-aware training's quantizers, installed from a run's schedule).
func hasActQuant(m *nn.Model) bool {
	found := false
	m.Walk(func(mod nn.Module) {
		_, ok := mod.(*nn.ActQuant)
		found = found || ok
	})
	return found
}

// quantLayers returns m's RangeLinear layers.
func quantLayers(m *nn.Model) []*nn.RangeLinear {
	var out []*nn.RangeLinear
	m.Walk(func(mod nn.Module) {
		if rl, ok := mod.(*nn.RangeLinear); ok {
			out = append(out, rl)
		}
	})
	return out
}

// predict returns the top-1 accuracy and the predicted class of every sample.
func predict(g *Globals, m *nn.Model, set *data.Set, batch int) (float64, []int, error) {
	loader := data.NewLoader(set, batch, false, 0)
	pred := make([]int, 0, set.N)
	correct := 0
	for s := 0; s < loader.Steps(); s++ {
		if err := g.Ctx.Err(); err != nil {
			return 0, nil, err
		}
		n := min(batch, set.N-s*batch)
		x := ops.New(n, set.C, set.H, set.W)
		y := make([]int32, n)
		loader.Batch(s, ops.F32(x), y)
		logits := ops.F32(m.Forward(x, false))
		for i := 0; i < n; i++ {
			row := logits[i*m.Classes : (i+1)*m.Classes]
			best := 0
			for j := range row {
				if nn.Rank(row, j) == 0 {
					best = j
				}
			}
			pred = append(pred, best)
			if best == int(y[i]) {
				correct++
			}
		}
	}
	return 100 * float64(correct) / float64(set.N), pred, nil
}

// exportONNX writes the checkpoint's float model (dense, pruned or thinned) as ONNX.
func (c *ExportCmd) exportONNX(g *Globals) error {
	if absPath(c.Out) == absPath(c.Int8) {
		return usageError("-o %s would overwrite the checkpoint", c.Out)
	}
	if !c.Force && outExists(c.Out) {
		return usageError("-o %s exists; pass --force to overwrite it", c.Out)
	}
	if c.Quantize != "" {
		return usageError("--quantize does not apply to --format onnx (quantized ONNX export is not supported)")
	}
	m, err := loadModel(c.Model, c.Int8)
	if err != nil {
		return err
	}
	if err := onnx.WriteFile(c.Out, m); err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "wrote %s: %s as ONNX (opset %d), %s\n", c.Out, m.Name, onnx.Opset, sizeString(fileSize(c.Out)))
	return nil
}
