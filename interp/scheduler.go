package interp

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/dst-dev/dst/interp/internal/softmask"
	"github.com/dst-dev/dst/kernels"
	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/stdlib"
)

// Event names a scheduler hook.
type Event int

// The events, in the order the training loop fires them.
const (
	// OnTrainingBegin fires once before the first epoch.
	OnTrainingBegin Event = iota
	// OnEpochBegin fires at the start of every epoch.
	OnEpochBegin
	// OnMinibatchBegin fires before every minibatch's forward pass.
	OnMinibatchBegin
	// BeforeBackward fires after the loss and before the backward pass.
	BeforeBackward
	// BeforeOptimizerStep fires after the backward pass and before the optimizer step.
	BeforeOptimizerStep
	// OnMinibatchEnd fires after every optimizer step.
	OnMinibatchEnd
	// OnEpochEnd fires after every epoch's evaluation.
	OnEpochEnd
	// OnTrainingEnd fires once after the last epoch.
	OnTrainingEnd
)

var eventNames = [...]string{"OnTrainingBegin", "OnEpochBegin", "OnMinibatchBegin", "BeforeBackward",
	"BeforeOptimizerStep", "OnMinibatchEnd", "OnEpochEnd", "OnTrainingEnd"}

// String returns the hook's name, "OnEpochBegin".
func (e Event) String() string {
	if e >= 0 && int(e) < len(eventNames) {
		return eventNames[e]
	}
	return fmt.Sprintf("Event(%d)", int(e))
}

// RuntimeError is an error (or a recovered panic) raised by a policy while a hook ran.
type RuntimeError struct {
	// Range is the policy's source range.
	Range lang.Range
	// Policy is the statement and method, "prune agp".
	Policy string
	// Event is the hook that was running.
	Event Event
	// Epoch is the epoch (-1 before training); Step the minibatch within it, or -1
	// outside a minibatch.
	Epoch, Step int
	// Err is the policy's error; nil when the policy panicked.
	Err error
	// Panic is the recovered panic value, or nil.
	Panic any
	// Stack is the goroutine's stack at the panic, or nil.
	Stack []byte
}

// Error renders "file:line:col: prune agp: OnEpochBegin (epoch 2): message".
func (e *RuntimeError) Error() string {
	where := e.Event.String()
	switch {
	case e.Epoch >= 0 && e.Step >= 0:
		where += fmt.Sprintf(" (epoch %d, step %d)", e.Epoch, e.Step)
	case e.Epoch >= 0:
		where += fmt.Sprintf(" (epoch %d)", e.Epoch)
	}
	msg := fmt.Sprint(e.Err)
	if e.Panic != nil {
		msg = fmt.Sprintf("panic: %v", e.Panic)
	}
	return fmt.Sprintf("%s: %s: %s: %s", e.Range, e.Policy, where, msg)
}

// Unwrap returns the policy's error.
func (e *RuntimeError) Unwrap() error { return e.Err }

// policy is one compiled policy: its checked form, its parameters (resolved at compile
// time) and its runtime value.
type policy struct {
	pol    *lang.Policy
	name   string
	params []*nn.Param
	flags  flags

	pruner   stdlib.Pruner
	reg      stdlib.Regularizer
	thresh   stdlib.ThresholdMasker
	lr       *stdlib.LRPolicy
	thinMode nn.ThinMode
	host     func(*Call) error
	qat      *stdlib.QATRun  // quantization-aware training, installed at compile time
	alphaOpt nn.Optimizer    // PACT's α
	kd       *stdlib.KDHooks // distillation

	soft *softmask.Set // forward-only masks, nil for ordinary ones
	buf  []float32     // threshold-mask scratch
	prev [][]float32   // discard_masks: each parameter's mask before the policy's own, nil for none
	set  bool          // discard_masks: the policy set masks that OnMinibatchEnd must drop
}

// Scheduler runs a compiled program's policies at the training loop's events. It
// implements [nn.Hooks]. Create one with [Compile]; it is not safe for concurrent use.
type Scheduler struct {
	opt    Options
	log    *slog.Logger
	pols   []*policy
	masked []*nn.Param // every parameter a prune or regularize policy holds, deduplicated

	began       bool // before-training policies have run
	epoch, step int
	spe         int // minibatches per epoch, once known
	baseLR      float64
}

