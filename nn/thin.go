package nn

// Thinning (Distiller's "net thinning": remove_filters, remove_channels, contract_model)
// physically removes pruned filters and channels, leaving a smaller dense model.
//
// # Channel spaces
//
// The tracer walks the module tree once and gives every channel dimension of the
// activations a "space": the output channels of a Conv2d or Linear layer open a new space
// (the layer is its producer); a BatchNorm2d, ReLU, pooling or Dropout acts on the space
// of its input channel by channel; a Conv2d or Linear layer reading the space is a
// consumer (a Linear layer after Flatten reads each channel as a block of H·W columns).
// A residual add makes its two operands one space, so a BasicBlock's output, its
// shortcut and every block of a stage share one space: their channels are removed
// together or not at all. The model input and the model output (the class scores) are
// pinned and never shrink.
//
// # Which channels go
//
// Channel c of a space is a candidate when every producer's filter c is all zero
// ([ThinFilters]), when every consumer's input slice c is all zero ([ThinChannels]), or
// either ([ThinContract]). Thinning never changes what the model computes in evaluation
// mode:
//
//   - a channel no consumer reads (its input slices are zero) can always be removed;
//   - a channel whose filters are zero carries a constant: the filter's bias (0 without
//     one) pushed through the per-channel layers that follow it (BatchNorm with its
//     running statistics, ReLU, unpadded pooling). Where the constant reaches a consumer
//     that is unpadded and has a bias, its contribution is folded into that bias
//     (Distiller drops it, changing the outputs); where it is zero nothing needs folding;
//     otherwise (a padded convolution, a consumer without bias, a space joined by a
//     residual add whose constant is not zero) the channel is kept and reported in
//     [ThinReport.Kept].
//
// If every channel of a space qualifies, the first one is kept (a layer cannot have zero
// filters). Removing channels shrinks the producers' weights (dim 0) and biases, the
// BatchNorm weights, biases and running statistics, the consumers' weights (dim 1, or
// column blocks), their gradients and masks, and the optimizer's per-parameter state,
// which keeps its values for the surviving entries. Layers read their sizes from their
// parameters, so the model runs at once, and its checkpoint loads back into a fresh zoo
// model ([LoadCheckpoint] adopts the saved shapes).

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// ThinMode selects which structures [Thin] removes.
type ThinMode int

const (
	// ThinContract removes channels whose filters are zero and channels no layer reads
	// (Distiller's contract_model: remove_filters, then remove_channels).
	ThinContract ThinMode = iota
	// ThinFilters removes channels whose producing filters are all zero
	// (Distiller's remove_filters).
	ThinFilters
	// ThinChannels removes channels whose consuming input slices are all zero
	// (Distiller's remove_channels).
	ThinChannels
)

// String returns the mode's name in the language ("contract", "filters", "channels").
func (tm ThinMode) String() string {
	switch tm {
	case ThinFilters:
		return "filters"
	case ThinChannels:
		return "channels"
	}
	return "contract"
}

// ParseThinMode returns the mode called name: contract, filters or channels.
func ParseThinMode(name string) (ThinMode, error) {
	for _, m := range []ThinMode{ThinContract, ThinFilters, ThinChannels} {
		if m.String() == name {
			return m, nil
		}
	}
	return 0, fmt.Errorf("nn: unknown thinning mode %q (want contract, filters or channels)", name)
}

// ErrThin is wrapped by every error [Thin] returns about a model it cannot trace.
var ErrThin = errors.New("nn: cannot thin this model")

// ThinReport says what [Thin] removed.
type ThinReport struct {
	// Removed lists, per shrunk space, the layers involved and the channels removed.
	Removed []ThinSpace
	// Kept lists, per space, zero-filter channels that had to stay because removing
	// them would change the model's outputs (see the file comment).
	Kept []ThinSpace
}

// ThinSpace is one channel space of a [ThinReport].
type ThinSpace struct {
	// Producers are the layers whose output channels form the space; Consumers the
	// layers that read it; Norms the batch norms acting on it.
	Producers, Consumers, Norms []string
	// Before is the number of channels before thinning.
	Before int
	// Channels are the indices (in the space before thinning) removed or kept.
	Channels []int
}

// Empty reports whether thinning removed nothing.
func (r *ThinReport) Empty() bool { return len(r.Removed) == 0 }

