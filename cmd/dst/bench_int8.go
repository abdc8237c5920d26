package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/internal/int8model"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/stdlib"
)

// benchCalibBatches is `dst export --int8`'s default --calib-batches.
const benchCalibBatches = 20

// int8Variant builds the int8 model of the checkpoint the way `dst export --int8` does
// with its defaults (symmetric 8-bit post-training quantization of every Conv2d and
// Linear layer, activation ranges calibrated on 20 training minibatches of 256), writes
// it as an int8 file in dir, and loads it back (its layers run on the int8 GEMM) for
// timing. The note gives the fake-quant model's top-1 on the same samples, which the
// int8 model should equal.
func (c *BenchCmd) int8Variant(g *Globals, m *nn.Model, train, test *data.Set, dir string) (*benchRun, error) {
	ptq := &stdlib.PTQ{Default: stdlib.QuantSettings{WeightBits: 8, ActBits: 8, AccumBits: 32, Mode: stdlib.Symmetric}}
	ql, err := runPTQ(g.Ctx, m, ptq, "", train, benchCalibBatches, io.Discard)
	if err != nil {
		return nil, err
	}
	for _, l := range quantLayers(m) {
		if l.In.Max-l.In.Min > 255 {
			return nil, fmt.Errorf("layer %s has activations wider than 8 bits", l.Info().Name)
		}
	}
	meta := map[string]string{"dst.source": c.Checkpoint}
	if countBN(m) > 0 {
		meta[int8model.FoldedKey] = "true"
	}
	path := filepath.Join(dir, "int8.safetensors")
	if err := int8model.Save(path, m, meta); err != nil {
		return nil, err
	}
	fq, _, err := predict(g, m, test, 500)
	if err != nil {
		return nil, err
	}
	im, _, err := int8model.Load(path, func(name string) (*nn.Model, error) { return nn.New(name, 0) })
	if err != nil {
		return nil, err
	}
	run, err := c.prepare("int8", im, nn.InferDense)
	if err != nil {
		return nil, err
	}
	run.r.SizeBytes = fileSize(path)
	run.r.Note = fmt.Sprintf("PTQ sym 8-bit, %d layers on the int8 GEMM; fake-quant top-1 %.2f%%", len(ql), fq)
	run.r.FakeQuantTop1 = fq
	return run, nil
}
