package nn

import (
	"fmt"
	"math"
	"sort"

	"github.com/dst-dev/dst/kernels"
	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// Optimizer updates a model's parameters from their gradients. Implementations follow
// PyTorch's semantics and keep per-parameter state (momentum, moments) that checkpoints
// save through State and restore through SetState.
//
// After every Step, a parameter with a Mask has its values and its state multiplied by
// the mask, so no pruned weight is revived through momentum (Distiller issue #53).
//
// When a parameter's shape changes between steps (thinning), its state is reset to
// zeros of the new shape. Optimizers are not safe for concurrent use.
type Optimizer interface {
	// Step applies one update to every parameter.
	Step()
	// LR returns the current learning rate.
	LR() float64
	// SetLR changes the learning rate for the following steps.
	SetLR(lr float64)
	// StateNames returns the names of the per-parameter state tensors, in the order
	// State gives them ("momentum_buffer"; "exp_avg", "exp_avg_sq", "step").
	StateNames() []string
	// State returns the state tensors of every parameter by parameter name, aliasing
	// the optimizer's storage. Parameters without state (SGD without momentum) are
	// absent.
	State() map[string][]*tensor.Dense
	// SetState copies saved state into the optimizer. It returns an error naming the
	// parameter when a name is unknown, a tensor is missing or a shape differs.
	SetState(state map[string][]*tensor.Dense) error
}

// SGDConfig configures [NewSGD].
type SGDConfig struct {
	// LR is the learning rate (> 0).
	LR float64
	// Momentum is the momentum factor (0 for plain SGD).
	Momentum float64
	// WeightDecay adds WeightDecay·w to every gradient (L2 penalty).
	WeightDecay float64
	// Nesterov selects Nesterov momentum; it needs Momentum > 0.
	Nesterov bool
}

// SGD is stochastic gradient descent as PyTorch's torch.optim.SGD with dampening 0:
//
//	g = grad + wd·w
//	v = μ·v + g                     (when μ > 0)
//	g = g + μ·v  (Nesterov)  or  g = v
//	w = w − lr·g
type SGD struct {
	cfg    SGDConfig
	params []*Param
	vel    []*tensor.Dense // nil entries when momentum is 0
}

// NewSGD returns SGD over params. It returns an error for a non-positive or non-finite
// learning rate, a negative momentum or weight decay, or Nesterov without momentum.
func NewSGD(params []*Param, cfg SGDConfig) (*SGD, error) {
	if err := checkHyper("SGD", cfg.LR, cfg.WeightDecay); err != nil {
		return nil, err
	}
	if !(cfg.Momentum >= 0) || math.IsInf(cfg.Momentum, 0) {
		return nil, fmt.Errorf("nn: SGD: momentum %v must be ≥ 0", cfg.Momentum)
	}
	if cfg.Nesterov && cfg.Momentum == 0 {
		return nil, fmt.Errorf("nn: SGD: Nesterov momentum needs a momentum > 0")
	}
	o := &SGD{cfg: cfg, params: params, vel: make([]*tensor.Dense, len(params))}
	if cfg.Momentum > 0 {
		for i, p := range params {
			o.vel[i] = ops.New(p.Shape()...)
		}
	}
	return o, nil
}

func checkHyper(name string, lr, wd float64) error {
	if !(lr > 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("nn: %s: learning rate %v must be positive", name, lr)
	}
	if !(wd >= 0) || math.IsInf(wd, 0) {
		return fmt.Errorf("nn: %s: weight decay %v must be ≥ 0", name, wd)
	}
	return nil
}

// Config returns the optimizer's configuration, with its current learning rate.
func (o *SGD) Config() SGDConfig { return o.cfg }

// LR implements [Optimizer].
func (o *SGD) LR() float64 { return o.cfg.LR }

// SetLR implements [Optimizer].
func (o *SGD) SetLR(lr float64) { o.cfg.LR = lr }

// StateNames implements [Optimizer].
func (o *SGD) StateNames() []string {
	if o.cfg.Momentum == 0 {
		return nil
	}
	return []string{"momentum_buffer"}
}

// sgdBlock is the number of values of a parameter that Step updates at a time: small
// enough for the vectorised passes over one block to stay in the L1 cache.
const sgdBlock = 2048

// Step implements [Optimizer]. The update runs as a few vectorised passes
// (kernels.Scale and kernels.Axpy) over cache-sized blocks of each parameter.
func (o *SGD) Step() {
	for i, p := range o.params {
		w, g := p.Data(), p.GradData()
		var v []float32
		if o.cfg.Momentum != 0 {
			v = ops.F32(fitState(&o.vel[i], p))
		}
		for lo := 0; lo < len(w); lo += sgdBlock {
			hi := min(lo+sgdBlock, len(w))
			var vb []float32
			if v != nil {
				vb = v[lo:hi]
			}
			o.update(w[lo:hi], g[lo:hi], vb)
		}
		if m := p.MaskData(); m != nil {
			maskInto(w, m)
			if v != nil {
				maskInto(v, m)
			}
		}
	}
}

// update applies one SGD step to a block of weights w with gradients g and velocity v
// (nil without momentum).
func (o *SGD) update(w, g, v []float32) {
	lr, mu, wd := float32(o.cfg.LR), float32(o.cfg.Momentum), float32(o.cfg.WeightDecay)
	if v == nil {
		// w = w − lr·(g + wd·w)
		if wd != 0 {
			kernels.Scale(w, 1-lr*wd)
		}
		kernels.Axpy(w, -lr, g)
		return
	}
	// v = μ·v + g + wd·w
	kernels.Scale(v, mu)
	kernels.Axpy(v, 1, g)
	if wd != 0 {
		kernels.Axpy(v, wd, w)
	}
	if o.cfg.Nesterov {
		// w = w − lr·(g + wd·w + μ·v)
		if wd != 0 {
			kernels.Scale(w, 1-lr*wd)
		}
		kernels.Axpy(w, -lr, g)
		kernels.Axpy(w, -lr*mu, v)
		return
	}
	kernels.Axpy(w, -lr, v)
}

// State implements [Optimizer].
func (o *SGD) State() map[string][]*tensor.Dense {
	st := map[string][]*tensor.Dense{}
	if o.cfg.Momentum == 0 {
		return st
	}
	for i, p := range o.params {
		st[p.Name] = []*tensor.Dense{fitState(&o.vel[i], p)}
	}
	return st
}

// SetState implements [Optimizer].
func (o *SGD) SetState(state map[string][]*tensor.Dense) error {
	if o.cfg.Momentum == 0 {
		if len(state) > 0 {
			return fmt.Errorf("nn: SGD: state given for an optimizer without momentum")
		}
		return nil
	}
	return setState("SGD", o.params, state, func(i int) []*tensor.Dense {
		return []*tensor.Dense{fitState(&o.vel[i], o.params[i])}
	})
}

// AdamConfig configures [NewAdam]; zero Beta1, Beta2 and Eps take PyTorch's defaults
// (0.9, 0.999, 1e-8).
type AdamConfig struct {
	// LR is the learning rate (> 0).
	LR float64
	// Beta1 and Beta2 are the decay rates of the first and second moments, in [0, 1).
	Beta1, Beta2 float64
	// Eps is added to the denominator.
	Eps float64
	// WeightDecay adds WeightDecay·w to every gradient (PyTorch's Adam, not AdamW).
	WeightDecay float64
}

// Adam is torch.optim.Adam (amsgrad off):
//
//	g = grad + wd·w;  t = t + 1
//	m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²
//	w = w − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε)
type Adam struct {
	cfg    AdamConfig
	params []*Param
	m, v   []*tensor.Dense
	step   []*tensor.Dense // one value per parameter: the step count t
}

// NewAdam returns Adam over params, or an error for invalid hyper-parameters.
func NewAdam(params []*Param, cfg AdamConfig) (*Adam, error) {
	if cfg.Beta1 == 0 && cfg.Beta2 == 0 {
		cfg.Beta1, cfg.Beta2 = 0.9, 0.999
	}
	if cfg.Eps == 0 {
		cfg.Eps = 1e-8
	}
	if err := checkHyper("Adam", cfg.LR, cfg.WeightDecay); err != nil {
		return nil, err
	}
	if !(cfg.Beta1 >= 0 && cfg.Beta1 < 1) || !(cfg.Beta2 >= 0 && cfg.Beta2 < 1) {
		return nil, fmt.Errorf("nn: Adam: betas (%v, %v) must lie in [0, 1)", cfg.Beta1, cfg.Beta2)
	}
	if !(cfg.Eps > 0) {
		return nil, fmt.Errorf("nn: Adam: eps %v must be positive", cfg.Eps)
	}
	o := &Adam{cfg: cfg, params: params}
	o.m = make([]*tensor.Dense, len(params))
	o.v = make([]*tensor.Dense, len(params))
	o.step = make([]*tensor.Dense, len(params))
	for i, p := range params {
		o.m[i], o.v[i], o.step[i] = ops.New(p.Shape()...), ops.New(p.Shape()...), ops.New(1)
	}
	return o, nil
}

// Config returns the optimizer's configuration (defaults filled in), with its current
// learning rate.
func (o *Adam) Config() AdamConfig { return o.cfg }

// LR implements [Optimizer].
func (o *Adam) LR() float64 { return o.cfg.LR }

// SetLR implements [Optimizer].
func (o *Adam) SetLR(lr float64) { o.cfg.LR = lr }

// StateNames implements [Optimizer].
func (o *Adam) StateNames() []string { return []string{"exp_avg", "exp_avg_sq", "step"} }

// Step implements [Optimizer].
func (o *Adam) Step() {
	b1, b2, eps, wd := o.cfg.Beta1, o.cfg.Beta2, o.cfg.Eps, float32(o.cfg.WeightDecay)
	for i, p := range o.params {
		if !sameShape(o.m[i].Shape(), p.Value.Shape()) {
			o.m[i], o.v[i] = nil, nil
			clear(ops.F32(o.step[i]))
		}
		m := ops.F32(fitState(&o.m[i], p))
		v := ops.F32(fitState(&o.v[i], p))
		st := ops.F32(o.step[i])
		st[0]++
		t := float64(st[0])
		bc1 := 1 - math.Pow(b1, t)
		bc2 := math.Sqrt(1 - math.Pow(b2, t))
		stepSize := float32(o.cfg.LR / bc1)
		fb1, fb2, invBC2, feps := float32(b1), float32(b2), float32(1/bc2), float32(eps)
		w, g := p.Data(), p.GradData()
		for j, gj := range g {
			gj += wd * w[j]
			mj := fb1*m[j] + (1-fb1)*gj
			vj := fb2*v[j] + (1-fb2)*gj*gj
			m[j], v[j] = mj, vj
			w[j] -= stepSize * mj / (float32(math.Sqrt(float64(vj)))*invBC2 + feps)
		}
		if mk := p.MaskData(); mk != nil {
			maskInto(w, mk)
			maskInto(m, mk)
			maskInto(v, mk)
		}
	}
}

// State implements [Optimizer].
func (o *Adam) State() map[string][]*tensor.Dense {
	st := map[string][]*tensor.Dense{}
	for i, p := range o.params {
		st[p.Name] = []*tensor.Dense{fitState(&o.m[i], p), fitState(&o.v[i], p), o.step[i]}
	}
	return st
}

// SetState implements [Optimizer].
func (o *Adam) SetState(state map[string][]*tensor.Dense) error {
	return setState("Adam", o.params, state, func(i int) []*tensor.Dense {
		return []*tensor.Dense{fitState(&o.m[i], o.params[i]), fitState(&o.v[i], o.params[i]), o.step[i]}
	})
}

// fitState returns *s, replaced by zeros of p's shape when missing or of another shape.
func fitState(s **tensor.Dense, p *Param) *tensor.Dense {
	if *s == nil || !sameShape((*s).Shape(), p.Value.Shape()) {
		*s = ops.New(p.Shape()...)
	}
	return *s
}

func setState(opt string, params []*Param, state map[string][]*tensor.Dense, slots func(i int) []*tensor.Dense) error {
	index := make(map[string]int, len(params))
	for i, p := range params {
		index[p.Name] = i
	}
	names := make([]string, 0, len(state))
	for name := range state {
		names = append(names, name)
	}
	sort.Strings(names) // the first error reported does not depend on map order
	// Check everything before changing anything.
	for _, name := range names {
		ts := state[name]
		i, ok := index[name]
		if !ok {
			return fmt.Errorf("nn: %s: state for unknown parameter %q", opt, name)
		}
		dst := slots(i)
		if len(ts) != len(dst) {
			return fmt.Errorf("nn: %s: parameter %q has %d state tensors, want %d", opt, name, len(ts), len(dst))
		}
		for k, t := range ts {
			if t == nil || !sameShape(t.Shape(), dst[k].Shape()) {
				return fmt.Errorf("nn: %s: state %d of parameter %q has the wrong shape", opt, k, name)
			}
		}
	}
	for name, ts := range state {
		for k, dst := range slots(index[name]) {
			copy(ops.F32(dst), ops.F32(ts[k]))
		}
	}
	return nil
}

func maskInto(x, mask []float32) {
	for j, k := range mask {
		if k == 0 {
			x[j] = 0
		}
	}
}
