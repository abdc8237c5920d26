package importer

import (
	"regexp"
	"strings"

	"github.com/dst-dev/dst/lang"
)

// Names. Distiller names parameters as model.named_parameters() does inside its
// DataParallel wrapper: module.layer1.0.conv1.weight, or features.module.3.weight for
// AlexNet and VGG, whose features alone are wrapped. dst's models have no wrapper, so
// the importer drops every `module` component (what Distiller calls the normalized
// name); lang's selectors would accept a leading module. too, but not the inner one.

// normName removes every `module` component of a Distiller parameter or module name.
func normName(s string) string {
	parts := strings.Split(s, ".")
	out := parts[:0]
	for _, p := range parts {
		if p != "module" {
			out = append(out, p)
		}
	}
	return strings.Join(out, ".")
}

var pathRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$`)

// reserved are the words a selector atom may not be written as (keywords and the
// contextual words of windows).
var reserved = map[string]bool{
	"let": true, "prune": true, "regularize": true, "quantize": true, "lr": true, "distill": true,
	"thin": true, "by": true, "then": true, "at": true, "from": true, "to": true, "every": true,
	"before": true, "after": true, "except": true, "override": true, "epoch": true, "epochs": true,
	"step": true, "steps": true, "training": true, "bits": true,
}

// atom writes one parameter or layer name as a selector atom: as written when the .dst
// lexer reads it as a name or path, else as an anchored regex of the literal name.
func atom(name string) string {
	if pathRe.MatchString(name) && !reserved[name] {
		return name
	}
	return "/" + strings.ReplaceAll(regexp.QuoteMeta(name), "/", `\/`) + "/"
}

// selector writes a list of names: one atom, or a bracketed list.
func selector(names []string) string {
	if len(names) == 1 {
		return atom(names[0])
	}
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = atom(n)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// everyParam is the selector for Distiller's '*' default key: Distiller offers every
// parameter of the model (biases and batch-norm included) to the pruner, so the regex
// that selects every parameter, not `*` (every weight).
const everyParam = "/.*/"

// mention records parameter names the script selects.
func (c *converter) mention(names ...string) {
	for _, n := range names {
		if !c.seenParam[n] {
			c.seenParam[n] = true
			c.params = append(c.params, n)
		}
	}
}

// mentionLayer records a layer name an override selects.
func (c *converter) mentionLayer(name string) {
	if !c.seenLayer[name] {
		c.seenLayer[name] = true
		c.layers = append(c.layers, name)
	}
}

var (
	normLayerRe = regexp.MustCompile(`(^|[._])(bn\d*|batchnorm\w*|norm\w*|downsample\.1)$`)
	matrixRe    = regexp.MustCompile(`(?i)(fc|linear|classifier|rnn|lstm|gru|encoder|decoder|embed|embedding|mlp|gmf|predict|attention|proj|dense)`)
	rnnLeafRe   = regexp.MustCompile(`^weight_(ih|hh)_l\d+`)
)

// SyntheticParams builds a stand-in parameter table from the names a script mentions
// (Result.Params) and the layers its override lines name (Result.Layers), for checking an
// import when dst does not have the model. Shapes are plausible, not real: 4-D
// [32 32 3 3] for convolution-like names, 2-D [32 32] for fc, linear, classifier,
// embedding and recurrent weights, 1-D [32] for biases and batch-norm parameters. Names
// keep their order; a layer name stands for its .weight.
func SyntheticParams(params, layers []string) []lang.ParamInfo {
	var out []lang.ParamInfo
	seen := map[string]bool{}
	add := func(name string) {
		if seen[name] || name == "" {
			return
		}
		seen[name] = true
		layer, leaf := name, ""
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			layer, leaf = name[:i], name[i+1:]
		}
		p := lang.ParamInfo{Name: name, Layer: layer}
		switch {
		case normLayerRe.MatchString(layer):
			p.Shape = []int{32}
			p.Kind = "norm_weight"
			if leaf == "bias" {
				p.Kind = "norm_bias"
			}
		case leaf == "bias" || strings.HasPrefix(leaf, "bias_"):
			p.Shape, p.Kind = []int{32}, "bias"
		case rnnLeafRe.MatchString(leaf) || matrixRe.MatchString(layer):
			p.Shape, p.Kind = []int{32, 32}, "weight"
		default:
			p.Shape, p.Kind = []int{32, 32, 3, 3}, "weight"
		}
		if leaf != "weight" && leaf != "bias" && p.Kind == "weight" {
			// weight_ih_l0 and the like: the parameter is its own layer.
			p.Layer = name
		}
		out = append(out, p)
	}
	for _, n := range params {
		add(n)
	}
	for _, l := range layers {
		add(l + ".weight")
	}
	return out
}
