package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// int8Case is one quantization of a layer for TestRangeLinearInt8Fused.
type int8Case struct {
	in   QuantParams
	wzp  func(o int) float32 // weight zero point of channel o
	perW bool                // per-channel weight scales
	out  *QuantParams
}

// int8Inputs are the input quantizations: symmetric, unsigned with a zero point of 0
// (v in [0, 255]: the GEMM bytes are v − 128), asymmetric with ox = 0, asymmetric with
// a nonzero ox, and 7 bits. Scales are powers of two, so that exact halves of the
// input grid are rounding ties.
var int8Inputs = []struct {
	name string
	in   QuantParams
}{
	{"sym", QuantParams{Scale: []float32{32}, ZeroPoint: []float32{0}, Min: -127, Max: 127}},
	{"unsigned ox128", QuantParams{Scale: []float32{32}, ZeroPoint: []float32{0}, Min: 0, Max: 255}},
	{"asym ox0", QuantParams{Scale: []float32{32}, ZeroPoint: []float32{-128}, Min: 0, Max: 255}},
	{"asym ox28", QuantParams{Scale: []float32{16}, ZeroPoint: []float32{-100}, Min: 0, Max: 255}},
	{"7bit", QuantParams{Scale: []float32{8}, ZeroPoint: []float32{10}, Min: -64, Max: 63}},
}

// int8Weights are the weight quantizations: per tensor or per channel, zero points 0,
// 5, or varying by channel.
var int8Weights = []struct {
	name string
	perW bool
	zp   func(o int) float32
}{
	{"tensor", false, func(int) float32 { return 0 }},
	{"tensor zp5", false, func(int) float32 { return 5 }},
	{"channel", true, func(int) float32 { return 0 }},
	{"channel zp", true, func(o int) float32 { return float32(o%3 - 1) }},
}

// int8Outputs are the output quantizations: none, symmetric, asymmetric, and a range
// too wide for the fused epilogue (the scalar requantization runs).
var int8Outputs = []struct {
	name string
	out  *QuantParams
}{
	{"float out", nil},
	{"sym out", &QuantParams{Scale: []float32{20}, ZeroPoint: []float32{0}, Min: -128, Max: 127}},
	{"asym out", &QuantParams{Scale: []float32{12.5}, ZeroPoint: []float32{-128}, Min: 0, Max: 255}},
	{"wide out", &QuantParams{Scale: []float32{1 << 20}, ZeroPoint: []float32{3}, Min: -1 << 23, Max: 1 << 23}},
}

// newInt8Layer quantizes layer (weights w of cout channels, random integers) with c and
// returns it on the path int8 selects.
func newInt8Layer(t *testing.T, layer Module, cout, size int, c int8Case, r *rand.Rand, on bool) *RangeLinear {
	t.Helper()
	wq := QuantParams{Min: -128, Max: 127}
	groups := 1
	if c.perW {
		groups = cout
	}
	for g := 0; g < groups; g++ {
		wq.Scale = append(wq.Scale, 64+float32(g))
		wq.ZeroPoint = append(wq.ZeroPoint, c.wzp(g))
	}
	q := make([]int8, size)
	for i := range q {
		q[i] = int8(r.IntN(256) - 128)
	}
	bias := make([]int32, cout)
	for o := range bias {
		bias[o] = int32(r.IntN(4001) - 2000)
	}
	rl, err := NewRangeLinear(layer, c.in, wq, c.out, q, bias)
	if err != nil {
		t.Fatal(err)
	}
	if err := rl.SetInt8(on); err != nil {
		t.Fatal(err)
	}
	return rl
}

// int8TestInput fills x with values spread over the input range: normal values,
// exact halves of the quantization grid (ties), values far out of range and ±Inf.
func int8TestInput(x []float32, r *rand.Rand, in QuantParams) {
	s := in.Scale[0]
	span := float64(in.Max-in.Min) / float64(s)
	for i := range x {
		switch r.IntN(10) {
		case 0:
			x[i] = (float32(r.IntN(int(in.Max-in.Min))+int(in.Min)) + in.ZeroPoint[0] + 0.5) / s
		case 1:
			x[i] = []float32{float32(math.Inf(1)), float32(math.Inf(-1)), 1e30, -1e30, 0}[r.IntN(5)]
		default:
			x[i] = float32(r.NormFloat64() * span / 4)
		}
	}
}