// String summarises the report, one line per space, each ending in a newline.
func (r *ThinReport) String() string {
	if r.Empty() && len(r.Kept) == 0 {
		return "nothing to thin\n"
	}
	s := ""
	for _, sp := range r.Removed {
		s += fmt.Sprintf("removed %d of %d channels of %v → %v\n", len(sp.Channels), sp.Before, sp.Producers, sp.Consumers)
	}
	for _, sp := range r.Kept {
		s += fmt.Sprintf("kept %d zero-filter channels of %v (their constant output cannot be folded)\n", len(sp.Channels), sp.Producers)
	}
	return s
}

// Thin removes, in place, the channels of m that mode selects, and shrinks opt's state
// to match (opt may be nil). It returns what it removed. A model whose module tree holds
// a module type the tracer does not know (for example a quantization wrapper) is
// rejected with an error wrapping [ErrThin], before anything changes.
func Thin(m *Model, opt Optimizer, mode ThinMode) (*ThinReport, error) {
	tr := &tracer{}
	in := tr.newSpace(m.Input[0], "model input")
	out, _, err := tr.trace(m.root, in, false)
	if err != nil {
		return nil, err
	}
	tr.root(out).pinned = "model output"

	var state map[string][]*tensor.Dense
	if opt != nil {
		state = map[string][]*tensor.Dense{}
		for name, ts := range opt.State() {
			cp := make([]*tensor.Dense, len(ts))
			for i, t := range ts {
				cp[i] = ops.FromSlice(append([]float32(nil), ops.F32(t)...), t.Shape()...)
			}
			state[name] = cp
		}
	}
	rep := &ThinReport{}
	touched := map[string]bool{}
	for i := range tr.spaces {
		sp := tr.spaces[i]
		if tr.find(i) != i || sp.pinned != "" {
			continue
		}
		remove, kept := sp.plan(mode)
		if len(kept) > 0 {
			rep.Kept = append(rep.Kept, sp.describe(kept))
		}
		if len(remove) == 0 {
			continue
		}
		rep.Removed = append(rep.Removed, sp.describe(remove))
		sp.apply(remove, state, touched)
	}
	if opt != nil && len(touched) > 0 {
		changed := map[string][]*tensor.Dense{}
		for name := range touched {
			if ts, ok := state[name]; ok {
				changed[name] = ts
			}
		}
		if err := opt.SetState(changed); err != nil {
			return rep, fmt.Errorf("nn: thin: optimizer state: %w", err)
		}
	}
	return rep, nil
}

// producer is a layer whose filters (weight dim 0) make a space's channels.
type producer struct {
	layer string
	w, b  *Param
}

// consumer is a layer reading a space: channel c is weight[:, c·block:(c+1)·block] of
// the weight viewed as out×(C·block) (block = kh·kw for a convolution, H·W after Flatten).
type consumer struct {
	layer  string
	w, b   *Param
	block  int
	padded bool // a padded convolution: a constant input is not a constant contribution
	at     int  // number of the space's ops applied before this consumer reads it
}

// chanOp is a per-channel layer acting on a space, in model order.
type chanOp struct {
	bn       *BatchNorm2d
	relu     bool
	opaque   bool // does not map constants to constants (a padded pool)
	passing  bool // identity on constants (dropout, unpadded pooling)
	zeroOnly bool // keeps 0 at 0, other constants unknown (a quantized activation)
}

type space struct {
	size      int
	pinned    string
	joint     bool
	producers []producer
	consumers []consumer
	norms     []*BatchNorm2d
	ops       []chanOp
}

type tracer struct {
	spaces []*space
	parent []int
}

func (tr *tracer) newSpace(size int, pinned string) int {
	tr.spaces = append(tr.spaces, &space{size: size, pinned: pinned})
	tr.parent = append(tr.parent, len(tr.parent))
	return len(tr.spaces) - 1
}

func (tr *tracer) find(i int) int {
	for tr.parent[i] != i {
		tr.parent[i] = tr.parent[tr.parent[i]]
		i = tr.parent[i]
	}
	return i
}

func (tr *tracer) root(i int) *space { return tr.spaces[tr.find(i)] }

