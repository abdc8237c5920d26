package stdlib

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/dst-dev/dst/kernels"
	"github.com/dst-dev/dst/nn"
)

// Ranking names how a structured pruner scores structures; the lowest-ranked are pruned.
type Ranking int

// The rankings.
const (
	// L1 scores a structure by mean |w| over it (Distiller's length-normalised L1).
	L1 Ranking = iota
	// L2 scores a structure by its L2 norm divided by its element count (Distiller's
	// choice; not the RMS).
	L2
	// APoZ scores a filter by the average percentage of zeros of its output channel's
	// activations (Hu et al., Network Trimming); the filters with the highest APoZ are
	// pruned. Filters only; the scores come from [StructurePruner.Activations].
	APoZ
	// MeanActivation scores a filter by its output channel's mean activation (Molchanov
	// et al.); the filters with the lowest mean are pruned. Distiller's code removes the
	// highest (its comment says lowest); dst does what the method intends. Filters only;
	// the scores come from [StructurePruner.Activations].
	MeanActivation
	// RandomRank scores structures by a random permutation (a sanity baseline).
	RandomRank
	// Gradient scores a filter by Σ w·∂L/∂w over it (signed; Distiller's
	// GradientRankedFilterPruner), using the gradient the parameter holds when the pruner
	// runs. Filters only.
	Gradient
)

var rankingNames = [...]string{L1: "l1", L2: "l2", APoZ: "apoz", MeanActivation: "mean_activation", RandomRank: "random", Gradient: "gradient"}

// String returns the ranking's name in the language.
func (r Ranking) String() string {
	if r >= 0 && int(r) < len(rankingNames) {
		return rankingNames[r]
	}
	return fmt.Sprintf("Ranking(%d)", int(r))
}

// ParseRanking returns the ranking called name (l1, l2, apoz, mean_activation, random,
// gradient).
func ParseRanking(name string) (Ranking, error) {
	for i, n := range rankingNames {
		if lower(name) == n {
			return Ranking(i), nil
		}
	}
	return 0, fmt.Errorf("stdlib: unknown ranking %q (want l1, l2, apoz, mean_activation, random or gradient)", name)
}

// ActivationStats returns, for the layer that owns weight p, one statistic per output
// channel (filter) of its activations: for [APoZ] the fraction of zero activations, for
// [MeanActivation] the mean activation, each averaged over the samples the host
// collected ([ChannelStats] accumulates both). The result must have one value per filter
// of p.
type ActivationStats func(p *nn.Param) ([]float64, error)

// StructureCount returns how many of n structures a structured pruner at fraction f
// removes: ⌊f·n⌋ rounded down to a multiple of groupSize (values below 1 mean 1), but
// never all of them — when that would be n, one group of groupSize structures is kept
// (Distiller keeps one group unless the fraction is exactly 1, which dst does not
// allow). The result is in [0, n).
func StructureCount(f float64, n, groupSize int) int {
	groupSize = max(groupSize, 1)
	k := LevelCount(f, n) / groupSize * groupSize
	if k >= n {
		k = n - groupSize
	}
	return max(k, 0)
}

