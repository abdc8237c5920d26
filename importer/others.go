package importer

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Regularizers, thinning extensions and quantizers.

// lassoGroups maps GroupLassoRegularizer's group types onto group_lasso granularities.
var lassoGroups = map[string]string{
	"2D": "kernels", "Rows": "rows", "Cols": "cols", "Rows+Cols": "rows_cols", "Cols+Rows": "rows_cols",
	"Channels": "channels", "Filters": "filters", "3D": "filters", "4D": "layers",
	"Channels+4D": "channels_layers", "4D+Channels": "channels_layers",
}

// regularizer converts k; p nil only validates k's keys.
func (c *converter) regularizer(k *component, p *policy) {
	what := k.String()
	ok := true
	method := map[string]string{"L1Regularizer": "l1", "GroupLassoRegularizer": "group_lasso", "GroupVarianceRegularizer": "group_variance"}[k.class]
	threshold := "" // l1: "threshold" flag; group_lasso: threshold=...
	thresholded := false
	if n, has := k.m.get("threshold_criteria"); has && !isNull(n) {
		s, good := c.str(n, k.name+".threshold_criteria")
		switch {
		case !good:
			ok = false
		case method == "l1":
			// Distiller's L1Regularizer thresholds at the strength whatever the value.
			threshold, thresholded = "threshold", true
		case s == "Max":
			threshold, thresholded = "threshold=max", true
		case s == "Mean_Abs":
			threshold, thresholded = "threshold=mean_abs", true
		default:
			c.errAt(n, "%s: threshold_criteria %q; Distiller's GroupLassoRegularizer thresholds by Max or Mean_Abs", what, s)
			ok = false
		}
	}
	rr, has := k.m.get("reg_regims")
	var groups []*valued
	if !has {
		c.errAt(k.nameNode, "%s needs reg_regims", what)
		ok = false
	} else {
		read := func(v *yaml.Node, w string) (float64, string, bool) {
			switch method {
			case "l1":
				x, good := c.number(v, w)
				if good && x < 0 {
					c.errAt(v, "%s must not be negative", w)
					return 0, "", false
				}
				return x, "", good
			case "group_variance":
				x, g, good := c.pairValue(v, w, map[string]string{"Channels": "channels"})
				return x, g, good
			}
			return c.pairValue(v, w, lassoGroups)
		}
		gs, star, _, good := c.paramDict(rr, k.name+".reg_regims", read)
		if !good {
			ok = false
		} else if star != nil {
			c.errAt(star.node, "%s: '*' in reg_regims is not a default in Distiller (it matches no parameter); name the parameters", what)
			ok = false
		}
		groups = gs
	}
	c.unused(k.m, k.section+"."+k.name, append([]string{"class"}, classTable["regularizers"][k.class]...))
	if !ok || p == nil {
		return
	}
	keep := false
	if p.args != nil {
		for _, key := range p.args.keys {
			p.args.used[key.Value] = true
			if key.Value != "keep_mask" {
				msg := fmt.Sprintf("%s: unknown regularizer policy arg %q; Distiller's regularization policies take only keep_mask", p.what, key.Value)
				if nearest(key.Value, []string{"keep_mask"}) != "" {
					msg = fmt.Sprintf("%s: unknown regularizer policy arg %q; did you mean \"keep_mask\"?", p.what, key.Value)
				}
				c.errAt(key, "%s", msg)
				ok = false
				continue
			}
			b, good := c.boolean(p.args.vals[p.args.idx[key.Value]], p.what+".args.keep_mask")
			if !good {
				ok = false
			}
			keep = b
		}
	}
	if !ok {
		return
	}
	var comments []string
	if keep && !thresholded {
		comments = append(comments, fmt.Sprintf("%s: keep_mask has no effect without threshold_criteria (Distiller makes no mask to keep), so it is not written.", p.what))
		keep = false
	}
	for i, g := range groups {
		c.mention(g.names...)
		parts := []string{"regularize", selector(g.names), method}
		if g.extra != "" {
			parts = append(parts, g.extra)
		}
		parts = append(parts, fmtNum(g.value))
		if threshold != "" {
			parts = append(parts, threshold)
		}
		if keep {
			parts = append(parts, "keep_mask")
		}
		parts = append(parts, p.win.text())
		var cm []string
		if i == 0 {
			cm = comments
		}
		c.add(p.node, p.what, strings.Join(parts, " "), cm...)
	}
}

