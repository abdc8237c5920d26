package lang

// The checker walks the statements in order, keeping the let bindings seen so far. For a
// policy statement it:
//
//  1. reads the leading bare words: a granularity (elements, filters, ...) and a method
//     name, in either order; a missing method means the statement's default method;
//  2. binds the remaining terms to the method's arguments (named, `name value`, enum
//     value, flag, then positional), converts each to its declared type, and fills in
//     defaults;
//  3. normalises the window (the signature's default when none is written) and checks
//     its form, its numbers and, when the run length is known, that it fits the run;
//  4. resolves the selector against the parameter table (see select.go) and checks the
//     granularity against each parameter's shape.
//
// Then the window-overlap analysis runs over all policies: for every parameter, the
// mask-setting policies (pruners) holding it are sorted by window start and any two
// whose half-open spans [Start, End) intersect are reported once, at the later
// statement, with the earlier one as a related location. Quantizers are checked the same
// way; lr schedules and distillations have no parameters, so any two of them whose spans
// intersect conflict. before training and after training are spans before epoch 0 and
// after the last epoch. Every error is reported; a statement with an error produces no
// policy, and Check returns a nil Program when there is any error.

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Env is what a script is checked against.
type Env struct {
	// Params is the model's parameter table in model order. Nil means no model: selectors
	// are parsed but not resolved, and shapes are not checked.
	Params []ParamInfo
	// Builtins is the table of methods (normally stdlib.Signatures()). A nil table knows
	// no methods.
	Builtins *Builtins
	// Epochs is the run length in epochs; 0 means unknown. When known, open windows end
	// at Epochs and windows past the last epoch are warned about.
	Epochs int
}

// CheckSource parses and checks src in one step.
func CheckSource(filename string, src []byte, env Env) (*Program, Diagnostics) {
	f, diags := Parse(filename, src)
	prog, cd := Check(f, env)
	all := append(diags, cd...)
	if all.HasErrors() {
		prog = nil
	}
	return prog, all.Sort()
}

// Check type-checks a parsed file against env and returns the checked program. It
// reports every problem it finds; the Program is nil when any diagnostic is an error.
// Statements that failed to parse (*BadStmt) are skipped. Check does not modify f.
func Check(f *File, env Env) (*Program, Diagnostics) {
	c := &checker{env: env, lets: map[string]*binding{}, prog: &Program{Filename: f.Name}}
	c.sel = newSelectorIndex(env.Params)
	for _, s := range f.Stmts {
		c.stmt(s)
	}
	c.conflicts()
	c.preparedOnce()
	for _, name := range c.letOrder {
		b := c.lets[name]
		if !b.used {
			c.diags = append(c.diags, warningAt(b.rng, "Unused binding", "%q is bound here but no statement uses it.", name))
		}
	}
	diags := c.diags.Sort()
	if diags.HasErrors() {
		return nil, diags
	}
	return c.prog, diags
}

type binding struct {
	val  evalValue
	rng  Range
	used bool
}

type checker struct {
	env      Env
	lets     map[string]*binding
	letOrder []string
	diags    Diagnostics
	prog     *Program
	sel      *selectorIndex
	// nerr counts every error, including those past the cap.
	nerr      int
	truncated bool
}

// maxCheckDiagnostics caps the diagnostics the checker keeps; past it, one "Too many
// errors" diagnostic says where it stopped reporting.
const maxCheckDiagnostics = 100

// maxStatementErrors caps the argument errors reported for one statement.
const maxStatementErrors = 10

func (c *checker) add(d *Diagnostic) {
	if len(c.diags) < maxCheckDiagnostics {
		c.diags = append(c.diags, d)
		return
	}
	if !c.truncated {
		c.truncated = true
		c.diags = append(c.diags, errorAt(*d.Subject, "Too many errors",
			"Stopped reporting after %d diagnostics; fix those and check again.", maxCheckDiagnostics))
	}
}

func (c *checker) errorf(r Range, summary, format string, args ...any) *Diagnostic {
	d := errorAt(r, summary, format, args...)
	c.nerr++
	c.add(d)
	return d
}

func (c *checker) warnf(r Range, summary, format string, args ...any) {
	c.add(warningAt(r, summary, format, args...))
}

func (c *checker) stmt(s Stmt) {
	c.markUses(s)
	switch s := s.(type) {
	case *LetStmt:
		c.let(s)
	case *PolicyStmt:
		c.policy(s.Keyword, s, s.Selector, s.Clauses, s.Block, nil)
	case *LRStmt:
		c.policy(KindLR, s, nil, s.Clauses, nil, nil)
	case *DistillStmt:
		c.policy(KindDistill, s, nil, s.Clauses, nil, s.Teacher)
	case *ThinStmt:
		c.policy(KindThin, s, nil, s.Clauses, nil, nil)
	}
}

// markUses marks every binding a statement mentions as used, so a statement that stops
// at its first error does not make its bindings look unused.
func (c *checker) markUses(s Stmt) {
	var n *Node
	switch s := s.(type) {
	case *PolicyStmt:
		n = &s.Node
	case *LRStmt:
		n = &s.Node
	case *DistillStmt:
		n = &s.Node
	case *ThinStmt:
		n = &s.Node
	default:
		return // a let marks its uses as it evaluates; a BadStmt has no tokens
	}
	for _, t := range n.Tokens {
		if t.Type == tokIdent {
			if b, ok := c.lets[t.Value]; ok {
				b.used = true
			}
		}
	}
}

func (c *checker) let(s *LetStmt) {
	name := s.Name.Name
	v, ok := c.eval(s.Value)
	if prev, dup := c.lets[name]; dup {
		d := c.errorf(s.Name.Span(), "Duplicate binding", "%q is already bound; a name can be bound only once.", name)
		d.Related = []Related{{Message: "the first binding is here", Range: prev.rng}}
		return
	}
	if ok && v.kind == valName {
		c.undefined(v)
		ok = false
	}
	if !ok {
		v = evalValue{kind: valBad}
	}
	// A binding whose value is in error is marked used: its error is already reported.
	c.lets[name] = &binding{val: v, rng: s.Name.Span(), used: !ok}
	c.letOrder = append(c.letOrder, name)
}

// ---- expression evaluation -------------------------------------------------------

type valKind int

const (
	valBad valKind = iota
	valNum
	valRange
	valString
	valList
	valName // a bare identifier that is not bound
)

