package importer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/dst-dev/dst/lang"
	"gopkg.in/yaml.v3"
)

// Options configures an import. The zero value imports and formats without checking.
type Options struct {
	// Builtins, when non-nil, is the signature table the generated script is checked
	// against (normally stdlib.Signatures()). Nil skips the check; the output is still
	// parsed and formatted.
	Builtins *lang.Builtins
	// Params is the parameter table of the model the script is checked against. Nil
	// checks without a model (selectors are parsed, not resolved); pass
	// [Result.Synthetic] of a first import to check against a stand-in model.
	Params []lang.ParamInfo
	// Source is the name written in the header comment; empty means the filename.
	Source string
}

// Result is a successful import.
type Result struct {
	// Source is the .dst script, formatted by lang.Format.
	Source []byte
	// Arch is the model the file names, from an extension's arch or a --arch flag in
	// its comments; empty when it names none.
	Arch string
	// ArchFrom says where Arch was found.
	ArchFrom string
	// Params lists the parameter names the script selects, as written in the script
	// (DataParallel's module. component removed), in order of first mention.
	Params []string
	// Layers lists the layer (module) names the quantizer override lines select; for an
	// override written as a regex, one name the regex matches.
	Layers []string
	// Statements is the number of statements written.
	Statements int
	// Others reports that a statement selects every parameter not named elsewhere
	// (Distiller's '*' default), so the model has parameters beyond Params.
	Others bool
}

// Synthetic returns a stand-in parameter table for checking the script when dst does
// not have the model: [SyntheticParams] of r's names, plus one more convolution weight,
// other.weight, when a '*' default selects parameters the file does not name.
func (r *Result) Synthetic() []lang.ParamInfo {
	names := r.Params
	if r.Others {
		names = append(append([]string(nil), names...), "other.weight")
	}
	return SyntheticParams(names, r.Layers)
}

// Convert imports a Distiller YAML schedule and returns the equivalent .dst source,
// formatted and, when opts.Builtins is set, checked. filename is used in messages and in
// the header comment. Errors are an [ErrorList] of positioned errors (file:line:col in
// the YAML), or a [*NotScheduleError] for AMC layer lists and activation statistics.
// Convert keeps no state between calls and is safe for concurrent use.
func Convert(filename string, src []byte, opts Options) ([]byte, error) {
	res, err := Import(filename, src, opts)
	if err != nil {
		return nil, err
	}
	return res.Source, nil
}

// scheduleKeys are the top-level keys of a Distiller schedule, in the order Distiller
// builds them.
var scheduleKeys = []string{"version", "pruners", "regularizers", "quantizers", "lr_schedulers", "extensions", "policies"}

// Classify reports what kind of Distiller YAML file src is, without converting it. It
// returns an error only when src is not YAML.
func Classify(filename string, src []byte) (FileKind, error) {
	root, err := parseYAML(filename, src)
	if err != nil {
		return KindUnknown, err
	}
	return classify(root), nil
}

func classify(root *yaml.Node) FileKind {
	root = deref(root)
	if root == nil || root.Kind != yaml.MappingNode {
		return KindUnknown
	}
	keys := map[string]bool{}
	stats := len(root.Content) > 0
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := deref(root.Content[i]).Value
		keys[k] = true
		v := deref(root.Content[i+1])
		if v == nil || v.Kind != yaml.MappingNode || !(hasKey(v, "output") || hasKey(v, "inputs")) {
			stats = false
		}
	}
	for _, k := range scheduleKeys {
		if keys[k] {
			return KindSchedule
		}
	}
	switch {
	case keys["network"]:
		return KindAMC
	case stats:
		return KindStats
	}
	return KindUnknown
}

func hasKey(m *yaml.Node, key string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if deref(m.Content[i]).Value == key {
			return true
		}
	}
	return false
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML decodes exactly one YAML document.
func parseYAML(filename string, src []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, ErrorList{{Filename: filename, Msg: "empty file: no YAML document"}}
		}
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			return nil, ErrorList{{Filename: filename, Line: line, Column: 1, Msg: "invalid YAML: " + m[2]}}
		}
		return nil, ErrorList{{Filename: filename, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, ErrorList{{Filename: filename, Line: extra.Line, Column: extra.Column, Msg: "a second YAML document; a Distiller schedule is one document"}}
	}
	if len(doc.Content) == 0 {
		return nil, ErrorList{{Filename: filename, Msg: "empty file: no YAML document"}}
	}
	return deref(doc.Content[0]), nil
}

