package stdlib

import (
	"fmt"
	"math"

	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
)

// This file turns checked policies (lang.Policy, whose methods and arguments are those of
// [Signatures]) into the typed values of this package. The interpreter calls it once per
// policy at compile time; a host embedding dst can call it for its own tables.

// BuildOptions carries what building a policy needs beyond the policy itself. The zero
// value is valid.
type BuildOptions struct {
	// Activations supplies per-filter activation statistics for the apoz and
	// mean_activation rankings; nil when the host collects none (policies ranking by them
	// then fail their Check).
	Activations ActivationStats
	// FoldBN returns a convolution weight scaled per filter by its following BatchNorm's
	// γ/√(var+ε), for prune policies with fold_bn (wrapped in a [ValuePruner]); nil when
	// the host cannot fold, which makes such policies an error.
	FoldBN func(p *nn.Param) ([]float32, error)
}

// ThresholdMasker is implemented by regularizers that can compute a threshold mask after
// each minibatch ([L1Regularizer], [GroupLasso]). ThresholdMask writes the mask of p into
// dst (len p.Len()) and reports whether the regularizer was configured with a threshold.
type ThresholdMasker interface {
	ThresholdMask(dst []float32, p *nn.Param) (bool, error)
}

// args reads a policy's arguments and records which ones were read, so a test can prove
// that every argument a signature declares is used.
type args struct {
	pol  *lang.Policy
	used map[string]bool
	err  error
}

func newArgs(pol *lang.Policy) *args { return &args{pol: pol, used: map[string]bool{}} }

func (a *args) get(name string) (lang.Value, bool) {
	a.used[name] = true
	return a.pol.Arg(name)
}

// num returns a required numeric argument; a missing one records an error.
func (a *args) num(name string) float64 {
	v, ok := a.get(name)
	if !ok {
		a.fail("missing argument %s", name)
	}
	return v.Num
}

// numOr returns a numeric argument or def when absent.
func (a *args) numOr(name string, def float64) float64 {
	if v, ok := a.get(name); ok {
		return v.Num
	}
	return def
}

func (a *args) flag(name string) bool {
	v, _ := a.get(name)
	return v.Bool
}

func (a *args) str(name, def string) string {
	if v, ok := a.get(name); ok && v.Str != "" {
		return v.Str
	}
	return def
}

func (a *args) rng(name string) (lo, hi float64) {
	v, ok := a.get(name)
	if !ok {
		a.fail("missing argument %s", name)
	}
	return v.From, v.To
}

func (a *args) ints(name string) []int {
	v, ok := a.get(name)
	if !ok {
		return nil
	}
	out := make([]int, len(v.List))
	for i, x := range v.List {
		if x != math.Trunc(x) || x < 0 {
			a.fail("argument %s: %v is not a non-negative integer", name, x)
		}
		out[i] = int(x)
	}
	return out
}

func (a *args) fail(format string, xs ...any) {
	if a.err == nil {
		a.err = fmt.Errorf("stdlib: %s %s: %s", a.pol.Kind, a.pol.Method, fmt.Sprintf(format, xs...))
	}
}

// seed returns the policy's seed argument as a uint64.
func (a *args) seed() uint64 { return uint64(a.numOr("seed", 1)) }

// pruneControl names the fine-control flags every pruner accepts; the interpreter, not
// the pruner, implements them.
var pruneControl = map[string]bool{
	"keep_mask": true, "forward_only": true, "mask_gradients": true, "double_copies": true,
	"discard_masks": true, "skip_first_minibatch": true, "fold_bn": true,
}

// NewPruner returns the pruner a checked prune policy names, configured from its
// arguments, granularity, ranking and window. The result's Check still has to be run
// against the parameters.
func NewPruner(pol *lang.Policy, opt BuildOptions) (Pruner, error) {
	p, _, err := buildPruner(pol, opt)
	return p, err
}

