// Package softmask holds forward-only masks for the interpreter (Distiller's
// mask_on_forward_only, use_double_copies, mask_gradients, keep_mask).
//
// An ordinary mask lives in nn.Param.Mask, and nn's optimizers enforce it after every
// step. A forward-only mask must not be enforced by the optimizer, so it lives in a
// shadow parameter that shares the real parameter's value and gradient tensors but has
// its own Mask. The pruner runs on the shadows (so stateful pruners such as splicing see
// their previous mask), and the values it zeroed are put back: the mask is applied at
// every minibatch instead. With double copies the unmasked values are saved first and
// restored before the optimizer step, so the optimizer updates the dense copy while the
// loss saw the masked one. Keep installs the shadow masks as ordinary masks.
//
// A Set is not safe for concurrent use.
package softmask

import (
	"github.com/dst-dev/dst/kernels"
	"github.com/dst-dev/dst/nn"
	"gorgonia.org/tensor"
)

// Set holds the forward-only masks of one policy's parameters.
type Set struct {
	shadow []*nn.Param // shadow[i] shares params[i]'s Value and Grad
	saved  [][]float32 // values saved around pruning and, with double copies, the step
}

// New returns a Set without masks for params.
func New(params []*nn.Param) *Set {
	sm := &Set{shadow: make([]*nn.Param, len(params)), saved: make([][]float32, len(params))}
	for i, p := range params {
		sm.shadow[i] = &nn.Param{Name: p.Name, Layer: p.Layer, Kind: p.Kind, Value: p.Value, Grad: p.Grad}
	}
	return sm
}

// sync points the shadows at the parameters' current tensors; a shadow whose parameter
// changed shape (thinning) loses its mask.
func (sm *Set) sync(params []*nn.Param) {
	for i, p := range params {
		sh := sm.shadow[i]
		if sh.Value != p.Value {
			sh.Value, sh.Grad = p.Value, p.Grad
			if sh.Mask != nil && sh.Len() != len(sh.MaskData()) {
				sh.Mask = nil
			}
		}
	}
}

// save copies each parameter's values into saved.
func (sm *Set) save(params []*nn.Param) {
	for i, p := range params {
		d := p.Data()
		if cap(sm.saved[i]) < len(d) {
			sm.saved[i] = make([]float32, len(d))
		}
		sm.saved[i] = sm.saved[i][:len(d)]
		copy(sm.saved[i], d)
	}
}

func (sm *Set) restore(params []*nn.Param) {
	for i, p := range params {
		copy(p.Data(), sm.saved[i])
	}
}

// Around runs a pruner on the shadows, keeping the parameters' values unchanged.
func (sm *Set) Around(params []*nn.Param, prune func([]*nn.Param) error) error {
	sm.sync(params)
	sm.save(params)
	err := prune(sm.shadow)
	sm.restore(params)
	return err
}

// Apply multiplies the values by the forward-only masks, saving them first when
// double is set.
func (sm *Set) Apply(params []*nn.Param, double bool) {
	sm.sync(params)
	if double {
		sm.save(params)
	}
	for i, p := range params {
		if m := sm.shadow[i].MaskData(); m != nil {
			v := p.Data()
			kernels.Mul(v, v, m)
		}
	}
}

// BeforeStep masks the gradients (maskGrads) and restores the dense copies (double).
func (sm *Set) BeforeStep(params []*nn.Param, maskGrads, double bool) {
	for i, p := range params {
		m := sm.shadow[i].MaskData()
		if maskGrads && m != nil {
			g := p.GradData()
			kernels.Mul(g, g, m)
		}
		if double && len(sm.saved[i]) == p.Len() {
			copy(p.Data(), sm.saved[i])
		}
	}
}

// Clear drops every forward-only mask (discard_masks).
func (sm *Set) Clear() {
	for _, sh := range sm.shadow {
		sh.Mask = nil
	}
}

// Keep installs the forward-only masks as ordinary masks, combined with any mask the
// parameter already has.
func (sm *Set) Keep(params []*nn.Param) {
	sm.sync(params)
	for i, p := range params {
		m := sm.shadow[i].MaskData()
		if m == nil {
			continue
		}
		mm := append([]float32(nil), m...)
		if old := p.MaskData(); old != nil {
			kernels.Mul(mm, mm, old)
		}
		p.SetMask(mm)
	}
}

// Shadows returns the shadow parameters: shadow i has parameter i's name, shares its
// tensors and holds its forward-only mask (nil for none). They must not be modified.
func (sm *Set) Shadows() []*nn.Param { return sm.shadow }

// SetMask replaces shadow i's mask with m (len the parameter's size, copied), or removes
// it when m is nil. The parameter's values are not changed.
func (sm *Set) SetMask(i int, m []float32) {
	sh := sm.shadow[i]
	if m == nil {
		sh.Mask = nil
		return
	}
	sh.Mask = tensor.New(tensor.WithShape(sh.Value.Shape()...), tensor.WithBacking(append([]float32(nil), m...)))
}
