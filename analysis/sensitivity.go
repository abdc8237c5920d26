package analysis

// Sensitivity analysis (Distiller's --sense, catalog §4.3).
//
// A sweep is the list of points (parameter, level) in parameter-major order: every level
// of the first parameter, then every level of the second, … Point j belongs to shard
// j mod n, so the shards are disjoint, cover the sweep, and each gets a mix of cheap and
// expensive parameters. Every point starts from the model as it was loaded: the pruned
// parameter's values and mask are copied before and written back after, so the order in
// which points run, and the process that runs them, change nothing in the results.

import (
	"context"
	"fmt"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/stdlib"
)

// SweepConfig configures [Sweep].
type SweepConfig struct {
	// Levels are the sparsity levels, each in [0, 1), in the order they are reported.
	Levels []float64
	// Granularity is Elements (exactly ⌊s·n⌋ weights of smallest magnitude), Filters
	// or Channels (the fraction s of 4-D weights' filters or input channels of lowest
	// mean |w|). The zero value is Elements.
	Granularity stdlib.Granularity
	// Params names the parameters to sweep, in the order they are reported; nil means
	// every eligible parameter (see [SweepParams]) in model order.
	Params []string
	// Batch is the evaluation minibatch size; 0 means 256.
	Batch int
	// Shard and Shards select shard Shard (0-based) of Shards; Shards 0 means 1.
	Shard, Shards int
	// Meta is copied into the [Part] and must be equal in every part [Merge] joins; hosts
	// record what identifies the sweep's inputs (checkpoint digest, data set, …).
	Meta map[string]string
	// Progress, if set, is called after every point with the number of points done and
	// the number in the shard.
	Progress func(done, total int)
}

// Point is one evaluation of the sweep.
type Point struct {
	// Param is the pruned parameter and Sparsity the level it was pruned to.
	Param    string
	Sparsity float64
	// Top1 and Top5 are accuracies in percent, Loss the mean cross-entropy.
	Top1, Top5, Loss float64
}

// Result is a whole sweep in report order: for each of Params, one point per level.
type Result struct {
	// Model is the model's zoo name and Granularity the granularity's name.
	Model       string
	Granularity string
	// Levels and Params are the sweep's axes.
	Levels []float64
	Params []string
	// Meta is the sweep's host metadata ([SweepConfig.Meta]).
	Meta map[string]string
	// Points holds len(Params)·len(Levels) points, parameter-major.
	Points []Point
}

// SweepParams returns the names of m's parameters a sweep at granularity g may prune:
// Distiller's rule, 2-D and 4-D weights for Elements and 4-D weights for Filters and
// Channels. Other granularities are an error.
func SweepParams(m *nn.Model, g stdlib.Granularity) ([]string, error) {
	rank := map[stdlib.Granularity][]int{stdlib.Elements: {2, 4}, stdlib.Filters: {4}, stdlib.Channels: {4}}[g]
	if rank == nil {
		return nil, fmt.Errorf("analysis: sensitivity: granularity %v not supported (want elements, filters or channels)", g)
	}
	var out []string
	for _, p := range m.Params() {
		if p.Kind == nn.KindWeight && slices.Contains(rank, len(p.Shape())) {
			out = append(out, p.Name)
		}
	}
	return out, nil
}

// SelectParams returns the names among eligible that match the comma-separated glob
// patterns of sel (path.Match syntax: `*` matches across dots), in eligible's order. A
// pattern naming a layer ("conv1") selects that layer's weight, and a leading "module."
// (Distiller's DataParallel prefix) is dropped when the pattern matches nothing with it.
// A pattern that matches nothing is an error listing the eligible names.
func SelectParams(eligible []string, sel string) ([]string, error) {
	var pats []string
	for _, p := range strings.Split(sel, ",") {
		if p = strings.TrimSpace(p); p != "" {
			pats = append(pats, p)
		}
	}
	if len(pats) == 0 {
		return nil, fmt.Errorf("analysis: empty parameter selector %q", sel)
	}
	picked := make([]bool, len(eligible))
	match := func(pat string) (bool, error) {
		hit := false
		for i, name := range eligible {
			ok, err := path.Match(pat, name)
			if err != nil {
				return false, fmt.Errorf("analysis: parameter selector %q: %w", pat, err)
			}
			if !ok {
				ok, _ = path.Match(pat+".weight", name)
			}
			if ok {
				picked[i], hit = true, true
			}
		}
		return hit, nil
	}
	for _, pat := range pats {
		hit, err := match(pat)
		if err != nil {
			return nil, err
		}
		if rest, ok := strings.CutPrefix(pat, "module."); !hit && ok {
			hit, _ = match(rest) // Distiller's DataParallel prefix
		}
		if !hit {
			return nil, fmt.Errorf("analysis: parameter selector %q matches none of %s", pat, strings.Join(eligible, ", "))
		}
	}
	var out []string
	for i, name := range eligible {
		if picked[i] {
			out = append(out, name)
		}
	}
	return out, nil
}