// union joins the spaces of a residual add.
func (tr *tracer) union(a, b int) (int, error) {
	ra, rb := tr.find(a), tr.find(b)
	if ra == rb {
		return ra, nil
	}
	sa, sb := tr.spaces[ra], tr.spaces[rb]
	if sa.size != sb.size {
		return 0, fmt.Errorf("%w: residual add of %d and %d channels", ErrThin, sa.size, sb.size)
	}
	tr.parent[rb] = ra
	sa.joint = true
	if sa.pinned == "" {
		sa.pinned = sb.pinned
	}
	sa.producers = append(sa.producers, sb.producers...)
	sa.consumers = append(sa.consumers, sb.consumers...)
	sa.norms = append(sa.norms, sb.norms...)
	sa.ops = nil
	return ra, nil
}

// trace follows mod with its input in space in (flat when the input was flattened) and
// returns the space of its output.
func (tr *tracer) trace(mod Module, in int, flat bool) (int, bool, error) {
	switch l := mod.(type) {
	case *Sequential:
		var err error
		for _, c := range l.mods {
			if in, flat, err = tr.trace(c, in, flat); err != nil {
				return 0, false, err
			}
		}
		return in, flat, nil
	case *BasicBlock:
		return tr.traceResidual(l.name, in, flat, l.main(), l.shortcut(), l.Relu2)
	case *Block:
		return tr.traceResidual(l.name, in, flat, []Module{l.Conv1, l.Relu1, l.Conv2}, l.Downsample, l.Relu2)
	case *Conv2d:
		if flat {
			return 0, false, fmt.Errorf("%w: convolution %s reads flattened features", ErrThin, l.name)
		}
		sp := tr.root(in)
		ws := l.Weight.Value.Shape()
		if ws[1] != sp.size {
			return 0, false, fmt.Errorf("%w: %s has %d input channels, its input %d", ErrThin, l.name, ws[1], sp.size)
		}
		sp.consumers = append(sp.consumers, consumer{layer: l.name, w: l.Weight, b: l.Bias, block: ws[2] * ws[3],
			padded: l.op.PadH > 0 || l.op.PadW > 0, at: len(sp.ops)})
		out := tr.newSpace(ws[0], "")
		tr.spaces[out].producers = []producer{{layer: l.name, w: l.Weight, b: l.Bias}}
		return out, false, nil
	case *Linear:
		sp := tr.root(in)
		ws := l.Weight.Value.Shape()
		block := 1
		if flat {
			if ws[1]%sp.size != 0 {
				return 0, false, fmt.Errorf("%w: %s has %d inputs, not a multiple of the %d channels before Flatten", ErrThin, l.name, ws[1], sp.size)
			}
			block = ws[1] / sp.size
		} else if ws[1] != sp.size {
			return 0, false, fmt.Errorf("%w: %s has %d inputs, its input %d", ErrThin, l.name, ws[1], sp.size)
		}
		sp.consumers = append(sp.consumers, consumer{layer: l.name, w: l.Weight, b: l.Bias, block: block, at: len(sp.ops)})
		out := tr.newSpace(ws[0], "")
		tr.spaces[out].producers = []producer{{layer: l.name, w: l.Weight, b: l.Bias}}
		return out, false, nil
	case *BatchNorm2d:
		sp := tr.root(in)
		if l.Weight.Len() != sp.size {
			return 0, false, fmt.Errorf("%w: %s normalises %d channels, its input has %d", ErrThin, l.name, l.Weight.Len(), sp.size)
		}
		sp.norms = append(sp.norms, l)
		sp.ops = append(sp.ops, chanOp{bn: l})
		return in, flat, nil
	case *ReLU:
		sp := tr.root(in)
		sp.ops = append(sp.ops, chanOp{relu: true})
		return in, flat, nil
	case *MaxPool2d:
		return tr.pool(in, flat, l.op.PadH > 0 || l.op.PadW > 0)
	case *AvgPool2d:
		return tr.pool(in, flat, l.op.PadH > 0 || l.op.PadW > 0)
	case *Dropout:
		sp := tr.root(in)
		sp.ops = append(sp.ops, chanOp{passing: true})
		return in, flat, nil
	case *Flatten:
		return in, true, nil
	case *ActQuant:
		// A quantized activation maps 0 to 0; other constants it may move.
		sp := tr.root(in)
		sp.ops = append(sp.ops, chanOp{relu: true}, chanOp{zeroOnly: true})
		return in, flat, nil
	case *InputQuant:
		return tr.trace(l.Inner, in, flat)
	case *Tap:
		return tr.trace(l.Inner, in, flat)
	}
	return 0, false, fmt.Errorf("%w: module %s of type %T", ErrThin, mod.Info().Name, mod)
}

