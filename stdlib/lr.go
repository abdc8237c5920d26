package stdlib

import (
	"fmt"
	"math"
	"sort"
)

// LRSchedule is a learning-rate schedule in closed form: the rate for an epoch depends
// only on the base rate and the epoch, as PyTorch's schedulers' closed forms
// (_get_closed_form_lr), so a resumed run needs no scheduler state.
type LRSchedule interface {
	// Check reports whether the schedule's configuration is valid.
	Check() error
	// LR returns the learning rate for 0-based epoch, given the optimizer's base rate.
	LR(base float64, epoch int) float64
}

// StepLR is PyTorch's StepLR: lr = base·Gamma^⌊epoch/StepSize⌋.
type StepLR struct {
	// StepSize is the number of epochs between decays; >= 1.
	StepSize int
	// Gamma is the decay factor; > 0.
	Gamma float64
}

// Check implements [LRSchedule].
func (s StepLR) Check() error {
	if s.StepSize < 1 {
		return fmt.Errorf("stdlib: step LR step size must be at least 1, got %d", s.StepSize)
	}
	return checkGamma(s.Gamma)
}

// LR implements [LRSchedule].
func (s StepLR) LR(base float64, epoch int) float64 {
	return base * math.Pow(s.Gamma, float64(epoch/max(s.StepSize, 1)))
}

// MultiStepLR is PyTorch's MultiStepLR: lr = base·Gamma^(number of milestones <= epoch).
type MultiStepLR struct {
	// Milestones are the epochs at which the rate decays, strictly increasing.
	Milestones []int
	// Gamma is the decay factor; > 0.
	Gamma float64
}

// Check implements [LRSchedule].
func (s MultiStepLR) Check() error {
	if err := checkMilestones(s.Milestones); err != nil {
		return err
	}
	return checkGamma(s.Gamma)
}

// LR implements [LRSchedule].
func (s MultiStepLR) LR(base float64, epoch int) float64 {
	return base * math.Pow(s.Gamma, float64(passed(s.Milestones, epoch)))
}

// ExponentialLR is PyTorch's ExponentialLR: lr = base·Gamma^epoch.
type ExponentialLR struct {
	// Gamma is the decay factor per epoch; > 0.
	Gamma float64
}

// Check implements [LRSchedule].
func (s ExponentialLR) Check() error { return checkGamma(s.Gamma) }

// LR implements [LRSchedule].
func (s ExponentialLR) LR(base float64, epoch int) float64 {
	return base * math.Pow(s.Gamma, float64(epoch))
}

// CosineLR is PyTorch's CosineAnnealingLR in closed form,
// lr = EtaMin + (base − EtaMin)·(1 + cos(π·epoch/TMax))/2, which past TMax rises again as
// PyTorch's closed form does; or, with Restarts > 0, CosineAnnealingWarmRestarts with
// T_0 = Restarts and T_mult = 1: the same curve over epoch mod Restarts.
type CosineLR struct {
	// TMax is the half period in epochs; >= 1. Ignored when Restarts > 0.
	TMax int
	// EtaMin is the minimum rate; >= 0.
	EtaMin float64
	// Restarts, when > 0, is the restart period T_0 in epochs.
	Restarts int
}

// Check implements [LRSchedule].
func (s CosineLR) Check() error {
	if s.TMax < 1 && s.Restarts < 1 {
		return fmt.Errorf("stdlib: cosine LR needs T_max >= 1 or a restart period >= 1, got %d and %d", s.TMax, s.Restarts)
	}
	if s.Restarts < 0 {
		return fmt.Errorf("stdlib: cosine LR restart period must be >= 0, got %d", s.Restarts)
	}
	if !(s.EtaMin >= 0) || math.IsInf(s.EtaMin, 1) {
		return fmt.Errorf("stdlib: cosine LR eta_min must be a finite number >= 0, got %v", s.EtaMin)
	}
	return nil
}