// ParseLevels parses a level list: "start:stop:step" (NumPy's arange, stop excluded,
// as Distiller's --sense-range) or comma-separated values. Every level must lie in
// [0, 1), and appear once. Levels of a range are rounded to 9 decimals so that 0.15 is
// 0.15.
func ParseLevels(s string) ([]float64, error) {
	bad := func(format string, args ...any) ([]float64, error) {
		return nil, fmt.Errorf("analysis: levels %q: %s", s, fmt.Sprintf(format, args...))
	}
	var out []float64
	if parts := strings.Split(s, ":"); len(parts) == 3 {
		var v [3]float64
		for i, p := range parts {
			f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return bad("%q is not a number", p)
			}
			v[i] = f
		}
		start, stop, step := v[0], v[1], v[2]
		if step <= 0 {
			return bad("the step must be positive")
		}
		for i := 0; ; i++ {
			l := start + float64(i)*step
			if l >= stop-step*1e-9 {
				break
			}
			if i >= 10000 {
				return bad("more than 10000 levels")
			}
			out = append(out, math.Round(l*1e9)/1e9)
		}
	} else if len(parts) == 1 {
		for _, p := range strings.Split(s, ",") {
			f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil {
				return bad("%q is not a number", p)
			}
			out = append(out, f)
		}
	} else {
		return bad("want start:stop:step or a comma-separated list")
	}
	if len(out) == 0 {
		return bad("no levels")
	}
	seen := map[float64]bool{}
	for _, l := range out {
		if !(l >= 0 && l < 1) {
			return bad("level %v is outside [0, 1)", l)
		}
		if seen[l] {
			return bad("level %v is given twice", l) // a merge refuses repeated levels
		}
		seen[l] = true
	}
	return out, nil
}

// Sweep runs the points of shard cfg.Shard of cfg.Shards of m's sensitivity sweep on
// set and returns them as a [Part]. m's parameter values and masks are the same when it
// returns as when it was called, whatever happened. It checks ctx between minibatches.
func Sweep(ctx context.Context, m *nn.Model, set *data.Set, cfg SweepConfig) (*Part, error) {
	eligible, err := SweepParams(m, cfg.Granularity)
	if err != nil {
		return nil, err
	}
	names := cfg.Params
	if names == nil {
		names = eligible
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("analysis: sensitivity: model %s has no parameter to sweep at granularity %v", m.Name, cfg.Granularity)
	}
	params := make([]*nn.Param, len(names))
	for i, n := range names {
		if !slices.Contains(eligible, n) {
			return nil, fmt.Errorf("analysis: sensitivity: %s cannot be swept at granularity %v (eligible: %s)", n, cfg.Granularity, strings.Join(eligible, ", "))
		}
		if slices.Contains(names[:i], n) {
			return nil, fmt.Errorf("analysis: sensitivity: parameter %s listed twice", n)
		}
		params[i] = m.Param(n)
	}
	if len(cfg.Levels) == 0 {
		return nil, fmt.Errorf("analysis: sensitivity: no levels")
	}
	for _, l := range cfg.Levels {
		if !(l >= 0 && l < 1) {
			return nil, fmt.Errorf("analysis: sensitivity: level %v is outside [0, 1)", l)
		}
	}
	shards := max(cfg.Shards, 1)
	if shards > maxShards {
		return nil, fmt.Errorf("analysis: sensitivity: %d shards; at most %d", shards, maxShards)
	}
	if cfg.Shard < 0 || cfg.Shard >= shards {
		return nil, fmt.Errorf("analysis: sensitivity: shard %d of %d does not exist (shards are 0 … %d)", cfg.Shard, shards, shards-1)
	}
	batch := cfg.Batch
	if batch == 0 {
		batch = 256
	}
	part := &Part{
		Version: partVersion, Model: m.Name, Granularity: cfg.Granularity.String(),
		Levels: slices.Clone(cfg.Levels), Params: slices.Clone(names), Meta: cfg.Meta,
		Shard: cfg.Shard, Shards: shards,
	}
	total := len(names) * len(cfg.Levels)
	mine := (total - cfg.Shard + shards - 1) / shards
	done := 0
	for j := cfg.Shard; j < total; j += shards {
		p, level := params[j/len(cfg.Levels)], cfg.Levels[j%len(cfg.Levels)]
		met, err := evalPruned(ctx, m, set, p, level, cfg.Granularity, batch)
		if err != nil {
			return nil, fmt.Errorf("analysis: sensitivity: %s at %v: %w", p.Name, level, err)
		}
		part.Points = append(part.Points, PartPoint{Index: j, Top1: jfloat(met.Top1), Top5: jfloat(met.Top5), Loss: jfloat(met.Loss)})
		done++
		if cfg.Progress != nil {
			cfg.Progress(done, mine)
		}
	}
	return part, nil
}

// evalPruned prunes p to level, evaluates m and restores p's values and mask exactly.
func evalPruned(ctx context.Context, m *nn.Model, set *data.Set, p *nn.Param, level float64, g stdlib.Granularity, batch int) (nn.Metrics, error) {
	values := slices.Clone(p.Data())
	mask := slices.Clone(p.MaskData())
	defer func() {
		copy(p.Data(), values)
		if mask == nil {
			p.ClearMask()
		} else {
			copy(p.MaskData(), mask)
		}
	}()
	var pr stdlib.Pruner
	if g == stdlib.Elements {
		pr = &stdlib.LevelPruner{Sparsity: level}
	} else {
		pr = &stdlib.StructurePruner{Granularity: g, Ranking: stdlib.L1, Fraction: level}
	}
	ps := []*nn.Param{p}
	if err := pr.Check(ps); err != nil {
		return nn.Metrics{}, err
	}
	if err := pr.Prune(ps, stdlib.Point{}); err != nil {
		return nn.Metrics{}, err
	}
	return nn.Evaluate(ctx, m, set, batch)
}
