package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// pruneRandom zeroes a fraction of every weight, as a pruned model would have.
func pruneRandom(m *Model, frac float64, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 1))
	for _, p := range m.Params() {
		if p.Kind != KindWeight {
			continue
		}
		mask := make([]float32, p.Len())
		for i := range mask {
			if r.Float64() >= frac {
				mask[i] = 1
			}
		}
		p.SetMask(mask)
	}
}

// fillInput fills x with random inputs for m: token ids below the vocabulary's size
// for a model that starts with an embedding, normal values otherwise.
func fillInput(m *Model, x []float32, seed uint64) {
	e, ok := firstParamLeaf(m.root).(*Embedding)
	if !ok {
		fillRandom(x, seed)
		return
	}
	r := rand.New(rand.NewPCG(seed, 7))
	for i := range x {
		x[i] = float32(r.IntN(e.Weight.Shape()[0]))
	}
}

func TestInferenceMatchesForward(t *testing.T) {
	for _, name := range []string{"lenet300_100", "simplenet_mnist", "simplenet_v2_mnist", "lenet5", "resnet20_cifar", "lstm_char"} {
		for _, mode := range []InferMode{InferSparse, InferAuto} {
			for _, batch := range []int{1, 5} {
				t.Run(fmt.Sprintf("%s/mode%d/batch%d", name, mode, batch), func(t *testing.T) {
					if testing.Short() && name == "resnet20_cifar" {
						t.Skip("short")
					}
					m, err := New(name, 1)
					if err != nil {
						t.Fatal(err)
					}
					pruneRandom(m, 0.8, 2)
					x := ops.New(append([]int{batch}, m.Input...)...)
					fillInput(m, ops.F32(x), 3)
					want := append([]float32(nil), ops.F32(m.Forward(x, false))...)
					inf, err := NewInference(m, batch, mode)
					if err != nil {
						t.Fatal(err)
					}
					if mode == InferSparse {
						for _, c := range inf.Choices() {
							if !c.Sparse || c.Density < 0.1 || c.Density > 0.3 {
								t.Errorf("layer %s: sparse %v density %.2f", c.Name, c.Sparse, c.Density)
							}
						}
					}
					got := ops.F32(inf.Forward(x))
					if len(got) != len(want) {
						t.Fatalf("%d logits, want %d", len(got), len(want))
					}
					for i := range got {
						if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
							t.Fatalf("logit %d: sparse %v, dense %v", i, got[i], want[i])
						}
					}
				})
			}
		}
	}
}

// TestInferForwardChecksInput checks that Forward refuses, with the shape it wants, an
// input that is not a batch of the model's input shape (it used to run some of them
// silently and fail deep inside others).
func TestInferForwardChecksInput(t *testing.T) {
	m, _ := New("lenet300_100", 1)
	pruneRandom(m, 0.9, 2)
	if _, err := NewInference(m, 1, InferMode(7)); err == nil {
		t.Error("mode 7 accepted")
	}
	for _, mode := range []InferMode{InferDense, InferSparse} {
		inf, err := NewInference(m, 1, mode)
		if err != nil {
			t.Fatal(err)
		}
		for _, shape := range [][]int{{4, 784}, {2, 1, 14, 56}, {1, 28, 28}, {0, 1, 28, 28}, nil} {
			var x *tensor.Dense
			if shape != nil {
				x = ops.New(shape...)
			}
			func() {
				defer func() {
					msg := fmt.Sprint(recover())
					if !strings.Contains(msg, "nn: Inference.Forward") || (shape != nil && !strings.Contains(msg, "want n×1×28×28")) {
						t.Errorf("mode %d, input %v: panic %q", mode, shape, msg)
					}
				}()
				inf.Forward(x)
			}()
		}
		x := ops.New(3, 1, 28, 28) // any batch size runs
		if got := inf.Forward(x).Shape(); got[0] != 3 || got[1] != 10 {
			t.Errorf("mode %d: logits %v for 3 samples", mode, got)
		}
	}
}

func TestCrossover(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	c := Crossover(100, 300, 1)
	if c < 0 || c > 1 || math.IsNaN(c) {
		t.Fatalf("crossover %v", c)
	}
}

// BenchmarkInferLeNet300 compares dense and sparse inference of a 90%-sparse
// LeNet-300-100 at batch 1 and 64 (samples/s reported, and the process's CPU time per
// forward pass, which excludes the time other processes held the CPU; run it with
// -cpu 1).
func BenchmarkInferLeNet300(b *testing.B) {
	for _, batch := range []int{1, 64} {
		for _, mode := range []struct {
			name string
			m    InferMode
		}{{"Dense", InferDense}, {"Sparse", InferSparse}} {
			b.Run(fmt.Sprintf("Sparsity90%sBatch%d", mode.name, batch), func(b *testing.B) {
				m, _ := New("lenet300_100", 1)
				pruneRandom(m, 0.9, 2)
				inf, err := NewInference(m, batch, mode.m)
				if err != nil {
					b.Fatal(err)
				}
				x := ops.New(append([]int{batch}, m.Input...)...)
				fillRandom(ops.F32(x), 3)
				benchForward(b, batch, func() { inf.Forward(x) })
			})
		}
	}
}

// TestInferSparseChainNoBias checks a chain of sparse Linear layers without biases,
// with and without a ReLU after the first, at batch 1 and above: the first layer reads
// the batch a sample per row (kernels.SpMMPackedRows), whose fused epilogue comes only
// with a bias.
func TestInferSparseChainNoBias(t *testing.T) {
	for _, relu := range []bool{false, true} {
		mods := []Module{NewFlatten("flatten"), NewLinear("fc1", 40, 30, false)}
		if relu {
			mods = append(mods, NewReLU("relu1"))
		}
		mods = append(mods, NewLinear("fc2", 30, 5, false))
		m := NewModel("nobias", []int{1, 5, 8}, 5, NewSequential("", mods...))
		r := rand.New(rand.NewPCG(4, 4))
		for _, p := range m.Params() {
			for i := range p.Data() {
				if r.Float64() < 0.3 {
					p.Data()[i] = float32(r.NormFloat64())
				} else {
					p.Data()[i] = 0
				}
			}
		}
		for _, batch := range []int{1, 6} {
			x := ops.New(batch, 1, 5, 8)
			fillRandom(ops.F32(x), uint64(batch))
			want := append([]float32(nil), ops.F32(m.Forward(x, false))...)
			inf, err := NewInference(m, batch, InferSparse)
			if err != nil {
				t.Fatal(err)
			}
			got := ops.F32(inf.Forward(x))
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("relu %v batch %d: logit %d = %v, want %v", relu, batch, i, got[i], want[i])
				}
			}
		}
	}
}