// extension converts a thinning extension; p nil only validates k's keys.
func (c *converter) extension(k *component, p *policy) {
	what := k.String()
	ok := true
	method := ""
	if n, has := k.m.get("thinning_func_str"); !has {
		c.errAt(k.nameNode, "%s needs thinning_func_str (remove_filters, remove_channels or contract_model)", what)
		ok = false
	} else if s, good := c.str(n, k.name+".thinning_func_str"); good {
		m, known := map[string]string{"remove_filters": "filters", "remove_channels": "channels", "contract_model": "contract"}[s]
		if !known {
			c.errAt(n, "%s: thinning_func_str %q is not remove_filters, remove_channels or contract_model", what, s)
			ok = false
		}
		method = m
	} else {
		ok = false
	}
	for _, key := range []string{"arch", "dataset"} {
		n, has := k.m.get(key)
		if !has {
			c.errAt(k.nameNode, "%s needs %s (Distiller's thinning traces the model with a dummy input of that shape)", what, key)
			ok = false
			continue
		}
		s, good := c.str(n, k.name+"."+key)
		if !good {
			ok = false
			continue
		}
		if key == "arch" && c.arch == "" || key == "arch" && c.archFrom != "" && !strings.HasPrefix(c.archFrom, "extensions") {
			c.arch, c.archFrom = s, "extensions."+k.name+".arch"
		}
	}
	c.unused(k.m, k.section+"."+k.name, append([]string{"class"}, classTable["extensions"][k.class]...))
	if !ok || p == nil {
		return
	}
	w := p.win
	if !w.isList() {
		if n := w.count(); n > maxThinEpochs {
			c.gapAt(p.node, "thinning at more than 2000 epochs", "%s: thinning at %d epochs; dst's thin takes an epoch list, and the importer writes at most %d", p.what, n, maxThinEpochs)
			return
		}
		w = window{list: w.epochs(), node: w.node}
	}
	c.add(p.node, p.what, "thin "+method+" "+w.text())
}

// maxThinEpochs bounds the epoch list of a thin statement.
const maxThinEpochs = 2000

// quantModes maps Distiller's LinearQuantMode names (and the CLI's short names) onto
// dst's modes.
var quantModes = map[string]string{
	"SYMMETRIC": "sym", "SYMMETRIC_RESTRICTED": "sym_restr", "ASYMMETRIC_UNSIGNED": "asym_u", "ASYMMETRIC_SIGNED": "asym_s",
	"SYM": "sym", "SYM_RESTR": "sym_restr", "ASYM_U": "asym_u", "ASYM_S": "asym_s",
}

var clipModes = map[string]string{"NONE": "none", "AVG": "avg", "N_STD": "n_std", "GAUSS": "gauss", "LAPLACE": "laplace"}

var quantMethods = map[string]string{
	"PostTrainLinearQuantizer": "linear", "QuantAwareTrainRangeLinearQuantizer": "qat",
	"DorefaQuantizer": "dorefa", "PACTQuantizer": "pact", "WRPNQuantizer": "wrpn",
}

// activationRe recognises names of modules that hold no weights: activations, pooling,
// element-wise operations.
var activationRe = regexp.MustCompile(`(?i)(relu|sigmoid|tanh|softmax|pool|dropout|eltwise|concat|identity|(^|[._])act|add$|mult$)`)

