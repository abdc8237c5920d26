package nn

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// quantLayerFixture quantizes layer by hand: weights 8-bit per channel with zero
// points zpw (or per tensor when perChannel is false), the input with (sx, zpx, range).
func quantLayerFixture(t *testing.T, layer Module, w, b *Param, perChannel bool, zpw float32, sx, zpx float32, lo, hi int32, out bool) *RangeLinear {
	t.Helper()
	cout := w.Shape()[0]
	wq := QuantParams{Min: -128, Max: 127}
	groups := 1
	if perChannel {
		groups = cout
	}
	q := make([]int8, w.Len())
	for g := 0; g < groups; g++ {
		vals := w.Data()[g*w.Len()/groups : (g+1)*w.Len()/groups]
		var m float32
		for _, v := range vals {
			m = max(m, float32(math.Abs(float64(v))))
		}
		s := 127 / m
		wq.Scale = append(wq.Scale, s)
		wq.ZeroPoint = append(wq.ZeroPoint, zpw)
		for i, v := range vals {
			q[g*w.Len()/groups+i] = int8(QuantizeValue(v, s, zpw, -128, 127))
		}
	}
	var bq []int32
	if b != nil {
		for o, v := range b.Data() {
			sw, _ := wq.at(o)
			bq = append(bq, int32(math.RoundToEven(float64(v*sx*sw))))
		}
	}
	var oq *QuantParams
	if out {
		oq = &QuantParams{Scale: []float32{20}, ZeroPoint: []float32{0}, Min: -128, Max: 127}
	}
	rl, err := NewRangeLinear(layer, QuantParams{Scale: []float32{sx}, ZeroPoint: []float32{zpx}, Min: lo, Max: hi}, wq, oq, q, bq)
	if err != nil {
		t.Fatal(err)
	}
	return rl
}

func randFill(p *Param, r *rand.Rand, scale float64) {
	for i := range p.Data() {
		p.Data()[i] = float32(r.NormFloat64() * scale)
	}
}

// TestRangeLinearInt8MatchesFloat checks that the int8 GEMM path and the float path over
// integer values give bit-identical outputs, and that both approximate the float layer.
func TestRangeLinearInt8MatchesFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		name       string
		conv       bool
		pad        int
		relu       bool
		perChannel bool
		zpw        float32
		zpx        float32
		lo, hi     int32
		out        bool
	}{
		{"linear sym", false, 0, false, false, 0, 0, -128, 127, true},
		{"linear relu asym_u input", false, 0, true, true, 0, -128, 0, 255, false},
		{"conv sym", true, 0, false, false, 0, 0, -128, 127, true},
		{"conv padded relu per-channel", true, 1, true, true, 0, 0, -128, 127, false},
		{"conv asym weights and input", true, 1, false, true, 5, -128, 0, 255, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var layer Module
			var w, b *Param
			var x *tensor.Dense
			if tc.conv {
				c := NewConv2d("c", 3, 6, 3, 1, tc.pad, true)
				c.op.Relu = tc.relu
				layer, w, b = c, c.Weight, c.Bias
				x = ops.New(2, 3, 7, 7)
			} else {
				l := NewLinear("l", 37, 9, true)
				l.op.Relu = tc.relu
				layer, w, b = l, l.Weight, l.Bias
				x = ops.New(5, 37)
			}
			randFill(w, r, 0.3)
			randFill(b, r, 0.1)
			for i := range ops.F32(x) {
				ops.F32(x)[i] = float32(r.NormFloat64())
			}
			want := append([]float32(nil), ops.F32(layer.Forward(x, false))...)
			sx := float32(127.0 / 4)
			if tc.hi == 255 {
				sx = 255.0 / 8
			}
			rl := quantLayerFixture(t, layer, w, b, tc.perChannel, tc.zpw, sx, tc.zpx, tc.lo, tc.hi, tc.out)
			fl := append([]float32(nil), ops.F32(rl.Forward(x, false))...)
			if err := rl.SetInt8(true); err != nil {
				t.Fatal(err)
			}
			i8 := ops.F32(rl.Forward(x, false))
			for i := range fl {
				if fl[i] != i8[i] {
					t.Fatalf("output %d: float path %v, int8 path %v", i, fl[i], i8[i])
				}
			}
			var diff, scale float64
			for i := range want {
				diff = math.Max(diff, math.Abs(float64(fl[i]-want[i])))
				scale = math.Max(scale, math.Abs(float64(want[i])))
			}
			if diff > 0.1*scale || diff == 0 {
				t.Fatalf("quantized layer differs from the float layer by %v (scale %v)", diff, scale)
			}
			if rl.MaxAbsAccumulator() >= 1<<24 {
				t.Fatalf("accumulator %v too large for the float path", rl.MaxAbsAccumulator())
			}
		})
	}
}