type evalValue struct {
	kind     valKind
	num      float64
	from, to float64
	str      string
	list     []evalValue
	percent  bool
	rng      Range
}

func (v evalValue) describe() string {
	switch v.kind {
	case valNum:
		return "a number"
	case valRange:
		return "a range"
	case valString:
		return "a string"
	case valList:
		return "a list"
	case valName:
		return fmt.Sprintf("the name %q", v.str)
	}
	return "an invalid value"
}

// bareIdent returns the identifier if e is just a name.
func bareIdent(e *Expr) (string, bool) {
	if e == nil || e.To != nil || len(e.Left.Ops) != 0 || len(e.Left.Left.Ops) != 0 || e.Left.Left.Left.Op != "" {
		return "", false
	}
	p := e.Left.Left.Left.X
	if p.Ident == "" {
		return "", false
	}
	return p.Ident, true
}

// eval evaluates e. Unbound names evaluate to valName only when e is a bare name (the
// caller decides what a bare name means); inside arithmetic they are errors.
func (c *checker) eval(e *Expr) (evalValue, bool) {
	if name, ok := bareIdent(e); ok {
		if b, bound := c.lets[name]; bound {
			b.used = true
			v := b.val
			v.rng = e.Span()
			return v, v.kind != valBad
		}
		return evalValue{kind: valName, str: name, rng: e.Span()}, true
	}
	left, ok := c.evalSum(e.Left)
	if !ok || e.To == nil {
		return left, ok
	}
	right, ok := c.evalSum(e.To)
	if !ok {
		return right, false
	}
	if left.kind != valNum || right.kind != valNum {
		c.errorf(e.Span(), "Invalid range", "Both ends of `a -> b` must be numbers; found %s and %s.", left.describe(), right.describe())
		return evalValue{}, false
	}
	return evalValue{kind: valRange, from: left.num, to: right.num, rng: e.Span()}, true
}

func (c *checker) evalSum(s *Sum) (evalValue, bool) {
	v, ok := c.evalProduct(s.Left)
	if !ok {
		return v, false
	}
	for _, op := range s.Ops {
		r, ok := c.evalProduct(op.Right)
		if !ok {
			return r, false
		}
		if !c.arith(v, r, op.Op, rangeOf(s.Pos, tokenEnd(op.Tokens[len(op.Tokens)-1]))) {
			return evalValue{}, false
		}
		if op.Op == "+" {
			v.num += r.num
		} else {
			v.num -= r.num
		}
		v.percent = false
		v.rng = rangeOf(s.Pos, tokenEnd(op.Tokens[len(op.Tokens)-1]))
	}
	return v, c.finite(v)
}

func (c *checker) evalProduct(p *Product) (evalValue, bool) {
	v, ok := c.evalUnary(p.Left)
	if !ok {
		return v, false
	}
	for _, op := range p.Ops {
		r, ok := c.evalUnary(op.Right)
		if !ok {
			return r, false
		}
		rng := rangeOf(p.Pos, tokenEnd(op.Tokens[len(op.Tokens)-1]))
		if !c.arith(v, r, op.Op, rng) {
			return evalValue{}, false
		}
		if op.Op == "*" {
			v.num *= r.num
		} else {
			if r.num == 0 {
				c.errorf(op.Right.Span(), "Division by zero", "The divisor evaluates to 0.")
				return evalValue{}, false
			}
			v.num /= r.num
		}
		v.percent = false
		v.rng = rng
	}
	return v, c.finite(v)
}

func (c *checker) finite(v evalValue) bool {
	if v.kind == valNum && (math.IsInf(v.num, 0) || math.IsNaN(v.num)) {
		c.errorf(v.rng, "Number out of range", "The value overflows a 64-bit float.")
		return false
	}
	return true
}

func (c *checker) arith(l, r evalValue, op string, rng Range) bool {
	for _, v := range []evalValue{l, r} {
		if v.kind == valName {
			c.undefined(v)
			return false
		}
		if v.kind != valNum {
			c.errorf(v.rng, "Invalid operand", "The operator %s needs numbers on both sides; this is %s.", op, v.describe())
			return false
		}
	}
	return true
}

func (c *checker) undefined(v evalValue) {
	if c.truncated {
		c.nerr++
		return
	}
	detail := fmt.Sprintf("No let binds %q.", v.str)
	if s := suggest(v.str, c.letOrder); s != "" {
		detail += fmt.Sprintf(" Did you mean %q?", s)
	}
	c.errorf(v.rng, "Undefined name", "%s", detail)
}

func (c *checker) evalUnary(u *Unary) (evalValue, bool) {
	v, ok := c.evalPrimary(u.X)
	if !ok || u.Op == "" {
		return v, ok
	}
	if v.kind == valName {
		c.undefined(v)
		return evalValue{}, false
	}
	if v.kind != valNum {
		c.errorf(u.Span(), "Invalid operand", "Unary %s needs a number; this is %s.", u.Op, v.describe())
		return evalValue{}, false
	}
	if u.Op == "-" {
		v.num = -v.num
	}
	v.rng = u.Span()
	return v, true
}

func (c *checker) evalPrimary(p *Primary) (evalValue, bool) {
	rng := p.Span()
	switch {
	case p.Number != "":
		text := p.Number
		pct := strings.HasSuffix(text, "%")
		x, err := strconv.ParseFloat(strings.TrimSuffix(text, "%"), 64)
		if err != nil || math.IsInf(x, 0) {
			c.errorf(rng, "Number out of range", "%s does not fit a 64-bit float.", text)
			return evalValue{}, false
		}
		if pct {
			x /= 100
		}
		return evalValue{kind: valNum, num: x, percent: pct, rng: rng}, true
	case p.String != "":
		return evalValue{kind: valString, str: unquote(p.String), rng: rng}, true
	case p.Ident != "":
		if b, bound := c.lets[p.Ident]; bound {
			b.used = true
			v := b.val
			v.rng = rng
			return v, v.kind != valBad
		}
		return evalValue{kind: valName, str: p.Ident, rng: rng}, true
	case p.Path != "":
		detail := fmt.Sprintf("%q is a selector pattern, not a value.", p.Path)
		if strings.Contains(p.Path, "*") {
			detail += " Put spaces around `*` to multiply."
		}
		c.errorf(rng, "Unexpected pattern", "%s", detail)
		return evalValue{}, false
	case p.List != nil:
		v := evalValue{kind: valList, rng: rng}
		for _, e := range p.List.Elems {
			ev, ok := c.eval(e)
			if !ok {
				return evalValue{}, false
			}
			if ev.kind == valName {
				c.undefined(ev)
				return evalValue{}, false
			}
			v.list = append(v.list, ev)
		}
		return v, true
	case p.Paren != nil:
		v, ok := c.eval(p.Paren)
		if ok && v.kind == valName {
			c.undefined(v)
			return evalValue{}, false
		}
		v.rng = rng
		return v, ok
	}
	return evalValue{}, false
}

