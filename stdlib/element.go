package stdlib

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/dst-dev/dst/nn"
)

// maskBuf is a reusable mask buffer and selection scratch, held by pruners so repeated
// pruning does not allocate.
type maskBuf struct {
	mask, scratch []float32
}

// get returns a mask buffer of n elements (contents unspecified).
func (b *maskBuf) get(n int) []float32 {
	if cap(b.mask) < n {
		b.mask = make([]float32, n)
	}
	return b.mask[:n]
}

// level computes the exact-k level mask of p into the buffer and installs it.
func (b *maskBuf) level(p *nn.Param, k int) {
	m := b.get(p.Len())
	b.scratch = LevelMask(m, p.Data(), b.scratch, k)
	p.SetMask(m)
}

// threshold computes the magnitude mask |w| > t of p and installs it.
func (b *maskBuf) threshold(p *nn.Param, t float32) {
	m := b.get(p.Len())
	ThresholdMask(m, p.Data(), t)
	p.SetMask(m)
}

// checkNonEmpty reports an error for a parameter with no elements.
func checkNonEmpty(params []*nn.Param) error {
	for _, p := range params {
		if p.Len() == 0 {
			return shapeErr(p, "the parameter has no elements")
		}
	}
	return nil
}

// ThresholdPruner is Distiller's MagnitudeParameterPruner: it keeps the weights with
// |w| > Threshold and zeroes the rest.
type ThresholdPruner struct {
	// Threshold is the magnitude λ at or below which weights are pruned; >= 0.
	Threshold float64

	buf maskBuf
}

// Check implements [Pruner]; Threshold must be a non-negative number.
func (tp *ThresholdPruner) Check(params []*nn.Param) error {
	if !(tp.Threshold >= 0) || math.IsInf(tp.Threshold, 1) {
		return fmt.Errorf("stdlib: threshold must be a finite number >= 0, got %v", tp.Threshold)
	}
	return nil
}

// Prune implements [Pruner].
func (tp *ThresholdPruner) Prune(params []*nn.Param, _ Point) error {
	for _, p := range params {
		tp.buf.threshold(p, float32(tp.Threshold))
	}
	return nil
}

// SensitivityPruner is Distiller's SensitivityPruner (Han et al.): it keeps the weights
// with |w| > Sensitivity·σ(W), where σ is the standard deviation (n−1 denominator, as
// torch.std) of the parameter's values the first time the pruner sees it. σ is kept in
// the pruner, so applying it again after retraining prunes the weights that shrank
// below the same threshold.
type SensitivityPruner struct {
	// Sensitivity is the multiplier s of σ; >= 0.
	Sensitivity float64

	std map[string]float64
	buf maskBuf
}

// Check implements [Pruner].
func (sp *SensitivityPruner) Check(params []*nn.Param) error {
	if !(sp.Sensitivity >= 0) || math.IsInf(sp.Sensitivity, 1) {
		return fmt.Errorf("stdlib: sensitivity must be a finite number >= 0, got %v", sp.Sensitivity)
	}
	return nil
}

// Prune implements [Pruner].
func (sp *SensitivityPruner) Prune(params []*nn.Param, _ Point) error {
	if sp.std == nil {
		sp.std = make(map[string]float64)
	}
	for _, p := range params {
		s, ok := sp.std[p.Name]
		if !ok {
			_, s = meanStd(p.Data(), false)
			sp.std[p.Name] = s
		}
		sp.buf.threshold(p, float32(sp.Sensitivity*s))
	}
	return nil
}

// State implements [Stateful]: each entry is {σ}.
func (sp *SensitivityPruner) State() map[string][]float64 {
	out := make(map[string][]float64, len(sp.std))
	for k, v := range sp.std {
		out[k] = []float64{v}
	}
	return out
}

// SetState implements [Stateful].
func (sp *SensitivityPruner) SetState(st map[string][]float64) error {
	m := make(map[string]float64, len(st))
	for k, v := range st {
		if len(v) != 1 {
			return fmt.Errorf("stdlib: sensitivity pruner state for %s: want 1 value, got %d", k, len(v))
		}
		m[k] = v[0]
	}
	sp.std = m
	return nil
}

// LevelPruner is Distiller's SparsityLevelParameterPruner: it zeroes exactly
// ⌊Sparsity·n⌋ of each parameter's n weights, those of smallest magnitude (see
// [LevelMask] for ties). A sparsity that zeroes no weight leaves the parameter's mask
// unchanged, as in Distiller.
type LevelPruner struct {
	// Sparsity is the fraction of weights to zero, in [0, 1).
	Sparsity float64

	buf maskBuf
}

