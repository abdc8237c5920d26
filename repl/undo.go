package repl

import (
	"fmt"
	"strings"

	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// snapshot is everything a mutating command may change: parameter values and masks
// (with their shapes, which thinning changes), buffers, the optimizer's state and rate,
// the epoch position and the live schedule.
type snapshot struct {
	what       string // the input that followed the snapshot
	params     []paramState
	buffers    []bufferState
	optState   map[string][]*tensor.Dense
	lr         float64
	epoch      int
	stepOff    int
	kinds      []chunkKind // chunk kinds, to restore the live schedule
	schedState []byte      // the live Scheduler's state, nil when none was compiled
	// schedTensors are that state's tensors (see Session.schedTensors).
	schedTensors map[string][]float32
	modules      string // the module tree's types (see moduleTypes)
}

// moduleTypes lists the Go types of m's modules in tree order: it changes when a command
// replaces layers (post-training quantization, batch-norm folding), which a snapshot of
// tensors cannot undo.
func moduleTypes(m *nn.Model) string {
	var b strings.Builder
	m.Walk(func(mod nn.Module) { fmt.Fprintf(&b, "%T ", mod) })
	return b.String()
}

type paramState struct {
	p           *nn.Param
	value, mask *tensor.Dense
}

type bufferState struct {
	b     *nn.Buffer
	value *tensor.Dense
}

// cloneDense returns a copy of t (nil for nil).
func cloneDense(t *tensor.Dense) *tensor.Dense {
	if t == nil {
		return nil
	}
	return tensor.New(tensor.WithShape(t.Shape().Clone()...), tensor.WithBacking(append([]float32(nil), ops.F32(t)...)))
}

// push saves the session's state before the command what changes it. The oldest
// snapshot is dropped past Config.UndoDepth.
func (s *Session) push(what string) {
	sn := &snapshot{what: what, lr: s.opt.LR(), epoch: s.epoch, stepOff: s.stepOff, modules: moduleTypes(s.m)}
	for _, p := range s.m.Params() {
		sn.params = append(sn.params, paramState{p: p, value: cloneDense(p.Value), mask: cloneDense(p.Mask)})
	}
	for _, b := range s.m.Buffers() {
		sn.buffers = append(sn.buffers, bufferState{b: b, value: cloneDense(b.Value)})
	}
	if st := s.opt.State(); len(st) > 0 {
		sn.optState = make(map[string][]*tensor.Dense, len(st))
		for name, ts := range st {
			for _, t := range ts {
				sn.optState[name] = append(sn.optState[name], cloneDense(t))
			}
		}
	}
	for _, c := range s.chunks {
		sn.kinds = append(sn.kinds, c.kind)
	}
	if s.sched != nil {
		if b, err := s.sched.MarshalState(); err == nil {
			sn.schedState, sn.schedTensors = b, stateTensors(s.sched)
		}
	} else {
		sn.schedState, sn.schedTensors = s.schedState, s.schedTensors
	}
	s.undo = append(s.undo, sn)
	if len(s.undo) > s.cfg.UndoDepth {
		s.undo = append(s.undo[:0], s.undo[len(s.undo)-s.cfg.UndoDepth:]...)
	}
}

// pop removes and returns the newest snapshot, or nil.
func (s *Session) pop() *snapshot {
	if len(s.undo) == 0 {
		return nil
	}
	sn := s.undo[len(s.undo)-1]
	s.undo = s.undo[:len(s.undo)-1]
	return sn
}

// restore puts a snapshot back. The live schedule is recompiled before the next train
// and given the saved scheduler state.
func (s *Session) restore(sn *snapshot) error {
	if sn == nil {
		return nil
	}
	for _, ps := range sn.params {
		p := ps.p
		if !sameShape(p.Value.Shape(), ps.value.Shape()) {
			p.Grad = tensor.New(tensor.WithShape(ps.value.Shape().Clone()...), tensor.Of(tensor.Float32))
		}
		p.Value, p.Mask = ps.value, ps.mask
	}
	for _, bs := range sn.buffers {
		bs.b.Value = bs.value
	}
	var err error
	if sn.optState != nil {
		if e := s.opt.SetState(sn.optState); e != nil {
			err = fmt.Errorf("the optimizer's state was not restored: %w", e)
		}
	}
	s.opt.SetLR(sn.lr)
	s.epoch, s.stepOff = sn.epoch, sn.stepOff
	for i := range s.chunks {
		if i < len(sn.kinds) {
			s.chunks[i].kind = sn.kinds[i]
		} else if s.chunks[i].kind != kindLet {
			s.chunks[i].kind = kindOther
		}
	}
	s.sched, s.schedState, s.schedTensors = nil, sn.schedState, sn.schedTensors
	return err
}

func sameShape(a, b tensor.Shape) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// unquantize puts back the float layers that post-training quantization replaced (their
// parameters are left as they were) and returns a function that quantizes them again,
// or nil when the model has no quantized layer.
func (s *Session) unquantize() (requantize func()) {
	quantized := map[nn.Module]nn.Module{} // float layer → its quantized form
	nn.ReplaceModules(s.m, func(mod nn.Module) (nn.Module, error) {
		if r, ok := mod.(*nn.RangeLinear); ok && r.Layer != nil {
			quantized[r.Layer] = r
			return r.Layer, nil
		}
		return nil, nil
	})
	if len(quantized) == 0 {
		return nil
	}
	return func() {
		nn.ReplaceModules(s.m, func(mod nn.Module) (nn.Module, error) {
			return quantized[mod], nil
		})
	}
}