// ---- policies --------------------------------------------------------------------

// stmtHasGranularity reports whether statement kind takes granularity words.
func stmtHasGranularity(kind string) bool { return kind == KindPrune || kind == KindRegularize }

func (c *checker) policy(kind string, s Stmt, sel *Selector, cl Clauses, block *Block, teacher *Teacher) {
	before := c.nerr
	stmtRange := s.Span()
	b := c.env.Builtins
	terms := cl.Terms
	for _, t := range terms {
		if t.Name != nil || t.Value.To != nil || len(t.Value.Left.Ops) == 0 {
			continue
		}
		first := t.Value.Left
		w, ok := bareIdent(&Expr{Left: &Sum{Left: first.Left}})
		if _, bound := c.lets[w]; !ok || bound {
			continue
		}
		op := first.Ops[0]
		var rest strings.Builder
		writeProduct(&rest, op.Right)
		c.errorf(t.Span(), "Ambiguous minus", "`%s %s%s` reads as the arithmetic %s %s %s, because adjacent arguments are not separated by operators. Write %s (%s%s), or give the value by name.", w, op.Op, rest.String(), w, op.Op, rest.String(), w, op.Op, rest.String())
		return
	}
	var sig *Signature
	gran := ""
	var granRange Range
	i := 0
	for i < len(terms) {
		t := terms[i]
		w, ok := bareIdent(t.Value)
		if !ok || t.Name != nil || t.Bits {
			break
		}
		if _, bound := c.lets[w]; bound {
			break
		}
		if stmtHasGranularity(kind) && gran == "" && isGranularity(w) {
			gran, granRange = w, t.Span()
			i++
			continue
		}
		if sig == nil {
			if m := b.Lookup(kind, w); m != nil {
				sig = m
				i++
				continue
			}
			// An unknown word where the method goes is an unknown method, unless it is an
			// argument or enum value of the default method.
			cands := append(b.Methods(kind), aliases(b, kind)...)
			if stmtHasGranularity(kind) && gran == "" {
				cands = append(cands, granularities...)
			}
			sg := suggest(w, cands)
			if d := b.DefaultMethod(kind); d == nil || (!acceptsWord(d, w) && sg != "") {
				detail := fmt.Sprintf("There is no %s method called %q.", kind, w)
				if sg != "" {
					detail += fmt.Sprintf(" Did you mean %q?", sg)
				} else {
					detail += " The methods are " + strings.Join(b.Methods(kind), ", ") + "."
				}
				c.errorf(t.Span(), "Unknown "+kind+" method", "%s", detail)
				return
			}
		}
		break
	}
	if sig == nil {
		sig = b.DefaultMethod(kind)
		if sig == nil {
			r := stmtRange
			if len(terms) > 0 {
				r = terms[0].Span()
			}
			methods := b.Methods(kind)
			if len(methods) == 0 {
				c.errorf(r, "Unknown statement", "No %s methods are defined in this environment.", kind)
			} else {
				c.errorf(r, "Missing method", "A %s statement names its method first; one of %s.", kind, strings.Join(methods, ", "))
			}
			return
		}
	}
	pol := &Policy{Kind: kind, Method: sig.Method, Signature: sig, Range: stmtRange}
	if teacher != nil {
		pol.Teacher = teacher.Name
		if teacher.Path != "" {
			pol.Teacher = unquote(teacher.Path)
		}
	}

	pol.Args = c.bindArgs(sig, terms[i:], &gran, &granRange, true, stmtRange)

	// Granularity.
	if gran != "" && len(sig.Granularities) == 0 {
		c.errorf(granRange, "Unexpected granularity", "%s %s takes no granularity.", kind, sig.Method)
	} else if gran != "" && !contains(sig.Granularities, gran) {
		c.errorf(granRange, "Unsupported granularity", "%s %s acts on %s, not %s.", kind, sig.Method, strings.Join(sig.Granularities, ", "), gran)
	}
	if gran == "" && len(sig.Granularities) > 0 {
		gran = sig.Granularities[0]
	}
	pol.Granularity = gran

	// Ranking.
	if cl.By != nil {
		rk := cl.By.Name
		switch {
		case len(sig.Rankings) == 0:
			c.errorf(cl.By.Span(), "Unexpected ranking", "%s %s does not rank structures; remove `by %s`.", kind, sig.Method, rk)
		case gran == "elements":
			c.errorf(cl.By.Span(), "Unexpected ranking", "`by` ranks structures, and element-wise pruning has none; add a granularity such as filters or channels, or remove `by %s`.", rk)
		case !contains(sig.Rankings, rk):
			detail := fmt.Sprintf("%s %s ranks by %s.", kind, sig.Method, strings.Join(sig.Rankings, ", "))
			if sg := suggest(rk, sig.Rankings); sg != "" {
				detail = fmt.Sprintf("Did you mean %q? ", sg) + detail
			}
			c.errorf(cl.By.Span(), "Unknown ranking", "%s", detail)
		case (rk == "apoz" || rk == "mean_activation") && gran != "filters":
			c.errorf(cl.By.Span(), "Unsupported ranking", "%s ranks filters by their activations; use the filters granularity.", rk)
		default:
			pol.Ranking = rk
		}
	} else if gran != "" && gran != "elements" && len(sig.Rankings) > 0 {
		pol.Ranking = sig.Rankings[0]
	}

	// then thin.
	if cl.ThenThin != nil {
		pol.ThenThin = true
		switch {
		case !sig.Thin:
			c.errorf(cl.ThenThin.Span(), "Unexpected then thin", "%s %s does not zero whole structures, so there is nothing to thin.", kind, sig.Method)
		case gran != "filters" && gran != "channels":
			c.errorf(cl.ThenThin.Span(), "Unexpected then thin", "Thinning removes whole filters or channels; this policy acts on %s. Use the filters or channels granularity.", gran)
		}
	}

	// Window.
	pol.Window = c.window(sig, cl.Window, stmtRange)
	if pol.Ranking == "gradient" && pol.Window.Kind == WindowEpochs && pol.Window.Unit == Steps && cl.Window != nil {
		// Training clears the gradients before each step's OnMinibatchBegin, where a
		// step-granular pruner runs: it would see none, and prune nothing.
		c.errorf(cl.Window.Span(), "Unsupported window", "by gradient ranks by the gradient of the last step, which a pruner firing every K steps cannot see (training clears it first). Use an epoch window, whose pruner runs at the start of the epoch with the previous step's gradient.")
	}

	// Method-specific cross-argument rules.
	c.crossArgs(pol, cl, stmtRange)

	// Selector.
	if sel != nil && c.sel != nil {
		pol.Params = c.resolve(sel)
		if pol.Params != nil {
			c.checkShapes(pol, sel)
		}
	}
	if block != nil {
		if !sig.Overrides {
			c.errorf(block.Span(), "Unexpected override block", "%s %s takes no override block.", kind, sig.Method)
		} else {
			c.overrides(pol, sig, block)
		}
	}
	c.quantWidths(pol)
	if c.nerr == before {
		c.prog.Policies = append(c.prog.Policies, pol)
	}
}