// StructurePruner removes whole structures (filters, channels, rows, columns, kernels or
// blocks) of lowest rank: Distiller's L1/L2RankedStructureParameterPruner,
// ActivationAPoZ/MeanRankedFilterPruner and RandomRankedFilterPruner, and with AGP set
// their _AGP forms. At each call it prunes exactly [StructureCount](fraction, n) of each
// parameter's n structures; ties in the score are broken by index (the lower index is
// pruned first). Zero structures to prune leaves the mask unchanged. With Range set
// (Distiller's RandomLevelStructureParameterPruner) the fraction is drawn uniformly from
// the range at each call.
//
// With Leader set, the first parameter is ranked and its keep/drop map is reused
// verbatim for every other parameter, which must have the same number of structures
// (needed when the layers' outputs are summed, as by a residual add).
type StructurePruner struct {
	// Granularity is the structure; not Elements or Layers.
	Granularity Granularity
	// Block is the block shape for Blocks (see [Blocks]); ignored otherwise.
	Block []int
	// Ranking is the score; APoZ, MeanActivation and Gradient need Filters, and the first
	// two need Activations.
	Ranking Ranking
	// Fraction is the fraction of structures to remove, in [0, 1); ignored when AGP or
	// Range is set.
	Fraction float64
	// AGP, when non-nil, sets the fraction at each call to AGP.Target of the position.
	AGP *AGP
	// Range, when non-nil, draws the fraction at each call uniformly from [Range[0],
	// Range[1]), both in [0, 1).
	Range *[2]float64
	// GroupSize rounds the number of removed structures down to a multiple of it; 0 or 1
	// means no rounding.
	GroupSize int
	// Noise is the probability, per parameter and call, that the scores are multiplied by
	// independent N(0, 1) draws before ranking (AMC's ε-greedy stochastic ranking); in
	// [0, 1].
	Noise float64
	// Leader makes the first parameter's ranking decide for all of them.
	Leader bool
	// Activations supplies per-filter activation statistics for APoZ and MeanActivation.
	Activations ActivationStats
	// Seed seeds the random draws of RandomRank, Range and Noise; see [Rand].
	Seed uint64

	mask []float32
}

// Check implements [Pruner].
func (sp *StructurePruner) Check(params []*nn.Param) error {
	switch sp.Granularity {
	case Elements, Layers:
		return fmt.Errorf("stdlib: structure pruning cannot use granularity %v", sp.Granularity)
	}
	switch {
	case sp.AGP != nil:
		if err := sp.AGP.Check(); err != nil {
			return err
		}
	case sp.Range != nil:
		lo, hi := sp.Range[0], sp.Range[1]
		if err := checkFraction("structure fraction range start", lo, false); err != nil {
			return err
		}
		if err := checkFraction("structure fraction range end", hi, false); err != nil {
			return err
		}
		if hi < lo {
			return fmt.Errorf("stdlib: structure fraction range %v -> %v is reversed", lo, hi)
		}
	default:
		if err := checkFraction("structure fraction", sp.Fraction, false); err != nil {
			return err
		}
	}
	if err := checkFraction("ranking noise", sp.Noise, true); err != nil {
		return err
	}
	if sp.GroupSize < 0 {
		return fmt.Errorf("stdlib: group size must be >= 0, got %d", sp.GroupSize)
	}
	if sp.Ranking < L1 || sp.Ranking > Gradient {
		return fmt.Errorf("stdlib: unknown ranking %v", sp.Ranking)
	}
	if (sp.Ranking == APoZ || sp.Ranking == MeanActivation || sp.Ranking == Gradient) && sp.Granularity != Filters {
		return fmt.Errorf("stdlib: ranking by %v needs granularity filters, not %v", sp.Ranking, sp.Granularity)
	}
	if sp.Ranking == APoZ || sp.Ranking == MeanActivation {
		if sp.Activations == nil {
			return fmt.Errorf("stdlib: ranking by %v needs activation statistics, and the host supplied none", sp.Ranking)
		}
	}
	n := -1
	for i, p := range params {
		gs, err := paramGroups(p, sp.Granularity, sp.Block)
		if err != nil {
			return err
		}
		if sp.Leader && i > 0 && gs.n != n {
			return shapeErr(p, "has %d %v but the leader %s has %d", gs.n, sp.Granularity, params[0].Name, n)
		}
		if i == 0 {
			n = gs.n
		}
	}
	return nil
}

