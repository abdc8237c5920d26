package stdlib

import (
	"math/rand/v2"
	"testing"

	"github.com/dst-dev/dst/nn"
)

// newRand returns the tests' fixed-seed generator.
func newRand() *rand.Rand { return rand.New(rand.NewPCG(1, 1)) }

// randParam returns a weight parameter of the given shape filled with N(0, 1) values.
func randParam(t testing.TB, r *rand.Rand, name string, shape ...int) *nn.Param {
	t.Helper()
	p := nn.NewParam(name, "layer", nn.KindWeight, shape...)
	for i := range p.Data() {
		p.Data()[i] = float32(r.NormFloat64())
	}
	return p
}

// paramOf returns a weight parameter holding a copy of vals with the given shape.
func paramOf(t testing.TB, vals []float32, shape ...int) *nn.Param {
	t.Helper()
	p := nn.NewParam("w", "layer", nn.KindWeight, shape...)
	if len(vals) != p.Len() {
		t.Fatalf("paramOf: %d values for shape %v", len(vals), shape)
	}
	copy(p.Data(), vals)
	return p
}

// zeros counts the zero values of p.
func zeros(p *nn.Param) int { return p.Len() - p.NNZ() }

// mustPrune runs Check and then Prune, failing the test on an error.
func mustPrune(t *testing.T, pr Pruner, at Point, params ...*nn.Param) {
	t.Helper()
	if err := pr.Check(params); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if err := pr.Prune(params, at); err != nil {
		t.Fatalf("Prune: %v", err)
	}
}

// checkMaskApplied fails unless p has a 0/1 mask and every masked value is zero.
func checkMaskApplied(t *testing.T, p *nn.Param) {
	t.Helper()
	m := p.MaskData()
	if m == nil {
		t.Fatalf("%s has no mask", p.Name)
	}
	for i, v := range m {
		if v != 0 && v != 1 {
			t.Fatalf("%s: mask[%d] = %v, want 0 or 1", p.Name, i, v)
		}
		if v == 0 && p.Data()[i] != 0 {
			t.Fatalf("%s: value %d is masked but %v", p.Name, i, p.Data()[i])
		}
	}
}
