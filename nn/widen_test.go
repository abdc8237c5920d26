package nn

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/dst-dev/dst/ops"
)

// TestWidenShapes widens zoo models and checks every parameter's new shape, that the
// class scores and the input keep their sizes, that a forward and backward pass run,
// and that the new weights follow the zoo's initialisation at their new fan-in.
func TestWidenShapes(t *testing.T) {
	for _, tc := range []struct {
		model  string
		factor float64
		want   map[string][]int
	}{
		{"simplenet_mnist", 2, map[string][]int{
			"conv1.weight": {40, 1, 5, 5}, "conv1.bias": {40}, "conv2.weight": {100, 40, 5, 5},
			"fc1.weight": {1000, 1600}, "fc1.bias": {1000}, "fc2.weight": {10, 1000}, "fc2.bias": {10}}},
		{"lenet300_100", 3, map[string][]int{"fc1.weight": {900, 784}, "fc2.weight": {300, 900}, "fc3.weight": {10, 300}}},
		{"lenet300_100", 1.5, map[string][]int{"fc1.weight": {450, 784}, "fc2.weight": {150, 450}, "fc3.weight": {10, 150}}},
		{"resnet20_cifar", 2, map[string][]int{
			"conv1.weight": {32, 3, 3, 3}, "bn1.weight": {32}, "layer1.0.conv1.weight": {32, 32, 3, 3},
			"layer2.0.conv1.weight": {64, 32, 3, 3}, "layer2.0.downsample.0.weight": {64, 32, 1, 1},
			"layer3.2.bn2.bias": {128}, "fc.weight": {10, 128}}},
	} {
		m, err := New(tc.model, 1)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Widen(m, tc.factor, rand.New(rand.NewPCG(2, 2)))
		if err != nil {
			t.Fatalf("%s: %v", tc.model, err)
		}
		if len(rep.Spaces) == 0 || rep.String() == "" {
			t.Fatalf("%s: empty report", tc.model)
		}
		for name, want := range tc.want {
			p := m.Param(name)
			if p == nil {
				t.Fatalf("%s: no parameter %s", tc.model, name)
			}
			if !thinEqualInts(p.Shape(), want) || len(p.GradData()) != p.Len() {
				t.Errorf("%s ×%v: %s has shape %v, want %v", tc.model, tc.factor, name, p.Shape(), want)
			}
		}
		for _, b := range m.Buffers() {
			if bn := m.Param(b.Name[:len(b.Name)-len("running_mean")] + "weight"); bn != nil && b.Value.Shape()[0] != bn.Len() {
				t.Errorf("%s: %s has %d values, its BatchNorm %d", tc.model, b.Name, b.Value.Shape()[0], bn.Len())
			}
		}
		x := thinBatch(m, 2, 3)
		y := m.Forward(x, true)
		if s := y.Shape(); s[0] != 2 || s[1] != 10 {
			t.Fatalf("%s: logits of shape %v", tc.model, s)
		}
		m.Backward(ops.New(y.Shape()...))
		// PyTorch's default initialisation: uniform within 1/√fan-in.
		for _, name := range []string{"fc1.weight", "fc.weight"} {
			if p := m.Param(name); p != nil {
				bound := 1 / math.Sqrt(float64(p.Shape()[1]))
				var mx float64
				for _, v := range p.Data() {
					mx = math.Max(mx, math.Abs(float64(v)))
				}
				if mx > bound || mx < 0.9*bound {
					t.Errorf("%s: %s spans ±%v, want about ±%v", tc.model, name, mx, bound)
				}
			}
		}
	}
}

// TestWidenCheckpoint saves a widened model and loads it into a fresh zoo model, which
// takes the widened shapes and computes the same logits.
func TestWidenCheckpoint(t *testing.T) {
	m, _ := New("simplenet_mnist", 1)
	if _, err := Widen(m, 2, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := SaveCheckpoint(path, m, nil, 0, nil); err != nil {
		t.Fatal(err)
	}
	fresh, _ := New("simplenet_mnist", 9)
	if _, err := LoadCheckpoint(path, fresh, nil); err != nil {
		t.Fatal(err)
	}
	x := thinBatch(m, 3, 4)
	thinClose(t, "logits", thinLogits(fresh, x), thinLogits(m, x), 0)
}

func TestWidenErrors(t *testing.T) {
	for _, f := range []float64{0.5, 0, -2, math.NaN(), math.Inf(1)} {
		m, _ := New("lenet300_100", 1)
		if _, err := Widen(m, f, rand.New(rand.NewPCG(1, 1))); !errors.Is(err, ErrWiden) {
			t.Errorf("factor %v: error %v, want ErrWiden", f, err)
		}
	}
	m, _ := New("lenet300_100", 1)
	m.Param("fc2.weight").SetMask(make([]float32, m.Param("fc2.weight").Len()))
	if _, err := Widen(m, 2, rand.New(rand.NewPCG(1, 1))); !errors.Is(err, ErrWiden) {
		t.Errorf("pruned model: error %v, want ErrWiden", err)
	}
	if s := m.Param("fc1.weight").Shape(); s[0] != 300 {
		t.Errorf("refused widening changed fc1 to %v", s)
	}
	op := NewModel("x", []int{1, 4, 4}, 2, NewSequential("",
		NewConv2d("c", 1, 2, 3, 1, 0, true), &opaqueModule{base{name: "q"}}, NewFlatten("f"), NewLinear("fc", 8, 2, true)))
	_, err := Widen(op, 2, rand.New(rand.NewPCG(1, 1)))
	if !errors.Is(err, ErrWiden) || errors.Is(err, ErrThin) {
		t.Fatalf("unknown module: error %v, want ErrWiden only", err)
	}
	if s := op.Param("c.weight").Shape(); s[0] != 2 {
		t.Errorf("refused widening changed c to %v", s)
	}
	m, _ = New("lenet300_100", 1)
	rep, err := Widen(m, 1, rand.New(rand.NewPCG(1, 1)))
	if err != nil || len(rep.Spaces) != 0 {
		t.Errorf("factor 1: report %v, error %v; want nothing changed", rep, err)
	}
}