// TestRangeLinearInt8Fused checks that the int8 path, with its fused epilogue or the
// scalar one, gives the float path's outputs bit for bit and records the same largest
// accumulator, over symmetric and asymmetric inputs (with and without an input offset
// ox), per-tensor and per-channel weights with and without zero points, fused ReLU,
// and outputs that are float, quantized, or quantized over a range too wide to fuse.
func TestRangeLinearInt8Fused(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 1))
	layers := []struct {
		name  string
		build func(relu bool) (Module, int, int, *tensor.Dense)
	}{
		{"linear", func(relu bool) (Module, int, int, *tensor.Dense) {
			l := NewLinear("l", 70, 45, true)
			l.op.Relu = relu
			return l, 45, 70 * 45, ops.New(5, 70)
		}},
		{"conv", func(relu bool) (Module, int, int, *tensor.Dense) {
			c := NewConv2d("c", 3, 6, 3, 1, 1, true)
			c.op.Relu = relu
			return c, 6, 6 * 3 * 3 * 3, ops.New(3, 3, 7, 6)
		}},
		{"conv strided", func(relu bool) (Module, int, int, *tensor.Dense) {
			c := NewConv2d("c", 2, 17, 3, 2, 0, true)
			c.op.Relu = relu
			return c, 17, 17 * 2 * 3 * 3, ops.New(2, 2, 9, 11)
		}},
		// A convolution whose model fused the following 2×2 max pooling into it: the
		// int8 path pools, the float path leaves it to the MaxPool2d module.
		{"conv pooled", func(relu bool) (Module, int, int, *tensor.Dense) {
			c := NewConv2d("c", 4, 9, 3, 1, 1, true)
			c.op.Relu, c.op.Pool2x2 = relu, true
			return c, 9, 9 * 4 * 3 * 3, ops.New(3, 4, 7, 6)
		}},
		// Even planes: with a ReLU and no weight zero points the int8 path pools the
		// accumulators before requantizing them; rows of eight positions and one or
		// four channels take the convolution's blocked path.
		{"conv pooled even", func(relu bool) (Module, int, int, *tensor.Dense) {
			c := NewConv2d("c", 4, 9, 3, 1, 1, true)
			c.op.Relu, c.op.Pool2x2 = relu, true
			return c, 9, 9 * 4 * 3 * 3, ops.New(3, 4, 6, 8)
		}},
		{"conv pooled one channel", func(relu bool) (Module, int, int, *tensor.Dense) {
			c := NewConv2d("c", 1, 13, 5, 1, 0, true)
			c.op.Relu, c.op.Pool2x2 = relu, true
			return c, 13, 13 * 5 * 5, ops.New(2, 1, 12, 20)
		}},
		{"conv pooled odd", func(relu bool) (Module, int, int, *tensor.Dense) {
			c := NewConv2d("c", 1, 5, 5, 1, 0, true)
			c.op.Relu, c.op.Pool2x2 = relu, true
			return c, 5, 5 * 5 * 5, ops.New(2, 1, 11, 12)
		}},
	}
	for _, ly := range layers {
		for _, in := range int8Inputs {
			for _, wt := range int8Weights {
				for _, out := range int8Outputs {
					for _, relu := range []bool{false, true} {
						name := fmt.Sprintf("%s/%s/%s/%s/relu=%v", ly.name, in.name, wt.name, out.name, relu)
						t.Run(name, func(t *testing.T) {
							c := int8Case{in: in.in, wzp: wt.zp, perW: wt.perW, out: out.out}
							layer, cout, size, x := ly.build(relu)
							int8TestInput(ops.F32(x), r, in.in)
							seed := r.Uint64()
							build := func(on bool) *RangeLinear {
								return newInt8Layer(t, layer, cout, size, c, rand.New(rand.NewPCG(seed, 2)), on)
							}
							fl, fused, scalar := build(false), build(true), build(true)
							yf := fl.Forward(x, false)
							if l, ok := layer.(*Conv2d); ok && l.op.Pool2x2 {
								yf = ops.NewMaxPool2d(2, 2, 0).Forward(yf)
							}
							want := append([]float32(nil), ops.F32(yf)...)
							got := append([]float32(nil), ops.F32(fused.Forward(x, false))...)
							scalar.Forward(x, false) // prepares the constants for this input offset
							scalar.fits32 = false    // forces finish and requantize
							viaScalar := ops.F32(scalar.Forward(x, false))
							if len(got) != len(want) || len(viaScalar) != len(want) {
								t.Fatalf("%d and %d outputs, want %d", len(got), len(viaScalar), len(want))
							}
							if _, ok := fused.requant(); ok != (out.name != "wide out") {
								t.Fatalf("fused epilogue used: %v", ok)
							}
							for i := range want {
								if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
									t.Fatalf("output %d: int8 path %v, float path %v", i, got[i], want[i])
								}
								if math.Float32bits(viaScalar[i]) != math.Float32bits(want[i]) {
									t.Fatalf("output %d: scalar int8 epilogue %v, float path %v", i, viaScalar[i], want[i])
								}
							}
							if a, b := fused.MaxAbsAccumulator(), fl.MaxAbsAccumulator(); a != b || a == 0 {
								t.Fatalf("largest accumulator: int8 path %v, float path %v", a, b)
							}
							if fl.MaxAbsAccumulator() >= 1<<24 {
								t.Fatalf("accumulator %v too large for the float path to be exact", fl.MaxAbsAccumulator())
							}
						})
					}
				}
			}
		}
	}
}