func (tr *tracer) pool(in int, flat, padded bool) (int, bool, error) {
	sp := tr.root(in)
	sp.ops = append(sp.ops, chanOp{opaque: padded, passing: !padded})
	return in, flat, nil
}

// plan returns the channels to remove and the zero-filter channels that must stay.
func (sp *space) plan(mode ThinMode) (remove, kept []int) {
	for c := 0; c < sp.size; c++ {
		unread := len(sp.consumers) > 0 && mode != ThinFilters
		for _, cs := range sp.consumers {
			if unread && !cs.sliceZero(c) {
				unread = false
			}
		}
		if unread {
			remove = append(remove, c)
			continue
		}
		zeroFilter := len(sp.producers) > 0 && mode != ThinChannels
		for _, p := range sp.producers {
			if zeroFilter && !allZero(p.w.Data(), c, p.w.Len()/sp.size) {
				zeroFilter = false
			}
		}
		if !zeroFilter {
			continue
		}
		if sp.foldable(c) {
			remove = append(remove, c)
		} else {
			kept = append(kept, c)
		}
	}
	if len(remove) == sp.size {
		remove = remove[1:]
	}
	return remove, kept
}

// sliceZero reports whether the consumer ignores channel c.
func (cs *consumer) sliceZero(c int) bool {
	w := cs.w.Data()
	s := cs.w.Value.Shape()
	out, cols := s[0], cs.w.Len()/s[0]
	for o := 0; o < out; o++ {
		row := w[o*cols : (o+1)*cols]
		if !allZero(row, c, cs.block) {
			return false
		}
	}
	return true
}

// allZero reports whether x[c·n:(c+1)·n] is all zero.
func allZero(x []float32, c, n int) bool {
	for _, v := range x[c*n : (c+1)*n] {
		if v != 0 {
			return false
		}
	}
	return true
}

// constant returns the value channel c (whose filters are zero) carries after the
// space's first k ops, and whether it is a known constant.
func (sp *space) constant(c, k int) (float64, bool) {
	var v float64
	if b := sp.producers[0].b; b != nil {
		v = float64(b.Data()[c])
	}
	for _, op := range sp.ops[:k] {
		switch {
		case op.bn != nil:
			v = bnEval(op.bn, c, v)
		case op.relu:
			v = math.Max(v, 0)
		case op.opaque, op.zeroOnly && v != 0:
			return 0, false
		}
	}
	return v, true
}

// bnEval applies batch norm's evaluation-mode affine map to v in channel c.
func bnEval(bn *BatchNorm2d, c int, v float64) float64 {
	rm := float64(ops.F32(bn.RunningMean.Value)[c])
	rv := float64(ops.F32(bn.RunningVar.Value)[c])
	g, b := float64(bn.Weight.Data()[c]), float64(bn.Bias.Data()[c])
	return (v-rm)/math.Sqrt(rv+bn.op.Eps)*g + b
}

// foldable reports whether removing zero-filter channel c leaves the outputs unchanged,
// possibly after folding its constant into consumer biases (which plan's caller does in
// apply).
func (sp *space) foldable(c int) bool {
	if sp.joint {
		// Every producer must output 0 and every norm must map 0 to 0.
		for _, p := range sp.producers {
			if p.b != nil && p.b.Data()[c] != 0 {
				return false
			}
		}
		for _, bn := range sp.norms {
			if bnEval(bn, c, 0) != 0 {
				return false
			}
		}
		return true
	}
	for _, cs := range sp.consumers {
		v, ok := sp.constant(c, cs.at)
		if !ok {
			return false
		}
		if v != 0 && (cs.padded || cs.b == nil) {
			return false
		}
	}
	return true
}

