package nn

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dst-dev/dst/internal/safetensors"
	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

func TestCheckpointRoundTrip(t *testing.T) {
	m, err := New("resnet20_cifar", 1)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := NewSGD(m.Params(), SGDConfig{LR: 0.1, Momentum: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	// Give the optimizer state and prune one parameter.
	for _, p := range m.Params() {
		g := p.GradData()
		for i := range g {
			g[i] = float32(i%7) - 3
		}
	}
	opt.Step()
	fc := m.Param("fc.weight")
	mask := make([]float32, fc.Len())
	for i := range mask {
		mask[i] = float32(i % 2)
	}
	fc.SetMask(mask)
	m.Buffers()[0].Value.Data().([]float32)[0] = 42

	path := filepath.Join(t.TempDir(), "ckpt.safetensors")
	if err := SaveCheckpoint(path, m, opt, 3, map[string]string{"dst.scheduler": "{}"}); err != nil {
		t.Fatal(err)
	}
	m2, _ := New("resnet20_cifar", 2)
	opt2, _ := NewSGD(m2.Params(), SGDConfig{LR: 0.1, Momentum: 0.9})
	ci, err := LoadCheckpoint(path, m2, opt2)
	if err != nil {
		t.Fatal(err)
	}
	if ci.Epoch != 3 || ci.Model != "resnet20_cifar" || ci.Meta["dst.scheduler"] != "{}" {
		t.Fatalf("info %+v", ci)
	}
	for i, p := range m.Params() {
		q := m2.Params()[i]
		if !equalF32(p.Data(), q.Data()) {
			t.Fatalf("%s differs after load", p.Name)
		}
	}
	if m2.Param("fc.weight").MaskData() == nil || m2.Param("conv1.weight").MaskData() != nil {
		t.Fatal("masks not restored exactly")
	}
	if m2.Buffers()[0].Value.Data().([]float32)[0] != 42 {
		t.Fatal("buffer not restored")
	}
	s1, s2 := opt.State(), opt2.State()
	for name, ts := range s1 {
		if !equalF32(ts[0].Data().([]float32), s2[name][0].Data().([]float32)) {
			t.Fatalf("momentum of %s differs", name)
		}
	}
}

func TestCheckpointThinnedShapes(t *testing.T) {
	m, _ := New("simplenet_mnist", 1)
	// Pretend conv2 lost 10 filters: shrink conv2 and fc1 by hand.
	shrink := func(name string, shape ...int) {
		p := m.Param(name)
		p.Value = tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
		p.Grad = tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
	}
	shrink("conv2.weight", 40, 20, 5, 5)
	shrink("conv2.bias", 40)
	shrink("fc1.weight", 500, 640)
	path := filepath.Join(t.TempDir(), "thin.safetensors")
	if err := SaveCheckpoint(path, m, nil, 0, nil); err != nil {
		t.Fatal(err)
	}
	m2, _ := New("simplenet_mnist", 1)
	if _, err := LoadCheckpoint(path, m2, nil); err != nil {
		t.Fatal(err)
	}
	if got := m2.Param("fc1.weight").Shape(); got[1] != 640 {
		t.Fatalf("fc1.weight shape %v after load", got)
	}
}

func TestCheckpointMismatch(t *testing.T) {
	m, _ := New("lenet300_100", 1)
	path := filepath.Join(t.TempDir(), "l.safetensors")
	if err := SaveCheckpoint(path, m, nil, 0, nil); err != nil {
		t.Fatal(err)
	}
	other, _ := New("simplenet_mnist", 1)
	if _, err := LoadCheckpoint(path, other, nil); !errors.Is(err, ErrCheckpointMismatch) {
		t.Fatalf("loading a lenet300_100 checkpoint into simplenet_mnist: %v", err)
	}
	if _, err := LoadCheckpoint(filepath.Join(t.TempDir(), "missing"), m, nil); err == nil {
		t.Fatal("missing file loaded")
	}
}

// TestCheckpointFailureLeavesModel checks that a checkpoint that does not fit changes
// nothing: not the parameters it shares with the model, not their masks, whether the
// mismatch is a tensor the model lacks or an optimizer that refuses its state.
func TestCheckpointFailureLeavesModel(t *testing.T) {
	src, _ := New("lenet300_100", 1)
	opt, _ := NewSGD(src.Params(), SGDConfig{LR: 0.1, Momentum: 0.9})
	for _, p := range src.Params() {
		p.Grad = ops.New(p.Shape()...)
		ops.F32(p.Grad)[0] = 1
	}
	opt.Step()
	path := filepath.Join(t.TempDir(), "l.safetensors")
	if err := SaveCheckpoint(path, src, opt, 0, nil); err != nil {
		t.Fatal(err)
	}
	unchanged := func(t *testing.T, m *Model) func() {
		values := map[string][]float32{}
		shapes := map[string][]int{}
		for _, p := range m.Params() {
			values[p.Name] = slices.Clone(p.Data())
			shapes[p.Name] = p.Shape()
		}
		return func() {
			t.Helper()
			for _, p := range m.Params() {
				if !slices.Equal(p.Shape(), shapes[p.Name]) || !equalF32(p.Data(), values[p.Name]) {
					t.Errorf("%s changed (shape %v, was %v) by a failed load", p.Name, p.Shape(), shapes[p.Name])
				}
				if p.Mask != nil {
					t.Errorf("%s got a mask from a failed load", p.Name)
				}
			}
		}
	}

	// fc1 alone, 784→10: fc1.weight is in the file with another shape, fc2 is unknown.
	small := NewModel("", []int{1, 28, 28}, 10, NewSequential("", NewFlatten("flatten"), NewLinear("fc1", 784, 10, true)))
	check := unchanged(t, small)
	if _, err := LoadCheckpoint(path, small, nil); !errors.Is(err, ErrCheckpointMismatch) {
		t.Fatalf("loading lenet300_100 into a one-layer model: %v", err)
	}
	check()

	// The whole model, but an optimizer whose slots differ (Adam has two, SGD one).
	m, _ := New("lenet300_100", 2)
	adam, _ := NewAdam(m.Params(), AdamConfig{LR: 0.001})
	check = unchanged(t, m)
	if _, err := LoadCheckpoint(path, m, adam); err == nil {
		t.Fatal("an SGD state loaded into Adam")
	}
	check()

	// A momentum buffer of the wrong shape is refused only by SGD.SetState, after the
	// model was written: the load must undo it.
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, tn := range f.Tensors {
		if tn.Name == optimPrefix+"momentum_buffer.fc2.weight" {
			f.Tensors[i] = safetensors.FromFloat32(tn.Name, []int{7}, make([]float32, 7))
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.safetensors")
	if err := safetensors.WriteFile(bad, f); err != nil {
		t.Fatal(err)
	}
	m, _ = New("lenet300_100", 3)
	sgd, _ := NewSGD(m.Params(), SGDConfig{LR: 0.1, Momentum: 0.9})
	check = unchanged(t, m)
	if _, err := LoadCheckpoint(bad, m, sgd); err == nil || !strings.Contains(err.Error(), "fc2.weight") {
		t.Fatalf("a momentum buffer of shape [7] for fc2.weight: %v", err)
	}
	check()
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
