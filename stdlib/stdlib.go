package stdlib

import (
	"errors"
	"fmt"

	"github.com/dst-dev/dst/nn"
)

// ErrShape is returned (wrapped, with the parameter's name and shape) when an algorithm
// cannot act on a parameter of that shape, for example filter pruning of a bias vector.
var ErrShape = errors.New("stdlib: unsupported parameter shape")

// Point is a position in training, as the scheduler's hooks see it.
type Point struct {
	// Epoch is the 0-based epoch.
	Epoch int
	// Step is the 0-based minibatch index within the epoch.
	Step int
	// StepsPerEpoch is the number of minibatches per epoch; 0 when unknown (epoch-granular
	// callers).
	StepsPerEpoch int
}

// GlobalStep returns Epoch·StepsPerEpoch + Step, the minibatch's index since training
// began.
func (pt Point) GlobalStep() int { return pt.Epoch*pt.StepsPerEpoch + pt.Step }

// At returns pt's position in the given unit: the epoch, or the global step when steps is
// true.
func (pt Point) At(steps bool) int {
	if steps {
		return pt.GlobalStep()
	}
	return pt.Epoch
}

// Pruner computes masks for the parameters a policy selected and installs them with
// [nn.Param.SetMask], which also zeroes the pruned values. A host implementing
// forward-only masking with double copies (Distiller's mask_on_forward_only and
// use_double_copies, which splicing needs) copies the values before Prune and restores
// them afterwards; the mask stays installed.
type Pruner interface {
	// Check reports, before training starts, whether the pruner can act on params (their
	// shapes, its granularity and configuration). A pruner whose Check passed does not
	// fail in Prune for shape reasons.
	Check(params []*nn.Param) error
	// Prune computes new masks for params at position at and installs them.
	Prune(params []*nn.Param, at Point) error
}

// Regularizer adds a penalty on some parameters to the training loss.
type Regularizer interface {
	// Check reports, before training starts, whether the regularizer can act on params.
	Check(params []*nn.Param) error
	// Regularize returns the penalty of params and adds its gradient to each parameter's
	// gradient (p.GradData()). The training loop zeroes gradients before each forward
	// pass, so Regularize may run before or after backward.
	Regularize(params []*nn.Param) float64
}

// Stateful is implemented by pruners that cache per-parameter statistics on first use.
// State returns a copy of the cache keyed by parameter name; SetState replaces the cache
// (for example from a checkpoint) and reports malformed entries.
type Stateful interface {
	State() map[string][]float64
	SetState(map[string][]float64) error
}

// shapeErr wraps ErrShape with the parameter's name and shape and a reason.
func shapeErr(p *nn.Param, format string, args ...any) error {
	return fmt.Errorf("%w: %s %v: %s", ErrShape, p.Name, p.Shape(), fmt.Sprintf(format, args...))
}

// checkFraction reports an error unless 0 <= f < 1 (or f <= 1 when one is allowed).
func checkFraction(what string, f float64, one bool) error {
	if f != f || f < 0 || f > 1 || (f == 1 && !one) {
		if one {
			return fmt.Errorf("stdlib: %s must lie in [0, 1], got %v", what, f)
		}
		return fmt.Errorf("stdlib: %s must lie in [0, 1), got %v", what, f)
	}
	return nil
}
