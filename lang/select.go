package lang

// Selector resolution. An atom without wildcards is a parameter name or a layer name
// (standing for the layer's `.weight`). A glob (`*` any run of characters including dots,
// `?` one character) is matched against layer names and full parameter names; it picks
// non-weight parameters (biases, batch-norm, others) only when its last dotted component
// has no wildcard, so `conv*` never drags biases in but `*.bias` selects them. A regex is
// matched against whole parameter names and picks any kind. When a name does not match as
// written, one leading `module.` (Distiller's DataParallel prefix) is removed and the
// match retried. Results are in model order without repeats.

import (
	"fmt"
	"regexp"
	"strings"
)

type selectorIndex struct {
	params []ParamInfo
	byName map[string]*ParamInfo
	order  map[string]int
	// weightOf maps a layer name to its weight parameter's name.
	weightOf map[string]string
	layers   []string
	names    []string
}

func newSelectorIndex(params []ParamInfo) *selectorIndex {
	if len(params) == 0 {
		return nil
	}
	ix := &selectorIndex{
		params:   params,
		byName:   make(map[string]*ParamInfo, len(params)),
		order:    make(map[string]int, len(params)),
		weightOf: map[string]string{},
	}
	for i := range params {
		p := &params[i]
		ix.byName[p.Name] = p
		ix.order[p.Name] = i
		ix.names = append(ix.names, p.Name)
		l := p.layer()
		if l != "" && p.Name == l+".weight" {
			ix.weightOf[l] = p.Name
			ix.layers = append(ix.layers, l)
		}
	}
	return ix
}

// resolve returns the parameters sel selects, or nil after reporting why it selects
// nothing.
func (c *checker) resolve(sel *Selector) []string {
	inc, ok := c.resolveSet(sel.Include)
	if !ok {
		return nil
	}
	if sel.Except == nil {
		return inc
	}
	exc, ok := c.resolveSet(sel.Except)
	if !ok {
		return nil
	}
	drop := map[string]bool{}
	for _, n := range exc {
		drop[n] = true
	}
	var out []string
	removed := false
	for _, n := range inc {
		if drop[n] {
			removed = true
			continue
		}
		out = append(out, n)
	}
	if !removed {
		c.warnf(rangeOf(sel.Except.Pos, tokenEnd(sel.Except.Tokens[len(sel.Except.Tokens)-1])), "Except removes nothing", "None of the parameters after `except` is selected by the part before it.")
	}
	if len(out) == 0 {
		c.errorf(sel.Span(), "Empty selection", "`except` removes every parameter the selector picks (%s).", listNames(inc, 4))
		return nil
	}
	return out
}

func (c *checker) resolveSet(set *SelectorSet) ([]string, bool) {
	if len(set.Atoms) == 1 {
		return c.resolveAtom(set.Atoms[0])
	}
	picked := make([]bool, len(c.sel.params))
	ok := true
	for i, a := range set.Atoms {
		if !ok && i > 0 && c.truncated {
			break
		}
		names, good := c.resolveAtom(a)
		if !good {
			ok = false
			continue
		}
		for _, n := range names {
			picked[c.sel.order[n]] = true
		}
	}
	if !ok {
		return nil, false
	}
	var out []string
	for i, p := range c.sel.params {
		if picked[i] {
			out = append(out, p.Name)
		}
	}
	return out, true
}