func aliases(b *Builtins, kind string) []string {
	var out []string
	for _, s := range b.All() {
		if s.Statement == kind {
			out = append(out, s.Aliases...)
		}
	}
	return out
}

// acceptsWord reports whether a bare word w means something as an argument of sig.
func acceptsWord(sig *Signature, w string) bool {
	if sig.Arg(w) != nil {
		return true
	}
	for _, a := range sig.Args {
		if a.Type == TypeEnum && contains(a.Enum, w) {
			return true
		}
		if a.Type == TypeIdent {
			return true
		}
	}
	return false
}

// bindArgs binds terms to sig's arguments. It fills defaults when fill is set.
func (c *checker) bindArgs(sig *Signature, terms []*Term, gran *string, granRange *Range, fill bool, stmtRange Range) map[string]Value {
	errsBefore := c.nerr
	args := map[string]Value{}
	where := map[string]Range{}
	set := func(spec *ArgSpec, v Value, r Range) {
		if prev, dup := where[spec.Name]; dup {
			d := c.errorf(r, "Duplicate argument", "%s is given twice.", spec.Name)
			d.Related = []Related{{Message: "first given here", Range: prev}}
			return
		}
		args[spec.Name], where[spec.Name] = v, r
	}
	var positional []*ArgSpec
	for k := range sig.Args {
		if sig.Args[k].Positional {
			positional = append(positional, &sig.Args[k])
		}
	}
	nextPos := 0
	for k := 0; k < len(terms); k++ {
		if c.nerr-errsBefore >= maxStatementErrors {
			// The rest of a statement this wrong would only add noise.
			c.add(errorAt(terms[k].Span(), "Too many errors",
				"Stopped reporting this statement's arguments after %d errors; fix those and check again.", maxStatementErrors))
			break
		}
		t := terms[k]
		if t.Name != nil {
			spec := sig.Arg(t.Name.Name)
			if spec == nil {
				c.unknownArg(sig, t.Name.Name, t.Name.Span())
				continue
			}
			if v, ok := c.convert(spec, t); ok {
				set(spec, v, t.Span())
			}
			continue
		}
		if w, ok := bareIdent(t.Value); ok && !t.Bits {
			if _, bound := c.lets[w]; !bound {
				if spec := sig.Arg(w); spec != nil {
					if spec.Type == TypeFlag {
						set(spec, Value{Type: TypeFlag, Bool: true}, t.Span())
						continue
					}
					if k+1 >= len(terms) || terms[k+1].Name != nil {
						c.errorf(t.Span(), "Missing value", "%s needs a value (%s): write `%s=VALUE` or `%s VALUE`.", w, spec.Type, w, w)
						continue
					}
					k++
					vt := terms[k]
					if v, ok := c.convert(spec, vt); ok {
						set(spec, v, rangeOf(t.Pos, tokenEnd(vt.Tokens[len(vt.Tokens)-1])))
					}
					continue
				}
				var owners []*ArgSpec
				for a := range sig.Args {
					if sig.Args[a].Type == TypeEnum && contains(sig.Args[a].Enum, w) {
						owners = append(owners, &sig.Args[a])
					}
				}
				if len(owners) == 1 {
					set(owners[0], Value{Type: TypeEnum, Str: w}, t.Span())
					continue
				}
				if len(owners) > 1 {
					names := make([]string, len(owners))
					for o := range owners {
						names[o] = owners[o].Name + "=" + w
					}
					c.errorf(t.Span(), "Ambiguous argument", "%q is a value of several arguments of %s %s; write one of %s.", w, sig.Statement, sig.Method, strings.Join(names, ", "))
					continue
				}
				if isGranularity(w) && stmtHasGranularity(sig.Statement) {
					if *gran == "" {
						*gran, *granRange = w, t.Span()
						continue
					}
					d := c.errorf(t.Span(), "Duplicate granularity", "The granularity is already %s.", *gran)
					d.Related = []Related{{Message: "granularity given here", Range: *granRange}}
					continue
				}
				// A bare name may still be a positional value of type name.
				if nextPos < len(positional) && positional[nextPos].Type == TypeIdent {
					spec := positional[nextPos]
					nextPos++
					set(spec, Value{Type: TypeIdent, Str: w}, t.Span())
					continue
				}
				c.unknownArg(sig, w, t.Span())
				continue
			}
		}
		for nextPos < len(positional) {
			if _, given := where[positional[nextPos].Name]; !given {
				break
			}
			nextPos++
		}
		if nextPos >= len(positional) {
			var names []string
			for _, p := range positional {
				names = append(names, p.Name)
			}
			detail := fmt.Sprintf("%s %s takes no positional argument.", sig.Statement, sig.Method)
			if len(names) > 0 {
				detail = fmt.Sprintf("%s %s takes %d positional argument(s) (%s); give the others by name.", sig.Statement, sig.Method, len(names), strings.Join(names, ", "))
			}
			c.errorf(t.Span(), "Too many arguments", "%s", detail)
			continue
		}
		spec := positional[nextPos]
		nextPos++
		if v, ok := c.convert(spec, t); ok {
			set(spec, v, t.Span())
		}
	}
	if !fill || c.nerr > errsBefore {
		return args
	}
	for k := range sig.Args {
		spec := &sig.Args[k]
		if _, given := args[spec.Name]; given {
			continue
		}
		if _, tried := where[spec.Name]; tried {
			continue
		}
		if spec.Required {
			c.errorf(stmtRange, "Missing argument", "%s %s needs %s (%s): %s", sig.Statement, sig.Method, spec.Name, spec.Type, spec.Doc)
			continue
		}
		if spec.Default != "" {
			if v, err := parseDefault(*spec); err == nil {
				args[spec.Name] = v
			}
		}
	}
	return args
}

