package lang

// Quantizer rules the argument types cannot express alone:
//
//   - a method that prepares the model (Signature.PreparesModel: quantization-aware
//     training) appears at most once per script, since each would replace the same
//     ReLUs (the window rule is in window);
//   - an override line of a method with Signature.OverrideArgs gives only those
//     arguments;
//   - `N bits` sets the width of weights and of activations unless weights= or
//     activations= say otherwise, so N must fit the Bounds of each argument it stands
//     for (linear's int8 weights take 1 to 8 bits), on the statement and on every override
//     line;
//   - ACIQ clipping (clip=gauss or clip=laplace) has coefficients for 1 to 8 bits only, and
//     clip=n_std needs n_std and no per_channel, for the settings an override line
//     yields on top of its statement as for the statement itself.

import (
	"sort"
	"strings"
)

// aciqMaxBits is the widest activation ACIQ's coefficient tables cover (stdlib.ACIQAlpha).
const aciqMaxBits = 8

// overrideArgs reports the arguments of an override line that its method's
// OverrideArgs does not allow, and allowed flags turned off.
func (c *checker) overrideArgs(sig *Signature, ov *Override) {
	if len(sig.OverrideArgs) == 0 {
		return
	}
	names := make([]string, 0, len(ov.Args))
	for n := range ov.Args {
		names = append(names, n)
	}
	sort.Strings(names)
	var bad []string
	for _, n := range names {
		switch v := ov.Args[n]; {
		case !contains(sig.OverrideArgs, n):
			bad = append(bad, n+"=")
		case v.Type == TypeFlag && !v.Bool:
			c.errorf(ov.Range, "Unsupported override", "An override line of %s %s may only turn %s on (to keep layers in floating point); %s=false is not an override it can apply.", sig.Statement, sig.Method, n, n)
		}
	}
	if len(bad) > 0 {
		c.errorf(ov.Range, "Unsupported override", "An override line of %s %s may only give %s: the method uses one setting of the others for the whole model. Set %s on the statement instead.", sig.Statement, sig.Method, strings.Join(sig.OverrideArgs, ", "), strings.Join(bad, ", "))
	}
}

// quantWidths checks the bit widths and clipping of a quantize policy's statement and
// of each of its override lines (on top of the statement's settings).
func (c *checker) quantWidths(p *Policy) {
	sig := p.Signature
	if p.Kind != KindQuantize || sig == nil {
		return
	}
	c.widths(sig, p.Args, nil, p.Range)
	for _, ov := range p.Overrides {
		if f, ok := ov.Args["float"]; ok && f.Bool {
			continue
		}
		c.widths(sig, ov.Args, p.Args, ov.Range)
	}
}

// widths checks one set of quantize arguments: args, given on top of base (nil for the
// statement itself).
func (c *checker) widths(sig *Signature, args, base map[string]Value, r Range) {
	lookup := func(name string) (Value, bool) {
		if v, ok := args[name]; ok {
			return v, true
		}
		v, ok := base[name]
		return v, ok
	}
	if bits, ok := args["bits"]; ok {
		for _, name := range []string{"weights", "activations"} {
			spec := sig.Arg(name)
			if _, own := args[name]; own || spec == nil || spec.Bounds == nil {
				continue
			}
			if b := spec.Bounds; bits.Num < b[0] || bits.Num > b[1] {
				c.errorf(r, "Value out of range", "%s bits also sets the width of the %s, and %s %s takes %s of %s to %s bits. Give %s=N with N in that range, or use fewer bits.", formatNum(bits.Num), name, sig.Statement, sig.Method, name, formatNum(b[0]), formatNum(b[1]), name)
			}
		}
	}
	// The activations' width: the line's own activations= or bits, else the statement's.
	var acts Value
	ok := false
	for _, m := range []map[string]Value{args, base} {
		for _, name := range []string{"activations", "bits"} {
			if v, has := m[name]; has && !ok {
				acts, ok = v, true
			}
		}
	}
	clip, _ := lookup("clip")
	if ok && (clip.Str == "gauss" || clip.Str == "laplace") && acts.Num > aciqMaxBits {
		c.errorf(r, "Unsupported bit width", "ACIQ clipping (clip=%s) has coefficients for activations of 1 to %d bits, and these activations have %s. Use clip=none, avg or n_std, or activations=%d bits or fewer.", clip.Str, aciqMaxBits, formatNum(acts.Num), aciqMaxBits)
	}
	if base == nil || clip.Str != "n_std" {
		return // the statement's own n_std rules are in crossArgs
	}
	if _, has := lookup("n_std"); !has {
		c.errorf(r, "Missing argument", "clip=n_std clips activations at mean ± n_std·σ; give n_std=N on this line or on the statement.")
	}
	if pc, has := lookup("per_channel"); has && pc.Bool {
		c.errorf(r, "Conflicting arguments", "clip=n_std cannot be combined with per_channel, which this line has itself or from its statement.")
	}
}

// preparedOnce reports a second policy whose method prepares the model
// (Signature.PreparesModel). Two such policies holding a common parameter are already
// reported as conflicting.
func (c *checker) preparedOnce() {
	var first *Policy
	for _, p := range c.prog.Policies {
		if p.Signature == nil || !p.Signature.PreparesModel {
			continue
		}
		if first == nil {
			first = p
			continue
		}
		if shareParam(first, p) {
			continue
		}
		d := c.errorf(p.Range, "Model prepared twice", "%s %s and %s %s both prepare the whole model before training (quantization-aware training replaces every ReLU by its quantized activation), and a model is prepared once. Use one statement, and keep layers in floating point with override lines.", first.Kind, first.Method, p.Kind, p.Method)
		d.Related = []Related{{Message: "the model is prepared here", Range: first.Range}}
	}
	if first == nil {
		return
	}
	// Thinning during quantization-aware training would shrink the weights but not the
	// float copies the quantizer keeps of them, and the run would fail at its next
	// checkpoint.
	for _, p := range c.prog.Policies {
		if p.Kind == KindThin || p.ThenThin {
			what := "thin"
			if p.ThenThin {
				what = "then thin"
			}
			d := c.errorf(p.Range, "Unsupported combination", "%s cannot run with %s %s: quantization-aware training keeps float copies of the weights in their unthinned shapes. Prune and thin in one run, then train the thinned checkpoint with quantization in another.", what, first.Kind, first.Method)
			d.Related = []Related{{Message: "quantization-aware training is here", Range: first.Range}}
		}
	}
}

func shareParam(a, b *Policy) bool {
	if a.Params == nil || b.Params == nil {
		return false // without a model, conflicts reports nothing
	}
	in := make(map[string]bool, len(a.Params))
	for _, n := range a.Params {
		in[n] = true
	}
	for _, n := range b.Params {
		if in[n] {
			return true
		}
	}
	return false
}
