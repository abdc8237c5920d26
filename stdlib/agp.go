package stdlib

// Automated gradual pruning (AGP, Zhu & Gupta 2017, "To prune, or not to prune").
//
// AGP raises a layer's sparsity from an initial value s_i to a final value s_f along a
// cubic curve that prunes fast at first, while the network has many redundant weights,
// and slowly near the end:
//
//	target(e) = s_f + (s_i − s_f)·(1 − (e − e0)/span)³
//
// The pruner runs at e0, e0+f, e0+2f, … while e < e1 (e1 exclusive). Distiller sets
//
//	span = ⌊(e1 − e0 − 1)/f⌋·f
//
// the offset of the last position at which the policy fires, so the target reaches s_f
// exactly at the policy's last firing: with e0=0, e1=4, f=1 the targets at 0,1,2,3 are
// s_i, …, s_f; with e0=0, e1=10, f=2 the policy fires at 0,2,4,6,8 and span = 8. At each
// firing the layer is level-pruned to the target (exactly ⌊target·n⌋ weights zeroed),
// or, for the structured forms, ⌊target·n⌋ of its n structures.
//
// The same formula works at step granularity: e is then the global minibatch index, the
// window [e0, e1) is the epochs' steps [e0·S, e1·S) for S minibatches per epoch, and f
// counts minibatches. A step-granular policy fires at the global steps that are
// multiples of f (lang.Window.ActiveAtStep), so e0 is the first of them in the window
// and span reaches the last: with S = 10, epochs [1, 2) every 4 steps, the firings are
// at steps 12 and 16 and span = 4. Positions outside [e0, e0+span] are clamped, so the target never leaves
// [s_i, s_f]; at the ends the target is exactly s_i and s_f (Distiller's formula gives
// 0.6 + (0.1 − 0.6) = 0.09999999999999998 at the start of 10% → 60%, one structure short
// of 10% of 20).

import "fmt"

// AGP is the Zhu & Gupta sparsity schedule over a policy's window. The zero value is not
// valid; see [AGP.Check].
type AGP struct {
	// Initial is the sparsity at Start, in [0, 1).
	Initial float64
	// Final is the sparsity reached at the last firing, in (Initial, 1).
	Final float64
	// Start is the window's first epoch and End its exclusive end, in epochs.
	Start, End int
	// Freq is the distance between firings, >= 1: epochs, or minibatches when Steps.
	Freq int
	// Steps makes the schedule step-granular: positions are global minibatch indices,
	// the window runs from Start·S to End·S (exclusive) for S minibatches per epoch, and
	// the policy fires every Freq minibatches.
	Steps bool
}

// Check reports whether the schedule is well formed: fractions in range, Final > Initial,
// Freq >= 1 and, for an epoch-granular schedule, span >= 1 (the window holds at least
// two firings). A step-granular schedule needs End > Start; its span depends on the
// epoch length and is checked by [AGP.Span] at run time.
func (a AGP) Check() error {
	if err := checkFraction("AGP initial sparsity", a.Initial, false); err != nil {
		return err
	}
	if err := checkFraction("AGP final sparsity", a.Final, false); err != nil {
		return err
	}
	if a.Final <= a.Initial {
		return fmt.Errorf("stdlib: AGP final sparsity %v must exceed initial sparsity %v", a.Final, a.Initial)
	}
	if a.Freq < 1 {
		return fmt.Errorf("stdlib: AGP frequency must be at least 1, got %d", a.Freq)
	}
	if a.Steps {
		if a.End <= a.Start {
			return fmt.Errorf("stdlib: AGP window [%d, %d) is empty", a.Start, a.End)
		}
		return nil
	}
	if a.Span(0) < 1 {
		return fmt.Errorf("stdlib: AGP window [%d, %d) every %d is too short: it must fire at least twice", a.Start, a.End, a.Freq)
	}
	return nil
}

// bounds returns the schedule's first firing and the window's exclusive end, in the
// schedule's unit: the window's start for epochs, the first global step in the window
// that is a multiple of Freq for steps.
func (a AGP) bounds(stepsPerEpoch int) (first, end int) {
	if a.Steps {
		first = a.Start * stepsPerEpoch
		if a.Freq >= 1 {
			first = (first + a.Freq - 1) / a.Freq * a.Freq
		}
		return first, a.End * stepsPerEpoch
	}
	return a.Start, a.End
}

// Span returns ⌊(end − first − 1)/Freq⌋·Freq, the offset of the last firing from the
// first, in the schedule's unit (stepsPerEpoch is read only when Steps). It returns 0
// when Freq < 1 or the window holds no firing.
func (a AGP) Span(stepsPerEpoch int) int {
	first, end := a.bounds(stepsPerEpoch)
	if a.Freq < 1 || end-first-1 < 0 {
		return 0
	}
	return (end - first - 1) / a.Freq * a.Freq
}

// spanAt reports an error when the schedule's span is not positive for the epoch length
// of at (a step-granular window too short for two firings).
func (a AGP) spanAt(at Point) error {
	if a.Span(at.StepsPerEpoch) < 1 {
		return fmt.Errorf("stdlib: AGP window [%d, %d) every %d steps with %d steps per epoch is too short: it must fire at least twice", a.Start, a.End, a.Freq, at.StepsPerEpoch)
	}
	return nil
}

// Target returns the sparsity the schedule asks for at position at: its epoch, or its
// global step when Steps. Positions before the window give Initial, positions after the
// last firing give Final, and so does a schedule whose span is not positive.
func (a AGP) Target(at Point) float64 {
	span := a.Span(at.StepsPerEpoch)
	if span <= 0 {
		return a.Final
	}
	start, _ := a.bounds(at.StepsPerEpoch)
	x := float64(at.At(a.Steps)-start) / float64(span)
	switch {
	case x <= 0:
		return a.Initial // exactly: Final + (Initial − Final) need not round to Initial
	case x >= 1:
		return a.Final
	}
	r := 1 - x
	return a.Final + (a.Initial-a.Final)*r*r*r
}