// Import is [Convert] returning the details of the import as well.
func Import(filename string, src []byte, opts Options) (*Result, error) {
	root, err := parseYAML(filename, src)
	if err != nil {
		return nil, err
	}
	switch k := classify(root); k {
	case KindAMC, KindStats:
		return nil, &NotScheduleError{Filename: filename, Kind: k}
	case KindUnknown:
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			return nil, ErrorList{{Filename: filename, Msg: "empty file: no YAML document"}}
		}
		var keys []string
		if root.Kind == yaml.MappingNode {
			for i := 0; i < len(root.Content); i += 2 {
				keys = append(keys, strconv.Quote(deref(root.Content[i]).Value))
			}
		}
		msg := "not a Distiller schedule: expected top-level keys among " + strings.Join(scheduleKeys, ", ")
		if len(keys) > 0 {
			if len(keys) > 4 {
				keys = append(keys[:4], "...")
			}
			msg += "; found " + strings.Join(keys, ", ")
		} else {
			msg += "; found " + kindName(root)
		}
		return nil, ErrorList{{Filename: filename, Line: root.Line, Column: root.Column, Msg: msg}}
	}
	c := &converter{file: filename, opts: opts, comps: map[string]map[string]*component{}, seenParam: map[string]bool{}, seenLayer: map[string]bool{}}
	c.arch, c.archFrom = archFromComments(src)
	c.document(root)
	if len(c.errs) > 0 {
		return nil, c.sorted()
	}
	raw, lines := c.render()
	dstName := strings.TrimSuffix(filename, filepath.Ext(filename)) + ".dst"
	out, diags := lang.Format(dstName, raw)
	if diags.HasErrors() {
		// A statement dst's parser refuses (one beyond its size limits): report it at
		// the policy it comes from.
		for _, d := range diags.Errs() {
			if st := c.stmtAt(lines, d); st != nil {
				c.gapAt(st.node, "a statement beyond dst's parser limits", "%s: dst cannot parse the statement it becomes: %s: %s", st.what, d.Summary, d.Detail)
			}
		}
		if len(c.errs) > 0 {
			return nil, c.sorted()
		}
		return nil, fmt.Errorf("importer: internal error: the generated script for %s does not parse: %v", filename, diags)
	}
	if opts.Builtins != nil {
		_, diags := lang.CheckSource(dstName, raw, lang.Env{Params: opts.Params, Builtins: opts.Builtins})
		for _, d := range diags {
			if d.Severity != lang.Error {
				continue
			}
			st := c.stmtAt(lines, d)
			msg := d.Summary
			if d.Detail != "" {
				msg += ": " + d.Detail
			}
			if st == nil {
				c.errs = append(c.errs, &Error{Filename: filename, Msg: "dst check: " + msg})
				continue
			}
			c.errAt(st.node, "%s: dst check of `%s`: %s", st.what, oneLine(st.text), msg)
		}
		if len(c.errs) > 0 {
			return nil, c.sorted()
		}
	}
	return &Result{Source: out, Arch: c.arch, ArchFrom: c.archFrom, Params: c.params, Layers: c.layers, Statements: len(c.stmts), Others: c.others}, nil
}

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}

func (c *converter) sorted() ErrorList {
	out := append(ErrorList(nil), c.errs...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Column < out[j].Column
	})
	return out
}

var archRe = regexp.MustCompile(`(?:--arch|\s-a)[= ]+([A-Za-z][A-Za-z0-9_]*)`)

// archFromComments finds the model of a command line quoted in the file's comments
// (compress_classifier.py --arch resnet20_cifar ...).
func archFromComments(src []byte) (string, string) {
	for _, line := range strings.Split(string(src), "\n") {
		t := strings.TrimSpace(line)
		if !strings.HasPrefix(t, "#") {
			continue
		}
		if m := archRe.FindStringSubmatch(t); m != nil {
			return m[1], "the command line in its comments"
		}
	}
	return "", ""
}

// component is one entry of pruners, regularizers, quantizers, lr_schedulers or
// extensions.
type component struct {
	section   string
	kind      string // pruner, regularizer, quantizer, lr_scheduler, extension
	name      string
	nameNode  *yaml.Node
	m         *mapping
	class     string
	classNode *yaml.Node
	policies  int
	bad       bool
}