// TestRangeLinearInt8Overflow checks that prepareInt8 keeps accumulators that might not
// fit in an int32 off the fused epilogue.
func TestRangeLinearInt8Overflow(t *testing.T) {
	l := NewLinear("l", 4, 2, false)
	in := QuantParams{Scale: []float32{1}, ZeroPoint: []float32{0}, Min: -128, Max: 127}
	for _, tc := range []struct {
		name string
		zpw  float32
		fits bool
	}{
		{"small", 3, true},
		{"huge weight zero point", 1 << 30, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := QuantParams{Scale: []float32{1}, ZeroPoint: []float32{tc.zpw}, Min: -128, Max: 127}
			rl, err := NewRangeLinear(l, in, w, nil, make([]int8, 8), nil)
			if err != nil {
				t.Fatal(err)
			}
			rl.prepareInt8(4)
			if rl.fits32 != tc.fits {
				t.Fatalf("fits32 = %v, want %v", rl.fits32, tc.fits)
			}
		})
	}
}

// TestInt8SimplenetMatchesFloatPath runs the int8 simplenet of BenchmarkInt8Simplenet,
// whose convolutions pool on the int8 path (the ReLU and MaxPool2d modules passing
// their output through), against the same layers on the float path, which leave the
// pooling to the MaxPool2d modules: the logits must agree bit for bit, also when the
// batch size changes between calls.
func TestInt8SimplenetMatchesFloatPath(t *testing.T) {
	m := int8Model(t, mnistLike(64, 3))
	var layers []*RangeLinear
	walk(m.root, func(mod Module) {
		if rl, ok := mod.(*RangeLinear); ok {
			layers = append(layers, rl)
		}
	})
	if len(layers) != 4 {
		t.Fatalf("%d quantized layers, want 4", len(layers))
	}
	setInt8 := func(on bool) {
		t.Helper()
		for _, rl := range layers {
			if err := rl.SetInt8(on); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, batch := range []int{1, 7, 1, 64} {
		x := mnistLike(batch, uint64(batch)+10)
		setInt8(false)
		want := append([]float32(nil), ops.F32(m.Forward(x, false))...)
		setInt8(true)
		for rep := 0; rep < 2; rep++ {
			got := ops.F32(m.Forward(x, false))
			if len(got) != len(want) {
				t.Fatalf("batch %d: %d logits, want %d", batch, len(got), len(want))
			}
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("batch %d: logit %d: int8 path %v, float path %v", batch, i, got[i], want[i])
				}
			}
		}
		if s := layers[0].Info().OutShape; len(s) != 4 || s[2] != 24 {
			t.Fatalf("conv1 output shape %v, want the unpooled %v", s, []int{batch, 20, 24, 24})
		}
	}
}