func TestRangeLinearErrors(t *testing.T) {
	l := NewLinear("l", 4, 2, false)
	in := QuantParams{Scale: []float32{1}, ZeroPoint: []float32{0}, Min: -128, Max: 127}
	w := QuantParams{Scale: []float32{1}, ZeroPoint: []float32{0}, Min: -128, Max: 127}
	for _, tc := range []struct {
		name  string
		layer Module
		in, w QuantParams
		q     []int8
	}{
		{"not a layer", NewReLU("r"), in, w, make([]int8, 8)},
		{"weights", l, in, w, make([]int8, 7)},
		{"zero scale", l, QuantParams{Scale: []float32{0}, ZeroPoint: []float32{0}, Min: -1, Max: 1}, w, make([]int8, 8)},
		{"fractional zero point", l, in, QuantParams{Scale: []float32{1}, ZeroPoint: []float32{0.5}, Min: -128, Max: 127}, make([]int8, 8)},
		{"scales per channel", l, in, QuantParams{Scale: []float32{1, 1, 1}, ZeroPoint: []float32{0, 0, 0}, Min: -128, Max: 127}, make([]int8, 8)},
		{"empty range", l, QuantParams{Scale: []float32{1}, ZeroPoint: []float32{0}, Min: 3, Max: 3}, w, make([]int8, 8)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewRangeLinear(tc.layer, tc.in, tc.w, nil, tc.q, nil); !errors.Is(err, ErrQuant) {
				t.Fatalf("error %v, want ErrQuant", err)
			}
		})
	}
	rl, err := NewRangeLinear(l, QuantParams{Scale: []float32{1}, ZeroPoint: []float32{0}, Min: -1000, Max: 1000}, w, nil, make([]int8, 8), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rl.SetInt8(true); !errors.Is(err, ErrQuant) {
		t.Fatalf("int8 path accepted 11-bit inputs: %v", err)
	}
	if err := rl.SetMult([]float32{1}); !errors.Is(err, ErrQuant) {
		t.Fatalf("SetMult accepted 1 multiplier for 2 channels: %v", err)
	}
}

// halfQuant is a test activation quantizer: rounds to multiples of 0.5 below a learned
// clip α, with a straight-through gradient and dα = Σ dy where x ≥ α.
type halfQuant struct{ alpha *Param }

func (h *halfQuant) Forward(dst, x []float32, _ bool) {
	a := h.alpha.Data()[0]
	for i, v := range x {
		dst[i] = float32(math.Round(float64(min(v, a))*2)) / 2
	}
}

func (h *halfQuant) Backward(dx, dy, x []float32) {
	a := h.alpha.Data()[0]
	for i, v := range x {
		if v >= a {
			dx[i] = 0
			h.alpha.GradData()[0] += dy[i]
		} else {
			dx[i] = dy[i]
		}
	}
}

func (h *halfQuant) Params() []*Param { return []*Param{h.alpha} }