func (k *component) String() string { return fmt.Sprintf("%s %s (%s)", k.kind, k.name, k.class) }

// stmt is one generated statement and where its errors point.
type stmt struct {
	comments []string
	text     string
	node     *yaml.Node
	what     string
}

type converter struct {
	file      string
	opts      Options
	errs      ErrorList
	comps     map[string]map[string]*component
	order     []*component
	stmts     []*stmt
	notes     []string
	params    []string
	seenParam map[string]bool
	layers    []string
	seenLayer map[string]bool
	arch      string
	archFrom  string
	others    bool // a '*' default selects unnamed parameters
}

var sectionKind = map[string]string{
	"pruners": "pruner", "regularizers": "regularizer", "quantizers": "quantizer",
	"lr_schedulers": "lr_scheduler", "extensions": "extension",
}

var policyKinds = []string{"pruner", "regularizer", "quantizer", "lr_scheduler", "extension"}

func (c *converter) document(root *yaml.Node) {
	top, _ := c.mapOf(root, "the schedule", false)
	if top == nil {
		return
	}
	if v, has := top.get("version"); has {
		n, ok := c.integer(v, "version")
		if ok && n != 1 {
			c.errAt(v, "version %d: Distiller's schedule format has only version 1", n)
		}
	}
	for _, sec := range []string{"pruners", "regularizers", "quantizers", "lr_schedulers", "extensions"} {
		v, has := top.get(sec)
		if !has {
			continue
		}
		c.section(sec, v)
	}
	var pols []*yaml.Node
	if v, has := top.get("policies"); has && !isNull(v) {
		pols, _ = c.seq(v, "policies")
	}
	c.unused(top, "the schedule", scheduleKeys)
	quantizers := 0
	for _, k := range c.order {
		if k.section != "quantizers" {
			continue
		}
		if quantizers++; quantizers > 1 {
			c.errAt(k.nameNode, "quantizers: %s is a second quantizer; Distiller supports one (\"Multiple Quantizers not supported\")", k.name)
			k.bad = true
		}
	}
	for i, p := range pols {
		c.policy(i, p)
	}
	// Components no policy schedules: quantizers of post-training type run after
	// training; anything else is built by Distiller but never runs, so it is noted.
	for _, k := range c.order {
		if k.bad || k.policies > 0 {
			continue
		}
		if k.section == "quantizers" && k.class == "PostTrainLinearQuantizer" {
			c.quantizer(k, nil)
			continue
		}
		c.validate(k)
		c.notes = append(c.notes, fmt.Sprintf("%s is defined but no policy schedules it; Distiller builds it and never runs it, so nothing is imported for it.", k))
	}
}

func (c *converter) section(sec string, v *yaml.Node) {
	m, _ := c.mapOf(v, sec, true)
	if m == nil {
		return
	}
	if c.comps[sec] == nil {
		c.comps[sec] = map[string]*component{}
	}
	for i, kn := range m.keys {
		m.used[kn.Value] = true
		what := sec + "." + kn.Value
		cm, ok := c.mapOf(m.vals[i], what, false)
		if cm == nil {
			continue
		}
		k := &component{section: sec, kind: sectionKind[sec], name: kn.Value, nameNode: kn, m: cm, bad: !ok}
		cn, has := cm.get("class")
		if !has {
			c.errAt(kn, "%s has no class: key", what)
			k.bad = true
		} else if s, ok := c.str(cn, what+".class"); ok {
			k.class, k.classNode = s, cn
			if !c.knownClass(k) {
				k.bad = true
			}
		} else {
			k.bad = true
		}
		c.comps[sec][k.name] = k
		c.order = append(c.order, k)
	}
}

// knownClass reports whether k's class is one the importer converts, and reports why
// not otherwise.
func (c *converter) knownClass(k *component) bool {
	table := classTable[k.section]
	if _, ok := table[k.class]; ok {
		return true
	}
	if reason, ok := unsupported[k.class]; ok {
		c.gapAt(k.classNode, "class "+k.class, "%s: class %s cannot be imported: %s", k.section+"."+k.name, k.class, reason)
		return false
	}
	for sec, t := range classTable {
		if _, ok := t[k.class]; ok {
			c.errAt(k.classNode, "%s: %s is a %s class, listed under %s", k.section+"."+k.name, k.class, sectionKind[sec], k.section)
			return false
		}
	}
	var all []string
	for _, t := range classTable {
		for n := range t {
			all = append(all, n)
		}
	}
	for n := range unsupported {
		all = append(all, n)
	}
	sort.Strings(all)
	msg := fmt.Sprintf("%s: unknown class %q", k.section+"."+k.name, k.class)
	if s := nearest(k.class, all); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	} else {
		msg += "; Distiller would fail with \"Class named ... does not exist\""
	}
	c.errAt(k.classNode, "%s", msg)
	return false
}

