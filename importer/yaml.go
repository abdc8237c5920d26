package importer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dst-dev/dst/lang"
	"gopkg.in/yaml.v3"
)

// This file reads yaml.v3 nodes with positions: mappings with duplicate-key detection
// and typed scalars, each failure reported at the node's line and column.

// mapping is a YAML mapping with its keys in document order.
type mapping struct {
	node *yaml.Node
	keys []*yaml.Node
	vals []*yaml.Node
	idx  map[string]int
	used map[string]bool
}

// deref follows aliases.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// errAt records an error at n's position.
func (c *converter) errAt(n *yaml.Node, format string, args ...any) {
	e := &Error{Filename: c.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	c.errs = append(c.errs, e)
}

// gapAt records an error at n caused by a construct the language cannot express.
func (c *converter) gapAt(n *yaml.Node, gap, format string, args ...any) {
	c.errAt(n, format, args...)
	c.errs[len(c.errs)-1].Gap = gap
}

// kindName describes a node's kind for messages.
func kindName(n *yaml.Node) string {
	n = deref(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "a YAML node"
}

// mapOf reads n as a mapping; what names it in errors. Duplicate keys are errors at the
// second occurrence. A null node is an empty mapping when nullOK.
func (c *converter) mapOf(n *yaml.Node, what string, nullOK bool) (*mapping, bool) {
	n = deref(n)
	m := &mapping{node: n, idx: map[string]int{}, used: map[string]bool{}}
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		if nullOK {
			return m, true
		}
		c.errAt(n, "%s must be a mapping; found null", what)
		return nil, false
	}
	if n.Kind != yaml.MappingNode {
		c.errAt(n, "%s must be a mapping; found %s", what, kindName(n))
		return nil, false
	}
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			c.errAt(k, "%s: keys must be scalars; found %s", what, kindName(k))
			ok = false
			continue
		}
		if k.Tag == "!!merge" {
			c.errAt(k, "%s: YAML merge keys (<<) are not supported; write the keys out", what)
			ok = false
			continue
		}
		if j, dup := m.idx[k.Value]; dup {
			first := m.keys[j]
			c.errAt(k, "%s: duplicate key %q (first at line %d, column %d); Distiller would silently keep the last value", what, k.Value, first.Line, first.Column)
			ok = false
			continue
		}
		m.idx[k.Value] = len(m.keys)
		m.keys = append(m.keys, k)
		m.vals = append(m.vals, v)
	}
	return m, ok
}

// get returns the value of key and marks it used.
func (m *mapping) get(key string) (*yaml.Node, bool) {
	i, ok := m.idx[key]
	if !ok {
		return nil, false
	}
	m.used[key] = true
	return m.vals[i], true
}

// keyNode returns the key node of key, or the mapping node.
func (m *mapping) keyNode(key string) *yaml.Node {
	if i, ok := m.idx[key]; ok {
		return m.keys[i]
	}
	return m.node
}

// unused reports every key not read, as an unknown key of what; allowed lists the keys
// that would have been accepted.
func (c *converter) unused(m *mapping, what string, allowed []string) {
	for _, k := range m.keys {
		if m.used[k.Value] {
			continue
		}
		msg := fmt.Sprintf("%s: unknown key %q", what, k.Value)
		if len(allowed) > 0 {
			if s := nearest(k.Value, allowed); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			} else {
				msg += "; expected one of " + strings.Join(allowed, ", ")
			}
		}
		c.errAt(k, "%s", msg)
	}
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// number reads a scalar number.
func (c *converter) number(n *yaml.Node, what string) (float64, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		c.errAt(n, "%s must be a number; found %s", what, kindName(n))
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
	if err != nil {
		if i, err2 := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err2 == nil {
			return float64(i), true
		}
		c.errAt(n, "%s: %q is not a number dst can read", what, n.Value)
		return 0, false
	}
	return v, true
}

// integer reads a whole number.
func (c *converter) integer(n *yaml.Node, what string) (int, bool) {
	v, ok := c.number(n, what)
	if !ok {
		return 0, false
	}
	if v < -1e12 || v > 1e12 {
		c.errAt(n, "%s is %s, out of range", what, deref(n).Value)
		return 0, false
	}
	if v != float64(int(v)) {
		c.errAt(n, "%s must be a whole number; found %s", what, deref(n).Value)
		return 0, false
	}
	return int(v), true
}

// boolean reads a boolean the way PyYAML (YAML 1.1) does: true/false, yes/no, on/off in
// any of their usual cases.
func (c *converter) boolean(n *yaml.Node, what string) (bool, bool) {
	n = deref(n)
	if n != nil && n.Kind == yaml.ScalarNode {
		switch n.Value {
		case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON":
			return true, true
		case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF":
			return false, true
		}
	}
	c.errAt(n, "%s must be true or false; found %s", what, kindName(n))
	return false, false
}

// str reads a scalar as a string (quoted or not).
func (c *converter) str(n *yaml.Node, what string) (string, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		c.errAt(n, "%s must be a string; found %s", what, kindName(n))
		return "", false
	}
	return n.Value, true
}

// seq reads a list.
func (c *converter) seq(n *yaml.Node, what string) ([]*yaml.Node, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		c.errAt(n, "%s must be a list; found %s", what, kindName(n))
		return nil, false
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, e := range n.Content {
		out[i] = deref(e)
	}
	return out, true
}

// numbers reads a list of numbers.
func (c *converter) numbers(n *yaml.Node, what string) ([]float64, bool) {
	items, ok := c.seq(n, what)
	if !ok {
		return nil, false
	}
	out := make([]float64, 0, len(items))
	for i, e := range items {
		v, ok := c.number(e, fmt.Sprintf("%s[%d]", what, i))
		if !ok {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// integers reads a list of whole numbers.
func (c *converter) integers(n *yaml.Node, what string) ([]int, bool) {
	items, ok := c.seq(n, what)
	if !ok {
		return nil, false
	}
	out := make([]int, 0, len(items))
	for i, e := range items {
		v, ok := c.integer(e, fmt.Sprintf("%s[%d]", what, i))
		if !ok {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// nearest is lang's "did you mean" (lang.Suggest), so every part of dst suggests
// names the same way.
func nearest(name string, cands []string) string { return lang.Suggest(name, cands) }