// bitsArg reads a bits value: an integer in 1..32, or null.
func (c *converter) bitsArg(n *yaml.Node, what string) (int, bool, bool) {
	if isNull(n) {
		return 0, true, true
	}
	v, ok := c.integer(n, what)
	if !ok {
		return 0, false, false
	}
	if v < 1 || v > 32 {
		c.errAt(n, "%s is %d; bit widths are 1 to 32", what, v)
		return 0, false, false
	}
	return v, false, true
}

// quantSettings are the per-quantizer or per-override settings read from YAML.
type quantSettings struct {
	acts, wts, bias       int
	actsNull, wtsNull     bool
	hasActs, hasWts       bool
	hasBias, biasNull     bool
	terms                 []string
	activationOverrideKey bool
}

// quantKeys reads the keys common to a quantizer and its override entries.
func (c *converter) quantKeys(k *component, m *mapping, what string, top bool) (quantSettings, bool) {
	var q quantSettings
	ok := true
	wkey := "bits_weights"
	if k.class == "PostTrainLinearQuantizer" {
		wkey = "bits_parameters"
		if !top {
			if _, has := m.idx["bits_parameters"]; !has {
				wkey = "bits_weights" // overrides of PTQ use bits_weights
			}
		}
	}
	for _, legacy := range []string{"acts", "wts", "bias"} {
		if _, has := m.get(legacy); has {
			c.errAt(m.keyNode(legacy), "%s: %q is Distiller's legacy key, which it rejects; use bits_activations, bits_weights, bits_bias", what, legacy)
			ok = false
		}
	}
	if n, has := m.get("bits_activations"); has {
		v, null, good := c.bitsArg(n, what+".bits_activations")
		q.acts, q.actsNull, q.hasActs, ok = v, null, true, ok && good
	}
	if n, has := m.get(wkey); has {
		v, null, good := c.bitsArg(n, what+"."+wkey)
		q.wts, q.wtsNull, q.hasWts, ok = v, null, true, ok && good
	}
	if n, has := m.get("bits_bias"); has {
		if k.class == "PostTrainLinearQuantizer" && top {
			c.errAt(m.keyNode("bits_bias"), "%s: PostTrainLinearQuantizer has no bits_bias (biases use the accumulator scale)", what)
			ok = false
		} else {
			v, null, good := c.bitsArg(n, what+".bits_bias")
			q.bias, q.biasNull, q.hasBias, ok = v, null, true, ok && good
		}
	}
	flag := func(key, arg string, def bool) {
		n, has := m.get(key)
		if !has {
			return
		}
		b, good := c.boolean(n, what+"."+key)
		if !good {
			ok = false
			return
		}
		if b != def {
			if b {
				q.terms = append(q.terms, arg)
			} else {
				q.terms = append(q.terms, arg+"=false")
			}
		}
	}
	reject := func(key, reason string, allowNull bool, allowFalse bool) {
		n, has := m.get(key)
		if !has {
			return
		}
		if allowNull && isNull(n) {
			return
		}
		if allowFalse {
			if d := deref(n); d != nil && d.Kind == yaml.ScalarNode {
				switch d.Value {
				case "false", "False", "FALSE", "no", "No", "off", "Off":
					return
				}
			}
		}
		c.gapAt(m.keyNode(key), "quantizer "+key, "%s: %s cannot be imported: %s", what, key, reason)
		ok = false
	}
	switch k.class {
	case "PostTrainLinearQuantizer":
		if n, has := m.get("bits_accum"); has {
			if v, null, good := c.bitsArg(n, what+".bits_accum"); good && !null {
				q.terms = append(q.terms, fmt.Sprintf("accum=%d", v))
			} else {
				if good {
					c.errAt(n, "%s: bits_accum cannot be null", what)
				}
				ok = false
			}
		}
		if n, has := m.get("mode"); has {
			if d := deref(n); d != nil && d.Kind == yaml.MappingNode {
				c.gapAt(n, "separate activation and weight modes", "%s: mode with separate activations and weights modes cannot be imported: dst's quantize linear has one mode for both", what)
				ok = false
			} else if s, good := c.str(n, what+".mode"); good {
				if md, known := quantModes[strings.ToUpper(s)]; known {
					q.terms = append(q.terms, "mode="+md)
				} else {
					c.errAt(n, "%s: mode %q is not SYMMETRIC, SYMMETRIC_RESTRICTED, ASYMMETRIC_UNSIGNED or ASYMMETRIC_SIGNED", what, s)
					ok = false
				}
			} else {
				ok = false
			}
		}
		if n, has := m.get("clip_acts"); has {
			if s, good := c.str(n, what+".clip_acts"); good {
				if cm, known := clipModes[strings.ToUpper(s)]; known {
					q.terms = append(q.terms, "clip="+cm)
				} else {
					c.errAt(n, "%s: clip_acts %q is not NONE, AVG, N_STD, GAUSS or LAPLACE", what, s)
					ok = false
				}
			} else {
				ok = false
			}
		}
		if n, has := m.get("clip_n_stds"); has && !isNull(n) {
			if v, good := c.number(n, what+".clip_n_stds"); good && v > 0 {
				q.terms = append(q.terms, "n_std="+fmtNum(v))
			} else {
				if good {
					c.errAt(n, "%s: clip_n_stds must be positive", what)
				}
				ok = false
			}
		}
		flag("per_channel_wts", "per_channel", false)
		flag("clip_half_range", "half_range", false)
		flag("also_clip_weights", "clip_weights", false)
		if n, has := m.get("scale_approx_mult_bits"); has && !isNull(n) {
			if v, null, good := c.bitsArg(n, what+".scale_approx_mult_bits"); good && !null {
				q.terms = append(q.terms, fmt.Sprintf("scale_bits=%d", v))
			} else {
				ok = false
			}
		}
		if n, has := m.get("model_activation_stats"); has && !isNull(n) {
			if d := deref(n); d != nil && d.Kind == yaml.ScalarNode {
				q.terms = append(q.terms, "stats="+quote(d.Value))
			} else {
				c.gapAt(n, "inline activation statistics", "%s: model_activation_stats must be the path of a statistics file; inline statistics cannot be imported", what)
				ok = false
			}
		}
		if n, has := m.get("inputs_quant_auto_fallback"); has {
			if b, good := c.boolean(n, what+".inputs_quant_auto_fallback"); !good {
				ok = false
			} else if !b {
				c.gapAt(m.keyNode("inputs_quant_auto_fallback"), "inputs_quant_auto_fallback: false", "%s: inputs_quant_auto_fallback false cannot be imported: dst's quantize linear always falls back to the layer's own settings for inputs without quantization metadata", what)
				ok = false
			}
		}
		reject("fp16", "dst has no half-precision quantization", false, true)
		reject("fpq_module", "dst does not run modules in a chosen floating-point precision", true, false)
		reject("save_fp_weights", "dst does not keep a floating-point copy for re-quantization", false, true)
		reject("input_overrides", "dst's override lines cannot set the quantization of a layer's inputs", false, false)
		reject("quantize_inputs", "dst's quantize linear has no per-layer switch for input quantization", false, false)
		reject("make_identity", "dst's quantize linear cannot replace a layer by the identity", false, true)
		reject("fake", "dst's quantize linear cannot make one layer fake-quantized", false, true)
	case "QuantAwareTrainRangeLinearQuantizer":
		if n, has := m.get("mode"); has {
			if s, good := c.str(n, what+".mode"); good {
				if md, known := quantModes[strings.ToUpper(s)]; known {
					q.terms = append(q.terms, "mode="+md)
				} else {
					c.errAt(n, "%s: mode %q is not SYMMETRIC, SYMMETRIC_RESTRICTED, ASYMMETRIC_UNSIGNED or ASYMMETRIC_SIGNED", what, s)
					ok = false
				}
			} else {
				ok = false
			}
		}
		if n, has := m.get("ema_decay"); has {
			if v, good := c.number(n, what+".ema_decay"); good && v > 0 && v < 1 {
				q.terms = append(q.terms, "ema_decay="+fmtNum(v))
			} else {
				if good {
					c.errAt(n, "%s: ema_decay must be in (0, 1) for dst's linear quantization-aware training; got %s", what, fmtNum(v))
				}
				ok = false
			}
		}
		flag("per_channel_wts", "per_channel", false)
		flag("quantize_inputs", "quantize_inputs", true)
		reject("num_bits_inputs", "dst's quantize qat quantizes inputs with the activation bit width", true, false)
	case "PACTQuantizer":
		if n, has := m.get("act_clip_init_val"); has {
			if v, good := c.number(n, what+".act_clip_init_val"); good && v > 0 {
				q.terms = append(q.terms, "alpha="+fmtNum(v))
			} else {
				if good {
					c.errAt(n, "%s: act_clip_init_val must be positive", what)
				}
				ok = false
			}
		}
		if n, has := m.get("act_clip_decay"); has && !isNull(n) {
			if v, good := c.number(n, what+".act_clip_decay"); good && v >= 0 {
				q.terms = append(q.terms, "alpha_decay="+fmtNum(v))
			} else {
				if good {
					c.errAt(n, "%s: act_clip_decay must not be negative", what)
				}
				ok = false
			}
		}
	}
	return q, ok
}