var _ nn.Hooks = (*Scheduler)(nil)

// Policies returns the checked policies the Scheduler runs, in order.
func (s *Scheduler) Policies() []*lang.Policy {
	out := make([]*lang.Policy, len(s.pols))
	for i, cp := range s.pols {
		out[i] = cp.pol
	}
	return out
}

// guard runs fn for policy cp at event ev, turning its error or panic into a
// *RuntimeError.
func (s *Scheduler) guard(cp *policy, ev Event, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &RuntimeError{Range: cp.pol.Range, Policy: cp.name, Event: ev, Epoch: s.epoch, Step: s.step, Panic: r, Stack: debug.Stack()}
		}
	}()
	if e := fn(); e != nil {
		return &RuntimeError{Range: cp.pol.Range, Policy: cp.name, Event: ev, Epoch: s.epoch, Step: s.step, Err: e}
	}
	return nil
}

func (s *Scheduler) point() stdlib.Point {
	return stdlib.Point{Epoch: max(s.epoch, 0), Step: max(s.step, 0), StepsPerEpoch: s.spe}
}

func (s *Scheduler) call(cp *policy, ev Event, train *nn.Step) *Call {
	return &Call{Policy: cp.pol, Params: cp.params, Event: ev, Epoch: s.epoch, Step: s.step, StepsPerEpoch: s.spe,
		Train: train, Optimizer: s.opt.Optimizer}
}

// OnTrainingBegin runs the policies `before training` (pruning, thinning). A Scheduler
// restored from a run that already began does not run them again.
func (s *Scheduler) OnTrainingBegin() error {
	s.epoch, s.step = -1, -1
	if s.began {
		for _, cp := range s.pols {
			if cp.qat != nil && !cp.qat.Began() {
				return fmt.Errorf("%s: %s resumes quantization-aware training without the float copies of the weights: "+
					"save Scheduler.StateTensors with the checkpoint and give them to RestoreStateTensors", cp.pol.Range, cp.name)
			}
		}
		return nil
	}
	for _, cp := range s.pols {
		if cp.pol.Window.Kind == lang.WindowBefore {
			if err := s.guard(cp, OnTrainingBegin, func() error { return s.act(cp, OnTrainingBegin) }); err != nil {
				return err
			}
		}
		if cp.qat != nil {
			if err := s.guard(cp, OnTrainingBegin, func() error { cp.qat.Begin(); return nil }); err != nil {
				return err
			}
		}
	}
	s.began = true
	return nil
}

