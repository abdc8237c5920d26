package nn

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// int8Model returns simplenet_mnist (seed 0) with every Conv2d and Linear layer
// quantized as `dst export --int8` does with its defaults (symmetric 8 bits,
// per-channel weights, input and output ranges calibrated on calib) and running on the
// int8 GEMM.
func int8Model(tb testing.TB, calib *tensor.Dense) *Model {
	tb.Helper()
	m, err := New("simplenet_mnist", 0)
	if err != nil {
		tb.Fatal(err)
	}
	type rng struct{ in, out float32 }
	ranges := map[string]*rng{}
	maxAbs := func(v []float32) float32 {
		var m float32
		for _, x := range v {
			m = max(m, float32(math.Abs(float64(x))))
		}
		return m
	}
	tap := func(mod Module) (Module, error) {
		switch mod.(type) {
		case *Conv2d, *Linear:
			return &Tap{Inner: mod, Observe: func(name string, in, out *tensor.Dense) {
				r := ranges[name]
				if r == nil {
					r = &rng{}
					ranges[name] = r
				}
				r.in, r.out = max(r.in, maxAbs(ops.F32(in))), max(r.out, maxAbs(ops.F32(out)))
			}}, nil
		}
		return nil, nil
	}
	if err := ReplaceModules(m, tap); err != nil {
		tb.Fatal(err)
	}
	m.Forward(calib, false)
	quant := func(mod Module) (Module, error) {
		t, ok := mod.(*Tap)
		if !ok {
			return nil, nil
		}
		var w, b *Param
		switch l := t.Inner.(type) {
		case *Conv2d:
			w, b = l.Weight, l.Bias
		case *Linear:
			w, b = l.Weight, l.Bias
		}
		r := ranges[t.Inner.Info().Name]
		cout := w.Shape()[0]
		per := w.Len() / cout
		wq := QuantParams{Scale: make([]float32, cout), ZeroPoint: make([]float32, cout), Min: -127, Max: 127}
		q := make([]int8, w.Len())
		for o := 0; o < cout; o++ {
			wq.Scale[o] = 127 / maxAbs(w.Data()[o*per:(o+1)*per])
			for i := o * per; i < (o+1)*per; i++ {
				q[i] = int8(QuantizeValue(w.Data()[i], wq.Scale[o], 0, -127, 127))
			}
		}
		inQ, outQ := symParams(r.in), symParams(r.out)
		bias := make([]int32, cout)
		for o, v := range b.Data() {
			bias[o] = int32(math.RoundToEven(float64(v) * float64(inQ.Scale[0]) * float64(wq.Scale[o])))
		}
		rl, err := NewRangeLinear(t.Inner, inQ, wq, &outQ, q, bias)
		if err != nil {
			return nil, err
		}
		return rl, rl.SetInt8(true)
	}
	if err := ReplaceModules(m, quant); err != nil {
		tb.Fatal(err)
	}
	return m
}

// BenchmarkInt8Simplenet runs simplenet_mnist at batch 1 and 64 on the dense fp32
// inference path and as the int8 model an int8 export loads, side by side.
func BenchmarkInt8Simplenet(b *testing.B) {
	calib := mnistLike(256, 3)
	m8 := int8Model(b, calib)
	m, err := New("simplenet_mnist", 0)
	if err != nil {
		b.Fatal(err)
	}
	for _, batch := range []int{1, 64} {
		x := mnistLike(batch, 7)
		fp, err := NewInference(m, batch, InferDense)
		if err != nil {
			b.Fatal(err)
		}
		i8, err := NewInference(m8, batch, InferDense)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range []struct {
			name string
			inf  *Inference
		}{{"FP32", fp}, {"Int8", i8}} {
			b.Run(fmt.Sprintf("Batch%d/%s", batch, c.name), func(b *testing.B) {
				benchForward(b, batch, func() { c.inf.Forward(x) })
			})
		}
	}
}

// TestInferConvNoAllocs checks that dense and int8 inference of simplenet allocate
// nothing once their buffers exist, on one worker (the batch-1 case and --threads 1):
// the workers' share of a convolution goes through an interface, not a closure.
func TestInferConvNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	calib := mnistLike(256, 3)
	m8 := int8Model(t, calib)
	m, err := New("simplenet_mnist", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, batch := range []int{1, 16} {
		x := mnistLike(batch, 7)
		for name, mod := range map[string]*Model{"fp32": m, "int8": m8} {
			inf, err := NewInference(mod, batch, InferDense)
			if err != nil {
				t.Fatal(err)
			}
			inf.Forward(x)
			if n := testing.AllocsPerRun(5, func() { inf.Forward(x) }); n != 0 {
				t.Errorf("%s batch %d: %v allocations per forward pass", name, batch, n)
			}
		}
	}
	// simplenet's float convolutions take the direct path; resnet20's take im2col.
	r, err := New("resnet20_cifar", 0)
	if err != nil {
		t.Fatal(err)
	}
	x := ops.New(append([]int{2}, r.Input...)...)
	inf, err := NewInference(r, 2, InferDense)
	if err != nil {
		t.Fatal(err)
	}
	inf.Forward(x)
	if n := testing.AllocsPerRun(2, func() { inf.Forward(x) }); n != 0 {
		t.Errorf("resnet20 batch 2: %v allocations per forward pass", n)
	}
}