func buildPruner(pol *lang.Policy, opt BuildOptions) (Pruner, *args, error) {
	a := newArgs(pol)
	if pol.Kind != lang.KindPrune {
		return nil, a, fmt.Errorf("stdlib: NewPruner: policy is %s, not prune", pol.Kind)
	}
	gran := Elements
	if pol.Granularity != "" {
		g, err := ParseGranularity(pol.Granularity)
		if err != nil {
			return nil, a, err
		}
		gran = g
	}
	for name := range pruneControl {
		a.used[name] = true
	}
	w := pol.Window
	structure := func(frac float64, agp *AGP, rangeFrac *[2]float64) (Pruner, error) {
		rank, err := ParseRanking(pickRanking(pol.Ranking))
		if err != nil {
			return nil, err
		}
		return &StructurePruner{
			Granularity: gran, Block: a.ints("block"), Ranking: rank, Fraction: frac, AGP: agp,
			Range: rangeFrac, GroupSize: int(a.numOr("group_size", 1)), Noise: a.numOr("noise", 0),
			Leader: a.flag("leader"), Activations: opt.Activations, Seed: a.seed(),
		}, nil
	}
	var (
		pr  Pruner
		err error
	)
	switch pol.Method {
	case "threshold":
		th := a.num("threshold")
		crit, cerr := ParseCriterion(a.str("criterion", "mean_abs"))
		if cerr != nil {
			return nil, a, cerr
		}
		if gran == Elements {
			pr = &ThresholdPruner{Threshold: th}
		} else {
			pr = &StructureThresholdPruner{Granularity: gran, Block: a.ints("block"), Criterion: crit, Threshold: th}
		}
	case "sensitivity":
		pr = &SensitivityPruner{Sensitivity: a.num("s")}
	case "level":
		s := a.num("sparsity")
		if gran == Elements {
			pr = &LevelPruner{Sparsity: s}
			markUsed(a, "leader", "block", "noise", "group_size")
		} else {
			pr, err = structure(s, nil, nil)
		}
	case "agp":
		lo, hi := a.rng("sparsity")
		agp := &AGP{Initial: lo, Final: hi, Start: w.Start, End: w.End, Freq: max(w.Every, 1), Steps: w.Unit == lang.Steps}
		switch {
		case gran == Elements:
			pr = &AGPPruner{Schedule: *agp}
			markUsed(a, "leader", "block", "noise", "group_size")
		case pol.Ranking == "bernoulli":
			pr = &BernoulliFilterPruner{Granularity: gran, Block: a.ints("block"), AGP: agp, Seed: a.seed()}
			markUsed(a, "leader", "noise", "group_size")
		default:
			pr, err = structure(0, agp, nil)
		}
	case "rnn":
		pr = &BaiduRNNPruner{Q: a.num("q"), RampEpochOffset: int(a.num("ramp_offset")), RampSlopeMult: a.num("ramp_slope"),
			Start: w.Start, End: w.End, Freq: max(w.Every, 1)}
	case "splicing":
		pr = &SplicingPruner{Sensitivity: a.num("s"), LowMult: a.numOr("low", 0.9), HighMult: a.numOr("high", 1.1),
			SensitivityMultiplier: a.numOr("growth", 0), Start: w.Start}
	case "random":
		lo, hi := a.rng("sparsity")
		if gran == Elements {
			gran = Filters
		}
		pr, err = structure(0, nil, &[2]float64{lo, hi})
	case "bernoulli":
		if gran == Elements {
			gran = Filters
		}
		pr = &BernoulliFilterPruner{Granularity: gran, Fraction: a.num("sparsity"), Seed: a.seed()}
	default:
		return nil, a, fmt.Errorf("stdlib: prune method %q has no implementation", pol.Method)
	}
	if err == nil {
		err = a.err
	}
	if err != nil {
		return nil, a, err
	}
	if v, ok := pol.Arg("fold_bn"); ok && v.Bool {
		if opt.FoldBN == nil {
			return nil, a, fmt.Errorf("stdlib: prune %s: fold_bn needs BatchNorm folding, and the host supplied none", pol.Method)
		}
		pr = &ValuePruner{Inner: pr, Values: opt.FoldBN}
	}
	return pr, a, nil
}

// pickRanking returns the policy's ranking, or l1 when it names none.
func pickRanking(r string) string {
	if r == "" {
		return "l1"
	}
	return r
}

func markUsed(a *args, names ...string) {
	for _, n := range names {
		a.used[n] = true
	}
}

// NewRegularizer returns the regularizer a checked regularize policy names. Regularizers
// configured with a threshold also implement [ThresholdMasker].
func NewRegularizer(pol *lang.Policy) (Regularizer, error) {
	r, _, err := buildRegularizer(pol)
	return r, err
}

func buildRegularizer(pol *lang.Policy) (Regularizer, *args, error) {
	a := newArgs(pol)
	if pol.Kind != lang.KindRegularize {
		return nil, a, fmt.Errorf("stdlib: NewRegularizer: policy is %s, not regularize", pol.Kind)
	}
	a.used["keep_mask"] = true // the interpreter keeps threshold masks
	var r Regularizer
	switch pol.Method {
	case "l1":
		r = &L1Regularizer{Strength: a.num("strength"), Threshold: a.flag("threshold")}
	case "l2":
		r = &L2Regularizer{Strength: a.num("strength")}
	case "group_lasso":
		groups, err := ParseGroups(pickGroups(pol.Granularity))
		if err != nil {
			return nil, a, err
		}
		gl := &GroupLasso{Strength: a.num("strength"), Groups: groups}
		if th := a.str("threshold", "none"); th != "none" {
			c, err := ParseCriterion(th)
			if err != nil {
				return nil, a, err
			}
			gl.Threshold = &c
		}
		r = gl
	case "group_variance":
		r = &GroupVariance{Strength: a.num("strength")}
	default:
		return nil, a, fmt.Errorf("stdlib: regularize method %q has no implementation", pol.Method)
	}
	if a.err != nil {
		return nil, a, a.err
	}
	return r, a, nil
}

