package stdlib

import (
	"errors"
	"slices"
	"testing"

	"github.com/dst-dev/dst/nn"
)

func TestValuePruner(t *testing.T) {
	r := newRand()
	p := randParam(t, r, "conv.weight", 4, 3, 2, 2)
	orig := slices.Clone(p.Data())
	scale := []float32{10, 0.1, 1, 5} // per filter, as BatchNorm folding gives
	folded := func(p *nn.Param) ([]float32, error) {
		v := slices.Clone(p.Data())
		for i := range v {
			v[i] *= scale[i/12]
		}
		return v, nil
	}
	vp := &ValuePruner{Inner: &LevelPruner{Sparsity: 0.5}, Values: folded}
	mustPrune(t, vp, Point{}, p)
	want := make([]float32, p.Len())
	fw := slices.Clone(orig)
	for i := range fw {
		fw[i] *= scale[i/12]
	}
	LevelMask(want, fw, nil, 24)
	if !slices.Equal(p.MaskData(), want) {
		t.Fatalf("mask %v, want the level mask of the folded values %v", p.MaskData(), want)
	}
	for i, v := range p.Data() {
		if want[i] == 1 && v != orig[i] {
			t.Fatalf("value %d = %v, want the original %v", i, v, orig[i])
		}
		if want[i] == 0 && v != 0 {
			t.Fatalf("value %d = %v, want 0", i, v)
		}
	}
	sv := &ValuePruner{Inner: &SensitivityPruner{Sensitivity: 1}, Values: folded}
	mustPrune(t, sv, Point{}, randParam(t, r, "conv.weight", 4, 3, 2, 2))
	if len(sv.State()) != 1 {
		t.Errorf("state of the inner sensitivity pruner not passed through: %v", sv.State())
	}
	if err := vp.SetState(map[string][]float64{"x": {1}}); err == nil {
		t.Errorf("SetState accepted state for a stateless inner pruner")
	}
	bad := &ValuePruner{Inner: &LevelPruner{Sparsity: 0.5}, Values: func(*nn.Param) ([]float32, error) { return nil, errors.New("no BatchNorm") }}
	q := randParam(t, r, "w", 8)
	before := slices.Clone(q.Data())
	if err := bad.Prune([]*nn.Param{q}, Point{}); err == nil || !slices.Equal(q.Data(), before) || q.MaskData() != nil {
		t.Errorf("a failing value function: err %v, parameter changed %v", err, !slices.Equal(q.Data(), before))
	}
	if err := (&ValuePruner{Inner: &LevelPruner{Sparsity: 0.5}}).Check([]*nn.Param{q}); err == nil {
		t.Errorf("Check accepted a ValuePruner without a value function")
	}
}
