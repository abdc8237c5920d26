package nn

import (
	"math"
	"testing"

	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// TestForwardObserved checks, for every zoo model, that the observed forward pass gives
// Forward's logits bit for bit and reports every layer exactly once, with a non-empty output.
func TestForwardObserved(t *testing.T) {
	for _, info := range Models() {
		t.Run(info.Name, func(t *testing.T) {
			m, err := New(info.Name, 3)
			if err != nil {
				t.Fatal(err)
			}
			var x *tensor.Dense
			if len(info.Input) == 1 { // token ids, T×N
				x = ops.New(info.Input[0], 2)
				for i := range ops.F32(x) {
					ops.F32(x)[i] = float32(i % info.Classes)
				}
			} else {
				x = ops.New(2, info.Input[0], info.Input[1], info.Input[2])
				for i := range ops.F32(x) {
					ops.F32(x)[i] = float32(math.Sin(float64(i)))
				}
			}
			want := append([]float32(nil), ops.F32(m.Forward(x, false))...)
			var names []string
			got := m.ForwardObserved(x, false, func(l LayerInfo, out *tensor.Dense) {
				names = append(names, l.Name)
				if s := out.Shape(); len(s) == 0 || s.TotalSize() == 0 {
					t.Errorf("%s: output shape %v", l.Name, s)
				}
			})
			for i, v := range ops.F32(got) {
				if math.Float32bits(v) != math.Float32bits(want[i]) {
					t.Fatalf("logit %d: observed %v, Forward %v", i, v, want[i])
				}
			}
			layers := m.Layers()
			if len(names) != len(layers) {
				t.Fatalf("%d layers observed, model has %d", len(names), len(layers))
			}
			seen := map[string]int{}
			for _, n := range names {
				seen[n]++
			}
			for _, l := range layers {
				if seen[l.Name] != 1 {
					t.Errorf("layer %s observed %d times, want once", l.Name, seen[l.Name])
				}
			}
		})
	}
}
