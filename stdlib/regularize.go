package stdlib

import (
	"fmt"
	"math"

	"github.com/dst-dev/dst/kernels"
	"github.com/dst-dev/dst/nn"
)

// channelEps is Distiller's EPSILON, added under the square root of a channel's L2 norm
// in the channel group lasso and the group variance regularizer.
const channelEps = 1e-8

// checkStrength reports an error unless λ is finite and >= 0.
func checkStrength(what string, l float64) error {
	if !(l >= 0) || math.IsInf(l, 1) {
		return fmt.Errorf("stdlib: %s strength must be a finite number >= 0, got %v", what, l)
	}
	return nil
}

// L1Regularizer is Distiller's L1Regularizer: the loss λ·Σ|w| per parameter, whose
// gradient λ·sign(w) (0 at w = 0, as PyTorch's abs) is added to the parameter's
// gradient.
type L1Regularizer struct {
	// Strength is λ; >= 0.
	Strength float64
	// Threshold enables the element threshold mask |w| > λ ([L1Regularizer.ThresholdMask]),
	// Distiller's threshold_criteria for L1.
	Threshold bool
}

// Check implements [Regularizer].
func (r *L1Regularizer) Check(params []*nn.Param) error { return checkStrength("L1", r.Strength) }

// Regularize implements [Regularizer].
func (r *L1Regularizer) Regularize(params []*nn.Param) float64 {
	var loss float64
	l := float32(r.Strength)
	for _, p := range params {
		w := p.Data()
		addSign(p.GradData()[:len(w)], l, w)
		loss += r.Strength * float64(kernels.SumAbs(w))
	}
	return loss
}

// addSign adds l·sign(w[i]) to g[i] (0 for w[i] = ±0), four elements per iteration.
func addSign(g []float32, l float32, w []float32) {
	lb := math.Float32bits(l)
	i := 0
	for ; i+4 <= len(w); i += 4 {
		ws, gs := w[i:i+4:i+4], g[i:i+4:i+4]
		gs[0] += signed(lb, ws[0])
		gs[1] += signed(lb, ws[1])
		gs[2] += signed(lb, ws[2])
		gs[3] += signed(lb, ws[3])
	}
	for ; i < len(w); i++ {
		g[i] += signed(lb, w[i])
	}
}

// signed returns the float with bits lb (a non-negative l) carrying v's sign, or ±0
// when v is ±0, without branches.
func signed(lb uint32, v float32) float32 {
	b := math.Float32bits(v)
	a := b &^ (1 << 31)
	nz := -((a | -a) >> 31) // all ones unless v is ±0
	return math.Float32frombits((b&(1<<31) | lb) & nz)
}

// ThresholdMask writes into dst (len p.Len()) the element mask |w| > λ and reports
// whether the regularizer has a threshold; without one it leaves dst untouched.
func (r *L1Regularizer) ThresholdMask(dst []float32, p *nn.Param) (bool, error) {
	if !r.Threshold {
		return false, nil
	}
	ThresholdMask(dst, p.Data(), float32(r.Strength))
	return true, nil
}

// L2Regularizer is the loss λ·Σw² per parameter, whose gradient 2λ·w is added to the
// parameter's gradient: per-parameter weight decay 2λ. (Distiller has no L2 regularizer
// class; it relies on the optimizer's weight decay.)
type L2Regularizer struct {
	// Strength is λ; >= 0.
	Strength float64
}

// Check implements [Regularizer].
func (r *L2Regularizer) Check(params []*nn.Param) error { return checkStrength("L2", r.Strength) }

// Regularize implements [Regularizer].
func (r *L2Regularizer) Regularize(params []*nn.Param) float64 {
	var loss float64
	for _, p := range params {
		w := p.Data()
		kernels.Axpy(p.GradData(), float32(2*r.Strength), w)
		loss += r.Strength * float64(kernels.SumSq(w))
	}
	return loss
}

// GroupLasso is Distiller's GroupLassoRegularizer: for each granularity in Groups, the
// loss λ·Σ_g ‖w_g‖₂ over the structures g of that granularity, and its gradient
// λ·w_g/‖w_g‖₂ (0 for a structure whose norm is 0, as PyTorch's norm). Distiller's group
// types map to Groups as 2D → {Kernels}, Rows → {Rows}, Cols → {Cols}, Rows+Cols →
// {Rows, Cols}, Channels → {Channels}, Filters/3D → {Filters}, 4D → {Layers},
// Channels+4D → {Channels, Layers} (which crashes in Distiller on a misspelled helper and
// works here). For Channels, as in Distiller, the norm is sqrt(Σw² + 1e-8).
type GroupLasso struct {
	// Strength is λ; >= 0.
	Strength float64
	// Groups lists the granularities penalised (at least one; not Elements). Each term
	// has strength λ.
	Groups []Granularity
	// Block is the block shape for Blocks; ignored otherwise.
	Block []int
	// Threshold, when non-nil, enables the group threshold mask
	// ([GroupLasso.ThresholdMask]) with this criterion and threshold λ.
	Threshold *Criterion

	tmp []float32 // ThresholdMask's per-group-type mask
}