// Check implements [Pruner].
func (lp *LevelPruner) Check(params []*nn.Param) error {
	if err := checkFraction("sparsity level", lp.Sparsity, false); err != nil {
		return err
	}
	return checkNonEmpty(params)
}

// Prune implements [Pruner].
func (lp *LevelPruner) Prune(params []*nn.Param, _ Point) error {
	for _, p := range params {
		if k := LevelCount(lp.Sparsity, p.Len()); k > 0 {
			lp.buf.level(p, k)
		}
	}
	return nil
}

// AGPPruner is Distiller's AutomatedGradualPruner: at each firing it level-prunes every
// parameter to the sparsity [AGP.Target] gives for the current position (see the
// overview in agp.go).
type AGPPruner struct {
	// Schedule is the sparsity schedule, including the policy's window.
	Schedule AGP

	buf maskBuf
}

// Check implements [Pruner].
func (ap *AGPPruner) Check(params []*nn.Param) error {
	if err := ap.Schedule.Check(); err != nil {
		return err
	}
	return checkNonEmpty(params)
}

// Prune implements [Pruner].
func (ap *AGPPruner) Prune(params []*nn.Param, at Point) error {
	if err := ap.Schedule.spanAt(at); err != nil {
		return err
	}
	target := ap.Schedule.Target(at)
	for _, p := range params {
		if k := LevelCount(target, p.Len()); k > 0 {
			ap.buf.level(p, k)
		}
	}
	return nil
}

// BaiduRNNPruner is the gradual pruner of Narang et al., "Exploring Sparsity in Recurrent
// Neural Networks" (Distiller's BaiduRNNPruner): a magnitude threshold ε that grows
// linearly with slope θ until the ramp epoch and with slope φ = θ·RampSlopeMult after
// it. With ramp = Start + RampEpochOffset,
//
//	θ = 2·Q·Freq / (2·(ramp − Start) + 3·(End − ramp))
//	ε(e) = θ·(e − Start + 1)/Freq                                  if e < ramp
//	ε(e) = (θ·(ramp − Start + 1) + φ·(e − ramp + 1))/Freq          otherwise
//
// and the pruner keeps |w| > ε(e). Like Distiller it is epoch-granular (the paper counts
// iterations). Q is typically the 90th percentile of |W| of a trained model.
type BaiduRNNPruner struct {
	// Q sets the final threshold scale; > 0.
	Q float64
	// RampEpochOffset is the ramp epoch's offset from Start; >= 0.
	RampEpochOffset int
	// RampSlopeMult is φ/θ, the slope multiplier after the ramp; > 0.
	RampSlopeMult float64
	// Start, End (exclusive) and Freq are the policy's window in epochs.
	Start, End, Freq int

	buf maskBuf
}

// Check implements [Pruner].
func (bp *BaiduRNNPruner) Check(params []*nn.Param) error {
	switch {
	case !(bp.Q > 0) || math.IsInf(bp.Q, 1):
		return fmt.Errorf("stdlib: RNN pruner q must be a finite number > 0, got %v", bp.Q)
	case bp.RampEpochOffset < 0:
		return fmt.Errorf("stdlib: RNN pruner ramp epoch offset must be >= 0, got %d", bp.RampEpochOffset)
	case !(bp.RampSlopeMult > 0) || math.IsInf(bp.RampSlopeMult, 1):
		return fmt.Errorf("stdlib: RNN pruner ramp slope multiplier must be a finite number > 0, got %v", bp.RampSlopeMult)
	case bp.Freq < 1:
		return fmt.Errorf("stdlib: RNN pruner frequency must be at least 1, got %d", bp.Freq)
	case bp.End <= bp.Start:
		return fmt.Errorf("stdlib: RNN pruner window [%d, %d) is empty", bp.Start, bp.End)
	case 2*bp.RampEpochOffset+3*(bp.End-bp.Start-bp.RampEpochOffset) <= 0:
		return fmt.Errorf("stdlib: RNN pruner ramp epoch %d lies too far past the window's end %d", bp.Start+bp.RampEpochOffset, bp.End)
	}
	return nil
}

