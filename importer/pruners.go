package importer

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Pruners. Each Distiller pruner scheduled by a pruner policy becomes one prune
// statement per distinct setting: the element pruners take a per-parameter dictionary
// (levels, thresholds, sensitivities), so parameters that share a value share a
// statement, and the '*' default becomes a statement over every other parameter. The
// policy's args (Distiller's fine-control flags) become the statement's flags, and
// mini_batch_pruning_frequency becomes `every K steps`.

// prunerInfo says how a pruner class maps onto a prune method.
type prunerInfo struct {
	method  string // agp, level, random, bernoulli, threshold, sensitivity, splicing, rnn
	ranking string // for structure classes
}

var prunerClasses = map[string]prunerInfo{
	"MagnitudeParameterPruner":             {method: "threshold"},
	"SparsityLevelParameterPruner":         {method: "level"},
	"SensitivityPruner":                    {method: "sensitivity"},
	"SplicingPruner":                       {method: "splicing"},
	"AutomatedGradualPruner":               {method: "agp"},
	"BaiduRNNPruner":                       {method: "rnn"},
	"L1RankedStructureParameterPruner":     {method: "level", ranking: "l1"},
	"L2RankedStructureParameterPruner":     {method: "level", ranking: "l2"},
	"ActivationAPoZRankedFilterPruner":     {method: "level", ranking: "apoz"},
	"ActivationMeanRankedFilterPruner":     {method: "level", ranking: "mean_activation"},
	"GradientRankedFilterPruner":           {method: "level", ranking: "gradient"},
	"RandomRankedFilterPruner":             {method: "level", ranking: "random"},
	"RandomLevelStructureParameterPruner":  {method: "random", ranking: "l1"},
	"BernoulliFilterPruner":                {method: "bernoulli"},
	"L1RankedStructureParameterPruner_AGP": {method: "agp", ranking: "l1"},
	"L2RankedStructureParameterPruner_AGP": {method: "agp", ranking: "l2"},
	"ActivationAPoZRankedFilterPruner_AGP": {method: "agp", ranking: "apoz"},
	"ActivationMeanRankedFilterPruner_AGP": {method: "agp", ranking: "mean_activation"},
	"GradientRankedFilterPruner_AGP":       {method: "agp", ranking: "gradient"},
	"RandomRankedFilterPruner_AGP":         {method: "agp", ranking: "random"},
	"BernoulliFilterPruner_AGP":            {method: "agp", ranking: "bernoulli"},
	"StructureParameterPruner":             {method: "threshold"},
}

// rankedGroups maps Distiller's group_type for the ranked pruners. Rows is routed to
// Distiller's channel routine, which on a 2-D weight removes input-feature columns, so
// it is dst's channels granularity (the columns of a 2-D weight).
var rankedGroups = map[string]string{"Filters": "filters", "3D": "filters", "Channels": "channels", "Rows": "channels", "Blocks": "blocks"}

// thresholdGroups maps group_type for StructureParameterPruner's thresholding.
var thresholdGroups = map[string]string{"2D": "kernels", "Rows": "rows", "Cols": "cols", "3D": "filters", "Filters": "filters", "Channels": "channels"}

// criteria maps threshold_criteria onto prune threshold's criterion.
var criteria = map[string]string{"Max": "max", "Mean_Abs": "mean_abs", "Mean_L1": "mean_abs", "L1": "l1", "Mean_L2": "mean_l2", "L2": "l2"}

// pruneFlags maps a pruner policy's boolean args onto prune flags.
var pruneFlags = map[string]string{
	"keep_mask":                      "keep_mask",
	"mask_on_forward_only":           "forward_only",
	"mask_gradients":                 "mask_gradients",
	"use_double_copies":              "double_copies",
	"discard_masks_at_minibatch_end": "discard_masks",
	"skip_first_minibatch":           "skip_first_minibatch",
	"fold_batchnorm":                 "fold_bn",
}

// valued is a set of parameters sharing one setting.
type valued struct {
	names    []string
	value    float64
	extra    string   // a second component of the setting (a granularity)
	except   string   // for the '*' default: the `except [...]` clause of its selector
	excepted []string // the names in except
	node     *yaml.Node
}

