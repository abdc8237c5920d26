package interp

import (
	"github.com/dst-dev/dst/kernels"
	"github.com/dst-dev/dst/nn"
)

// Forward-only masks (Distiller's mask_on_forward_only, use_double_copies,
// mask_gradients, keep_mask).
//
// An ordinary mask lives in nn.Param.Mask, and nn's optimizers enforce it after every
// step. A forward-only mask must not be enforced by the optimizer, so it lives in a
// shadow parameter that shares the real parameter's value and gradient tensors but has
// its own Mask. The pruner runs on the shadows (so stateful pruners such as splicing see
// their previous mask), and the values it zeroed are put back: the mask is applied at
// every OnMinibatchBegin instead. With double copies the unmasked values are saved first
// and restored before the optimizer step, so the optimizer updates the dense copy while
// the loss saw the masked one. keep_mask installs the shadow masks as ordinary masks at
// the end of the window's last epoch.

// softMasks holds the forward-only masks of one policy's parameters.
type softMasks struct {
	shadow []*nn.Param // shadow[i] shares params[i]'s Value and Grad
	saved  [][]float32 // values saved around pruning and, with double copies, the step
}

func newSoftMasks(params []*nn.Param) *softMasks {
	sm := &softMasks{shadow: make([]*nn.Param, len(params)), saved: make([][]float32, len(params))}
	for i, p := range params {
		sm.shadow[i] = &nn.Param{Name: p.Name, Layer: p.Layer, Kind: p.Kind, Value: p.Value, Grad: p.Grad}
	}
	return sm
}

// sync points the shadows at the parameters' current tensors; a shadow whose parameter
// changed shape (thinning) loses its mask.
func (sm *softMasks) sync(params []*nn.Param) {
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
func (sm *softMasks) save(params []*nn.Param) {
	for i, p := range params {
		d := p.Data()
		if cap(sm.saved[i]) < len(d) {
			sm.saved[i] = make([]float32, len(d))
		}
		sm.saved[i] = sm.saved[i][:len(d)]
		copy(sm.saved[i], d)
	}
}

func (sm *softMasks) restore(params []*nn.Param) {
	for i, p := range params {
		copy(p.Data(), sm.saved[i])
	}
}

// around runs a pruner on the shadows, keeping the parameters' values unchanged.
func (sm *softMasks) around(params []*nn.Param, prune func([]*nn.Param) error) error {
	sm.sync(params)
	sm.save(params)
	err := prune(sm.shadow)
	sm.restore(params)
	return err
}

// apply multiplies the values by the forward-only masks, saving them first when
// double is set.
func (sm *softMasks) apply(params []*nn.Param, double bool) {
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

// beforeStep masks the gradients (maskGrads) and restores the dense copies (double).
func (sm *softMasks) beforeStep(params []*nn.Param, maskGrads, double bool) {
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

// clear drops every forward-only mask (discard_masks).
func (sm *softMasks) clear() {
	for _, sh := range sm.shadow {
		sh.Mask = nil
	}
}

// keep installs the forward-only masks as ordinary masks, combined with any mask the
// parameter already has.
func (sm *softMasks) keep(params []*nn.Param) {
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