func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

// quantizer converts k; p nil means no policy schedules it (post-training quantizers run
// after training; others are only validated).
func (c *converter) quantizer(k *component, p *policy) {
	what := k.String()
	method := quantMethods[k.class]
	q, ok := c.quantKeys(k, k.m, k.section+"."+k.name, true)
	// Class defaults (Distiller's constructors).
	defActs, defWts := 32, 32
	if method == "linear" {
		defActs, defWts = 8, 8
	}
	if !q.hasActs {
		q.acts = defActs
	}
	if !q.hasWts {
		q.wts = defWts
	}
	if method == "qat" && !q.hasBias {
		q.bias, q.hasBias = 32, true
	}
	type ovr struct {
		sel   string
		terms []string
	}
	var ovrs []ovr
	var biasNotes []string
	if n, has := k.m.get("overrides"); has && !isNull(n) {
		om, good := c.mapOf(n, k.name+".overrides", true)
		if om == nil || !good {
			ok = false
		} else {
			for i, key := range om.keys {
				om.used[key.Value] = true
				w := k.name + ".overrides." + key.Value
				vm, good := c.mapOf(om.vals[i], w, true)
				if vm == nil || !good {
					ok = false
					continue
				}
				sel, good := c.overrideSelector(key, what)
				if !good {
					ok = false
					continue
				}
				oq, good := c.quantKeys(k, vm, w, false)
				allowed := []string{"bits_activations", "bits_weights", "bits_bias"}
				if method == "linear" {
					allowed = append(allowed, "per_channel_wts", "mode", "clip_acts", "clip_n_stds", "clip_half_range", "scale_approx_mult_bits", "also_clip_weights", "bits_accum")
				}
				c.unused(vm, w, allowed)
				if !good {
					ok = false
					continue
				}
				var terms []string
				switch {
				case oq.hasActs && oq.actsNull && oq.hasWts && oq.wtsNull:
					terms = append(terms, "float")
				case oq.actsNull || oq.wtsNull:
					which := "bits_activations"
					if oq.wtsNull {
						which = "bits_weights"
					}
					c.gapAt(key, "an override keeping only weights or only activations in floating point", "%s: override %s sets %s to null and quantizes the rest; dst's override lines keep a layer in floating point only as a whole (float)", what, key.Value, which)
					ok = false
					continue
				case method != "linear" && (oq.hasActs || oq.hasWts):
					c.gapAt(key, "per-layer bit widths in quantization-aware training", "%s: override %s sets bit widths; a quantization-aware training run in dst has one bit width for weights and one for activations, so its override lines only keep layers in floating point (float)", what, key.Value)
					ok = false
					continue
				default:
					terms = append(terms, bitsTerms(oq, q, true)...)
				}
				if oq.hasBias && !oq.biasNull {
					if method != "linear" {
						c.gapAt(key, "bias bit widths in quantization-aware training", "%s: override %s sets bits_bias; dst's quantization-aware training keeps biases in floating point", what, key.Value)
						ok = false
						continue
					}
					// PostTrainLinearQuantizer quantizes every bias to the accumulator's
					// scale with bits_accum; a module's bits_bias changes nothing, and dst
					// has no such setting.
					biasNotes = append(biasNotes, fmt.Sprintf("%s: override %s sets bits_bias %d, which PostTrainLinearQuantizer does not use (biases take the accumulator's scale and bits_accum); it is left out.", k.name, key.Value, oq.bias))
				}
				terms = append(terms, oq.terms...)
				if len(terms) == 0 {
					c.errAt(key, "%s: override %s changes nothing", what, key.Value)
					ok = false
					continue
				}
				ovrs = append(ovrs, ovr{sel: sel, terms: terms})
			}
		}
	}
	c.unused(k.m, k.section+"."+k.name, append([]string{"class"}, classTable["quantizers"][k.class]...))
	if !ok {
		return
	}
	if q.actsNull || q.wtsNull {
		c.gapAt(k.nameNode, "null bit widths at the quantizer's top level", "%s sets bits_activations or bits_weights to null at the top level, quantizing only what its overrides name; dst's quantize statement quantizes every weight it selects and cannot leave the default in floating point", what)
		return
	}
	if q.hasBias && q.biasNull {
		q.hasBias = false // null bias: biases stay in floating point, dst's default
	}
	var win string
	var notes []string
	switch {
	case p == nil && method == "linear":
		win = "after training"
	case p == nil:
		return // validated only; noted by the caller
	case method != "linear" && q.hasBias && q.hasBiasExplicit(k):
		c.gapAt(k.m.keyNode("bits_bias"), "bias bit widths in quantization-aware training", "%s sets bits_bias %d; dst's quantization-aware training keeps biases in floating point", what, q.bias)
		return
	case method == "linear":
		c.errAt(p.node, "%s: a PostTrainLinearQuantizer under a quantizer policy; Distiller applies post-training quantization from the command line (--quantize-eval), not from a policy", p.what)
		return
	case p.win.isList():
		c.gapAt(p.node, "quantization-aware training over an epoch list", "%s: quantization-aware training runs over a range; give starting_epoch, ending_epoch and frequency 1", p.what)
		return
	case p.win.freq != 1:
		c.gapAt(p.node, "quantization-aware training skipping epochs", "%s: frequency %d; a quantization-aware training policy re-quantizes after every mini-batch of every epoch of its range, so dst has no way to skip epochs", p.what, p.win.freq)
		return
	case p.win.start != 0:
		c.gapAt(p.node, "quantization-aware training starting after epoch 0", "%s: starting_epoch %d; dst's quantization-aware training prepares the model before training and acts on the whole run, from epoch 0 (Distiller's documentation also asks for starting_epoch 0)", p.what, p.win.start)
		return
	default:
		// dst's quantization-aware training acts on the whole run (`from epoch 0`, its
		// only window); Distiller's ending_epoch is the run length it was written for.
		win = "from epoch 0"
		notes = append(notes, fmt.Sprintf("%s: Distiller re-quantizes up to ending_epoch %d; dst's quantization-aware training runs to the end of training, so run %d epochs (--epochs %d).", k.name, p.win.end, p.win.end, p.win.end))
	}
	parts := []string{"quantize", "*", method}
	parts = append(parts, bitsTerms(q, quantSettings{}, false)...)
	parts = append(parts, q.terms...)
	parts = append(parts, win)
	text := strings.Join(parts, " ")
	if len(ovrs) > 0 {
		var b strings.Builder
		b.WriteString(text + " {")
		for _, o := range ovrs {
			b.WriteString("\n    override " + o.sel + " " + strings.Join(o.terms, " "))
		}
		b.WriteString("\n}")
		text = b.String()
	}
	node, whatS := k.nameNode, what
	if p != nil {
		node, whatS = p.node, p.what
	}
	var comments []string
	if p == nil {
		comments = append(comments, fmt.Sprintf("%s: post-training quantization, which Distiller applies after training (--quantize-eval).", k.name))
	}
	if method == "qat" && q.hasBias {
		comments = append(comments, fmt.Sprintf("%s: QuantAwareTrainRangeLinearQuantizer quantizes biases to 32 bits by default; dst's quantization-aware training keeps them in floating point.", k.name))
	}
	comments = append(comments, notes...)
	comments = append(comments, biasNotes...)
	c.add(node, whatS, text, comments...)
}