func (c *checker) unknownArg(sig *Signature, name string, r Range) {
	if c.truncated {
		c.nerr++
		return
	}
	var cands []string
	for _, a := range sig.Args {
		cands = append(cands, a.Name)
		cands = append(cands, a.Enum...)
	}
	detail := fmt.Sprintf("%s %s has no argument or value %q.", sig.Statement, sig.Method, name)
	if s := suggest(name, cands); s != "" {
		detail += fmt.Sprintf(" Did you mean %q?", s)
	} else if len(sig.Args) > 0 {
		var names []string
		for _, a := range sig.Args {
			names = append(names, a.Name)
		}
		detail += " Its arguments are " + strings.Join(names, ", ") + "."
	}
	if _, bound := c.lets[name]; !bound && len(c.letOrder) > 0 {
		if s := suggest(name, c.letOrder); s != "" {
			detail += fmt.Sprintf(" (Or the binding %q?)", s)
		}
	}
	c.errorf(r, "Unknown argument", "%s", detail)
}

// convert checks a term's value against spec and returns it as a Value.
func (c *checker) convert(spec *ArgSpec, t *Term) (Value, bool) {
	r := t.Value.Span()
	if t.Bits && spec.Type != TypeBits {
		c.errorf(t.Span(), "Unexpected bits", "`bits` marks a bit width, and %s is a %s.", spec.Name, spec.Type)
		return Value{}, false
	}
	// Names first: enums, flags, and identifiers are bare words.
	if w, ok := bareIdent(t.Value); ok {
		if _, bound := c.lets[w]; !bound {
			switch spec.Type {
			case TypeEnum:
				if contains(spec.Enum, w) {
					return Value{Type: TypeEnum, Str: w}, true
				}
				detail := fmt.Sprintf("%s is one of %s.", spec.Name, strings.Join(spec.Enum, ", "))
				if s := suggest(w, spec.Enum); s != "" {
					detail = fmt.Sprintf("Did you mean %q? ", s) + detail
				}
				c.errorf(r, "Invalid value", "%s", detail)
				return Value{}, false
			case TypeFlag:
				if w == "true" || w == "false" {
					return Value{Type: TypeFlag, Bool: w == "true"}, true
				}
				c.errorf(r, "Invalid value", "%s is a flag: write it alone, or %s=true / %s=false.", spec.Name, spec.Name, spec.Name)
				return Value{}, false
			case TypeIdent:
				return Value{Type: TypeIdent, Str: w}, true
			}
		}
	}
	v, ok := c.eval(t.Value)
	if !ok {
		return Value{}, false
	}
	if v.kind == valName {
		if spec.Type == TypeEnum || spec.Type == TypeFlag || spec.Type == TypeIdent {
			return Value{}, false // unreachable: handled above
		}
		c.undefined(v)
		return Value{}, false
	}
	out := Value{Type: spec.Type}
	mismatch := func(want string) (Value, bool) {
		c.errorf(r, "Type mismatch", "%s expects %s; found %s.", spec.Name, want, v.describe())
		return Value{}, false
	}
	switch spec.Type {
	case TypeNumber, TypePositive, TypeNonNegative, TypeInteger, TypeFraction, TypeBits:
		if v.kind != valNum {
			return mismatch("a " + spec.Type.String())
		}
		out.Num = v.num
	case TypeFractionRange, TypeNumberRange:
		if v.kind != valRange {
			if v.kind == valNum {
				c.errorf(r, "Type mismatch", "%s expects a range `from -> to`, such as 5%% -> 90%%; found a single number.", spec.Name)
				return Value{}, false
			}
			return mismatch("a range `from -> to`")
		}
		out.From, out.To = v.from, v.to
	case TypeString:
		if v.kind != valString {
			return mismatch("a quoted string")
		}
		out.Str = v.str
	case TypeNumberList, TypeIntList:
		if v.kind != valList {
			return mismatch("a list such as [1, 2]")
		}
		for _, e := range v.list {
			if e.kind != valNum {
				c.errorf(e.rng, "Type mismatch", "%s is a list of numbers; this element is %s.", spec.Name, e.describe())
				return Value{}, false
			}
			out.List = append(out.List, e.num)
		}
	case TypeEnum:
		return mismatch("one of " + strings.Join(spec.Enum, ", "))
	case TypeFlag:
		return mismatch("true or false")
	case TypeIdent:
		return mismatch("a name")
	}
	if msg := checkValueRange(out); msg != "" {
		detail := fmt.Sprintf("%s is a %s, and %s.", spec.Name, spec.Type, msg)
		if spec.Type == TypeFraction && v.num >= 1 && v.num <= 100 && !v.percent {
			detail += fmt.Sprintf(" Did you mean %s%%?", formatNum(v.num))
		}
		if spec.Type == TypeFraction && v.num == 1 {
			detail += " A sparsity of 1 would remove every weight."
		}
		c.errorf(r, "Value out of range", "%s", detail)
		return Value{}, false
	}
	if b := spec.Bounds; b != nil && !spec.OpenBounds && (out.Num < b[0] || out.Num > b[1]) {
		c.errorf(r, "Value out of range", "%s is %s; it must lie in [%s, %s].", spec.Name, formatNum(out.Num), formatNum(b[0]), formatNum(b[1]))
		return Value{}, false
	}
	if b := spec.Bounds; b != nil && spec.OpenBounds && !(out.Num > b[0] && out.Num < b[1]) {
		c.errorf(r, "Value out of range", "%s is %s; it must lie in (%s, %s), both ends excluded.", spec.Name, formatNum(out.Num), formatNum(b[0]), formatNum(b[1]))
		return Value{}, false
	}
	return out, true
}

// ---- windows ---------------------------------------------------------------------