// classTable lists the classes the importer converts, by section, with their
// constructor keys (besides class).
var classTable = map[string]map[string][]string{
	"pruners": {
		"MagnitudeParameterPruner":             {"thresholds"},
		"SparsityLevelParameterPruner":         {"levels"},
		"SensitivityPruner":                    {"sensitivities"},
		"SplicingPruner":                       {"sensitivities", "low_thresh_mult", "hi_thresh_mult", "sensitivity_multiplier"},
		"AutomatedGradualPruner":               {"initial_sparsity", "final_sparsity", "weights"},
		"BaiduRNNPruner":                       {"q", "ramp_epoch_offset", "ramp_slope_mult", "weights"},
		"L1RankedStructureParameterPruner":     {"group_type", "desired_sparsity", "weights", "group_dependency", "kwargs", "noise", "group_size"},
		"L2RankedStructureParameterPruner":     {"group_type", "desired_sparsity", "weights", "group_dependency", "kwargs", "noise", "group_size"},
		"ActivationAPoZRankedFilterPruner":     {"group_type", "desired_sparsity", "weights", "group_dependency"},
		"ActivationMeanRankedFilterPruner":     {"group_type", "desired_sparsity", "weights", "group_dependency"},
		"GradientRankedFilterPruner":           {"group_type", "desired_sparsity", "weights", "group_dependency"},
		"RandomRankedFilterPruner":             {"group_type", "desired_sparsity", "weights", "group_dependency"},
		"RandomLevelStructureParameterPruner":  {"group_type", "sparsity_range", "weights", "group_dependency", "kwargs"},
		"BernoulliFilterPruner":                {"group_type", "desired_sparsity", "weights", "group_dependency"},
		"L1RankedStructureParameterPruner_AGP": {"group_type", "initial_sparsity", "final_sparsity", "weights", "group_dependency", "kwargs"},
		"L2RankedStructureParameterPruner_AGP": {"group_type", "initial_sparsity", "final_sparsity", "weights", "group_dependency", "kwargs"},
		"ActivationAPoZRankedFilterPruner_AGP": {"group_type", "initial_sparsity", "final_sparsity", "weights", "group_dependency"},
		"ActivationMeanRankedFilterPruner_AGP": {"group_type", "initial_sparsity", "final_sparsity", "weights", "group_dependency"},
		"GradientRankedFilterPruner_AGP":       {"group_type", "initial_sparsity", "final_sparsity", "weights", "group_dependency"},
		"RandomRankedFilterPruner_AGP":         {"group_type", "initial_sparsity", "final_sparsity", "weights", "group_dependency"},
		"BernoulliFilterPruner_AGP":            {"group_type", "initial_sparsity", "final_sparsity", "weights", "group_dependency"},
		"StructureParameterPruner":             {"reg_regims", "threshold_criteria"},
	},
	"regularizers": {
		"L1Regularizer":            {"reg_regims", "threshold_criteria"},
		"GroupLassoRegularizer":    {"reg_regims", "threshold_criteria"},
		"GroupVarianceRegularizer": {"reg_regims"},
	},
	"quantizers": {
		"PostTrainLinearQuantizer": {"bits_activations", "bits_parameters", "bits_accum", "overrides", "mode", "clip_acts",
			"per_channel_wts", "model_activation_stats", "fp16", "clip_n_stds", "clip_half_range", "scale_approx_mult_bits",
			"inputs_quant_auto_fallback", "fpq_module", "save_fp_weights", "also_clip_weights"},
		"QuantAwareTrainRangeLinearQuantizer": {"bits_activations", "bits_weights", "bits_bias", "overrides", "mode", "ema_decay",
			"per_channel_wts", "quantize_inputs", "num_bits_inputs"},
		"DorefaQuantizer": {"bits_activations", "bits_weights", "bits_bias", "overrides"},
		"PACTQuantizer":   {"bits_activations", "bits_weights", "bits_bias", "overrides", "act_clip_init_val", "act_clip_decay"},
		"WRPNQuantizer":   {"bits_activations", "bits_weights", "bits_bias", "overrides"},
	},
	"lr_schedulers": {
		"StepLR":                {"step_size", "gamma"},
		"MultiStepLR":           {"milestones", "gamma"},
		"MultiStepMultiGammaLR": {"milestones", "gammas"},
		"ExponentialLR":         {"gamma"},
		"ReduceLROnPlateau":     {"mode", "factor", "patience", "cooldown", "min_lr", "threshold", "threshold_mode", "eps", "verbose"},
	},
	"extensions": {
		"FilterRemover":    {"thinning_func_str", "arch", "dataset"},
		"ChannelRemover":   {"thinning_func_str", "arch", "dataset"},
		"StructureRemover": {"thinning_func_str", "arch", "dataset"},
	},
}