func TestActQuantAndReplace(t *testing.T) {
	m, _ := New("simplenet_mnist", 1)
	var alphas []*Param
	err := ReplaceModules(m, func(mod Module) (Module, error) {
		if r, ok := mod.(*ReLU); ok {
			a := NewParam(r.name+".clip_val", r.name, KindOther, 1)
			a.Data()[0] = 1
			alphas = append(alphas, a)
			return NewActQuant(r, &halfQuant{alpha: a}), nil
		}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(alphas) != 3 || m.Param("relu2.clip_val") == nil || len(m.Params()) != 11 {
		t.Fatalf("%d clip values, %d parameters", len(alphas), len(m.Params()))
	}
	x := thinBatch(m, 4, 9)
	m.ZeroGrad()
	y := m.Forward(x, true)
	dl := ops.New(y.Shape()...)
	for i := range ops.F32(dl) {
		ops.F32(dl)[i] = 1
	}
	m.Backward(dl)
	if alphas[0].GradData()[0] == 0 || m.Param("conv1.weight").GradData()[0] == 0 && m.Param("conv1.weight").GradData()[1] == 0 {
		t.Fatal("no gradient reached α or conv1")
	}
	// Activations after relu1 are multiples of 0.5 in [0, 1].
	for _, li := range m.Layers() {
		if li.Type == "QuantReLU" && li.OutShape == nil {
			t.Fatalf("%s did not record its shape", li.Name)
		}
	}
	// Groups: two optimizers stepping their own parameters.
	var weights []*Param
	for _, p := range m.Params() {
		if p.Kind != KindOther {
			weights = append(weights, p)
		}
	}
	opt1, _ := NewSGD(weights, SGDConfig{LR: 0.1, Momentum: 0.9})
	opt2, _ := NewSGD(alphas, SGDConfig{LR: 0.1, Momentum: 0.9, WeightDecay: 0.5})
	g := Groups{opt1, opt2}
	before := alphas[0].Data()[0]
	g.Step()
	g.SetLR(0.05)
	if alphas[0].Data()[0] == before || g.LR() != 0.05 || opt2.LR() != 0.05 {
		t.Fatal("groups did not step or set the rate")
	}
	if len(g.State()) != 11 {
		t.Fatalf("state of %d parameters, want 11", len(g.State()))
	}
	if err := g.SetState(g.State()); err != nil {
		t.Fatal(err)
	}
	// Replacing inside a residual block is refused.
	r, _ := New("resnet20_cifar", 1)
	err = ReplaceModules(r, func(mod Module) (Module, error) {
		if c, ok := mod.(*Conv2d); ok && c.name == "layer1.0.conv1" {
			return &Tap{Inner: c, Observe: func(string, *tensor.Dense, *tensor.Dense) {}}, nil
		}
		return nil, nil
	})
	if !errors.Is(err, ErrQuant) {
		t.Fatalf("error %v, want ErrQuant", err)
	}
}

func TestTap(t *testing.T) {
	m, _ := New("lenet300_100", 1)
	seen := map[string][2][]int{}
	obs := func(layer string, in, out *tensor.Dense) {
		seen[layer] = [2][]int{in.Shape().Clone(), out.Shape().Clone()}
	}
	if err := ReplaceModules(m, func(mod Module) (Module, error) {
		if l, ok := mod.(*Linear); ok {
			return &Tap{Inner: l, Observe: obs}, nil
		}
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(m.Params()) != 6 {
		t.Fatalf("%d parameters through taps, want 6", len(m.Params()))
	}
	m.Forward(thinBatch(m, 3, 1), false)
	if s := seen["fc2"]; len(seen) != 3 || s[0][1] != 300 || s[1][1] != 100 {
		t.Fatalf("observed %v", seen)
	}
	if err := ReplaceModules(m, func(mod Module) (Module, error) {
		if tp, ok := mod.(*Tap); ok {
			return tp.Inner, nil
		}
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, li := range m.Layers() {
		if li.Type == "Tap" {
			t.Fatal("tap left in the model")
		}
	}
}

func TestFoldBatchNorms(t *testing.T) {
	m, _ := New("resnet20_cifar", 3)
	thinRandomBN(m, 4)
	x := thinBatch(m, 3, 2)
	want := thinLogits(m, x)
	if err := FoldBatchNorms(m); err != nil {
		t.Fatal(err)
	}
	for _, li := range m.Layers() {
		if li.Type == "BatchNorm2d" {
			t.Fatalf("%s left", li.Name)
		}
	}
	if m.Param("layer2.0.downsample.0.bias") == nil || m.Param("bn1.weight") != nil || len(m.Buffers()) != 0 {
		t.Fatal("parameters not rebuilt after folding")
	}
	thinClose(t, "folded logits", thinLogits(m, x), want, 1e-4)
	// Thinning and layer replacement see through the folded blocks.
	if _, err := Thin(m, nil, ThinContract); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := ReplaceModules(m, func(mod Module) (Module, error) {
		if c, ok := mod.(*Conv2d); ok {
			n++
			return &Tap{Inner: c, Observe: func(string, *tensor.Dense, *tensor.Dense) {}}, nil
		}
		return nil, nil
	}); err != nil || n != 21 {
		t.Fatalf("%d convolutions replaced, error %v", n, err)
	}
	thinClose(t, "tapped logits", thinLogits(m, x), want, 1e-4)
	// The folded model still trains (no batch statistics).
	y := m.Forward(x, true)
	m.Backward(ops.FromSlice(make([]float32, y.Shape().TotalSize()), y.Shape()...))
}

// TestFoldedWeight checks fold_bn's values against w·γ/√(σ²+ε) computed by hand, and
// its errors for a weight that is not a convolution's or has no batch norm after it.
func TestFoldedWeight(t *testing.T) {
	m := mustNew(t, "resnet20_cifar", 1)
	bn := m.Param("layer1.0.bn2.weight")
	var rv []float32
	for _, b := range m.Buffers() {
		if b.Name == "layer1.0.bn2.running_var" {
			rv = ops.F32(b.Value)
		}
	}
	for i := range bn.Data() {
		bn.Data()[i], rv[i] = float32(i+1), 3
	}
	w := m.Param("layer1.0.conv2.weight")
	got, err := FoldedWeight(m, w)
	if err != nil {
		t.Fatal(err)
	}
	per := w.Len() / w.Shape()[0]
	for _, i := range []int{0, per - 1, 5 * per, w.Len() - 1} {
		o := i / per
		want := float64(w.Data()[i]) * float64(o+1) / math.Sqrt(3+1e-5)
		if math.Abs(float64(got[i])-want) > 1e-6*math.Abs(want)+1e-12 {
			t.Errorf("folded weight %d (filter %d) = %v, want %v", i, o, got[i], want)
		}
	}
	for name, want := range map[string]string{"fc.weight": "is not the weight of a Conv2d"} {
		if _, err := FoldedWeight(m, m.Param(name)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
	sn := mustNew(t, "simplenet_mnist", 1)
	if _, err := FoldedWeight(sn, sn.Param("conv1.weight")); err == nil || !strings.Contains(err.Error(), "no BatchNorm2d follows") {
		t.Errorf("simplenet conv1: %v", err)
	}
}
