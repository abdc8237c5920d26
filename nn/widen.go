package nn

// Widening (WRPN, Mishra et al.: "Wide Reduced-Precision Networks") multiplies the
// number of filters of every layer, so that a network quantized to few bits recovers the
// accuracy it lost. It is thinning's opposite and uses the same channel spaces (see
// thin.go): every space except the model input and the model output grows from C to
// round(C·factor) channels, together with everything that produces or reads it — the
// producers' filters and biases, the BatchNorm parameters and statistics, the consumers'
// input channels (or column blocks after Flatten) — and the spaces joined by residual
// adds grow together. The widened layers start again from their initialisation, at their
// new fan-in: widening is for training from scratch.

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/dst-dev/dst/ops"
)

// ErrWiden is wrapped by every error [Widen] returns about a model it cannot widen.
var ErrWiden = errors.New("nn: cannot widen this model")

// WidenReport says what [Widen] changed: one line per channel space.
type WidenReport struct {
	Spaces []WidenSpace
}

// WidenSpace is one widened channel space: the layers producing it and its size before
// and after.
type WidenSpace struct {
	Producers []string
	From, To  int
}

// String summarises the report, one line per space.
func (r *WidenReport) String() string {
	var b strings.Builder
	for i, sp := range r.Spaces {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s: %d → %d channels", strings.Join(sp.Producers, ", "), sp.From, sp.To)
	}
	return b.String()
}

// Widen multiplies, in place, the channels of every hidden space of m by factor (≥ 1,
// rounded to the nearest count) and initialises the layers it changed afresh from r, as
// the zoo initialises them. The model input and the class scores keep their sizes. A
// model with masks (pruned) or with a module type the tracer does not know is refused
// with an error wrapping [ErrWiden], before anything changes. Optimizers built before
// reallocate their state for the new shapes at their next step. r is required.
func Widen(m *Model, factor float64, r *rand.Rand) (*WidenReport, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: Widen needs a random source for the new weights", ErrWiden)
	}
	if !(factor >= 1) || math.IsInf(factor, 0) {
		return nil, fmt.Errorf("%w: factor %v must be a finite number of at least 1", ErrWiden, factor)
	}
	for _, p := range m.Params() {
		if p.Mask != nil {
			return nil, fmt.Errorf("%w: %s is pruned; widen before pruning", ErrWiden, p.Name)
		}
	}
	tr := &tracer{}
	in := tr.newSpace(m.Input[0], "model input")
	out, _, err := tr.trace(m.root, in, false)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrWiden, strings.TrimPrefix(err.Error(), ErrThin.Error()+": "))
	}
	tr.root(out).pinned = "model output"

	// New shapes, per parameter: a layer may be a consumer of one space and the producer
	// of the next.
	shapes := map[*Param][]int{}
	shapeOf := func(p *Param) []int {
		if s, ok := shapes[p]; ok {
			return s
		}
		s := append([]int(nil), p.Shape()...)
		shapes[p] = s
		return s
	}
	rep := &WidenReport{}
	var norms []*BatchNorm2d
	for i, sp := range tr.spaces {
		if tr.find(i) != i || sp.pinned != "" {
			continue
		}
		to := int(math.Round(float64(sp.size) * factor))
		if to == sp.size {
			continue
		}
		ws := WidenSpace{From: sp.size, To: to}
		for _, pr := range sp.producers {
			ws.Producers = append(ws.Producers, pr.layer)
			shapeOf(pr.w)[0] = to
			if pr.b != nil {
				shapeOf(pr.b)[0] = to
			}
		}
		for _, cs := range sp.consumers {
			s := shapeOf(cs.w)
			if len(s) == 2 { // Linear: C column blocks
				s[1] = to * cs.block
			} else {
				s[1] = to
			}
		}
		for _, bn := range sp.norms {
			norms = append(norms, bn)
			for _, p := range []*Param{bn.Weight, bn.Bias} {
				shapeOf(p)[0] = to
			}
		}
		rep.Spaces = append(rep.Spaces, ws)
	}
	if len(rep.Spaces) == 0 {
		return rep, nil
	}
	for p, s := range shapes {
		p.Value, p.Grad = ops.New(s...), ops.New(s...)
	}
	for _, bn := range norms {
		c := bn.Weight.Len()
		fill(bn.Weight.Data(), 1)
		bn.RunningMean.Value, bn.RunningVar.Value = ops.New(c), ops.New(c)
		fill(ops.F32(bn.RunningVar.Value), 1)
	}
	walk(m.root, func(mod Module) {
		switch l := mod.(type) {
		case *Conv2d:
			if _, ok := shapes[l.Weight]; !ok {
				return
			}
			if l.fanOutInit {
				initKaimingNormalFanOut(l.Weight, r)
				if l.Bias != nil {
					clear(l.Bias.Data())
				}
				return
			}
			initPyTorchDefault(l.Weight, l.Bias, r)
		case *Linear:
			if _, ok := shapes[l.Weight]; ok {
				initPyTorchDefault(l.Weight, l.Bias, r)
			}
		}
	})
	return rep, nil
}