// apply removes the channels in remove from every tensor of the space, folding the
// constants of removed zero-filter channels into consumer biases first.
func (sp *space) apply(remove []int, state map[string][]*tensor.Dense, touched map[string]bool) {
	drop := make([]bool, sp.size)
	for _, c := range remove {
		drop[c] = true
	}
	var keep []int
	for c := 0; c < sp.size; c++ {
		if !drop[c] {
			keep = append(keep, c)
		}
	}
	if !sp.joint {
		for _, cs := range sp.consumers {
			if cs.b == nil {
				continue
			}
			w, bias := cs.w.Data(), cs.b.Data()
			out := cs.w.Value.Shape()[0]
			cols := cs.w.Len() / out
			for _, c := range remove {
				if cs.sliceZero(c) {
					continue
				}
				v, ok := sp.constant(c, cs.at)
				if !ok || v == 0 {
					continue
				}
				for o := 0; o < out; o++ {
					var s float64
					for _, x := range w[o*cols+c*cs.block : o*cols+(c+1)*cs.block] {
						s += float64(x)
					}
					bias[o] += float32(v * s)
				}
			}
		}
	}
	for _, p := range sp.producers {
		selectParam(p.w, 0, keep, sp.size, state, touched)
		if p.b != nil {
			selectParam(p.b, 0, keep, sp.size, state, touched)
		}
	}
	for _, bn := range sp.norms {
		selectParam(bn.Weight, 0, keep, sp.size, state, touched)
		selectParam(bn.Bias, 0, keep, sp.size, state, touched)
		bn.RunningMean.Value = selectTensor(bn.RunningMean.Value, 0, keep, sp.size)
		bn.RunningVar.Value = selectTensor(bn.RunningVar.Value, 0, keep, sp.size)
	}
	for _, cs := range sp.consumers {
		selectParam(cs.w, 1, keep, sp.size, state, touched)
	}
	sp.size = len(keep)
}

// selectParam keeps the entries keep (of n) along axis (0: filters, 1: input channels)
// of p's value, gradient, mask and the optimizer state tensors of p's shape, and records
// p in touched.
func selectParam(p *Param, axis int, keep []int, n int, state map[string][]*tensor.Dense, touched map[string]bool) {
	before := p.Shape()
	p.Value = selectTensor(p.Value, axis, keep, n)
	p.Grad = selectTensor(p.Grad, axis, keep, n)
	if p.Mask != nil {
		p.Mask = selectTensor(p.Mask, axis, keep, n)
	}
	for i, t := range state[p.Name] {
		if sameShape(t.Shape(), before) {
			state[p.Name][i] = selectTensor(t, axis, keep, n)
		}
	}
	touched[p.Name] = true
}

// selectTensor returns a new tensor holding t's entries keep (of n) along axis, where
// axis 0 splits t into n filters and axis 1 splits each row (t viewed as rows of dim 0)
// into n blocks. A 1-D tensor is split along its only axis.
func selectTensor(t *tensor.Dense, axis int, keep []int, n int) *tensor.Dense {
	s := t.Shape()
	x := ops.F32(t)
	outer, inner := 1, len(x)/n
	if axis == 1 {
		outer = s[0]
		inner = len(x) / (outer * n)
	}
	dst := make([]float32, 0, outer*len(keep)*inner)
	for o := 0; o < outer; o++ {
		base := o * n * inner
		for _, c := range keep {
			dst = append(dst, x[base+c*inner:base+(c+1)*inner]...)
		}
	}
	ns := append([]int(nil), s...)
	if axis == 0 {
		ns[0] = len(keep)
	} else if len(ns) == 2 {
		ns[1] = len(keep) * inner
	} else {
		ns[1] = len(keep)
	}
	return ops.FromSlice(dst, ns...)
}

// describe returns the report entry for channels of the space.
func (sp *space) describe(channels []int) ThinSpace {
	ts := ThinSpace{Before: sp.size, Channels: append([]int(nil), channels...)}
	for _, p := range sp.producers {
		ts.Producers = append(ts.Producers, p.layer)
	}
	for _, c := range sp.consumers {
		ts.Consumers = append(ts.Consumers, c.layer)
	}
	for _, bn := range sp.norms {
		ts.Norms = append(ts.Norms, bn.name)
	}
	sort.Ints(ts.Channels)
	return ts
}

// traceResidual traces a residual block named name: its main path and its
// shortcut (nil for the identity) share the block's output channels, which the
// final ReLU keeps.
func (tr *tracer) traceResidual(name string, in int, flat bool, main []Module, shortcut, relu Module) (int, bool, error) {
	if flat {
		return 0, false, fmt.Errorf("%w: %s reads flattened features", ErrThin, name)
	}
	h := in
	var err error
	for _, c := range main {
		if h, _, err = tr.trace(c, h, false); err != nil {
			return 0, false, err
		}
	}
	res := in
	if shortcut != nil {
		if res, _, err = tr.trace(shortcut, in, false); err != nil {
			return 0, false, err
		}
	}
	out, err := tr.union(h, res)
	if err != nil {
		return 0, false, err
	}
	return tr.trace(relu, out, false)
}