// unsupported are Distiller classes dst has no equivalent for, with the reason.
var unsupported = map[string]string{
	"FMReconstructionChannelPruner":    "it re-solves the kept channels' weights by least squares on sampled feature maps, which dst's prune statement does not do",
	"NCFQuantAwareTrainQuantizer":      "it also quantizes the outputs of NCF's EltwiseMult, Concat and Linear modules, which dst's quantize statement cannot select",
	"CosineAnnealingLR":                "Distiller steps it with absolute epochs (lr depends on eta_min and the base rate, not a ratio), which dst's lr statements cannot reproduce outside a window starting at epoch 0; write `lr cosine` by hand",
	"CosineAnnealingWarmRestarts":      "see CosineAnnealingLR; write `lr cosine restarts=T` by hand",
	"PolynomialLR":                     "Distiller's PolynomialLR is stepped with absolute epochs and is not a ratio schedule; write `lr poly` by hand",
	"LambdaLR":                         "its rate is a Python function",
	"MultiplicativeLR":                 "its rate is a Python function",
	"CyclicLR":                         "it steps per mini-batch with momentum cycling, which dst's lr statements do not model",
	"OneCycleLR":                       "it steps per mini-batch with momentum cycling, which dst's lr statements do not model",
	"StructuredAutomatedGradualPruner": "no such class exists in Distiller (it appears only in dead sections of two example files)",
	"KnowledgeDistillationPolicy":      "Distiller creates it from command-line flags, not from YAML; write `distill from TEACHER` by hand",
	"DropFilterRegularizer":            "Distiller does not export it, so it cannot be named in a schedule",
}

// policy is one entry of policies, decoded.
type policy struct {
	index int
	node  *yaml.Node
	kind  string
	comp  *component
	args  *mapping
	win   window
	what  string
}

func (c *converter) policy(i int, n *yaml.Node) {
	what := fmt.Sprintf("policies[%d]", i)
	m, ok := c.mapOf(n, what, false)
	if m == nil {
		return
	}
	p := &policy{index: i, node: deref(n)}
	var kinds []string
	for _, k := range policyKinds {
		if _, has := m.idx[k]; has {
			kinds = append(kinds, k)
		}
	}
	switch len(kinds) {
	case 0:
		c.errAt(n, "%s names no policy kind: expected one of %s", what, strings.Join(policyKinds, ", "))
		c.unused(m, what, append(append([]string(nil), policyKinds...), "starting_epoch", "ending_epoch", "frequency", "epochs"))
		return
	case 1:
	default:
		c.errAt(m.keyNode(kinds[1]), "%s has both %s and %s; a policy is exactly one of %s", what, kinds[0], kinds[1], strings.Join(policyKinds, ", "))
		return
	}
	p.kind = kinds[0]
	inner, _ := m.get(p.kind)
	im, ok2 := c.mapOf(inner, what+"."+p.kind, false)
	if im == nil {
		return
	}
	ok = ok && ok2
	in, has := im.get("instance_name")
	if !has {
		c.errAt(m.keyNode(p.kind), "%s.%s has no instance_name", what, p.kind)
		ok = false
	} else if name, good := c.str(in, what+"."+p.kind+".instance_name"); good {
		sec := p.kind + "s"
		comp := c.comps[sec][name]
		if comp == nil {
			var names []string
			for n := range c.comps[sec] {
				names = append(names, n)
			}
			sort.Strings(names)
			msg := fmt.Sprintf("%s: there is no %s called %q under %s", what, p.kind, name, sec)
			if s := nearest(name, names); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			} else if len(names) > 0 {
				msg += "; defined: " + strings.Join(names, ", ")
			}
			c.errAt(in, "%s", msg)
			ok = false
		} else {
			p.comp = comp
			comp.policies++
			p.what = fmt.Sprintf("%s policy %s", p.kind, name)
		}
	} else {
		ok = false
	}
	if a, has := im.get("args"); has && !isNull(a) {
		am, good := c.mapOf(a, what+"."+p.kind+".args", true)
		if am == nil || !good {
			ok = false
		}
		p.args = am
	}
	c.unused(im, what+"."+p.kind, []string{"instance_name", "args"})
	if w, good := c.window(m, what); good {
		p.win = w
	} else {
		ok = false
	}
	c.unused(m, what, append(append([]string(nil), policyKinds...), "starting_epoch", "ending_epoch", "frequency", "epochs"))
	if !ok || p.comp == nil || p.comp.bad {
		return
	}
	if p.args != nil && len(p.args.keys) > 0 && p.kind != "pruner" && p.kind != "regularizer" {
		c.errAt(p.args.node, "%s: Distiller ignores args for %s policies; remove them (dst would not honour them either)", p.what, p.kind)
		return
	}
	switch p.kind {
	case "pruner":
		c.pruner(p.comp, p)
	case "regularizer":
		c.regularizer(p.comp, p)
	case "quantizer":
		c.quantizer(p.comp, p)
	case "lr_scheduler":
		c.lrScheduler(p.comp, p)
	case "extension":
		c.extension(p.comp, p)
	}
}