func (c *checker) resolveAtom(a *SelectorAtom) ([]string, bool) {
	ix := c.sel
	if a.Regex != "" {
		body := regexBody(a.Regex)
		re, err := regexp.Compile("^(?:" + body + ")$")
		if err != nil {
			c.errorf(a.Span(), "Invalid regex", "%s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
			return nil, false
		}
		var out []string
		for _, p := range ix.params {
			if re.MatchString(p.Name) {
				out = append(out, p.Name)
			}
		}
		if len(out) == 0 && strings.HasPrefix(body, `module\.`) {
			// A Distiller name with the DataParallel prefix: match without it.
			for _, p := range ix.params {
				if re.MatchString("module." + p.Name) {
					out = append(out, p.Name)
				}
			}
		}
		if len(out) == 0 {
			c.errorf(a.Span(), "Selector matches nothing", "The regex %s matches no parameter name (it must match the whole name). Parameters include %s.", a.Regex, listNames(closestNames(body, ix.names, 3), 3))
			return nil, false
		}
		return out, true
	}
	name := a.Name
	if name == "*" {
		var out []string
		for _, p := range ix.params {
			if p.Kind == "weight" {
				out = append(out, p.Name)
			}
		}
		if len(out) == 0 {
			c.errorf(a.Span(), "Selector matches nothing", "`*` selects every weight, and the model has no parameter of kind weight.")
			return nil, false
		}
		return out, true
	}
	for _, cand := range []string{name, strings.TrimPrefix(name, "module.")} {
		if out := ix.match(cand); len(out) > 0 {
			return out, true
		}
		if !strings.HasPrefix(name, "module.") {
			break
		}
	}
	c.noMatch(a)
	return nil, false
}

// match returns what pattern (a name or glob) selects.
func (ix *selectorIndex) match(pattern string) []string {
	if !strings.ContainsAny(pattern, "*?") {
		if _, ok := ix.byName[pattern]; ok {
			return []string{pattern}
		}
		if w, ok := ix.weightOf[pattern]; ok {
			return []string{w}
		}
		return nil
	}
	last := pattern[strings.LastIndexByte(pattern, '.')+1:]
	explicit := !strings.ContainsAny(last, "*?")
	var out []string
	for _, p := range ix.params {
		if !explicit && p.Kind != "weight" {
			continue
		}
		l := p.layer()
		if globMatch(pattern, p.Name) || (ix.weightOf[l] == p.Name && globMatch(pattern, l)) {
			out = append(out, p.Name)
		}
	}
	return out
}

func (c *checker) noMatch(a *SelectorAtom) {
	if c.truncated {
		c.nerr++ // past the cap: count it, skip the costly suggestions
		return
	}
	ix := c.sel
	name := a.Name
	cands := append(append([]string(nil), ix.layers...), ix.names...)
	near := closestNames(strings.ReplaceAll(strings.ReplaceAll(name, "*", ""), "?", ""), cands, 3)
	detail := fmt.Sprintf("%q matches no parameter or layer of the model.", name)
	if strings.ContainsAny(name, "*?") {
		last := name[strings.LastIndexByte(name, '.')+1:]
		if strings.ContainsAny(last, "*?") {
			// Would it have matched non-weights if explicit?
			var hidden []string
			for _, p := range ix.params {
				if p.Kind != "weight" && globMatch(name, p.Name) {
					hidden = append(hidden, p.Name)
				}
			}
			if len(hidden) > 0 {
				detail = fmt.Sprintf("%q matches only non-weight parameters (%s), which a pattern ending in a wildcard leaves out; name the parameter suffix, as in %s.weight or %s.bias.", name, listNames(hidden, 3), strings.TrimSuffix(name, "."+last)+"."+last, strings.TrimSuffix(name, "."+last)+"."+last)
				c.errorf(a.Span(), "Selector matches nothing", "%s", detail)
				return
			}
		}
	}
	if s := suggest(name, cands); s != "" {
		detail += fmt.Sprintf(" Did you mean %q?", s)
	} else if len(near) > 0 {
		detail += " The nearest names are " + strings.Join(near, ", ") + "."
	}
	c.errorf(a.Span(), "Selector matches nothing", "%s", detail)
}

// globMatch reports whether name matches pattern, where `*` matches any run of
// characters (dots included) and `?` exactly one character. It runs in
// O(len(pattern)·len(name)) time.
func globMatch(pattern, name string) bool {
	px, nx := 0, 0
	nextPx, nextNx := 0, 0
	for px < len(pattern) || nx < len(name) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '?':
				if nx < len(name) {
					px++
					nx++
					continue
				}
			case '*':
				nextPx, nextNx = px, nx+1
				px++
				continue
			default:
				if nx < len(name) && name[nx] == c {
					px++
					nx++
					continue
				}
			}
		}
		if 0 < nextNx && nextNx <= len(name) {
			px, nx = nextPx, nextNx
			continue
		}
		return false
	}
	return true
}
