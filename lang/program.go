package lang

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Program is a checked script: every policy with its method resolved, its selector
// resolved to parameter names, its arguments evaluated and its window normalised.
//
// A Program is immutable: nothing in it may be modified after [Check] returns it, and it
// shares no memory with the AST, so it is safe to use from several goroutines and to
// bind to several models of the same architecture.
type Program struct {
	// Filename is the name the script was parsed under.
	Filename string
	// Policies are the script's policies in declaration order; at every scheduler event
	// they run in this order.
	Policies []*Policy
}

// Statement kinds, the values of [Policy.Kind].
const (
	KindPrune      = "prune"
	KindRegularize = "regularize"
	KindQuantize   = "quantize"
	KindLR         = "lr"
	KindDistill    = "distill"
	KindThin       = "thin"
)

// Policy is one checked statement.
type Policy struct {
	// Kind is the statement: prune, regularize, quantize, lr, distill or thin.
	Kind string
	// Method is the method's canonical name (an alias is resolved: magnitude → threshold).
	Method string
	// Granularity is the structure acted on (elements, filters, ...), or "" for methods
	// without one.
	Granularity string
	// Ranking is the `by` ranking for structure granularities, or "".
	Ranking string
	// Params are the parameter names the selector matched, in model order. It is nil for
	// statements without a selector (lr, distill, thin) and when the script was checked
	// without a parameter table.
	Params []string
	// Args holds every argument the script gave plus every omitted argument that has a
	// default, keyed by argument name.
	Args map[string]Value
	// Window says when the policy is active.
	Window Window
	// ThenThin reports `then thin`: at the end of the window's last active epoch
	// (Window.LastEpoch), after that epoch has trained under the policy's final masks, the
	// model is thinned like `thin contract` (its zeroed filters and channels removed). The
	// window must end: the checker rejects before/after training, and an open window ends
	// with the run.
	ThenThin bool
	// Teacher is the distillation teacher (a model name or a path) for distill.
	Teacher string
	// Overrides are the quantize override lines in order; for each parameter the first
	// line whose Params hold it applies.
	Overrides []*Override
	// Signature is the method's signature.
	Signature *Signature
	// Range is the statement's source range, for runtime errors.
	Range Range
}

// Arg returns the argument called name and whether it is present.
func (p *Policy) Arg(name string) (Value, bool) {
	v, ok := p.Args[name]
	return v, ok
}

// String renders the policy on one line for logs and listings: kind, method,
// granularity, ranking, teacher, parameters and window, as in
// "prune level filters by l1 [conv2.weight] at epoch 3 then thin".
func (p *Policy) String() string {
	var b strings.Builder
	b.WriteString(p.Kind + " " + p.Method)
	if p.Granularity != "" && p.Granularity != "elements" {
		b.WriteString(" " + p.Granularity)
	}
	if p.Ranking != "" {
		b.WriteString(" by " + p.Ranking)
	}
	if p.Teacher != "" {
		b.WriteString(" from " + p.Teacher)
	}
	if p.Params != nil {
		b.WriteString(" [" + strings.Join(p.Params, " ") + "]")
	}
	b.WriteString(" " + p.Window.String())
	if p.ThenThin {
		b.WriteString(" then thin")
	}
	return b.String()
}

// Override is one checked `override SELECTOR ARGS` line of a quantize statement.
type Override struct {
	// Params are the parameters this line applies to: those its selector matched that no
	// earlier line claimed, in model order (nil without a parameter table).
	Params []string
	// Args are the arguments written on the line (no defaults are filled in).
	Args map[string]Value
	// Range is the line's source range.
	Range Range
}

// WindowKind distinguishes epoch windows from the two training-boundary events.
type WindowKind int

const (
	// WindowEpochs is active on a set of epochs.
	WindowEpochs WindowKind = iota
	// WindowBefore fires once, at OnTrainingBegin.
	WindowBefore
	// WindowAfter fires once, at OnTrainingEnd.
	WindowAfter
)

// Unit is the unit of a window's Every.
type Unit int

const (
	// Epochs: the policy acts on every Every-th epoch.
	Epochs Unit = iota
	// Steps: the policy is active on every epoch of the window and acts on every Every-th
	// global mini-batch step.
	Steps
)

