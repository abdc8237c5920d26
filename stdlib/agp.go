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
// The same formula works at step granularity: e, e0, e1 and f are then global minibatch
// indices. Positions outside [e0, e0+span] are clamped, so the target never leaves
// [s_i, s_f]; at the ends the target is exactly s_i and s_f (Distiller's formula gives
// 0.6 + (0.1 − 0.6) = 0.09999999999999998 at the start of 10% → 60%, one structure short
// of 10% of 20).

import "fmt"

// AGP is the Zhu & Gupta sparsity schedule. The zero value is not valid; see [AGP.Check].
type AGP struct {
	// Initial is the sparsity at Start, in [0, 1).
	Initial float64
	// Final is the sparsity reached at the last firing, in (Initial, 1).
	Final float64
	// Start is the first position (epoch, or global step when Steps) at which the policy
	// fires.
	Start int
	// End is the exclusive end of the policy's window, in the same unit as Start.
	End int
	// Freq is the distance between firings, >= 1.
	Freq int
	// Steps reports that Start, End and Freq count global minibatches rather than epochs.
	Steps bool
}

// Check reports whether the schedule is well formed: fractions in range, Final > Initial,
// Freq >= 1 and span >= 1 (the window holds at least two firings).
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
	if a.Span() < 1 {
		return fmt.Errorf("stdlib: AGP window [%d, %d) every %d is too short: it must fire at least twice", a.Start, a.End, a.Freq)
	}
	return nil
}

// Span returns ⌊(End − Start − 1)/Freq⌋·Freq, the offset of the last firing from Start.
// It returns 0 when Freq < 1.
func (a AGP) Span() int {
	if a.Freq < 1 || a.End-a.Start-1 < 0 {
		return 0
	}
	return (a.End - a.Start - 1) / a.Freq * a.Freq
}

// Target returns the sparsity the schedule asks for at position pos (an epoch, or a
// global step when Steps). Positions before Start give Initial, positions after
// Start+Span give Final. It returns Final if the span is not positive.
func (a AGP) Target(pos int) float64 {
	span := a.Span()
	if span <= 0 {
		return a.Final
	}
	x := float64(pos-a.Start) / float64(span)
	switch {
	case x <= 0:
		return a.Initial // exactly: Final + (Initial − Final) need not round to Initial
	case x >= 1:
		return a.Final
	}
	r := 1 - x
	return a.Final + (a.Initial-a.Final)*r*r*r
}