// Threshold returns ε(epoch), the magnitude at or below which weights are pruned.
func (bp *BaiduRNNPruner) Threshold(epoch int) float64 {
	e0, e1, f := float64(bp.Start), float64(bp.End), float64(bp.Freq)
	ramp := e0 + float64(bp.RampEpochOffset)
	theta := 2 * bp.Q * f / (2*(ramp-e0) + 3*(e1-ramp))
	phi := theta * bp.RampSlopeMult
	e := float64(epoch)
	if e < ramp {
		return theta * (e - e0 + 1) / f
	}
	return (theta*(ramp-e0+1) + phi*(e-ramp+1)) / f
}

// Prune implements [Pruner].
func (bp *BaiduRNNPruner) Prune(params []*nn.Param, at Point) error {
	eps := float32(bp.Threshold(at.Epoch))
	for _, p := range params {
		bp.buf.threshold(p, eps)
	}
	return nil
}

// SplicingPruner is dynamic network surgery (Guo et al., Distiller's SplicingPruner).
// With μ and σ the mean and standard deviation (n−1 denominator) of |W|, computed the
// first time the pruner sees a parameter and kept, and
//
//	s' = Sensitivity·((e − Start)·SensitivityMultiplier + 1)   (s' = Sensitivity if the multiplier is 0)
//	a = (μ + σ·s')·LowMult,  b = (μ + σ·s')·HighMult
//
// the new mask is 0 where |w| < a, 1 where |w| >= b and the previous mask's value in
// between (hysteresis); a parameter with no mask starts from all ones.
//
// Splicing lets pruned weights grow back, which only happens if the weights are updated
// unmasked between prunings (Distiller's mask_on_forward_only with use_double_copies):
// with masks enforced after every optimizer step, a pruned weight is 0 < a and stays
// pruned.
type SplicingPruner struct {
	// Sensitivity is the multiplier s of σ; >= 0.
	Sensitivity float64
	// LowMult and HighMult scale the two thresholds; 0 <= LowMult <= HighMult.
	LowMult, HighMult float64
	// SensitivityMultiplier, when > 0, grows the sensitivity linearly per epoch since
	// Start.
	SensitivityMultiplier float64
	// Start is the policy's first epoch.
	Start int

	stats map[string][2]float64 // μ, σ of |W|
	buf   maskBuf
}

// Check implements [Pruner].
func (sp *SplicingPruner) Check(params []*nn.Param) error {
	switch {
	case !(sp.Sensitivity >= 0) || math.IsInf(sp.Sensitivity, 1):
		return fmt.Errorf("stdlib: splicing sensitivity must be a finite number >= 0, got %v", sp.Sensitivity)
	case !(sp.LowMult >= 0) || !(sp.HighMult >= sp.LowMult) || math.IsInf(sp.HighMult, 1):
		return fmt.Errorf("stdlib: splicing thresholds need 0 <= low multiplier <= high multiplier, got %v and %v", sp.LowMult, sp.HighMult)
	case !(sp.SensitivityMultiplier >= 0) || math.IsInf(sp.SensitivityMultiplier, 1):
		return fmt.Errorf("stdlib: splicing sensitivity multiplier must be a finite number >= 0, got %v", sp.SensitivityMultiplier)
	}
	return nil
}

// Thresholds returns the hysteresis thresholds a <= b for a parameter whose |W| has mean
// mu and standard deviation sigma, at epoch.
func (sp *SplicingPruner) Thresholds(mu, sigma float64, epoch int) (a, b float64) {
	s := sp.Sensitivity
	if sp.SensitivityMultiplier > 0 {
		s *= float64(epoch-sp.Start)*sp.SensitivityMultiplier + 1
	}
	base := mu + sigma*s
	return base * sp.LowMult, base * sp.HighMult
}

// Prune implements [Pruner].
func (sp *SplicingPruner) Prune(params []*nn.Param, at Point) error {
	if sp.stats == nil {
		sp.stats = make(map[string][2]float64)
	}
	for _, p := range params {
		w := p.Data()
		st, ok := sp.stats[p.Name]
		if !ok {
			st[0], st[1] = meanStd(w, true)
			sp.stats[p.Name] = st
		}
		a, b := sp.Thresholds(st[0], st[1], at.Epoch)
		lo, hi := float32(a), float32(b)
		m := sp.buf.get(len(w))
		prev := p.MaskData()
		for i, v := range w {
			x := abs32(v)
			switch {
			case x < lo:
				m[i] = 0
			case x >= hi:
				m[i] = 1
			case prev != nil:
				m[i] = prev[i]
			default:
				m[i] = 1
			}
		}
		p.SetMask(m)
	}
	return nil
}

