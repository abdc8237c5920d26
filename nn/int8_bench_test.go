package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dst-dev/dst/ops"
)

// symParams returns symmetric 8-bit range-linear parameters for values within ±maxAbs.
func symParams(maxAbs float32) QuantParams {
	return QuantParams{Scale: []float32{127 / maxAbs}, ZeroPoint: []float32{0}, Min: -127, Max: 127}
}

// int8Linear returns l quantized as post-training quantization with symmetric 8-bit
// ranges would: per-channel weights, the input range of x and the output range of
// l's float output.
func int8Linear(tb testing.TB, l *Linear, x []float32, yFloat []float32) *RangeLinear {
	tb.Helper()
	s := l.Weight.Shape()
	out, in := s[0], s[1]
	w := l.Weight.Data()
	wq := QuantParams{Scale: make([]float32, out), ZeroPoint: make([]float32, out), Min: -127, Max: 127}
	q := make([]int8, len(w))
	for o := 0; o < out; o++ {
		var m float32
		for _, v := range w[o*in : (o+1)*in] {
			m = max(m, float32(math.Abs(float64(v))))
		}
		wq.Scale[o] = 127 / m
		for i := o * in; i < (o+1)*in; i++ {
			q[i] = int8(QuantizeValue(w[i], wq.Scale[o], 0, -127, 127))
		}
	}
	maxAbs := func(v []float32) float32 {
		var m float32
		for _, x := range v {
			m = max(m, float32(math.Abs(float64(x))))
		}
		return m
	}
	inQ, outQ := symParams(maxAbs(x)), symParams(maxAbs(yFloat))
	bias := make([]int32, out)
	for o, b := range l.Bias.Data() {
		bias[o] = int32(math.RoundToEven(float64(b * inQ.Scale[0] * wq.Scale[o])))
	}
	rl, err := NewRangeLinear(l, inQ, wq, &outQ, q, bias)
	if err != nil {
		tb.Fatal(err)
	}
	if err := rl.SetInt8(true); err != nil {
		tb.Fatal(err)
	}
	return rl
}

// TestInt8LinearMatchesFloat checks the quantized layer the benchmark runs against the
// float layer: 8-bit symmetric quantization keeps every output within a few output
// quantization steps.
func TestInt8LinearMatchesFloat(t *testing.T) {
	l := linear(rand.New(rand.NewPCG(1, 1)), "fc", 256, 64)
	x := ops.New(8, 256)
	fillRandom(ops.F32(x), 4)
	want := append([]float32(nil), ops.F32(l.Forward(x, false))...)
	rl := int8Linear(t, l, ops.F32(x), want)
	got := ops.F32(rl.Forward(x, false))
	step := 1 / float64(rl.Out.Scale[0])
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > 4*step {
			t.Fatalf("output %d: int8 %v, float %v (step %v)", i, got[i], want[i], step)
		}
	}
}

// BenchmarkInt8Linear1024Batch256 runs a 1024→1024 Linear layer on a batch of 256 in
// float32 and as the int8 layer an int8 export loads (RangeLinear on the int8 GEMM,
// input quantization and output requantization included), side by side.
func BenchmarkInt8Linear1024Batch256(b *testing.B) {
	const n, in, out = 256, 1024, 1024
	l := linear(rand.New(rand.NewPCG(1, 1)), "fc", in, out)
	x := ops.New(n, in)
	fillRandom(ops.F32(x), 5)
	yFloat := append([]float32(nil), ops.F32(l.Forward(x, false))...)
	rl := int8Linear(b, l, ops.F32(x), yFloat)
	for _, c := range []struct {
		name string
		mod  Module
	}{{"FP32", l}, {"Int8", rl}} {
		b.Run(c.name, func(b *testing.B) {
			benchForward(b, n, func() { c.mod.Forward(x, false) })
			b.ReportMetric(2*float64(n*in*out)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
		})
	}
}