func windowForm(w *WindowClause) WindowForm {
	switch {
	case w.At != nil:
		return FormAt
	case w.AtList != nil:
		return FormList
	case w.Before:
		return FormBefore
	case w.After:
		return FormAfter
	}
	return FormRange
}

var formText = map[WindowForm]string{
	FormAt:     "`at epoch N`",
	FormList:   "`at epochs [a, b, ...]`",
	FormRange:  "`from epoch A [to B] [every K]`",
	FormBefore: "`before training`",
	FormAfter:  "`after training`",
}

func formsText(forms []WindowForm) string {
	parts := make([]string, len(forms))
	for i, f := range forms {
		parts[i] = formText[f]
	}
	return strings.Join(parts, ", ")
}

func (c *checker) window(sig *Signature, wc *WindowClause, stmtRange Range) Window {
	defaulted := false
	if wc == nil {
		if sig.DefaultWindow == "" {
			forms := sig.Windows
			if len(forms) == 0 {
				forms = []WindowForm{FormAt, FormList, FormRange, FormBefore, FormAfter}
			}
			c.errorf(stmtRange, "Missing window", "%s %s needs a window saying when it runs: %s.", sig.Statement, sig.Method, formsText(forms))
			return Window{}
		}
		var err error
		wc, err = parseWindowText(sig.DefaultWindow)
		if err != nil {
			c.errorf(stmtRange, "Invalid default window", "The signature's default window %q does not parse: %v", sig.DefaultWindow, err)
			return Window{}
		}
		defaulted = true
	}
	wr := wc.Span()
	if defaulted {
		wr = stmtRange
	}
	w := Window{Range: wr, Every: 1}
	form := windowForm(wc)
	if len(sig.Windows) > 0 && !contains(windowStrings(sig.Windows), string(form)) {
		c.errorf(wr, "Unsupported window", "%s %s runs %s; this window is %s.", sig.Statement, sig.Method, formsText(sig.Windows), formText[form])
		return w
	}
	epochAt := func(e *Expr, what string, minimum int) (int, bool) {
		v, ok := c.eval(e)
		if !ok {
			return 0, false
		}
		if v.kind == valName {
			c.undefined(v)
			return 0, false
		}
		if v.kind != valNum || v.num != math.Trunc(v.num) || v.num < float64(minimum) || v.num > 1e6 {
			c.errorf(e.Span(), "Invalid "+what, "The %s must be a whole number >= %d; found %s.", what, minimum, describeNum(v))
			return 0, false
		}
		return int(v.num), true
	}
	switch form {
	case FormBefore:
		w.Kind = WindowBefore
		return w
	case FormAfter:
		w.Kind = WindowAfter
		return w
	case FormAt:
		n, ok := epochAt(wc.At, "epoch", 0)
		if !ok {
			return w
		}
		w.Start, w.End = n, n+1
	case FormList:
		w.Every = 0
		lv, ok := c.eval(wc.AtList)
		if !ok {
			return w
		}
		if lv.kind == valName {
			c.undefined(lv)
			return w
		}
		if lv.kind != valList {
			c.errorf(wc.AtList.Span(), "Type mismatch", "`at epochs` takes a list of epochs such as [10, 20]; found %s.", lv.describe())
			return w
		}
		listRange := wc.AtList.Span()
		prev := -1
		for _, e := range lv.list {
			if e.rng.Start.Offset < listRange.Start.Offset || e.rng.End.Offset > listRange.End.Offset {
				e.rng = listRange // the list came from a let: point at its use
			}
			if e.kind != valNum || e.num != math.Trunc(e.num) || e.num < 0 || e.num > 1e6 {
				c.errorf(e.rng, "Invalid epoch", "The epoch must be a whole number >= 0; found %s.", describeNum(e))
				return w
			}
			n := int(e.num)
			if n <= prev {
				c.errorf(e.rng, "Epochs out of order", "The epochs of `at epochs [...]` must increase; %d follows %d.", n, prev)
				return w
			}
			w.Epochs = append(w.Epochs, n)
			prev = n
		}
		if len(w.Epochs) == 0 {
			c.errorf(wr, "Empty epoch list", "`at epochs []` names no epoch; list at least one.")
			return w
		}
		w.Start, w.End = w.Epochs[0], w.Epochs[len(w.Epochs)-1]+1
	case FormRange:
		every := wc.Every
		w.End = NoEnd
		if wc.Bare != nil {
			every = wc.Bare
		} else {
			a, ok := epochAt(wc.From, "epoch", 0)
			if !ok {
				return w
			}
			w.Start = a
			if wc.To != nil {
				b, ok := epochAt(wc.To, "epoch", 0)
				if !ok {
					return w
				}
				if b <= a {
					c.errorf(wc.To.Span(), "Empty window", "`from epoch %d to %d` covers no epoch: the end is exclusive and must be greater than the start.", a, b)
					return w
				}
				w.End = b
			}
		}
		if every != nil {
			k, ok := epochAt(every.N, "period", 1)
			if !ok {
				return w
			}
			w.Every = k
			if strings.HasPrefix(every.Unit, "step") {
				w.Unit = Steps
			}
		}
	}
	if sig.PreparesModel && (w.Start != 0 || w.End != NoEnd || w.Every != 1 || w.Unit != Epochs) {
		var written strings.Builder
		writeWindow(&written, wc)
		c.errorf(wr, "Unsupported window", "%s %s prepares the model before training and quantizes it from the first mini-batch to the end of the run, so its window is `from epoch 0` (the default), without `to` or `every`; this window is `%s`.", sig.Statement, sig.Method, strings.TrimSpace(written.String()))
		return w
	}
	explicitEnd := w.End != NoEnd
	if w.End == NoEnd && c.env.Epochs > 0 {
		w.End = max(c.env.Epochs, w.Start+1)
	}
	if sig.NeedsEnd && w.End == NoEnd {
		c.errorf(wr, "Window without end", "%s %s is scheduled over its whole window, so the window needs an end: add `to EPOCH` (or check with the run length).", sig.Statement, sig.Method)
		return w
	}
	if w.Every > 1 && explicitEnd && w.Unit == Epochs && w.Every > w.End-w.Start {
		c.errorf(wr, "Period too long", "every %d is longer than the window [%d, %d), so the policy runs only once; use `at epoch %d`.", w.Every, w.Start, w.End, w.Start)
	}
	if sig.Statement == KindPrune && sig.Method == "agp" && w.End != NoEnd && w.Unit == Epochs {
		span := (w.End - w.Start - 1) / w.Every * w.Every
		if span <= 0 {
			c.errorf(wr, "Window too short", "AGP's span is floor((B - A - 1)/K)·K = floor((%d - %d - 1)/%d)·%d = %d; it must be positive, so the window needs at least K+1 epochs.", w.End, w.Start, w.Every, w.Every, span)
		}
	}
	if n := c.env.Epochs; n > 0 && w.Kind == WindowEpochs {
		switch {
		case w.Start >= n:
			c.warnf(wr, "Window after the run", "The window starts at epoch %d, but the run has %d epochs (0 to %d); the policy never runs.", w.Start, n, n-1)
		case w.End > n:
			c.warnf(wr, "Window past the run", "The window ends at epoch %d (exclusive), but the run has %d epochs (0 to %d); epochs from %d on never happen.", w.End, n, n-1, n)
		}
	}
	return w
}