func pickGroups(g string) string {
	if g == "" {
		return "filters"
	}
	return g
}

// LRPolicy is a checked lr statement bound to its window. Schedule (or, for plateau,
// Plateau) computes the rate; the schedule sees positions relative to the window's
// start.
type LRPolicy struct {
	// Schedule is the closed-form schedule; nil for plateau.
	Schedule LRSchedule
	// Plateau is the reduce-on-plateau state for the plateau method, else nil.
	Plateau *Plateau
	// Start is the window's first epoch: the schedule's epoch 0.
	Start int
	// Steps makes the schedule count minibatches since the window's start (`every K
	// steps`): the window-derived lengths of WarmupLR, CosineLR (and its restart period)
	// and PolynomialLR are then multiplied by the epoch length, and a StepLR decays every
	// StepSize minibatches.
	Steps bool
}

// LR returns the rate for position at given the optimizer's base rate. It is meant for
// positions inside the policy's window (earlier positions count as the window's start);
// the plateau method has no closed form and returns base (use Plateau.Step at each
// epoch end).
func (lp *LRPolicy) LR(base float64, at Point) float64 {
	if lp.Schedule == nil {
		return base
	}
	if !lp.Steps {
		return lp.Schedule.LR(base, max(at.Epoch-lp.Start, 0))
	}
	pos := max(at.GlobalStep()-lp.Start*at.StepsPerEpoch, 0)
	spe := max(at.StepsPerEpoch, 1)
	// Lengths that came from the window (or were written in epochs) become steps; a
	// StepLR's step size came from `every K steps` and already counts steps.
	switch s := lp.Schedule.(type) {
	case WarmupLR:
		s.Epochs *= spe
		return s.LR(base, pos)
	case CosineLR:
		s.TMax *= spe
		s.Restarts *= spe
		return s.LR(base, pos)
	case PolynomialLR:
		s.TMax *= spe
		return s.LR(base, pos)
	}
	return lp.Schedule.LR(base, pos)
}

// NewLRPolicy returns the schedule a checked lr policy names.
func NewLRPolicy(pol *lang.Policy) (*LRPolicy, error) {
	lp, _, err := buildLR(pol)
	return lp, err
}

func buildLR(pol *lang.Policy) (*LRPolicy, *args, error) {
	a := newArgs(pol)
	if pol.Kind != lang.KindLR {
		return nil, a, fmt.Errorf("stdlib: NewLRPolicy: policy is %s, not lr", pol.Kind)
	}
	w := pol.Window
	length := w.End - w.Start
	needEnd := func() {
		if w.End == lang.NoEnd || length < 1 {
			a.fail("the window must end after it starts")
		}
	}
	lp := &LRPolicy{Start: w.Start, Steps: w.Unit == lang.Steps}
	switch pol.Method {
	case "step":
		lp.Schedule = StepLR{StepSize: max(w.Every, 1), Gamma: a.numOr("gamma", 0.1)}
	case "multistep":
		lp.Start = 0 // milestones are absolute epochs
		ms := w.Epochs
		if ms == nil {
			ms = []int{w.Start}
		}
		gamma := a.numOr("gamma", 0.1)
		if v, ok := a.get("gammas"); ok && len(v.List) > 0 {
			lp.Schedule = MultiStepMultiGammaLR{Milestones: ms, Gammas: v.List}
		} else {
			lp.Schedule = MultiStepLR{Milestones: ms, Gamma: gamma}
		}
	case "exponential":
		lp.Schedule = ExponentialLR{Gamma: a.num("gamma")}
	case "cosine":
		c := CosineLR{EtaMin: a.numOr("min_lr", 0), Restarts: int(a.numOr("restarts", 0))}
		if c.Restarts == 0 {
			needEnd()
			c.TMax = length
		}
		lp.Schedule = c
	case "warmup":
		needEnd()
		lo, hi := a.rng("lr")
		lp.Schedule = WarmupLR{Start: lo, End: hi, Epochs: length}
	case "poly":
		needEnd()
		lp.Schedule = PolynomialLR{TMax: length, Power: a.numOr("power", 1)}
	case "plateau":
		lp.Plateau = &Plateau{Factor: a.numOr("factor", 0.1), Patience: int(a.numOr("patience", 10)),
			Cooldown: int(a.numOr("cooldown", 0)), MinLR: a.numOr("min_lr", 0), Max: a.str("mode", "min") == "max"}
	default:
		return nil, a, fmt.Errorf("stdlib: lr method %q has no implementation", pol.Method)
	}
	if a.err != nil {
		return nil, a, a.err
	}
	var err error
	if lp.Schedule != nil {
		err = lp.Schedule.Check()
	} else {
		err = lp.Plateau.Check()
	}
	if err != nil {
		return nil, a, fmt.Errorf("stdlib: lr %s: %w", pol.Method, err)
	}
	return lp, a, nil
}