// validate checks an unscheduled component's keys.
func (c *converter) validate(k *component) {
	switch k.section {
	case "pruners":
		c.pruner(k, nil)
	case "regularizers":
		c.regularizer(k, nil)
	case "quantizers":
		c.quantizer(k, nil)
	case "lr_schedulers":
		c.lrScheduler(k, nil)
	case "extensions":
		c.extension(k, nil)
	}
}

// window is a policy's epochs: an explicit list, or range(start, end, freq).
type window struct {
	list             []int
	start, end, freq int
	steps            int // every K global steps (mini_batch_pruning_frequency), 0 for none
	node             *yaml.Node
}

func (w window) isList() bool { return w.list != nil }

// maxEpoch is the largest epoch number dst's checker accepts in a window.
const maxEpoch = 1_000_000

// active reports whether the window holds epoch e.
func (w window) active(e int) bool {
	if w.list != nil {
		i := sort.SearchInts(w.list, e)
		return i < len(w.list) && w.list[i] == e
	}
	return e >= w.start && e < w.end && (e-w.start)%w.freq == 0
}

// last returns the window's last active epoch.
func (w window) last() int {
	if w.list != nil {
		return w.list[len(w.list)-1]
	}
	return w.start + (w.end-1-w.start)/w.freq*w.freq
}

// count returns how many epochs the window holds.
func (w window) count() int {
	if w.list != nil {
		return len(w.list)
	}
	return (w.end-1-w.start)/w.freq + 1
}

// epochs returns every epoch the window is active in.
func (w window) epochs() []int {
	if w.list != nil {
		return w.list
	}
	var out []int
	for e := w.start; e < w.end; e += w.freq {
		out = append(out, e)
	}
	return out
}

// text is the window in .dst syntax: Distiller's range(start, end, freq) is
// `from epoch start to end every freq` unchanged (both are half-open).
func (w window) text() string {
	if w.list != nil {
		if len(w.list) == 1 {
			return fmt.Sprintf("at epoch %d", w.list[0])
		}
		return "at epochs " + intList(w.list)
	}
	s := fmt.Sprintf("from epoch %d to %d", w.start, w.end)
	switch {
	case w.steps > 0:
		s += fmt.Sprintf(" every %d steps", w.steps)
	case w.freq != 1:
		s += fmt.Sprintf(" every %d", w.freq)
	}
	return s
}