// LR implements [LRSchedule].
func (s CosineLR) LR(base float64, epoch int) float64 {
	t, period := epoch, s.TMax
	if s.Restarts > 0 {
		t, period = ((epoch%s.Restarts)+s.Restarts)%s.Restarts, s.Restarts
	}
	return s.EtaMin + (base-s.EtaMin)*(1+math.Cos(math.Pi*float64(t)/float64(period)))/2
}

// WarmupLR ramps the rate linearly from Start at epoch 0 to End at epoch Epochs (PyTorch's
// LinearLR over total_iters = Epochs, in absolute rates): lr = Start + (End − Start)·e/Epochs
// for e < Epochs. From Epochs on it hands over to Then, which sees epoch − Epochs as its
// own epoch 0 (PyTorch's SequentialLR with milestone Epochs); a nil Then gives the base
// rate. The unit is whatever the caller counts: epochs, or minibatches for a per-step
// warmup.
type WarmupLR struct {
	// Start and End are the rates at the ramp's first position and at its end; finite.
	Start, End float64
	// Epochs is the ramp's length; >= 1.
	Epochs int
	// Then is the schedule after the warmup, or nil for the base rate.
	Then LRSchedule
}

// Check implements [LRSchedule].
func (s WarmupLR) Check() error {
	if s.Epochs < 1 {
		return fmt.Errorf("stdlib: warmup length must be at least 1, got %d", s.Epochs)
	}
	if math.IsNaN(s.Start) || math.IsInf(s.Start, 0) || math.IsNaN(s.End) || math.IsInf(s.End, 0) || s.Start < 0 || s.End < 0 {
		return fmt.Errorf("stdlib: warmup rates must be finite and >= 0, got %v -> %v", s.Start, s.End)
	}
	if s.Then != nil {
		return s.Then.Check()
	}
	return nil
}

// LR implements [LRSchedule].
func (s WarmupLR) LR(base float64, epoch int) float64 {
	if epoch < s.Epochs {
		return s.Start + (s.End-s.Start)*float64(max(epoch, 0))/float64(s.Epochs)
	}
	if s.Then == nil {
		return base
	}
	return s.Then.LR(base, epoch-s.Epochs)
}

// PolynomialLR is Distiller's PolynomialLR: lr = base·(1 − epoch/TMax)^Power. From TMax
// on the rate is 0 (Distiller's formula would take a negative number to the power;
// PyTorch's own PolynomialLR clamps the same way).
type PolynomialLR struct {
	// TMax is the epoch at which the rate reaches 0; >= 1.
	TMax int
	// Power is the polynomial's exponent; > 0.
	Power float64
}

// Check implements [LRSchedule].
func (s PolynomialLR) Check() error {
	if s.TMax < 1 {
		return fmt.Errorf("stdlib: polynomial LR T_max must be at least 1, got %d", s.TMax)
	}
	if !(s.Power > 0) || math.IsInf(s.Power, 1) {
		return fmt.Errorf("stdlib: polynomial LR power must be a finite number > 0, got %v", s.Power)
	}
	return nil
}

// LR implements [LRSchedule].
func (s PolynomialLR) LR(base float64, epoch int) float64 {
	e := min(max(epoch, 0), s.TMax)
	return base * math.Pow(1-float64(e)/float64(s.TMax), s.Power)
}

// MultiStepMultiGammaLR is Distiller's MultiStepMultiGammaLR: lr = base·Π Gammas[i] over
// the milestones Milestones[i] <= epoch.
type MultiStepMultiGammaLR struct {
	// Milestones are strictly increasing epochs.
	Milestones []int
	// Gammas has one factor (> 0) per milestone.
	Gammas []float64
}

// Check implements [LRSchedule].
func (s MultiStepMultiGammaLR) Check() error {
	if err := checkMilestones(s.Milestones); err != nil {
		return err
	}
	if len(s.Gammas) != len(s.Milestones) {
		return fmt.Errorf("stdlib: multistep-multigamma LR has %d milestones but %d gammas", len(s.Milestones), len(s.Gammas))
	}
	for _, g := range s.Gammas {
		if err := checkGamma(g); err != nil {
			return err
		}
	}
	return nil
}