// ParseGroups returns the group list for a group-lasso group type: a language name
// (kernels, rows, cols, rows_cols, channels, filters, layers, channels_layers, blocks)
// or a Distiller group type (2D, Rows, Cols, Rows+Cols, Cols+Rows, Channels, Filters,
// 3D, 4D, Channels+4D, 4D+Channels).
func ParseGroups(name string) ([]Granularity, error) {
	switch lower(name) {
	case "rows_cols", "rows+cols", "cols+rows":
		return []Granularity{Rows, Cols}, nil
	case "channels_layers", "channels+4d", "4d+channels":
		return []Granularity{Channels, Layers}, nil
	}
	g, err := ParseGranularity(name)
	if err != nil {
		return nil, fmt.Errorf("stdlib: unknown group type %q", name)
	}
	if g == Elements {
		return nil, fmt.Errorf("stdlib: group lasso needs structures, not elements")
	}
	return []Granularity{g}, nil
}

// Check implements [Regularizer].
func (r *GroupLasso) Check(params []*nn.Param) error {
	if err := checkStrength("group lasso", r.Strength); err != nil {
		return err
	}
	if len(r.Groups) == 0 {
		return fmt.Errorf("stdlib: group lasso needs at least one group type")
	}
	for _, g := range r.Groups {
		if g == Elements {
			return fmt.Errorf("stdlib: group lasso needs structures, not elements")
		}
		for _, p := range params {
			if _, err := paramGroups(p, g, r.Block); err != nil {
				return err
			}
		}
	}
	return nil
}

// Regularize implements [Regularizer]. It panics if a parameter does not fit a group
// type; [GroupLasso.Check] reports that before training.
func (r *GroupLasso) Regularize(params []*nn.Param) float64 {
	var loss float64
	for _, p := range params {
		for _, g := range r.Groups {
			gs, err := paramGroups(p, g, r.Block)
			if err != nil {
				panic(err)
			}
			eps := 0.0
			if g == Channels {
				eps = channelEps
			}
			norms := make([]float64, gs.n)
			gs.sumSq(norms, p.Data())
			for i, s := range norms {
				norms[i] = math.Sqrt(s + eps)
				loss += r.Strength * norms[i]
			}
			addScaled(&gs, p, func(id int) float64 {
				if norms[id] == 0 {
					return 0
				}
				return r.Strength / norms[id]
			})
		}
	}
	return loss
}

// addScaled adds c(group)·w to the gradient of every element of p.
func addScaled(gs *groups, p *nn.Param, c func(id int) float64) {
	cs := make([]float32, gs.n)
	for i := range cs {
		cs[i] = float32(c(i))
	}
	gs.scaleAdd(p.GradData(), p.Data(), cs)
}

// ThresholdMask writes into dst (len p.Len()) the group threshold mask of p and reports
// whether the regularizer has a threshold; without one it leaves dst untouched. A
// structure is kept iff its norm by the criterion exceeds λ; with several group types
// an element is kept only if every structure holding it is kept.
func (r *GroupLasso) ThresholdMask(dst []float32, p *nn.Param) (bool, error) {
	if r.Threshold == nil {
		return false, nil
	}
	fill(dst, 1)
	if cap(r.tmp) < len(dst) {
		r.tmp = make([]float32, len(dst))
	}
	tmp := r.tmp[:len(dst)]
	for _, g := range r.Groups {
		if err := GroupThresholdMask(tmp, p.Data(), p.Shape(), g, r.Block, *r.Threshold, r.Strength); err != nil {
			return false, fmt.Errorf("%s: %w", p.Name, err)
		}
		for i, v := range tmp {
			dst[i] *= v
		}
	}
	return true, nil
}

// GroupVariance is Distiller's GroupVarianceRegularizer (Torfi et al., guided structured
// sparsity): the loss λ / Var(‖c‖₂ over the channels c), with channel norms
// sqrt(Σw² + 1e-8) and the variance's n−1 denominator (torch.var). Minimising it
// spreads the channel norms apart, so some channels shrink towards zero. Channels are
// dim 1 (a 2-D weight's columns); a parameter needs at least two. When the variance is
// 0 the loss is +Inf and no gradient is added.
type GroupVariance struct {
	// Strength is λ; >= 0.
	Strength float64
}

// Check implements [Regularizer].
func (r *GroupVariance) Check(params []*nn.Param) error {
	if err := checkStrength("group variance", r.Strength); err != nil {
		return err
	}
	for _, p := range params {
		gs, err := paramGroups(p, Channels, nil)
		if err != nil {
			return err
		}
		if gs.n < 2 {
			return shapeErr(p, "group variance needs at least two channels")
		}
	}
	return nil
}

// Regularize implements [Regularizer]. It panics if a parameter has fewer than two
// dimensions; [GroupVariance.Check] reports that before training.
func (r *GroupVariance) Regularize(params []*nn.Param) float64 {
	var loss float64
	for _, p := range params {
		gs, err := paramGroups(p, Channels, nil)
		if err != nil {
			panic(err)
		}
		n := gs.n
		norms := make([]float64, n)
		gs.sumSq(norms, p.Data())
		var mean float64
		for i, s := range norms {
			norms[i] = math.Sqrt(s + channelEps)
			mean += norms[i]
		}
		mean /= float64(n)
		var v float64
		for _, x := range norms {
			v += (x - mean) * (x - mean)
		}
		v /= float64(n - 1)
		if v == 0 {
			loss = math.Inf(1)
			continue
		}
		loss += r.Strength / v
		// d(λ/V)/dn_i = −λ/V² · 2(n_i − mean)/(n−1); dn_i/dw = w/n_i.
		c := -r.Strength / (v * v) * 2 / float64(n-1)
		addScaled(&gs, p, func(id int) float64 { return c * (norms[id] - mean) / norms[id] })
	}
	return loss
}
