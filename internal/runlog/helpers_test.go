package runlog

import (
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dst-dev/dst/nn"
)

// update rewrites the golden files under testdata/ instead of comparing with them.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// newParam returns a parameter of the given shape holding values (copied; nil for zeros).
func newParam(t testing.TB, name string, kind nn.Kind, values []float32, shape ...int) *nn.Param {
	t.Helper()
	p := nn.NewParam(name, "", kind, shape...)
	if values != nil {
		if len(values) != p.Len() {
			t.Fatalf("%s: %d values for shape %v", name, len(values), shape)
		}
		copy(p.Data(), values)
	}
	return p
}

// testModel returns the parameters of a small LeNet-like model with random values from a
// fixed seed, in declaration order.
func testModel(t testing.TB) []*nn.Param {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 1))
	mk := func(name string, kind nn.Kind, scale float64, shape ...int) *nn.Param {
		p := newParam(t, name, kind, nil, shape...)
		for i := range p.Data() {
			p.Data()[i] = float32(rng.NormFloat64() * scale)
		}
		return p
	}
	return []*nn.Param{
		mk("conv1.weight", nn.KindWeight, 0.3, 4, 1, 3, 3),
		mk("conv1.bias", nn.KindBias, 0.1, 4),
		mk("conv2.weight", nn.KindWeight, 0.2, 6, 4, 3, 3),
		mk("conv2.bias", nn.KindBias, 0.1, 6),
		mk("fc1.weight", nn.KindWeight, 0.1, 8, 24),
		mk("fc1.bias", nn.KindBias, 0.1, 8),
		mk("fc2.weight", nn.KindWeight, 0.2, 3, 8),
		mk("fc2.bias", nn.KindBias, 0.1, 3),
	}
}

// pruneStep zeroes more of the model, deterministically, to stand in for epoch e of a
// pruning schedule: every weight with |w| below a threshold growing with e, one more
// conv2 filter and fc1 row per epoch, and conv2 input channel 2 and fc1 column 5.
func pruneStep(params []*nn.Param, e int) {
	thr := float32(0.02 * float64(e+1))
	for _, p := range params {
		if p.Kind != nn.KindWeight {
			continue
		}
		for i, v := range p.Data() {
			if v < thr && v > -thr {
				p.Data()[i] = 0
			}
		}
	}
	conv2, fc1 := params[2].Data(), params[4].Data()
	clear(conv2[e*36 : (e+1)*36]) // filter e: 4 channels × 3×3
	for f := range 6 {
		clear(conv2[f*36+2*9 : f*36+3*9]) // channel 2 of every filter
	}
	clear(fc1[e*24 : (e+1)*24]) // row e
	for r := range 8 {
		fc1[r*24+5] = 0 // column 5
	}
}

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

// metrics returns made-up but plausible metrics of epoch e.
func metrics(e int) nn.EpochMetrics {
	return nn.EpochMetrics{
		Epoch:         e,
		TrainLoss:     0.5 / float64(e+1),
		TrainTop1:     90 + float64(e),
		TestLoss:      0.25 / float64(e+1),
		Top1:          95.5 + float64(e)/4,
		Top5:          99.75,
		LR:            0.01 * float64(int(1)<<(e/2)) / float64(int(1)<<e),
		SamplesPerSec: 4096,
		Seconds:       12.5,
	}
}
