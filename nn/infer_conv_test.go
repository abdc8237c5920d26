package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// simplenetVariant returns simplenet_mnist (seed 1), dense or with the 25 conv2 filters
// of smallest L1 norm removed by thinning.
func simplenetVariant(tb testing.TB, thinned bool) *Model {
	tb.Helper()
	m, err := New("simplenet_mnist", 1)
	if err != nil {
		tb.Fatal(err)
	}
	if thinned {
		thinPruneL1(m.Param("conv2.weight"), 25)
		m.Forward(ops.New(append([]int{1}, m.Input...)...), false)
		if _, err := Thin(m, nil, ThinFilters); err != nil {
			tb.Fatal(err)
		}
	}
	return m
}

// mnistLike returns n images of the model's input shape that look like real data:
// smooth class patterns plus noise (data.Synthetic), not white noise.
func mnistLike(n int, seed uint64) *tensor.Dense {
	s := data.Synthetic(n, 1, 28, 28, 10, seed)
	x := ops.New(n, 1, 28, 28)
	copy(ops.F32(x), s.X)
	return x
}

// TestInferConvMatchesForward checks that dense inference of simplenet, dense and
// thinned, gives the model's own logits (up to reassociation) and the same classes.
func TestInferConvMatchesForward(t *testing.T) {
	for _, thinned := range []bool{false, true} {
		for _, batch := range []int{1, 7, 64} {
			name := fmt.Sprintf("Thinned%vBatch%d", thinned, batch)
			t.Run(name, func(t *testing.T) {
				m := simplenetVariant(t, thinned)
				x := mnistLike(batch, uint64(batch))
				want := append([]float32(nil), ops.F32(m.Forward(x, false))...)
				inf, err := NewInference(m, batch, InferDense)
				if err != nil {
					t.Fatal(err)
				}
				for rep := 0; rep < 2; rep++ { // twice: buffers reused
					got := ops.F32(inf.Forward(x))
					if len(got) != len(want) {
						t.Fatalf("%d logits, want %d", len(got), len(want))
					}
					for i := range got {
						d := math.Abs(float64(got[i] - want[i]))
						if d > 1e-4*(1+math.Abs(float64(want[i]))) || got[i] != got[i] {
							t.Fatalf("logit %d = %v, want %v", i, got[i], want[i])
						}
					}
					for s := 0; s < batch; s++ {
						if a, b := argmax(got[s*10:(s+1)*10]), argmax(want[s*10:(s+1)*10]); a != b {
							t.Fatalf("sample %d: class %d, want %d", s, a, b)
						}
					}
				}
				// The model's own Forward still works after the inference ran.
				again := ops.F32(m.Forward(x, false))
				for i := range again {
					if again[i] != want[i] {
						t.Fatalf("model Forward changed: logit %d = %v, want %v", i, again[i], want[i])
					}
				}
			})
		}
	}
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// BenchmarkInferSimplenetThinned compares dense inference of simplenet_mnist with and
// without half of conv2's filters (thinned away: 2.29 → 1.29 MMAC per sample) at batch
// 1 and 64 (samples/s, and the process's CPU time per forward pass; run it with -cpu 1).
func BenchmarkInferSimplenetThinned(b *testing.B) {
	for _, batch := range []int{1, 64} {
		for _, v := range []struct {
			name    string
			thinned bool
		}{{"Dense", false}, {"Thinned", true}} {
			b.Run(fmt.Sprintf("%sBatch%d", v.name, batch), func(b *testing.B) {
				m := simplenetVariant(b, v.thinned)
				inf, err := NewInference(m, batch, InferDense)
				if err != nil {
					b.Fatal(err)
				}
				x := mnistLike(batch, 3)
				benchForward(b, batch, func() { inf.Forward(x) })
			})
		}
	}
}

// TestInferFoldsBatchNorm checks inference of a ResNet whose batch normalisations are
// not the identity (trained-like running statistics, γ and β): every one of them is
// folded into the convolution before it, on the dense and the sparse path alike, and
// the logits are the model's own in evaluation mode.
func TestInferFoldsBatchNorm(t *testing.T) {
	if testing.Short() {
		t.Skip("resnet20")
	}
	m, err := New("resnet20_cifar", 1)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 5))
	bns := 0
	walk(m.root, func(mod Module) {
		bn, ok := mod.(*BatchNorm2d)
		if !ok {
			return
		}
		bns++
		rm, rv := ops.F32(bn.RunningMean.Value), ops.F32(bn.RunningVar.Value)
		g, b := bn.Weight.Data(), bn.Bias.Data()
		for i := range rm {
			rm[i] = float32(0.5 * r.NormFloat64())
			rv[i] = float32(0.5 + 1.5*r.Float64())
			g[i] = float32(0.5 + r.Float64())
			b[i] = float32(0.3 * r.NormFloat64())
		}
	})
	pruneRandom(m, 0.7, 3)
	for _, mode := range []InferMode{InferDense, InferSparse, InferAuto} {
		for _, batch := range []int{1, 3} {
			t.Run(fmt.Sprintf("mode%d/batch%d", mode, batch), func(t *testing.T) {
				x := ops.New(append([]int{batch}, m.Input...)...)
				fillRandom(ops.F32(x), uint64(batch))
				want := append([]float32(nil), ops.F32(m.Forward(x, false))...)
				inf, err := NewInference(m, batch, mode)
				if err != nil {
					t.Fatal(err)
				}
				if len(inf.folds) != bns {
					t.Fatalf("%d batch normalisations folded, want all %d", len(inf.folds), bns)
				}
				got := ops.F32(inf.Forward(x))
				for i := range got {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) || got[i] != got[i] {
						t.Fatalf("logit %d = %v, want %v", i, got[i], want[i])
					}
				}
				again := ops.F32(m.Forward(x, false))
				for i := range again {
					if again[i] != want[i] {
						t.Fatalf("model Forward changed: logit %d = %v, want %v", i, again[i], want[i])
					}
				}
			})
		}
	}
}