// NoEnd is Window.End for a window without an end, checked without a run length.
const NoEnd = -1

// Window is a normalised policy window. For WindowEpochs the active epochs are
// Start, Start+Every, ... below End (End exclusive; NoEnd for no end), or exactly the
// elements of Epochs when it is non-nil.
type Window struct {
	// Kind is WindowEpochs, WindowBefore or WindowAfter.
	Kind WindowKind
	// Start is the first active epoch (0 for before/after).
	Start int
	// End is one past the last epoch of the window, or NoEnd.
	End int
	// Every is the period in Unit; 1 for `at epoch N`, 0 for an explicit epoch list.
	Every int
	// Unit is Epochs or Steps.
	Unit Unit
	// Epochs lists the epochs of `at epochs [...]`, increasing; nil otherwise.
	Epochs []int
	// Range is the window's source range (the statement's when the window was defaulted).
	Range Range
}

// ActiveAt reports whether the policy acts at OnEpochBegin of epoch. It is false for
// every epoch when Kind is WindowBefore or WindowAfter. With Unit Steps it is true on
// every epoch of the window; [Window.ActiveAtStep] selects the steps.
func (w Window) ActiveAt(epoch int) bool {
	if w.Kind != WindowEpochs || epoch < w.Start || (w.End != NoEnd && epoch >= w.End) {
		return false
	}
	if w.Epochs != nil {
		for _, e := range w.Epochs {
			if e == epoch {
				return true
			}
		}
		return false
	}
	if w.Unit == Steps || w.Every <= 1 {
		return true
	}
	return (epoch-w.Start)%w.Every == 0
}

// ActiveAtStep reports whether the policy acts at OnMinibatchBegin of the given step
// (0-based within the epoch). For Unit Epochs it is ActiveAt(epoch) && step == 0. For
// Unit Steps the epoch must be in the window and the global step
// epoch·stepsPerEpoch + step must be a multiple of Every.
func (w Window) ActiveAtStep(epoch, step, stepsPerEpoch int) bool {
	if !w.ActiveAt(epoch) {
		return false
	}
	if w.Unit == Epochs {
		return step == 0
	}
	return (epoch*stepsPerEpoch+step)%max(w.Every, 1) == 0
}

// LastEpoch returns the last epoch at which the policy is active, or -1 when the window
// has no end (or is before/after training).
func (w Window) LastEpoch() int {
	switch {
	case w.Kind != WindowEpochs || w.End == NoEnd:
		return -1
	case w.Epochs != nil:
		return w.Epochs[len(w.Epochs)-1]
	case w.Unit == Steps || w.Every <= 1:
		return w.End - 1
	}
	return w.Start + (w.End-1-w.Start)/w.Every*w.Every
}

// span returns the half-open interval of "epoch time" the window holds, for overlap
// checks: before training is [-1, 0), after training [MaxInt-1, MaxInt).
func (w Window) span() (int, int) {
	switch w.Kind {
	case WindowBefore:
		return -1, 0
	case WindowAfter:
		return math.MaxInt - 1, math.MaxInt
	}
	if w.End == NoEnd {
		return w.Start, math.MaxInt - 1
	}
	return w.Start, w.End
}

// String renders the window in canonical .dst syntax.
func (w Window) String() string {
	switch w.Kind {
	case WindowBefore:
		return "before training"
	case WindowAfter:
		return "after training"
	}
	if w.Epochs != nil {
		parts := make([]string, len(w.Epochs))
		for i, e := range w.Epochs {
			parts[i] = strconv.Itoa(e)
		}
		return "at epochs [" + strings.Join(parts, ", ") + "]"
	}
	if w.End == w.Start+1 && w.Every == 1 && w.Unit == Epochs {
		return fmt.Sprintf("at epoch %d", w.Start)
	}
	s := fmt.Sprintf("from epoch %d", w.Start)
	if w.End != NoEnd {
		s += fmt.Sprintf(" to %d", w.End)
	}
	if w.Unit == Steps {
		s += fmt.Sprintf(" every %d steps", w.Every)
	} else if w.Every != 1 {
		s += fmt.Sprintf(" every %d epochs", w.Every)
	}
	return s
}
