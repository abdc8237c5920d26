package importer

import (
	"fmt"
	"math"
	"strings"

	"gopkg.in/yaml.v3"
)

// Learning-rate schedules.
//
// Distiller's LRPolicy steps its PyTorch scheduler at the end of each active epoch u
// with step(epoch=u+1), and PyTorch 1.3's schedulers compute the rate in closed form
// from that absolute epoch: StepLR base·γ^⌊e/step⌋, MultiStepLR base·γ^(milestones <= e),
// ExponentialLR base·γ^e, MultiStepMultiGammaLR base·Π(gammas of milestones <= e). So
// the rate of epoch e is base·f(0) until the first active epoch has ended, base·f(u+1)
// after each active epoch u, and it keeps its last value after the window. A window
// that does not start at 0 therefore jumps straight to f(start+1) (the ResNet-50 AGP
// schedules drop to 0.95^41 at epoch 41).
//
// dst's lr step and lr exponential are relative to their window's start, and dst's
// interpreter restores the base rate when their window ends; lr multistep counts
// absolute milestones and governs the rate from its first milestone on. So the importer
// computes the multiplier Distiller gives every epoch and writes `lr multistep` at the
// epochs where it changes, with one gamma when every change is the same ratio and a
// gammas list otherwise; each ratio comes from the schedule's own gammas, so a one-step
// ratio is exactly gamma. The result is the same rate at every epoch of any run.

// lrSched is a closed-form Distiller/PyTorch schedule: f(e) is the multiplier of the
// base rate at absolute epoch e, and factor(a, b) = f(b)/f(a) computed from the
// schedule's own gammas (so a ratio of one step is exactly gamma, not a quotient of
// two rounded powers). a = -1 stands for the base rate itself.
type lrSched struct {
	class  string
	params string // the constructor arguments, for comments
	f      func(e int) float64
	factor func(a, b int) float64
	gamma  float64
	step   int
}

func (c *converter) lrScheduler(k *component, p *policy) {
	what := k.String()
	ok := true
	num := func(key string, def float64, hasDef bool) float64 {
		n, has := k.m.get(key)
		if !has {
			if !hasDef {
				c.errAt(k.nameNode, "%s needs %s", what, key)
				ok = false
			}
			return def
		}
		v, good := c.number(n, k.name+"."+key)
		if !good {
			ok = false
		} else if v <= 0 && key != "min_lr" && key != "cooldown" {
			c.errAt(n, "%s: %s must be positive", what, key)
			ok = false
		}
		return v
	}
	var s lrSched
	s.class = k.class
	switch k.class {
	case "StepLR":
		n, has := k.m.get("step_size")
		if !has {
			c.errAt(k.nameNode, "%s needs step_size", what)
			ok = false
		} else if v, good := c.integer(n, k.name+".step_size"); !good || v < 1 {
			if good {
				c.errAt(n, "%s: step_size must be at least 1", what)
			}
			ok = false
		} else {
			s.step = v
		}
		s.gamma = num("gamma", 0.1, true)
		s.params = fmt.Sprintf("step_size=%d, gamma=%s", s.step, fmtNum(s.gamma))
		g, st := s.gamma, max(s.step, 1)
		s.f = func(e int) float64 { return math.Pow(g, float64(floorDiv(e, st))) }
		s.factor = func(a, b int) float64 { return math.Pow(g, float64(floorDiv(b, st)-floorDiv(max(a, 0), st))) }
	case "ExponentialLR":
		s.gamma = num("gamma", 0, false)
		s.params = "gamma=" + fmtNum(s.gamma)
		g := s.gamma
		s.f = func(e int) float64 { return math.Pow(g, float64(e)) }
		s.factor = func(a, b int) float64 { return math.Pow(g, float64(b-max(a, 0))) }
	case "MultiStepLR", "MultiStepMultiGammaLR":
		var ms []int
		n, has := k.m.get("milestones")
		if !has {
			c.errAt(k.nameNode, "%s needs milestones", what)
			ok = false
		} else if v, good := c.integers(n, k.name+".milestones"); good {
			ms = v
			for i := 1; i < len(ms); i++ {
				if ms[i] <= ms[i-1] {
					c.errAt(n, "%s: milestones must increase", what)
					ok = false
					break
				}
			}
		} else {
			ok = false
		}
		var gammas []float64
		if k.class == "MultiStepLR" {
			s.gamma = num("gamma", 0.1, true)
			for range ms {
				gammas = append(gammas, s.gamma)
			}
		} else if n, has := k.m.get("gammas"); !has {
			c.errAt(k.nameNode, "%s needs gammas", what)
			ok = false
		} else if v, good := c.numbers(n, k.name+".gammas"); !good {
			ok = false
		} else if len(v) != len(ms) {
			c.errAt(n, "%s: %d gammas for %d milestones", what, len(v), len(ms))
			ok = false
		} else {
			gammas = v
			for _, g := range v {
				if g <= 0 {
					c.errAt(n, "%s: gammas must be positive", what)
					ok = false
				}
			}
		}
		s.params = fmt.Sprintf("milestones=%s, gammas=%s", intList(ms), numList(gammas))
		if k.class == "MultiStepLR" {
			s.params = fmt.Sprintf("milestones=%s, gamma=%s", intList(ms), fmtNum(s.gamma))
		}
		s.factor = func(a, b int) float64 {
			m := 1.0
			for i, x := range ms {
				if a < x && x <= b {
					m *= gammas[i]
				}
			}
			return m
		}
		s.f = func(e int) float64 { return s.factor(-1, e) }
	case "ReduceLROnPlateau":
		c.plateau(k, p)
		return
	}
	c.unused(k.m, k.section+"."+k.name, append([]string{"class"}, classTable["lr_schedulers"][k.class]...))
	if !ok || p == nil {
		return
	}
	text, comment := lrStatement(s, p.win)
	if text == "" && comment != "" {
		c.gapAt(p.node, "an lr schedule changing the rate more than 2000 times", "%s: %s", p.what, comment)
		return
	}
	if text == "" {
		c.notes = append(c.notes, fmt.Sprintf("%s never changes the learning rate in its window, so nothing is imported for it.", p.what))
		return
	}
	c.add(p.node, p.what, text, comment)
}

