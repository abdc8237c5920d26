package stdlib

import (
	"fmt"

	"github.com/dst-dev/dst/nn"
)

// ValuePruner runs Inner on substitute values: for each parameter, Values returns the
// tensor to rank or threshold in its place — for example a convolution's weights scaled
// per filter by the following BatchNorm's γ/√(var+ε) (Distiller's fold_bn). The masks
// Inner computes are installed on the parameters, whose own values are restored and
// then masked. Check and the [Stateful] methods delegate to Inner.
type ValuePruner struct {
	// Inner is the pruner that computes the masks.
	Inner Pruner
	// Values returns p.Len() values to prune p by; it must not keep or modify p.
	Values func(p *nn.Param) ([]float32, error)
}

// Check implements [Pruner].
func (vp *ValuePruner) Check(params []*nn.Param) error {
	if vp.Inner == nil || vp.Values == nil {
		return fmt.Errorf("stdlib: ValuePruner needs an inner pruner and a value function")
	}
	return vp.Inner.Check(params)
}

// Prune implements [Pruner]. An error from Values leaves every parameter unchanged.
func (vp *ValuePruner) Prune(params []*nn.Param, at Point) error {
	saved := make([][]float32, len(params))
	subst := make([][]float32, len(params))
	for i, p := range params {
		v, err := vp.Values(p)
		if err != nil {
			return fmt.Errorf("stdlib: values of %s: %w", p.Name, err)
		}
		if len(v) != p.Len() {
			return fmt.Errorf("stdlib: values of %s: got %d for %d elements", p.Name, len(v), p.Len())
		}
		subst[i] = v
	}
	for i, p := range params {
		saved[i] = append([]float32(nil), p.Data()...)
		copy(p.Data(), subst[i])
	}
	err := vp.Inner.Prune(params, at)
	for i, p := range params {
		copy(p.Data(), saved[i])
		p.ApplyMask()
	}
	return err
}

// State implements [Stateful]; it is nil when Inner keeps no state.
func (vp *ValuePruner) State() map[string][]float64 {
	if s, ok := vp.Inner.(Stateful); ok {
		return s.State()
	}
	return nil
}

// SetState implements [Stateful]; state for an Inner that keeps none is an error.
func (vp *ValuePruner) SetState(st map[string][]float64) error {
	if s, ok := vp.Inner.(Stateful); ok {
		return s.SetState(st)
	}
	if len(st) > 0 {
		return fmt.Errorf("stdlib: ValuePruner: the inner pruner keeps no state")
	}
	return nil
}
