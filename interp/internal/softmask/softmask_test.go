package softmask

import (
	"testing"

	"github.com/dst-dev/dst/nn"
)

func TestSet(t *testing.T) {
	p := nn.NewParam("w", "l", nn.KindWeight, 2, 3)
	copy(p.Data(), []float32{1, -2, 3, -4, 5, -6})
	params := []*nn.Param{p}
	sm := New(params)
	mask := []float32{1, 0, 1, 0, 1, 0}
	// A "pruner" installing a mask on the shadow: the real values must come back intact.
	err := sm.Around(params, func(ps []*nn.Param) error {
		ps[0].SetMask(mask)
		return nil
	})
	if err != nil || p.Mask != nil || p.Data()[1] != -2 {
		t.Fatalf("Around changed the parameter: err %v, mask %v, values %v", err, p.Mask != nil, p.Data())
	}
	sm.Apply(params, true)
	if got := p.Data(); got[1] != 0 || got[0] != 1 {
		t.Fatalf("Apply: %v", got)
	}
	copy(p.GradData(), []float32{1, 1, 1, 1, 1, 1})
	sm.BeforeStep(params, true, true)
	if p.Data()[1] != -2 || p.GradData()[1] != 0 || p.GradData()[0] != 1 {
		t.Fatalf("BeforeStep: values %v grads %v", p.Data(), p.GradData())
	}
	sm.Keep(params)
	if p.Mask == nil || p.NNZ() != 3 {
		t.Fatalf("Keep: mask %v, nnz %d", p.Mask != nil, p.NNZ())
	}
	sm.SetMask(0, nil)
	sm.Apply(params, false) // no mask: nothing happens
	sm.Clear()
	if sm.Shadows()[0].Mask != nil {
		t.Error("Clear left a mask")
	}
}