// LR implements [LRSchedule].
func (s MultiStepMultiGammaLR) LR(base float64, epoch int) float64 {
	lr := base
	for _, g := range s.Gammas[:min(passed(s.Milestones, epoch), len(s.Gammas))] {
		lr *= g
	}
	return lr
}

// passed returns the number of milestones <= epoch (Python's bisect_right).
func passed(milestones []int, epoch int) int {
	return sort.Search(len(milestones), func(i int) bool { return milestones[i] > epoch })
}

func checkGamma(g float64) error {
	if !(g > 0) || math.IsInf(g, 1) {
		return fmt.Errorf("stdlib: LR decay factor gamma must be a finite number > 0, got %v", g)
	}
	return nil
}

func checkMilestones(m []int) error {
	if len(m) == 0 {
		return fmt.Errorf("stdlib: LR schedule needs at least one milestone")
	}
	for i, v := range m {
		if v < 0 || (i > 0 && v <= m[i-1]) {
			return fmt.Errorf("stdlib: LR milestones must be non-negative and strictly increasing, got %v", m)
		}
	}
	return nil
}

// Plateau is PyTorch's ReduceLROnPlateau with its defaults for the threshold (relative,
// 1e-4) and eps (1e-8): it multiplies the rate by Factor when the watched metric has not
// improved for more than Patience epochs, then waits Cooldown epochs before counting
// again, never going below MinLR. Unlike the other schedules it has state, so it is
// not an [LRSchedule]; the zero state is a fresh scheduler. Its exported fields after the
// configuration are the state a checkpoint must carry.
type Plateau struct {
	// Factor multiplies the rate at each reduction, in (0, 1).
	Factor float64
	// Patience is the number of epochs without improvement tolerated; >= 0.
	Patience int
	// Cooldown is the number of epochs to wait after a reduction; >= 0.
	Cooldown int
	// MinLR is the lower bound of the rate; >= 0.
	MinLR float64
	// Max reports that larger metrics are better (mode max); otherwise smaller are.
	Max bool

	// Best is the best metric seen; meaningful once Seen is set.
	Best float64
	// Seen reports that Step has run at least once.
	Seen bool
	// BadEpochs counts the epochs since the last improvement.
	BadEpochs int
	// CooldownLeft counts the cooldown epochs left.
	CooldownLeft int
}

// Check reports whether the configuration is valid.
func (s *Plateau) Check() error {
	switch {
	case !(s.Factor > 0 && s.Factor < 1):
		return fmt.Errorf("stdlib: plateau factor must lie in (0, 1), got %v", s.Factor)
	case s.Patience < 0 || s.Cooldown < 0:
		return fmt.Errorf("stdlib: plateau patience and cooldown must be >= 0, got %d and %d", s.Patience, s.Cooldown)
	case !(s.MinLR >= 0) || math.IsInf(s.MinLR, 1):
		return fmt.Errorf("stdlib: plateau min_lr must be a finite number >= 0, got %v", s.MinLR)
	}
	return nil
}

// Step records the epoch's metric and returns the rate to use from now on, given the
// current rate lr.
func (s *Plateau) Step(lr, metric float64) float64 {
	const threshold, eps = 1e-4, 1e-8
	better := !s.Seen
	if s.Seen {
		if s.Max {
			better = metric > s.Best*(1+threshold)
		} else {
			better = metric < s.Best*(1-threshold)
		}
	}
	if better {
		s.Best, s.Seen, s.BadEpochs = metric, true, 0
	} else {
		s.BadEpochs++
	}
	if s.CooldownLeft > 0 {
		s.CooldownLeft--
		s.BadEpochs = 0
	}
	if s.BadEpochs > s.Patience {
		next := math.Max(lr*s.Factor, s.MinLR)
		if lr-next > eps {
			lr = next
		}
		s.CooldownLeft, s.BadEpochs = s.Cooldown, 0
	}
	return lr
}