// distillerArgs returns, for e in [0, n), the absolute epoch a(e) whose closed form
// Distiller's scheduler has set for epoch e: 0 until the first active epoch has ended,
// u+1 after each active epoch u.
func distillerArgs(w window, n int) []int {
	a := make([]int, n)
	cur := 0
	for e := 0; e < n; e++ {
		a[e] = cur
		if w.active(e) {
			cur = e + 1
		}
	}
	return a
}

// distillerLR returns Distiller's multiplier m(e) for e in [0, n).
func distillerLR(s lrSched, w window, n int) []float64 {
	args := distillerArgs(w, n)
	m := make([]float64, n)
	for e, a := range args {
		m[e] = s.f(a)
	}
	return m
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// maxMilestones bounds the lr multistep the importer writes.
const maxMilestones = 2000

// lrStatement writes the dst statement that reproduces s scheduled over w, and a
// comment that says how. It returns "" when the rate never changes.
func lrStatement(s lrSched, w window) (string, string) {
	n := w.last() + 2
	args := distillerArgs(w, n)
	var miles []int
	var ratios []float64
	prev := -1 // the base rate
	for e := 0; e < n; e++ {
		if r := s.factor(prev, args[e]); r != 1 {
			miles = append(miles, e)
			ratios = append(ratios, r)
			prev = args[e]
		}
	}
	if len(miles) == 0 {
		return "", ""
	}
	if len(miles) > maxMilestones {
		return "", fmt.Sprintf("%s changes the rate at %d epochs; an lr multistep of more than %d milestones is not written", s.describe(), len(miles), maxMilestones)
	}
	desc := fmt.Sprintf("%s stepped by Distiller at the end of epochs %s, with the absolute epoch of the next one; "+
		"the milestones are the epochs whose rate that changes, and multistep keeps the last rate after them, as Distiller does", s.describe(), describeEpochs(w))
	win := fmt.Sprintf("at epochs %s", intList(miles))
	if len(miles) == 1 {
		win = fmt.Sprintf("at epoch %d", miles[0])
	}
	uniform := true
	for _, r := range ratios[1:] {
		if r != ratios[0] {
			uniform = false
		}
	}
	if uniform {
		return fmt.Sprintf("lr multistep %s %s", fmtNum(ratios[0]), win), desc + "."
	}
	parts := make([]string, len(ratios))
	for i, r := range ratios {
		parts[i] = fmtNum(r)
	}
	return fmt.Sprintf("lr multistep gammas=[%s] %s", strings.Join(parts, ", "), win), desc + "; each gamma is the ratio to the previous rate."
}

func describeEpochs(w window) string {
	if w.isList() {
		return intList(w.list)
	}
	if w.freq == 1 {
		return fmt.Sprintf("%d to %d", w.start, w.end-1)
	}
	return fmt.Sprintf("%d to %d every %d", w.start, w.end-1, w.freq)
}

// plateau validates ReduceLROnPlateau. Distiller steps it at the end of each active
// epoch with that epoch's validation metric, as dst's lr plateau does, but after
// ending_epoch Distiller keeps the last rate, which no dst lr statement over a window
// can say (dst restores the base rate when the window ends), so a scheduled plateau is
// rejected with that reason.
func (c *converter) plateau(k *component, p *policy) {
	what := k.String()
	ok := true
	if n, has := k.m.get("mode"); has {
		if s, good := c.str(n, k.name+".mode"); !good || (s != "min" && s != "max") {
			if good {
				c.errAt(n, "%s: mode %q is not min or max", what, s)
			}
			ok = false
		}
	}
	if n, has := k.m.get("factor"); has {
		if v, good := c.number(n, k.name+".factor"); !good || v <= 0 || v >= 1 {
			if good {
				c.errAt(n, "%s: factor must be in (0, 1)", what)
			}
			ok = false
		}
	}
	for _, key := range []string{"patience", "cooldown"} {
		if n, has := k.m.get(key); has {
			if v, good := c.integer(n, k.name+"."+key); !good || v < 0 {
				if good {
					c.errAt(n, "%s: %s must not be negative", what, key)
				}
				ok = false
			}
		}
	}
	if n, has := k.m.get("min_lr"); has {
		if v, good := c.number(n, k.name+".min_lr"); !good || v < 0 {
			if good {
				c.errAt(n, "%s: min_lr must be a non-negative number (one value for all parameter groups)", what)
			}
			ok = false
		}
	}
	defaults := map[string]func(*yaml.Node) bool{
		"threshold":      func(n *yaml.Node) bool { v, _ := c.number(n, "threshold"); return v == 1e-4 },
		"threshold_mode": func(n *yaml.Node) bool { d := deref(n); return d != nil && d.Value == "rel" },
		"eps":            func(n *yaml.Node) bool { v, _ := c.number(n, "eps"); return v == 1e-8 },
		"verbose":        func(n *yaml.Node) bool { return true },
	}
	for _, key := range sortedKeys(defaults) {
		if n, has := k.m.get(key); has && !defaults[key](n) {
			c.gapAt(k.m.keyNode(key), "ReduceLROnPlateau "+key, "%s: %s other than PyTorch's default cannot be imported: dst's lr plateau uses threshold 1e-4 (relative) and eps 1e-8", what, key)
			ok = false
		}
	}
	c.unused(k.m, k.section+"."+k.name, append([]string{"class"}, classTable["lr_schedulers"][k.class]...))
	if !ok || p == nil {
		return
	}
	c.gapAt(p.node, "ReduceLROnPlateau holding its rate after ending_epoch", "%s: ReduceLROnPlateau stops at ending_epoch %d and Distiller keeps its last rate from then on; dst's lr plateau restores the base rate when its window ends, or without an end keeps reducing, so the language cannot hold the rate after the window", p.what, p.win.end)
}

// describe names the scheduler with its arguments.
func (s lrSched) describe() string {
	if s.params == "" {
		return s.class
	}
	return s.class + "(" + s.params + ")"
}

func numList(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmtNum(x)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
