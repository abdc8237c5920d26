package stdlib

import (
	"math"
	"testing"

	"github.com/dst-dev/dst/nn"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParamSparsity(t *testing.T) {
	// 3×4 linear weight: row 1 and column 2 all zero, plus one more zero.
	fc := paramOf(t, []float32{
		1, -2, 0, 0,
		0, 0, 0, 0,
		3, 4, 0, -6,
	}, 3, 4)
	got := ParamSparsity(fc)
	mean := (1 - 2 + 3 + 4 - 6) / 12.0
	want := Sparsity{
		Name: "w", Shape: []int{3, 4}, Numel: 12, NNZ: 5, Elements: 7.0 / 12,
		Rows: 1.0 / 3, Cols: 1.0 / 4,
		Mean: mean, AbsMean: 16.0 / 12,
	}
	var ss float64
	for _, v := range fc.Data() {
		ss += (float64(v) - mean) * (float64(v) - mean)
	}
	want.Std = math.Sqrt(ss / 11)
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("2-D (-want +got):\n%s", diff)
	}

	// 2×3×2×2 conv weight: filter 0 all zero; channel 1 zero in filter 1 too, so
	// channel 1 is all zero; kernels: the three of filter 0, plus (1, 1).
	conv := nn.NewParam("conv.weight", "conv", nn.KindWeight, 2, 3, 2, 2)
	for i := range conv.Data() {
		conv.Data()[i] = 1
	}
	for j := range 12 {
		conv.Data()[j] = 0
	}
	for j := range 4 {
		conv.Data()[12+4+j] = 0
	}
	s := ParamSparsity(conv)
	got4 := [...]float64{s.Filters, s.Channels, s.Kernels, s.Elements, s.Rows, s.Cols}
	want4 := [...]float64{0.5, 1.0 / 3, 4.0 / 6, 16.0 / 24, 0, 0}
	if diff := cmp.Diff(want4, got4, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("4-D filters, channels, kernels, elements, rows, cols (-want +got):\n%s", diff)
	}
}

func TestTotalAndMaskSparsity(t *testing.T) {
	a := paramOf(t, []float32{0, 1, 0, 1}, 4)
	b := paramOf(t, []float32{1, 1, 1, 1, 0, 0}, 6)
	if got := TotalSparsity([]*nn.Param{a, b}); math.Abs(got-0.4) > 1e-12 {
		t.Errorf("TotalSparsity = %v, want 0.4", got)
	}
	if got := TotalSparsity(nil); got != 0 {
		t.Errorf("TotalSparsity(nil) = %v", got)
	}
	if MaskSparsity(a) != 0 {
		t.Errorf("dense parameter has mask sparsity")
	}
	a.SetMask([]float32{0, 1, 1, 1})
	if got := MaskSparsity(a); got != 0.25 {
		t.Errorf("MaskSparsity = %v, want 0.25", got)
	}
}
