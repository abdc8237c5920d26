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
	return base * math.Pow(s.Gamma, float64(epoch/s.StepSize))
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

// CosineLR is PyTorch's CosineAnnealingLR in closed form:
// lr = EtaMin + (base − EtaMin)·(1 + cos(π·epoch/TMax))/2. Past TMax the closed form
// rises again, as PyTorch's does.
type CosineLR struct {
	// TMax is the half period in epochs; >= 1.
	TMax int
	// EtaMin is the minimum rate; >= 0.
	EtaMin float64
}

// Check implements [LRSchedule].
func (s CosineLR) Check() error {
	if s.TMax < 1 {
		return fmt.Errorf("stdlib: cosine LR T_max must be at least 1, got %d", s.TMax)
	}
	if !(s.EtaMin >= 0) || math.IsInf(s.EtaMin, 1) {
		return fmt.Errorf("stdlib: cosine LR eta_min must be a finite number >= 0, got %v", s.EtaMin)
	}
	return nil
}

// LR implements [LRSchedule].
func (s CosineLR) LR(base float64, epoch int) float64 {
	return s.EtaMin + (base-s.EtaMin)*(1+math.Cos(math.Pi*float64(epoch)/float64(s.TMax)))/2
}

// WarmupLR ramps the rate linearly from base·StartFactor at epoch 0 to base at epoch
// Epochs (PyTorch's LinearLR with end factor 1 and total_iters = Epochs), then hands
// over to Then, which sees epoch − Epochs as its own epoch 0 (PyTorch's SequentialLR
// with milestone Epochs). A nil Then keeps the base rate.
type WarmupLR struct {
	// Epochs is the warmup length; >= 1.
	Epochs int
	// StartFactor is the fraction of the base rate at epoch 0, in (0, 1].
	StartFactor float64
	// Then is the schedule after the warmup, or nil for a constant rate.
	Then LRSchedule
}

// Check implements [LRSchedule].
func (s WarmupLR) Check() error {
	if s.Epochs < 1 {
		return fmt.Errorf("stdlib: warmup length must be at least 1 epoch, got %d", s.Epochs)
	}
	if !(s.StartFactor > 0 && s.StartFactor <= 1) {
		return fmt.Errorf("stdlib: warmup start factor must lie in (0, 1], got %v", s.StartFactor)
	}
	if s.Then != nil {
		return s.Then.Check()
	}
	return nil
}

// LR implements [LRSchedule].
func (s WarmupLR) LR(base float64, epoch int) float64 {
	if epoch < s.Epochs {
		return base * (s.StartFactor + (1-s.StartFactor)*float64(epoch)/float64(s.Epochs))
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
	for _, g := range s.Gammas[:passed(s.Milestones, epoch)] {
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