func windowStrings(forms []WindowForm) []string {
	out := make([]string, len(forms))
	for i, f := range forms {
		out[i] = string(f)
	}
	return out
}

func describeNum(v evalValue) string {
	if v.kind == valNum {
		return formatNum(v.num)
	}
	return v.describe()
}

// ---- method-specific rules ---------------------------------------------------------

// writes reports whether the statement's clauses give the argument name as name=value.
func writes(cl Clauses, name string) bool {
	for _, t := range cl.Terms {
		if t.Name != nil && t.Name.Name == name {
			return true
		}
	}
	return false
}

func (c *checker) crossArgs(p *Policy, cl Clauses, r Range) {
	a := p.Args
	if v, ok := a["clip"]; ok && v.Str == "n_std" {
		if _, has := a["n_std"]; !has && !writes(cl, "n_std") { // a written but invalid n_std has its own error
			c.errorf(r, "Missing argument", "clip=n_std clips activations at mean ± n_std·σ; give n_std=N.")
		}
		if pc, ok := a["per_channel"]; ok && pc.Bool {
			c.errorf(r, "Conflicting arguments", "clip=n_std cannot be combined with per_channel.")
		}
	}
	if v, ok := a["mask_gradients"]; ok && v.Bool {
		if f := a["forward_only"]; !f.Bool {
			c.errorf(r, "Conflicting arguments", "mask_gradients needs forward_only: with hard masks, pruned weights have no gradient to mask.")
		}
	}
	if p.Kind == KindPrune && p.ThenThin {
		if fo := a["forward_only"]; fo.Bool && !a["keep_mask"].Bool {
			c.warnf(r, "Nothing to thin", "forward_only masks only the forward pass and leaves the stored weights, and thinning removes exact zeros; add keep_mask to make the mask permanent at the window's end.")
		}
	}
	if p.ThenThin && (p.Window.Kind == WindowBefore || p.Window.Kind == WindowAfter) {
		c.errorf(r, "Unexpected then thin", "then thin thins at the end of the policy's last active epoch, and %s has none; write a window of epochs, or a separate `thin` statement %s.", p.Window, p.Window)
	}
	if p.Kind == KindRegularize && (p.Window.Kind == WindowBefore || p.Window.Kind == WindowAfter) {
		c.errorf(r, "Window never runs the regularizer", "A regularizer adds to the loss of the mini-batches of its epochs; %s never runs it. Give it a window of epochs.", p.Window)
	}
	if p.Kind == KindRegularize && p.ThenThin {
		if th, ok := a["threshold"]; ok && th.Type == TypeEnum && th.Str == "none" {
			c.warnf(r, "Nothing to thin", "%s only pushes groups toward zero, and thinning removes exact zeros; add threshold=max or threshold=mean_abs (with keep_mask) so weak groups are zeroed.", p.Method)
		} else if km := a["keep_mask"]; !km.Bool {
			c.warnf(r, "Nothing to thin", "Without keep_mask the regularizer's threshold masks are dropped after each mini-batch, so the zeros may not last until thinning; add keep_mask.")
		}
	}
	if _, ok := a["block"]; ok && p.Granularity != "blocks" {
		c.errorf(r, "Unexpected block shape", "block=[...] applies only to the blocks granularity; this policy acts on %s.", p.Granularity)
	}
	if p.Granularity == "blocks" {
		if v, ok := a["block"]; !ok || len(v.List) != 4 || v.List[2] != 1 || v.List[3] != 1 || v.List[0] < 1 || v.List[1] < 1 {
			c.errorf(r, "Missing block shape", "The blocks granularity needs block=[repetitions, depth, 1, 1] with repetitions and depth >= 1.")
		}
	}
	if v, ok := a["gammas"]; ok && p.Window.Epochs != nil && len(v.List) != len(p.Window.Epochs) {
		c.errorf(r, "Length mismatch", "gammas has %d elements for %d milestones.", len(v.List), len(p.Window.Epochs))
	}
}

// ---- selectors and shapes ----------------------------------------------------------

func (c *checker) checkShapes(p *Policy, sel *Selector) {
	need := map[string]string{
		"filters": "4d", "kernels": "4d", "blocks": "4d",
		"rows": "2d", "cols": "2d", "rows_cols": "2d",
		"channels": "2d4d", "channels_layers": "2d4d",
	}[p.Granularity]
	if need == "" {
		return
	}
	var bad []string
	for _, name := range p.Params {
		info := c.sel.byName[name]
		d := len(info.Shape)
		ok := (need == "4d" && d == 4) || (need == "2d" && d == 2) || (need == "2d4d" && (d == 2 || d == 4))
		if !ok {
			bad = append(bad, fmt.Sprintf("%s is %d-D %v", name, d, info.Shape))
		}
	}
	if len(bad) == 0 {
		c.checkLeader(p, sel)
		return
	}
	want := map[string]string{"4d": "4-D (convolution) weights", "2d": "2-D (linear) weights", "2d4d": "2-D or 4-D weights"}[need]
	more := ""
	if len(bad) > 4 {
		more = fmt.Sprintf(", and %d more", len(bad)-4)
		bad = bad[:4]
	}
	c.errorf(sel.Span(), "Granularity does not fit", "The %s granularity needs %s, but %s%s.", p.Granularity, want, strings.Join(bad, "; "), more)
}