func intList(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func (c *converter) window(m *mapping, what string) (window, bool) {
	w := window{node: m.node}
	if en, has := m.get("epochs"); has {
		for _, k := range []string{"starting_epoch", "ending_epoch", "frequency"} {
			if _, also := m.get(k); also {
				c.errAt(m.keyNode(k), "%s has both epochs and %s; Distiller uses the epochs list and ignores the range, so remove one", what, k)
				return w, false
			}
		}
		list, ok := c.integers(en, what+".epochs")
		if !ok {
			return w, false
		}
		if len(list) == 0 {
			c.errAt(en, "%s.epochs is empty: the policy would never run", what)
			return w, false
		}
		seen := map[int]bool{}
		for _, e := range list {
			if e < 0 || e > maxEpoch {
				c.errAt(en, "%s.epochs: epoch %d is outside 0..%d", what, e, maxEpoch)
				return w, false
			}
			if seen[e] {
				c.gapAt(en, "a policy running twice in one epoch", "%s.epochs lists epoch %d twice; Distiller would run the policy twice in that epoch, which dst cannot express", what, e)
				return w, false
			}
			seen[e] = true
		}
		w.list = append([]int(nil), list...)
		sort.Ints(w.list)
		return w, true
	}
	vals := map[string]int{}
	ok := true
	for _, k := range []string{"starting_epoch", "ending_epoch", "frequency"} {
		n, has := m.get(k)
		if !has {
			c.errAt(m.node, "%s has no %s: a policy gives either epochs: [...] or starting_epoch, ending_epoch and frequency", what, k)
			ok = false
			continue
		}
		v, good := c.integer(n, what+"."+k)
		if !good {
			ok = false
			continue
		}
		vals[k] = v
	}
	if !ok {
		return w, false
	}
	w.start, w.end, w.freq = vals["starting_epoch"], vals["ending_epoch"], vals["frequency"]
	switch {
	case w.start < 0:
		c.errAt(m.keyNode("starting_epoch"), "%s: starting_epoch %d is negative", what, w.start)
		return w, false
	case w.end > maxEpoch+1:
		c.errAt(m.keyNode("ending_epoch"), "%s: ending_epoch %d is beyond dst's limit of epoch %d", what, w.end, maxEpoch)
		return w, false
	case w.end <= w.start:
		c.errAt(m.keyNode("ending_epoch"), "%s: ending_epoch %d must be greater than starting_epoch %d (the end is exclusive)", what, w.end, w.start)
		return w, false
	case w.freq <= 0 || w.freq > w.end-w.start:
		c.errAt(m.keyNode("frequency"), "%s: frequency %d must be between 1 and ending_epoch - starting_epoch = %d", what, w.freq, w.end-w.start)
		return w, false
	}
	return w, true
}

// add appends a statement.
func (c *converter) add(node *yaml.Node, what, text string, comments ...string) {
	c.stmts = append(c.stmts, &stmt{comments: comments, text: text, node: node, what: what})
}

// render writes the raw script and the line span of each statement.
func (c *converter) render() ([]byte, [][2]int) {
	var b strings.Builder
	line := 1
	w := func(s string) {
		b.WriteString(s)
		b.WriteByte('\n')
		line += strings.Count(s, "\n") + 1
	}
	src := c.opts.Source
	if src == "" {
		src = c.file
	}
	w("# Imported from the Distiller schedule " + src + " by dst import.")
	if c.arch != "" {
		w(fmt.Sprintf("# Model: %s (named by %s).", c.arch, c.archFrom))
	}
	w("# Parameter names are written without DataParallel's module. component.")
	for _, n := range c.notes {
		w("# " + n)
	}
	if len(c.stmts) == 0 {
		w("# The schedule has no policy dst would run.")
	}
	w("")
	lines := make([][2]int, len(c.stmts))
	for i, s := range c.stmts {
		for _, cm := range s.comments {
			w("# " + cm)
		}
		start := line
		w(s.text)
		lines[i] = [2]int{start, line - 1}
	}
	return []byte(b.String()), lines
}

func (c *converter) stmtAt(lines [][2]int, d *lang.Diagnostic) *stmt {
	if d.Subject == nil {
		return nil
	}
	l := d.Subject.Start.Line
	for i, r := range lines {
		if l >= r[0] && l <= r[1] {
			return c.stmts[i]
		}
	}
	return nil
}

// fmtNum writes a number so that the .dst lexer reads back exactly the same float64.
func fmtNum(v float64) string {
	s := strconv.FormatFloat(v, 'g', -1, 64)
	s = strings.Replace(s, "e-0", "e-", 1)
	s = strings.Replace(s, "e+0", "e", 1)
	s = strings.Replace(s, "e+", "e", 1)
	return s
}