// Prune implements [Pruner]. It returns an error if the activation statistics cannot be
// had or do not match the layer.
func (sp *StructurePruner) Prune(params []*nn.Param, at Point) error {
	if sp.AGP != nil {
		if err := sp.AGP.spanAt(at); err != nil {
			return err
		}
	}
	var keep []bool
	for i, p := range params {
		gs, err := paramGroups(p, sp.Granularity, sp.Block)
		if err != nil {
			return err
		}
		if !sp.Leader || i == 0 {
			if sp.Ranking == Gradient && !hasGradient(p) {
				// No step has run yet (or every gradient is zero): the scores would all
				// be 0 and the ties would prune by index. Distiller's pruner skips while
				// .grad is None; so does this one.
				if sp.Leader {
					return nil
				}
				continue
			}
			r := Rand(sp.Seed, at, i)
			f := sp.Fraction
			switch {
			case sp.AGP != nil:
				f = sp.AGP.Target(at)
			case sp.Range != nil:
				f = sp.Range[0] + (sp.Range[1]-sp.Range[0])*r.Float64()
			}
			k := StructureCount(f, gs.n, sp.GroupSize)
			if k == 0 {
				if sp.Leader {
					return nil
				}
				continue
			}
			scores, err := sp.scores(p, &gs, r)
			if err != nil {
				return err
			}
			if sp.Noise > 0 && r.Float64() < sp.Noise {
				for j := range scores {
					scores[j] *= r.NormFloat64()
				}
			}
			keep = keepHighest(scores, k)
		} else if gs.n != len(keep) {
			return shapeErr(p, "has %d %v but the leader %s has %d", gs.n, sp.Granularity, params[0].Name, len(keep))
		}
		if cap(sp.mask) < p.Len() {
			sp.mask = make([]float32, p.Len())
		}
		m := sp.mask[:p.Len()]
		gs.expand(m, keep)
		p.SetMask(m)
	}
	return nil
}

// hasGradient reports whether p's gradient holds any non-zero value.
func hasGradient(p *nn.Param) bool {
	for _, g := range p.GradData() {
		if g != 0 {
			return true
		}
	}
	return false
}

// scores returns one score per structure of p; the lowest are pruned.
func (sp *StructurePruner) scores(p *nn.Param, gs *groups, r *rand.Rand) ([]float64, error) {
	s := make([]float64, gs.n)
	switch sp.Ranking {
	case L1:
		gs.sumAbs(s, p.Data())
		for j := range s {
			s[j] /= float64(gs.size)
		}
	case L2:
		gs.sumSq(s, p.Data())
		for j := range s {
			s[j] = math.Sqrt(s[j]) / float64(gs.size)
		}
	case APoZ, MeanActivation:
		if sp.Activations == nil {
			return nil, fmt.Errorf("stdlib: ranking %s by %v needs activation statistics, and the host supplied none", p.Name, sp.Ranking)
		}
		a, err := sp.Activations(p)
		if err != nil {
			return nil, fmt.Errorf("stdlib: activation statistics of %s: %w", p.Name, err)
		}
		if len(a) != gs.n {
			return nil, fmt.Errorf("stdlib: activation statistics of %s: got %d values for %d filters", p.Name, len(a), gs.n)
		}
		for j, v := range a {
			if v != v {
				return nil, fmt.Errorf("stdlib: activation statistics of %s: filter %d is NaN", p.Name, j)
			}
			if sp.Ranking == APoZ {
				v = -v // the highest APoZ is pruned
			}
			s[j] = v
		}
	case RandomRank:
		for j, v := range r.Perm(gs.n) {
			s[j] = float64(v)
		}
	case Gradient:
		w, g := p.Data(), p.GradData()
		gs.each(func(off, n, id int) { s[id] += float64(kernels.Dot(w[off:off+n], g[off:off+n])) })
	}
	return s, nil
}

// keepHighest returns the keep map that drops exactly the k lowest scores, lower index
// first among equal scores (NaN scores rank lowest).
func keepHighest(scores []float64, k int) []bool {
	type ranked struct {
		score float64
		idx   int
	}
	order := make([]ranked, len(scores))
	for i, s := range scores {
		order[i] = ranked{s, i}
	}
	// (score, index) pairs are distinct, so an unstable sort is deterministic.
	slices.SortFunc(order, func(a, b ranked) int {
		if c := cmp.Compare(a.score, b.score); c != 0 {
			return c
		}
		return a.idx - b.idx
	})
	keep := make([]bool, len(scores))
	for _, r := range order[k:] {
		keep[r.idx] = true
	}
	return keep
}