// checkLeader checks that a `leader` policy's parameters have as many structures as
// the leader (the first one), since the leader's keep/drop map is reused for all.
func (c *checker) checkLeader(p *Policy, sel *Selector) {
	if v, ok := p.Args["leader"]; !ok || !v.Bool || len(p.Params) < 2 {
		return
	}
	// count returns the number of structures of the granularity in a weight of shape s
	// (the blocks granularity depends on its block argument and is checked at run time).
	count := func(s []int) (int, bool) {
		switch {
		case (p.Granularity == "filters" || p.Granularity == "rows") && len(s) > 0:
			return s[0], true
		case (p.Granularity == "channels" || p.Granularity == "cols") && len(s) > 1:
			return s[1], true
		case p.Granularity == "kernels" && len(s) > 1:
			return s[0] * s[1], true
		}
		return 0, false
	}
	lead := c.sel.byName[p.Params[0]]
	nLead, ok := count(lead.Shape)
	if !ok {
		return
	}
	for _, name := range p.Params[1:] {
		info := c.sel.byName[name]
		if n, ok := count(info.Shape); !ok || n != nLead {
			c.errorf(sel.Span(), "Leader shapes differ", "With leader, the %s map of %s %v is reused for every selected parameter, but %s %v has a different number of %s.", p.Granularity, lead.Name, lead.Shape, name, info.Shape, p.Granularity)
			return
		}
	}
}

func (c *checker) overrides(p *Policy, sig *Signature, block *Block) {
	claimed := map[string]Range{}
	inPolicy := map[string]bool{}
	for _, n := range p.Params {
		inPolicy[n] = true
	}
	for _, line := range block.Overrides {
		ov := &Override{Range: line.Span()}
		g, gr := "", Range{}
		ov.Args = c.bindArgs(sig, line.Terms, &g, &gr, false, line.Span())
		c.overrideArgs(sig, ov)
		if g != "" {
			c.errorf(gr, "Unexpected granularity", "Override lines change quantizer settings; they take no granularity.")
		}
		if len(line.Terms) == 0 {
			c.errorf(line.Span(), "Empty override", "An override line changes at least one setting, such as `float` or `weights=4 bits`.")
		}
		if p.Params != nil {
			params := c.resolve(line.Selector)
			var outside []string
			var prevRange *Range
			for _, n := range params {
				if !inPolicy[n] {
					outside = append(outside, n)
					continue
				}
				if r, taken := claimed[n]; taken {
					rr := r
					prevRange = &rr
					continue
				}
				claimed[n] = ov.Range
				ov.Params = append(ov.Params, n)
			}
			if len(outside) > 0 {
				c.errorf(line.Selector.Span(), "Override outside the statement", "The override selects %s, which the statement does not quantize; an override may only narrow the statement's selector.", listNames(outside, 4))
			} else if params != nil && len(ov.Params) == 0 && prevRange != nil {
				d := c.errorf(line.Selector.Span(), "Override never applies", "Every parameter this line selects is claimed by an earlier override line, and the first matching line wins.")
				d.Related = []Related{{Message: "claimed here", Range: *prevRange}}
			}
		}
		p.Overrides = append(p.Overrides, ov)
	}
}

func listNames(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

// ---- conflicts ---------------------------------------------------------------------

func (c *checker) conflicts() {
	type holder struct {
		p          *Policy
		start, end int
	}
	byParam := map[string][]holder{}
	var global []holder
	group := func(p *Policy) string {
		switch {
		case p.Kind == KindPrune && p.Signature.Masks:
			return "prune"
		case p.Signature.Exclusive:
			return p.Kind
		}
		return ""
	}
	for _, p := range c.prog.Policies {
		g := group(p)
		if g == "" {
			continue
		}
		s, e := p.Window.span()
		if p.Kind == KindLR && p.Window.Kind == WindowEpochs && (p.Method == "multistep" || p.Window.Epochs != nil) {
			// A milestone schedule governs the rate from its first milestone to the end
			// of training (its last decay holds), not only up to its last milestone.
			if p.Window.Epochs != nil {
				s = p.Window.Epochs[0]
			}
			e = math.MaxInt - 1
		}
		h := holder{p, s, e}
		if p.Kind == KindLR || p.Kind == KindDistill {
			global = append(global, h)
			continue
		}
		for _, n := range p.Params {
			byParam[g+" "+n] = append(byParam[g+" "+n], h)
		}
	}
	// Each policy gets at most one conflict error, against the earlier-starting policy
	// whose span reaches furthest, so the analysis is O(n log n) per parameter.
	reported := map[*Policy]bool{}
	report := func(a, b holder, param string) {
		if a.p.Range.Start.Offset > b.p.Range.Start.Offset {
			a, b = b, a
		}
		if reported[b.p] {
			return
		}
		reported[b.p] = true
		var detail string
		switch b.p.Kind {
		case KindPrune:
			detail = fmt.Sprintf("Both policies set the mask of %s while their windows overlap (%s and %s); the later one would overwrite the earlier one's mask. Make the windows disjoint or narrow a selector.", param, a.p.Window, b.p.Window)
		case KindQuantize:
			detail = fmt.Sprintf("Both policies quantize %s while their windows overlap (%s and %s); use an override line instead.", param, a.p.Window, b.p.Window)
		default:
			detail = fmt.Sprintf("Two %s policies are active at once (%s and %s); make their windows disjoint.", b.p.Kind, a.p.Window, b.p.Window)
		}
		d := c.errorf(b.p.Range, "Conflicting policies", "%s", detail)
		d.Related = []Related{{Message: "the other policy is here", Range: a.p.Range}}
	}
	sweep := func(hs []holder, param string) {
		sort.SliceStable(hs, func(i, j int) bool { return hs[i].start < hs[j].start })
		reach := -1 // index of the holder seen so far whose span ends last
		for i, h := range hs {
			if reach >= 0 && hs[reach].end > h.start {
				report(hs[reach], h, param)
			}
			if reach < 0 || h.end > hs[reach].end {
				reach = i
			}
		}
	}
	keys := make([]string, 0, len(byParam))
	for k := range byParam {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(byParam[k]) > 1 {
			sweep(byParam[k], k[strings.IndexByte(k, ' ')+1:])
		}
	}
	byKind := map[string][]holder{}
	for _, h := range global {
		byKind[h.p.Kind] = append(byKind[h.p.Kind], h)
	}
	for _, k := range []string{KindLR, KindDistill} {
		sweep(byKind[k], "")
	}
}