// paramDict reads a {param: value} dictionary. The '*' key, when present, is returned
// separately; named lists every explicitly named parameter.
func (c *converter) paramDict(n *yaml.Node, what string, read func(v *yaml.Node, what string) (float64, string, bool)) (groups []*valued, star *valued, named []string, ok bool) {
	m, ok := c.mapOf(n, what, false)
	if m == nil {
		return nil, nil, nil, false
	}
	for i, k := range m.keys {
		m.used[k.Value] = true
		v, extra, good := read(m.vals[i], what+"."+k.Value)
		if !good {
			ok = false
			continue
		}
		if k.Value == "*" {
			star = &valued{value: v, extra: extra, node: k}
			continue
		}
		name := normName(k.Value)
		if name == "" {
			c.errAt(k, "%s: %q is not a parameter name", what, k.Value)
			ok = false
			continue
		}
		named = append(named, name)
		var g *valued
		for _, h := range groups {
			if h.value == v && h.extra == extra {
				g = h
				break
			}
		}
		if g == nil {
			g = &valued{value: v, extra: extra, node: k}
			groups = append(groups, g)
		}
		g.names = append(g.names, name)
	}
	return groups, star, named, ok
}

// weightsList reads a pruner's weights: a list of names, or (Distiller's quirk) one
// name as a plain string, which Distiller matches by substring and which selects that
// one parameter.
func (c *converter) weightsList(k *component) ([]string, []string, bool) {
	n, has := k.m.get("weights")
	if !has {
		c.errAt(k.nameNode, "%s needs weights: the list of parameters to prune", k)
		return nil, nil, false
	}
	var comments []string
	var items []*yaml.Node
	if d := deref(n); d != nil && d.Kind == yaml.ScalarNode && d.Tag == "!!str" {
		items = []*yaml.Node{d}
		comments = append(comments, fmt.Sprintf("%s gives weights as the string %q, which Distiller matches by substring; it names that one parameter.", k.name, d.Value))
	} else {
		var ok bool
		items, ok = c.seq(n, k.name+".weights")
		if !ok {
			return nil, nil, false
		}
	}
	if len(items) == 0 {
		c.errAt(n, "%s: weights is empty", k)
		return nil, nil, false
	}
	var names []string
	seen := map[string]bool{}
	for i, it := range items {
		s, ok := c.str(it, fmt.Sprintf("%s.weights[%d]", k.name, i))
		if !ok {
			return nil, nil, false
		}
		name := normName(s)
		if name == "" {
			c.errAt(it, "%s.weights[%d]: %q is not a parameter name", k.name, i, s)
			return nil, nil, false
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		names = append(names, name)
	}
	return names, comments, true
}

// fraction reads a sparsity in [0, 1).
func (c *converter) fraction(n *yaml.Node, what string) (float64, bool) {
	v, ok := c.number(n, what)
	if !ok {
		return 0, false
	}
	if v < 0 || v >= 1 {
		c.errAt(n, "%s is %s; dst sparsities are fractions in [0, 1) (a sparsity of 1 would remove every weight)", what, fmtNum(v))
		return 0, false
	}
	return v, true
}

// pruner converts k; p nil only validates k's keys.
func (c *converter) pruner(k *component, p *policy) {
	info := prunerClasses[k.class]
	what := k.String()
	var terms []string // after the method
	gran := ""
	ranking := info.ranking
	var comments []string
	var groups []*valued // element pruners: one statement per group
	var weights []string
	leader := false
	ok := true
	allowed := append([]string{"class"}, classTable["pruners"][k.class]...)

	groupType := func(table map[string]string) {
		n, has := k.m.get("group_type")
		if !has {
			c.errAt(k.nameNode, "%s needs group_type", what)
			ok = false
			return
		}
		s, good := c.str(n, k.name+".group_type")
		if !good {
			ok = false
			return
		}
		g, known := table[s]
		if !known {
			var names []string
			for n := range table {
				names = append(names, n)
			}
			sort.Strings(names)
			c.errAt(n, "%s: group_type %q is not one this class supports (%s)", what, s, strings.Join(names, ", "))
			ok = false
			return
		}
		if s == "Rows" {
			comments = append(comments, fmt.Sprintf("%s: Distiller's ranked Rows removes input-feature columns of a 2-D weight, which is dst's channels.", k.name))
		}
		gran = g
	}
	dependency := func() {
		n, has := k.m.get("group_dependency")
		if !has || isNull(n) {
			return
		}
		s, good := c.str(n, k.name+".group_dependency")
		if !good {
			ok = false
			return
		}
		if s != "Leader" {
			c.errAt(n, "%s: group_dependency %q; Distiller knows only Leader", what, s)
			ok = false
			return
		}
		leader = true
	}
	structureKwargs := func() {
		if n, has := k.m.get("kwargs"); has && !isNull(n) {
			km, good := c.mapOf(n, k.name+".kwargs", true)
			if km == nil || !good {
				ok = false
				return
			}
			if bn, has := km.get("block_shape"); has {
				bs, good := c.integers(bn, k.name+".kwargs.block_shape")
				if !good {
					ok = false
				} else if gran != "blocks" {
					c.errAt(bn, "%s: block_shape is read only with group_type Blocks", what)
					ok = false
				} else {
					terms = append(terms, "block="+intList(bs))
				}
			}
			c.unused(km, k.name+".kwargs", []string{"block_shape"})
		} else if gran == "blocks" {
			c.errAt(k.nameNode, "%s: group_type Blocks needs kwargs: {block_shape: [repetitions, depth, 1, 1]}", what)
			ok = false
		}
		if n, has := k.m.get("noise"); has {
			if v, good := c.fraction(n, k.name+".noise"); good {
				terms = append(terms, "noise="+fmtNum(v))
			} else {
				ok = false
			}
		}
		if n, has := k.m.get("group_size"); has {
			if v, good := c.integer(n, k.name+".group_size"); good && v >= 1 {
				terms = append(terms, fmt.Sprintf("group_size=%d", v))
			} else {
				if good {
					c.errAt(n, "%s: group_size must be at least 1", what)
				}
				ok = false
			}
		}
	}
	agpRange := func() {
		si, has1 := k.m.get("initial_sparsity")
		sf, has2 := k.m.get("final_sparsity")
		if !has1 || !has2 {
			c.errAt(k.nameNode, "%s needs initial_sparsity and final_sparsity", what)
			ok = false
			return
		}
		a, g1 := c.fraction(si, k.name+".initial_sparsity")
		b, g2 := c.fraction(sf, k.name+".final_sparsity")
		if !g1 || !g2 {
			ok = false
			return
		}
		if b <= a {
			c.errAt(sf, "%s: final_sparsity %s must be greater than initial_sparsity %s (Distiller asserts it)", what, fmtNum(b), fmtNum(a))
			ok = false
			return
		}
		terms = append(terms, fmtNum(a)+" -> "+fmtNum(b))
	}
	desired := func() {
		n, has := k.m.get("desired_sparsity")
		if !has {
			c.errAt(k.nameNode, "%s needs desired_sparsity", what)
			ok = false
			return
		}
		if v, good := c.fraction(n, k.name+".desired_sparsity"); good {
			terms = append(terms, fmtNum(v))
		} else {
			ok = false
		}
	}
	getWeights := func() {
		w, cm, good := c.weightsList(k)
		if !good {
			ok = false
			return
		}
		weights = w
		comments = append(comments, cm...)
	}

	switch k.class {
	case "AutomatedGradualPruner":
		agpRange()
		getWeights()
	case "BaiduRNNPruner":
		getWeights()
		for _, a := range []struct{ key, arg string }{{"q", ""}, {"ramp_epoch_offset", "ramp_offset="}, {"ramp_slope_mult", "ramp_slope="}} {
			n, has := k.m.get(a.key)
			if !has {
				c.errAt(k.nameNode, "%s needs %s", what, a.key)
				ok = false
				continue
			}
			if a.key == "ramp_epoch_offset" {
				v, good := c.integer(n, k.name+"."+a.key)
				if !good || v < 0 {
					if good {
						c.errAt(n, "%s: ramp_epoch_offset must not be negative", what)
					}
					ok = false
					continue
				}
				terms = append(terms, fmt.Sprintf("%s%d", a.arg, v))
				continue
			}
			v, good := c.number(n, k.name+"."+a.key)
			if !good || v <= 0 {
				if good {
					c.errAt(n, "%s: %s must be positive", what, a.key)
				}
				ok = false
				continue
			}
			terms = append(terms, a.arg+fmtNum(v))
		}
	case "L1RankedStructureParameterPruner", "L2RankedStructureParameterPruner":
		groupType(rankedGroups)
		desired()
		dependency()
		structureKwargs()
		getWeights()
	case "ActivationAPoZRankedFilterPruner", "ActivationMeanRankedFilterPruner", "GradientRankedFilterPruner", "RandomRankedFilterPruner",
		"BernoulliFilterPruner":
		groupType(map[string]string{"Filters": "filters", "3D": "filters"})
		desired()
		dependency()
		getWeights()
	case "RandomLevelStructureParameterPruner":
		groupType(rankedGroups)
		if n, has := k.m.get("sparsity_range"); !has {
			c.errAt(k.nameNode, "%s needs sparsity_range: [low, high]", what)
			ok = false
		} else if r, good := c.numbers(n, k.name+".sparsity_range"); !good {
			ok = false
		} else if len(r) != 2 || r[0] < 0 || r[1] >= 1 || r[0] >= r[1] {
			c.errAt(n, "%s: sparsity_range must be [low, high] with 0 <= low < high < 1", what)
			ok = false
		} else {
			terms = append(terms, fmtNum(r[0])+" -> "+fmtNum(r[1]))
		}
		dependency()
		structureKwargs()
		getWeights()
	case "L1RankedStructureParameterPruner_AGP", "L2RankedStructureParameterPruner_AGP":
		groupType(rankedGroups)
		agpRange()
		dependency()
		structureKwargs()
		getWeights()
	case "ActivationAPoZRankedFilterPruner_AGP", "ActivationMeanRankedFilterPruner_AGP", "GradientRankedFilterPruner_AGP",
		"RandomRankedFilterPruner_AGP", "BernoulliFilterPruner_AGP":
		groupType(map[string]string{"Filters": "filters", "3D": "filters"})
		agpRange()
		dependency()
		getWeights()
	case "MagnitudeParameterPruner", "SparsityLevelParameterPruner", "SensitivityPruner", "SplicingPruner":
		key := map[string]string{"MagnitudeParameterPruner": "thresholds", "SparsityLevelParameterPruner": "levels",
			"SensitivityPruner": "sensitivities", "SplicingPruner": "sensitivities"}[k.class]
		dict, has := k.m.get(key)
		if p != nil && k.class == "SparsityLevelParameterPruner" && p.args != nil {
			if lv, over := p.args.get("levels"); over {
				dict, has = lv, true
				comments = append(comments, fmt.Sprintf("The levels come from the args of the policy at line %d, which replace %s's.", p.node.Line, k.name))
			}
		}
		if !has {
			c.errAt(k.nameNode, "%s needs %s: {parameter: value}", what, key)
			ok = false
			break
		}
		read := func(v *yaml.Node, w string) (float64, string, bool) {
			if k.class == "SparsityLevelParameterPruner" {
				f, good := c.fraction(v, w)
				return f, "", good
			}
			f, good := c.number(v, w)
			if good && f < 0 {
				c.errAt(v, "%s must not be negative", w)
				return 0, "", false
			}
			return f, "", good
		}
		gs, star, named, good := c.paramDict(dict, k.name+"."+key, read)
		if !good {
			ok = false
			break
		}
		if k.class == "MagnitudeParameterPruner" && star == nil {
			c.errAt(dict, "%s: thresholds needs the '*' key (Distiller's default threshold is mandatory)", what)
			ok = false
			break
		}
		if star != nil {
			star.names = nil
			groups = append(gs, star)
			if len(named) > 0 {
				star.except = "except " + selector(named)
				star.excepted = named
			}
			comments = append(comments, fmt.Sprintf("%s: Distiller's '*' default applies to every parameter of the model, biases and batch-norm included.", k.name))
		} else {
			groups = gs
		}
		if k.class == "SparsityLevelParameterPruner" {
			var keep []*valued
			for _, g := range groups {
				if g.value == 0 {
					comments = append(comments, fmt.Sprintf("%s: level 0 leaves %s unpruned (Distiller skips it).", k.name, describeGroup(g)))
					continue
				}
				keep = append(keep, g)
			}
			groups = keep
		}
		if k.class == "SplicingPruner" {
			for _, a := range []struct{ key, arg string }{{"low_thresh_mult", "low"}, {"hi_thresh_mult", "high"}, {"sensitivity_multiplier", "growth"}} {
				n, has := k.m.get(a.key)
				if !has {
					if a.key != "sensitivity_multiplier" {
						c.errAt(k.nameNode, "%s needs %s", what, a.key)
						ok = false
					}
					continue
				}
				v, good := c.number(n, k.name+"."+a.key)
				if !good || v < 0 || (v == 0 && a.arg != "growth") {
					if good {
						c.errAt(n, "%s: %s must be positive", what, a.key)
					}
					ok = false
					continue
				}
				terms = append(terms, a.arg+"="+fmtNum(v))
			}
		}
	case "StructureParameterPruner":
		crit := "mean_abs"
		if n, has := k.m.get("threshold_criteria"); has && !isNull(n) {
			s, good := c.str(n, k.name+".threshold_criteria")
			if cr, known := criteria[s]; good && known {
				crit = cr
			} else {
				if good {
					c.errAt(n, "%s: threshold_criteria %q is not Max, Mean_Abs, Mean_L1, L1, Mean_L2 or L2", what, s)
				}
				ok = false
			}
		} else {
			c.errAt(k.nameNode, "%s needs threshold_criteria (Max, Mean_Abs, ...)", what)
			ok = false
		}
		rr, has := k.m.get("reg_regims")
		if !has {
			c.errAt(k.nameNode, "%s needs reg_regims: {parameter: [threshold, group_type]}", what)
			ok = false
			break
		}
		gs, star, _, good := c.paramDict(rr, k.name+".reg_regims", func(v *yaml.Node, w string) (float64, string, bool) {
			return c.pairValue(v, w, thresholdGroups)
		})
		if !good {
			ok = false
			break
		}
		if star != nil {
			c.errAt(star.node, "%s: '*' in reg_regims is not a default in Distiller (it matches no parameter); name the parameters", what)
			ok = false
			break
		}
		groups = gs
		terms = append(terms, "criterion="+crit)
	}
	c.unused(k.m, k.section+"."+k.name, allowed)
	if !ok || p == nil {
		return
	}

	// Policy args.
	var flags []string
	win := p.win
	if p.args != nil {
		for _, key := range p.args.keys {
			kv := key.Value
			v := p.args.vals[p.args.idx[kv]]
			p.args.used[kv] = true
			switch {
			case kv == "levels":
				if k.class != "SparsityLevelParameterPruner" {
					c.errAt(key, "%s: args.levels replaces a SparsityLevelParameterPruner's levels; %s has none", p.what, k.class)
					ok = false
				} else if k.policies > 1 {
					c.gapAt(key, "args.levels on a pruner several policies share", "%s: args.levels replaces the levels of %s, which several policies share; Distiller mutates the shared pruner, so the other policies' levels depend on the order they run in, which dst cannot express", p.what, k.name)
					ok = false
				}
			case kv == "mini_batch_pruning_frequency":
				n, good := c.integer(v, p.what+".args."+kv)
				if !good || n < 0 {
					if good {
						c.errAt(v, "%s: mini_batch_pruning_frequency must not be negative", p.what)
					}
					ok = false
					continue
				}
				if n == 0 {
					continue
				}
				if win.isList() || win.freq != 1 {
					c.gapAt(key, "mini_batch_pruning_frequency with an epoch list or frequency > 1", "%s: mini_batch_pruning_frequency with %s; dst's `every K steps` window runs in every epoch of its range, so the epoch frequency must be 1", p.what, describeWindow(win))
					ok = false
					continue
				}
				if info.method == "agp" {
					c.gapAt(key, "AGP recomputed every K mini-batches", "%s: mini_batch_pruning_frequency on an AGP pruner: Distiller keeps the per-epoch AGP target and only recomputes the mask every K mini-batches, while dst's agp with `every K steps` ramps its target over mini-batches, so the language cannot express this schedule", p.what)
					ok = false
					continue
				}
				win.steps = n
			default:
				flag, known := pruneFlags[kv]
				if !known {
					keys := []string{"levels", "mini_batch_pruning_frequency"}
					for k := range pruneFlags {
						keys = append(keys, k)
					}
					sort.Strings(keys)
					msg := fmt.Sprintf("%s: unknown pruner policy arg %q", p.what, kv)
					if s := nearest(kv, keys); s != "" {
						msg += fmt.Sprintf("; did you mean %q?", s)
					} else {
						msg += "; expected one of " + strings.Join(keys, ", ")
					}
					c.errAt(key, "%s", msg)
					ok = false
					continue
				}
				b, good := c.boolean(v, p.what+".args."+kv)
				if !good {
					ok = false
					continue
				}
				if b {
					flags = append(flags, flag)
				}
			}
		}
	}
	if !ok {
		return
	}
	if (info.method == "agp" || info.method == "rnn") && win.isList() {
		c.errAt(p.node, "%s: %s schedules over a range; Distiller's %s fails with an epochs list (its frequency is None), so give starting_epoch, ending_epoch and frequency", p.what, k.class, k.class)
		return
	}
	if leader && c.opts.Params != nil && len(weights) > 1 {
		if first := c.firstInModel(weights); first != "" && first != weights[0] {
			c.errAt(p.node, "%s: group_dependency Leader ranks %s, the first name listed, but dst's leader is the first selected parameter in model order, %s; list the leader first in model order", p.what, weights[0], first)
			return
		}
	}
	tail := strings.Join(flags, " ")
	build := func(sel, gran string, args []string) string {
		parts := []string{"prune", sel}
		if gran != "" {
			parts = append(parts, gran)
		}
		parts = append(parts, info.method)
		parts = append(parts, args...)
		if leader {
			parts = append(parts, "leader")
		}
		if tail != "" {
			parts = append(parts, tail)
		}
		if ranking != "" {
			parts = append(parts, "by", ranking)
		}
		parts = append(parts, win.text())
		return strings.Join(parts, " ")
	}
	if weights != nil {
		c.mention(weights...)
		c.add(p.node, p.what, build(selector(weights), gran, terms), comments...)
		return
	}
	for i, g := range groups {
		sel := everyParam
		if g.names != nil {
			sel = selector(g.names)
			c.mention(g.names...)
		} else {
			c.others = true
		}
		if g.names == nil && g.except != "" {
			sel += " " + g.except
			c.mention(g.excepted...)
		}
		args := append([]string{fmtNum(g.value)}, terms...)
		gr := gran
		if g.extra != "" { // StructureParameterPruner: each parameter's own group type
			gr = g.extra
		}
		var cm []string
		if i == 0 {
			cm = comments
		}
		c.add(p.node, p.what, build(sel, gr, args), cm...)
	}
	if len(groups) == 0 {
		c.notes = append(c.notes, fmt.Sprintf("%s selects no parameter with a non-zero setting, so it prunes nothing.", p.what))
		c.notes = append(c.notes, comments...)
	}
}

// pairValue reads [value, group_type] of reg_regims.
func (c *converter) pairValue(v *yaml.Node, what string, groups map[string]string) (float64, string, bool) {
	items, ok := c.seq(v, what)
	if !ok {
		return 0, "", false
	}
	if len(items) != 2 {
		c.errAt(v, "%s must be [value, group_type]", what)
		return 0, "", false
	}
	x, ok := c.number(items[0], what+"[0]")
	if !ok {
		return 0, "", false
	}
	if x < 0 {
		c.errAt(items[0], "%s[0] must not be negative", what)
		return 0, "", false
	}
	s, ok := c.str(items[1], what+"[1]")
	if !ok {
		return 0, "", false
	}
	g, known := groups[s]
	if !known {
		var names []string
		for n := range groups {
			names = append(names, n)
		}
		sort.Strings(names)
		c.errAt(items[1], "%s: group_type %q is not one of %s", what, s, strings.Join(names, ", "))
		return 0, "", false
	}
	return x, g, true
}

func describeGroup(g *valued) string {
	if g.names == nil {
		return "the '*' default"
	}
	return strings.Join(g.names, ", ")
}

func describeWindow(w window) string {
	if w.isList() {
		return "an epochs list"
	}
	return fmt.Sprintf("frequency %d", w.freq)
}

// firstInModel returns which of names comes first in opts.Params, or "".
func (c *converter) firstInModel(names []string) string {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for _, p := range c.opts.Params {
		if want[p.Name] {
			return p.Name
		}
	}
	return ""
}