// State implements [Stateful]: each entry is {μ, σ} of |W|.
func (sp *SplicingPruner) State() map[string][]float64 {
	out := make(map[string][]float64, len(sp.stats))
	for k, v := range sp.stats {
		out[k] = []float64{v[0], v[1]}
	}
	return out
}

// SetState implements [Stateful].
func (sp *SplicingPruner) SetState(st map[string][]float64) error {
	m := make(map[string][2]float64, len(st))
	for k, v := range st {
		if len(v) != 2 {
			return fmt.Errorf("stdlib: splicing pruner state for %s: want 2 values, got %d", k, len(v))
		}
		m[k] = [2]float64{v[0], v[1]}
	}
	sp.stats = m
	return nil
}

// RandomPruner zeroes exactly ⌊Sparsity·n⌋ weights of each parameter chosen uniformly at
// random (a sanity baseline). Weights already zero are not preferred: a later call
// draws afresh.
type RandomPruner struct {
	// Sparsity is the fraction of weights to zero, in [0, 1).
	Sparsity float64
	// Seed seeds the generator; see [Rand].
	Seed uint64

	buf    maskBuf
	scores []float32
}

// Check implements [Pruner].
func (rp *RandomPruner) Check(params []*nn.Param) error {
	if err := checkFraction("random sparsity", rp.Sparsity, false); err != nil {
		return err
	}
	return checkNonEmpty(params)
}

// Prune implements [Pruner].
func (rp *RandomPruner) Prune(params []*nn.Param, at Point) error {
	for i, p := range params {
		k := LevelCount(rp.Sparsity, p.Len())
		if k == 0 {
			continue
		}
		r := Rand(rp.Seed, at, i)
		if cap(rp.scores) < p.Len() {
			rp.scores = make([]float32, p.Len())
		}
		s := rp.scores[:p.Len()]
		for j := range s {
			s[j] = r.Float32()
		}
		m := rp.buf.get(p.Len())
		rp.buf.scratch = LevelMask(m, s, rp.buf.scratch, k)
		p.SetMask(m)
	}
	return nil
}

// BernoulliPruner keeps each weight independently with probability 1 − Sparsity.
type BernoulliPruner struct {
	// Sparsity is the probability that a weight is zeroed, in [0, 1).
	Sparsity float64
	// Seed seeds the generator; see [Rand].
	Seed uint64

	buf maskBuf
}

// Check implements [Pruner].
func (bp *BernoulliPruner) Check(params []*nn.Param) error {
	return checkFraction("bernoulli sparsity", bp.Sparsity, false)
}

// Prune implements [Pruner].
func (bp *BernoulliPruner) Prune(params []*nn.Param, at Point) error {
	for i, p := range params {
		r := Rand(bp.Seed, at, i)
		m := bp.buf.get(p.Len())
		for j := range m {
			if r.Float64() < bp.Sparsity {
				m[j] = 0
			} else {
				m[j] = 1
			}
		}
		p.SetMask(m)
	}
	return nil
}

// Rand returns the generator a randomised pruner seeded with seed uses for its i-th
// parameter at position at. It depends only on its arguments, so a run resumed from a
// checkpoint draws the same numbers as an uninterrupted one.
func Rand(seed uint64, at Point, i int) *rand.Rand {
	pos := uint64(at.Epoch)<<32 ^ uint64(at.Step)
	return rand.New(rand.NewPCG(seed^0x9e3779b97f4a7c15*uint64(i+1), pos))
}

// meanStd returns the mean and the standard deviation (n−1 denominator, as torch.std) of
// x, or of |x| when abs is set. The standard deviation of fewer than two values is 0.
func meanStd(x []float32, abs bool) (mean, std float64) {
	if len(x) == 0 {
		return 0, 0
	}
	var s float64
	for _, v := range x {
		if abs {
			s += math.Abs(float64(v))
		} else {
			s += float64(v)
		}
	}
	mean = s / float64(len(x))
	if len(x) < 2 {
		return mean, 0
	}
	var ss float64
	for _, v := range x {
		d := float64(v)
		if abs {
			d = math.Abs(d)
		}
		d -= mean
		ss += d * d
	}
	return mean, math.Sqrt(ss / float64(len(x)-1))
}