func (q quantSettings) hasBiasExplicit(k *component) bool {
	_, has := k.m.idx["bits_bias"]
	return has
}

// bitsTerms writes the bit widths of q: `N bits` when weights and activations agree,
// else weights= and activations=. For an override (rel), only what it sets.
func bitsTerms(q, parent quantSettings, rel bool) []string {
	if rel {
		var out []string
		switch {
		case q.hasActs && q.hasWts && q.acts == q.wts:
			out = append(out, fmt.Sprintf("%d bits", q.acts))
		default:
			if q.hasWts {
				out = append(out, fmt.Sprintf("weights=%d bits", q.wts))
			}
			if q.hasActs {
				out = append(out, fmt.Sprintf("activations=%d bits", q.acts))
			}
		}
		return out
	}
	if q.acts == q.wts {
		return []string{fmt.Sprintf("%d bits", q.acts)}
	}
	return []string{fmt.Sprintf("weights=%d bits", q.wts), fmt.Sprintf("activations=%d bits", q.acts)}
}

var pythonOnlyRe = regexp.MustCompile(`\(\?[=!<P]|\\[0-9]`)

// overrideSelector converts an override key (a module-name regex Distiller anchors
// with ^...$) into a selector of that module's weight.
func (c *converter) overrideSelector(key *yaml.Node, what string) (string, bool) {
	s := key.Value
	if activationRe.MatchString(s) {
		c.gapAt(key, "per-activation quantizer override", "%s: override %s names an activation or other weightless module; Distiller quantizes its output, but dst's override lines select parameters, so per-activation settings cannot be written", what, s)
		return "", false
	}
	if pathRe.MatchString(s) && !reserved[s] {
		name := normName(s)
		c.mentionLayer(name)
		return name, true
	}
	if pythonOnlyRe.MatchString(s) {
		c.gapAt(key, "Python-only regex syntax", "%s: override %s uses regex syntax Go's RE2 does not have", what, s)
		return "", false
	}
	if _, err := regexp.Compile(s); err != nil {
		c.errAt(key, "%s: override %s is not a valid regex: %v", what, s, err)
		return "", false
	}
	body := strings.TrimPrefix(strings.TrimSuffix(s, "$"), "^")
	// A name the regex matches, for synthetic parameter tables.
	sample := strings.NewReplacer(".*", "", ".+", "x", `\.`, ".").Replace(body)
	if re, err := regexp.Compile("^(?:" + body + ")$"); err == nil && pathRe.MatchString(sample) && re.MatchString(sample) {
		c.mentionLayer(sample)
	}
	body = strings.ReplaceAll(body, "/", `\/`)
	return "/(?:" + body + `)\.weight/`, true
}

// sortedKeys returns m's keys sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