// BernoulliFilterPruner keeps each filter (or other structure) independently with
// probability 1 − Fraction, drawing afresh at every call (DropFilter-like); with AGP set
// (Distiller's BernoulliFilterPruner_AGP) the drop probability follows the AGP target.
// Distiller also scales the mask by n/kept to compensate like dropout; a dst mask holds
// only 0 and 1 (see [nn.Param]), so no compensation is applied.
type BernoulliFilterPruner struct {
	// Granularity is the structure; not Elements or Layers.
	Granularity Granularity
	// Block is the block shape for Blocks; ignored otherwise.
	Block []int
	// Fraction is the probability that a structure is dropped, in [0, 1); ignored when
	// AGP is set.
	Fraction float64
	// AGP, when non-nil, sets the drop probability at each call to AGP.Target.
	AGP *AGP
	// Seed seeds the generator; see [Rand].
	Seed uint64

	mask []float32
}

// Check implements [Pruner].
func (bp *BernoulliFilterPruner) Check(params []*nn.Param) error {
	switch bp.Granularity {
	case Elements, Layers:
		return fmt.Errorf("stdlib: structure pruning cannot use granularity %v", bp.Granularity)
	}
	if bp.AGP != nil {
		if err := bp.AGP.Check(); err != nil {
			return err
		}
	} else if err := checkFraction("bernoulli fraction", bp.Fraction, false); err != nil {
		return err
	}
	for _, p := range params {
		if _, err := paramGroups(p, bp.Granularity, bp.Block); err != nil {
			return err
		}
	}
	return nil
}

// Prune implements [Pruner].
func (bp *BernoulliFilterPruner) Prune(params []*nn.Param, at Point) error {
	if bp.AGP != nil {
		if err := bp.AGP.spanAt(at); err != nil {
			return err
		}
	}
	for i, p := range params {
		gs, err := paramGroups(p, bp.Granularity, bp.Block)
		if err != nil {
			return err
		}
		f := bp.Fraction
		if bp.AGP != nil {
			f = bp.AGP.Target(at)
		}
		r := Rand(bp.Seed, at, i)
		keep := make([]bool, gs.n)
		for j := range keep {
			keep[j] = r.Float64() >= f
		}
		if cap(bp.mask) < p.Len() {
			bp.mask = make([]float32, p.Len())
		}
		m := bp.mask[:p.Len()]
		gs.expand(m, keep)
		p.SetMask(m)
	}
	return nil
}

// StructureThresholdPruner is Distiller's StructureParameterPruner (and the structure
// form of its magnitude pruner): it keeps a structure iff its norm by Criterion exceeds
// Threshold, and zeroes the others.
type StructureThresholdPruner struct {
	// Granularity is the structure; not Elements.
	Granularity Granularity
	// Block is the block shape for Blocks; ignored otherwise.
	Block []int
	// Criterion is the structure's norm.
	Criterion Criterion
	// Threshold is the norm at or below which a structure is pruned; >= 0.
	Threshold float64

	mask []float32
}

// Check implements [Pruner].
func (tp *StructureThresholdPruner) Check(params []*nn.Param) error {
	if tp.Granularity == Elements {
		return fmt.Errorf("stdlib: structure threshold pruning needs a structure, not elements")
	}
	if !(tp.Threshold >= 0) || math.IsInf(tp.Threshold, 1) {
		return fmt.Errorf("stdlib: threshold must be a finite number >= 0, got %v", tp.Threshold)
	}
	if tp.Criterion < MaxAbs || tp.Criterion > MeanL2 {
		return fmt.Errorf("stdlib: unknown threshold criterion %v", tp.Criterion)
	}
	for _, p := range params {
		if _, err := paramGroups(p, tp.Granularity, tp.Block); err != nil {
			return err
		}
	}
	return nil
}

// Prune implements [Pruner].
func (tp *StructureThresholdPruner) Prune(params []*nn.Param, _ Point) error {
	for _, p := range params {
		if cap(tp.mask) < p.Len() {
			tp.mask = make([]float32, p.Len())
		}
		m := tp.mask[:p.Len()]
		if err := GroupThresholdMask(m, p.Data(), p.Shape(), tp.Granularity, tp.Block, tp.Criterion, tp.Threshold); err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
		p.SetMask(m)
	}
	return nil
}