// OnTrainingEnd runs the policies `after training`.
func (s *Scheduler) OnTrainingEnd() error {
	s.step = -1
	for _, cp := range s.pols {
		if cp.pol.Window.Kind == lang.WindowAfter {
			if err := s.guard(cp, OnTrainingEnd, func() error { return s.act(cp, OnTrainingEnd) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// act runs a one-shot action of a prune or thin policy.
func (s *Scheduler) act(cp *policy, ev Event) error {
	switch cp.pol.Kind {
	case lang.KindPrune:
		return s.prune(cp, ev)
	case lang.KindThin:
		return s.thin(cp, cp.thinMode)
	case lang.KindQuantize:
		if cp.qat == nil {
			return s.quantizeNow(cp)
		}
	}
	return nil
}

// OnEpochBegin computes the masks of the pruners active at epoch and sets the learning
// rate of the lr policies whose window holds it.
func (s *Scheduler) OnEpochBegin(epoch int) error {
	s.epoch, s.step = epoch, -1
	inLR, ended := false, false
	for _, cp := range s.pols {
		w := cp.pol.Window
		switch cp.pol.Kind {
		case lang.KindPrune:
			if w.Unit == lang.Epochs && w.ActiveAt(epoch) && !cp.flags.skipFirst {
				if err := s.guard(cp, OnEpochBegin, func() error { return s.prune(cp, OnEpochBegin) }); err != nil {
					return err
				}
			}
		case lang.KindLR:
			if lrEnded(cp, epoch) {
				ended = true
			}
			if !lrInWindow(cp, epoch) {
				continue
			}
			inLR = true
			if cp.lr != nil && cp.lr.Schedule == nil {
				continue // plateau acts at OnEpochEnd
			}
			if cp.host != nil && (w.Unit == lang.Steps || !w.ActiveAt(epoch)) {
				continue // host schedules run on their active epochs only
			}
			// A per-step schedule also sets the rate of the epoch's first step here, so
			// the epoch's metrics report the rate it starts with.
			if err := s.guard(cp, OnEpochBegin, func() error { return s.setLR(cp, OnEpochBegin) }); err != nil {
				return err
			}
		}
	}
	if ended && !inLR && s.opt.Optimizer != nil && s.opt.Optimizer.LR() != s.baseLR {
		s.opt.Optimizer.SetLR(s.baseLR)
		s.log.Info("learning rate restored to the base rate", "epoch", epoch, "lr", s.baseLR)
	}
	return nil
}

// lrInWindow reports whether an lr policy governs the rate at epoch: from the first
// milestone on for multistep and for epoch lists, inside [Start, End) for the others.
func lrInWindow(cp *policy, epoch int) bool {
	w := cp.pol.Window
	if w.Kind != lang.WindowEpochs {
		return false
	}
	if cp.pol.Method == "multistep" || w.Epochs != nil {
		first := w.Start
		if w.Epochs != nil {
			first = w.Epochs[0]
		}
		return epoch >= first
	}
	return epoch >= w.Start && (w.End == lang.NoEnd || epoch < w.End)
}

// lrEnded reports whether epoch is the first epoch after an lr policy's window.
func lrEnded(cp *policy, epoch int) bool {
	w := cp.pol.Window
	return cp.pol.Method != "multistep" && w.Epochs == nil && w.Kind == lang.WindowEpochs && w.End != lang.NoEnd && epoch == w.End
}

// setLR applies an lr policy's rate for the current position.
func (s *Scheduler) setLR(cp *policy, ev Event) error {
	if cp.host != nil {
		return cp.host(s.call(cp, ev, nil))
	}
	lr := cp.lr.LR(s.baseLR, s.point())
	if s.opt.Optimizer.LR() != lr {
		s.opt.Optimizer.SetLR(lr)
		if ev == OnEpochBegin {
			s.log.Info("learning rate", "policy", cp.pol.Range.String(), "epoch", s.epoch, "lr", lr)
		}
	}
	return nil
}

// prune runs a prune policy's method at the current position.
func (s *Scheduler) prune(cp *policy, ev Event) error {
	if cp.flags.discardMasks {
		if cp.soft == nil && !cp.set {
			cp.savePrev()
		}
		cp.set = true
	}
	var err error
	switch {
	case cp.host != nil && cp.soft != nil:
		err = cp.soft.Around(cp.params, func(ps []*nn.Param) error {
			c := s.call(cp, ev, nil)
			c.Params = ps
			return cp.host(c)
		})
	case cp.host != nil:
		err = cp.host(s.call(cp, ev, nil))
	case cp.soft != nil:
		err = cp.soft.Around(cp.params, func(ps []*nn.Param) error { return cp.pruner.Prune(ps, s.point()) })
	default:
		err = cp.pruner.Prune(cp.params, s.point())
	}
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if ev == OnMinibatchBegin {
		level = slog.LevelDebug
	}
	if s.log.Enabled(context.Background(), level) {
		for i, p := range cp.params {
			sp := stdlib.MaskSparsity(p)
			if cp.soft != nil {
				sp = stdlib.MaskSparsity(cp.soft.Shadows()[i])
			}
			s.log.Log(context.Background(), level, "pruned", "policy", cp.pol.Range.String(), "method", cp.pol.Method,
				"param", p.Name, "epoch", s.epoch, "step", s.step, "mask_sparsity", sp)
		}
	}
	return nil
}

// thin thins the model in mode.
func (s *Scheduler) thin(cp *policy, mode nn.ThinMode) error {
	opt, _ := s.opt.Optimizer.(nn.Optimizer)
	rep, err := nn.Thin(s.opt.Model, opt, mode)
	if err != nil {
		return err
	}
	s.log.Info("thinned", "policy", cp.pol.Range.String(), "epoch", s.epoch, "report", rep.String())
	if len(rep.Kept) > 0 {
		// Zeroed filters that stay are worth a word without --verbose: the model is
		// larger than the schedule suggests.
		kept := 0
		for _, sp := range rep.Kept {
			kept += len(sp.Channels)
		}
		s.log.Warn("thinning kept zeroed filters whose constant output cannot be folded into the next layer", "policy", cp.pol.Range.String(), "epoch", s.epoch, "kept", kept, "report", strings.TrimSpace(rep.String()))
	}
	return nil
}

// OnMinibatchBegin runs step-granular pruners, per-step learning rates and thinning, and
// applies forward-only masks.
func (s *Scheduler) OnMinibatchBegin(epoch, step, stepsPerEpoch int) error {
	s.epoch, s.step, s.spe = epoch, step, stepsPerEpoch
	for _, cp := range s.pols {
		w := cp.pol.Window
		switch cp.pol.Kind {
		case lang.KindPrune:
			due := false
			if w.Unit == lang.Steps {
				due = w.ActiveAtStep(epoch, step, stepsPerEpoch)
			} else if cp.flags.skipFirst {
				due = step == 1 && w.ActiveAt(epoch)
			}
			if due {
				if err := s.guard(cp, OnMinibatchBegin, func() error { return s.prune(cp, OnMinibatchBegin) }); err != nil {
					return err
				}
			}
			if cp.soft != nil {
				cp.soft.Apply(cp.params, cp.flags.doubleCopies)
			}
		case lang.KindLR:
			if w.Unit == lang.Steps && lrInWindow(cp, epoch) && (cp.host == nil || w.ActiveAtStep(epoch, step, stepsPerEpoch)) {
				if err := s.guard(cp, OnMinibatchBegin, func() error { return s.setLR(cp, OnMinibatchBegin) }); err != nil {
					return err
				}
			}
		case lang.KindThin:
			if step == 0 && w.ActiveAt(epoch) {
				if err := s.guard(cp, OnMinibatchBegin, func() error { return s.thin(cp, cp.thinMode) }); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// BeforeBackward adds the active regularizers' losses to st.Loss and their gradients to
// the parameters.
func (s *Scheduler) BeforeBackward(st *nn.Step) error {
	if st == nil {
		return fmt.Errorf("interp: BeforeBackward: nil step")
	}
	s.epoch, s.step = st.Epoch, st.Step
	for _, cp := range s.pols {
		if cp.kd != nil {
			if err := s.guard(cp, BeforeBackward, func() error { return cp.kd.BeforeBackward(st) }); err != nil {
				return err
			}
			continue
		}
		if cp.pol.Kind != lang.KindRegularize || !cp.pol.Window.ActiveAt(st.Epoch) {
			continue
		}
		if err := s.guard(cp, BeforeBackward, func() error {
			if cp.host != nil {
				return cp.host(s.call(cp, BeforeBackward, st))
			}
			st.Loss += cp.reg.Regularize(cp.params)
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// BeforeOptimizerStep masks the gradients of forward-only policies with mask_gradients
// and restores the dense copies of double_copies policies, so the optimizer updates them.
func (s *Scheduler) BeforeOptimizerStep(st *nn.Step) error {
	if st == nil {
		return fmt.Errorf("interp: BeforeOptimizerStep: nil step")
	}
	for _, cp := range s.pols {
		if cp.soft != nil {
			cp.soft.BeforeStep(cp.params, cp.flags.maskGradients, cp.flags.doubleCopies)
		}
		if cp.qat != nil {
			if err := s.guard(cp, BeforeOptimizerStep, func() error { return s.qatBeforeStep(cp) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// OnMinibatchEnd applies regularizers' threshold masks, drops discard_masks masks and
// re-applies every mask (unless Options.OptimizerMasks says the optimizer did), so
// pruned weights stay exactly zero even when the host's optimizer does not mask.
func (s *Scheduler) OnMinibatchEnd(epoch, step, stepsPerEpoch int) error {
	s.epoch, s.step, s.spe = epoch, step, stepsPerEpoch
	for _, cp := range s.pols {
		if cp.qat != nil {
			if err := s.guard(cp, OnMinibatchEnd, func() error { return s.qatAfterStep(cp) }); err != nil {
				return err
			}
		}
		switch {
		case cp.thresh != nil && cp.pol.Window.ActiveAt(epoch):
			keep := cp.flags.keepMask && epoch == cp.pol.Window.LastEpoch() && step == stepsPerEpoch-1
			if err := s.guard(cp, OnMinibatchEnd, func() error { return s.threshold(cp, keep) }); err != nil {
				return err
			}
		case cp.pol.Kind == lang.KindPrune && cp.flags.discardMasks && cp.set:
			cp.set = false
			if cp.soft != nil {
				cp.soft.Clear()
				continue
			}
			// Put back the mask each parameter had before this policy's (nil: none).
			for i, p := range cp.params {
				if cp.prev != nil && cp.prev[i] != nil && len(cp.prev[i]) == p.Len() {
					p.SetMask(cp.prev[i])
				} else {
					p.ClearMask()
				}
			}
		}
	}
	if s.opt.OptimizerMasks {
		return nil
	}
	for _, p := range s.masked {
		if m := p.MaskData(); m != nil {
			v := p.Data()
			kernels.Mul(v, v, m)
		}
	}
	return nil
}

// threshold zeroes the weights (or groups) a regularizer's threshold selects; with keep
// the mask becomes permanent (combined with any mask already set).
func (s *Scheduler) threshold(cp *policy, keep bool) error {
	for _, p := range cp.params {
		n := p.Len()
		if cap(cp.buf) < n {
			cp.buf = make([]float32, n)
		}
		m := cp.buf[:n]
		if _, err := cp.thresh.ThresholdMask(m, p); err != nil {
			return err
		}
		if keep {
			if old := p.MaskData(); old != nil {
				kernels.Mul(m, m, old)
			}
			p.SetMask(m)
			continue
		}
		v := p.Data()
		for i, k := range m {
			if k == 0 {
				v[i] = 0
			}
		}
	}
	if keep {
		s.log.Info("threshold masks kept", "policy", cp.pol.Range.String(), "epoch", s.epoch)
	}
	return nil
}

// OnEpochEnd steps plateau schedules (setting m.LR and the optimizer's rate), makes
// forward-only masks permanent for keep_mask policies and runs `then thin` after a
// policy's last epoch.
func (s *Scheduler) OnEpochEnd(epoch int, m *nn.EpochMetrics) error {
	s.epoch, s.step = epoch, -1
	for _, cp := range s.pols {
		last := cp.pol.Window.LastEpoch() == epoch
		if cp.lr != nil && cp.lr.Plateau != nil && m != nil && lrInWindow(cp, epoch) {
			metric := m.TestLoss
			if cp.lr.Plateau.Max {
				metric = m.Top1
				if metric != metric {
					metric = m.TrainTop1
				}
			} else if metric != metric {
				metric = m.TrainLoss
			}
			if metric == metric {
				lr := cp.lr.Plateau.Step(s.opt.Optimizer.LR(), metric)
				if lr != s.opt.Optimizer.LR() {
					s.opt.Optimizer.SetLR(lr)
					s.log.Info("learning rate reduced on plateau", "policy", cp.pol.Range.String(), "epoch", epoch, "lr", lr)
				}
				m.LR = lr
			}
		}
		if last && cp.soft != nil && cp.flags.keepMask {
			cp.soft.Keep(cp.params)
			cp.soft = nil
		}
		if last && cp.pol.ThenThin {
			if err := s.guard(cp, OnEpochEnd, func() error { return s.thin(cp, nn.ThinContract) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// savePrev records the parameters' masks before a discard_masks policy sets its own.
func (cp *policy) savePrev() {
	if cp.prev == nil {
		cp.prev = make([][]float32, len(cp.params))
	}
	for i, p := range cp.params {
		m := p.MaskData()
		if m == nil {
			cp.prev[i] = nil
			continue
		}
		cp.prev[i] = append(cp.prev[i][:0], m...)
	}
}
