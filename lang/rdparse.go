package lang

// rdparse.go is a hand-written recursive-descent parser for exactly the grammar that the
// participle struct tags in ast.go define. The participle grammar is the specification
// (Grammar prints it, and the manual quotes it); this parser is the fast path, about ten
// times faster than participle's reflection-driven engine, which matters for the
// 1,000-statement budget. It fills the same AST nodes with the same Pos, EndPos and
// Tokens that participle would, and TestParserParity and FuzzParserParity check that both
// parsers accept the same statements and build the same trees.

import (
	"fmt"

	"github.com/alecthomas/participle/v2/lexer"
)

type rdParser struct {
	toks []lexer.Token // the statement's tokens
	eof  lexer.Token   // the EOF token that follows them
	i    int
	err  *rdError
}

type rdError struct {
	tok      lexer.Token
	expected string
}

// Error says what was expected.
func (e *rdError) Error() string { return "expected " + e.expected }

// rdBail is the panic value used to unwind on the first syntax error; it never escapes
// parseStmtRD.
type rdBail struct{}

func (p *rdParser) peek() lexer.Token { return p.peekAt(0) }

func (p *rdParser) peekAt(n int) lexer.Token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.eof
}

func (p *rdParser) next() lexer.Token {
	t := p.peek()
	if p.i < len(p.toks) {
		p.i++
	}
	return t
}

func (p *rdParser) fail(expected string) {
	p.err = &rdError{tok: p.peek(), expected: expected}
	panic(rdBail{})
}

func (p *rdParser) is(value string) bool {
	t := p.peek()
	return t.Type != tokEOF && t.Type != tokString && t.Type != tokRegex && t.Value == value
}

func (p *rdParser) expect(value string) {
	if !p.is(value) {
		p.fail("`" + value + "`")
	}
	p.next()
}

func (p *rdParser) node(start int) Node {
	return Node{Pos: p.peekAtIndex(start).Pos, EndPos: p.peek().Pos, Tokens: p.toks[start:p.i:p.i]}
}

func (p *rdParser) peekAtIndex(i int) lexer.Token {
	if i < len(p.toks) {
		return p.toks[i]
	}
	return p.eof
}

// parseStmtRD parses one statement's tokens, followed by eof. The AST's Tokens slices
// share toks' memory.
func parseStmtRD(toks []lexer.Token, eof lexer.Token) (stmt Stmt, err *rdError) {
	p := &rdParser{toks: toks, eof: eof}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(rdBail); !ok {
				panic(r)
			}
			stmt, err = nil, p.err
		}
	}()
	stmt = p.stmt()
	if p.peek().Type != tokEOF {
		p.fail("the end of the statement")
	}
	return stmt, nil
}

func (p *rdParser) stmt() Stmt {
	start := p.i
	switch t := p.peek(); {
	case t.Type == tokKeyword && t.Value == "let":
		p.next()
		s := &LetStmt{}
		s.Name = p.ident()
		p.expect("=")
		s.Value = p.expr()
		s.Node = p.node(start)
		return s
	case t.Type == tokKeyword && (t.Value == "prune" || t.Value == "regularize" || t.Value == "quantize"):
		p.next()
		s := &PolicyStmt{Keyword: t.Value}
		s.Selector = p.selector()
		s.Items = p.items()
		if p.is("{") {
			s.Block = p.block()
		}
		s.Node = p.node(start)
		return s
	case t.Type == tokKeyword && t.Value == "lr":
		p.next()
		s := &LRStmt{Items: p.items()}
		s.Node = p.node(start)
		return s
	case t.Type == tokKeyword && t.Value == "distill":
		p.next()
		p.expect("from")
		s := &DistillStmt{Teacher: p.teacher()}
		s.Items = p.items()
		s.Node = p.node(start)
		return s
	case t.Type == tokKeyword && t.Value == "thin":
		p.next()
		s := &ThinStmt{Items: p.items()}
		s.Node = p.node(start)
		return s
	}
	p.fail("a statement")
	return nil
}

func (p *rdParser) ident() *Ident {
	start := p.i
	if p.peek().Type != tokIdent {
		p.fail("a name")
	}
	id := &Ident{Name: p.next().Value}
	id.Node = p.node(start)
	return id
}

func (p *rdParser) teacher() *Teacher {
	start := p.i
	t := &Teacher{}
	switch tok := p.peek(); tok.Type {
	case tokIdent, tokPath:
		t.Name = p.next().Value
	case tokString:
		t.Path = p.next().Value
	default:
		p.fail("a teacher model name or a quoted checkpoint path")
	}
	t.Node = p.node(start)
	return t
}

func isClauseStart(t lexer.Token) bool {
	if t.Type != tokKeyword {
		return false
	}
	switch t.Value {
	case "by", "then", "at", "from", "every", "before", "after":
		return true
	}
	return false
}

func isTermStart(t lexer.Token) bool {
	switch t.Type {
	case tokIdent, tokNumber, tokString, tokPath:
		return true
	case tokPunct:
		return t.Value == "-" || t.Value == "+" || t.Value == "(" || t.Value == "["
	}
	return false
}

func (p *rdParser) items() []*Item {
	var items []*Item
	for {
		t := p.peek()
		start := p.i
		switch {
		case isClauseStart(t):
			it := &Item{Clause: p.clause()}
			it.Node = p.node(start)
			items = append(items, it)
		case isTermStart(t):
			it := &Item{Term: p.term()}
			it.Node = p.node(start)
			items = append(items, it)
		default:
			return items
		}
	}
}

func (p *rdParser) clause() *Clause {
	start := p.i
	c := &Clause{}
	switch p.peek().Value {
	case "by":
		p.next()
		c.By = p.ident()
	case "then":
		p.next()
		p.expect("thin")
		c.Thin = true
	default:
		c.Window = p.window()
	}
	c.Node = p.node(start)
	return c
}

func (p *rdParser) window() *WindowClause {
	start := p.i
	w := &WindowClause{}
	switch p.next().Value {
	case "at":
		switch {
		case p.is("epoch"):
			p.next()
			w.At = p.expr()
		case p.is("epochs"):
			p.next()
			w.AtList = p.expr()
		default:
			p.fail("`epoch` or `epochs`")
		}
	case "from":
		p.expect("epoch")
		w.From = p.expr()
		if p.is("to") && p.peek().Type == tokKeyword {
			p.next()
			w.To = p.expr()
		}
		if p.is("every") && p.peek().Type == tokKeyword {
			w.Every = p.every()
		}
	case "every":
		p.i = start
		w.Bare = p.every()
	case "before", "after":
		w.Before = p.toks[p.i-1].Value == "before"
		w.After = !w.Before
		p.expect("training")
	}
	w.Node = p.node(start)
	return w
}

func (p *rdParser) every() *EveryClause {
	start := p.i
	p.expect("every")
	e := &EveryClause{N: p.expr()}
	if t := p.peek(); t.Type == tokIdent {
		switch t.Value {
		case "epochs", "epoch", "steps", "step":
			e.Unit = p.next().Value
		}
	}
	e.Node = p.node(start)
	return e
}

func (p *rdParser) block() *Block {
	start := p.i
	p.expect("{")
	b := &Block{}
	for {
		t := p.peek()
		switch {
		case t.Type == tokNewline:
			p.next()
		case t.Type == tokKeyword && t.Value == "override":
			ostart := p.i
			p.next()
			ov := &OverrideLine{Selector: p.selector()}
			for isTermStart(p.peek()) {
				ov.Terms = append(ov.Terms, p.term())
			}
			ov.Node = p.node(ostart)
			b.Overrides = append(b.Overrides, ov)
		case t.Type == tokPunct && t.Value == "}":
			p.next()
			b.Node = p.node(start)
			return b
		default:
			p.fail("`}`")
		}
	}
}

func (p *rdParser) selector() *Selector {
	start := p.i
	s := &Selector{Include: p.selectorSet()}
	if t := p.peek(); t.Type == tokKeyword && t.Value == "except" {
		p.next()
		s.Except = p.selectorSet()
	}
	s.Node = p.node(start)
	return s
}

func (p *rdParser) selectorSet() *SelectorSet {
	start := p.i
	s := &SelectorSet{}
	if t := p.peek(); t.Type == tokPunct && t.Value == "[" {
		p.next()
		s.Bracket = true
		s.Atoms = append(s.Atoms, p.selectorAtom())
		for p.is(",") {
			p.next()
			if p.is("]") {
				break
			}
			s.Atoms = append(s.Atoms, p.selectorAtom())
		}
		p.expect("]")
	} else {
		s.Atoms = append(s.Atoms, p.selectorAtom())
	}
	s.Node = p.node(start)
	return s
}

func (p *rdParser) selectorAtom() *SelectorAtom {
	start := p.i
	a := &SelectorAtom{}
	switch t := p.peek(); {
	case t.Type == tokIdent || t.Type == tokPath || (t.Type == tokPunct && t.Value == "*"):
		a.Name = p.next().Value
	case t.Type == tokRegex:
		a.Regex = p.next().Value
	default:
		p.fail("a selector")
	}
	a.Node = p.node(start)
	return a
}

func (p *rdParser) term() *Term {
	start := p.i
	t := &Term{}
	if p.peek().Type == tokIdent && p.peekAt(1).Type == tokPunct && p.peekAt(1).Value == "=" {
		t.Name = p.ident()
		p.next()
	}
	t.Value = p.expr()
	if p.is("bits") {
		p.next()
		t.Bits = true
	}
	t.Node = p.node(start)
	return t
}

func (p *rdParser) isPunct(values ...string) bool {
	t := p.peek()
	if t.Type != tokPunct {
		return false
	}
	for _, v := range values {
		if t.Value == v {
			return true
		}
	}
	return false
}

func (p *rdParser) expr() *Expr {
	start := p.i
	e := &Expr{Left: p.sum()}
	if p.isPunct("->") {
		p.next()
		e.To = p.sum()
	}
	e.Node = p.node(start)
	return e
}

func (p *rdParser) sum() *Sum {
	start := p.i
	s := &Sum{Left: p.product()}
	for p.isPunct("+", "-") {
		ostart := p.i
		op := &SumOp{Op: p.next().Value}
		op.Right = p.product()
		op.Node = p.node(ostart)
		s.Ops = append(s.Ops, op)
	}
	s.Node = p.node(start)
	return s
}

func (p *rdParser) product() *Product {
	start := p.i
	s := &Product{Left: p.unary()}
	for p.isPunct("*", "/") {
		ostart := p.i
		op := &ProductOp{Op: p.next().Value}
		op.Right = p.unary()
		op.Node = p.node(ostart)
		s.Ops = append(s.Ops, op)
	}
	s.Node = p.node(start)
	return s
}

func (p *rdParser) unary() *Unary {
	start := p.i
	u := &Unary{}
	if p.isPunct("-", "+") {
		u.Op = p.next().Value
	}
	u.X = p.primary()
	u.Node = p.node(start)
	return u
}

func (p *rdParser) primary() *Primary {
	start := p.i
	x := &Primary{}
	switch t := p.peek(); {
	case t.Type == tokNumber:
		x.Number = p.next().Value
	case t.Type == tokString:
		x.String = p.next().Value
	case t.Type == tokIdent:
		x.Ident = p.next().Value
	case t.Type == tokPath:
		x.Path = p.next().Value
	case t.Type == tokPunct && t.Value == "[":
		x.List = p.list()
	case t.Type == tokPunct && t.Value == "(":
		p.next()
		x.Paren = p.expr()
		p.expect(")")
	default:
		p.fail("a value")
	}
	x.Node = p.node(start)
	return x
}

func (p *rdParser) list() *List {
	start := p.i
	p.expect("[")
	l := &List{}
	if !p.isPunct("]") {
		l.Elems = append(l.Elems, p.expr())
		for p.isPunct(",") {
			p.next()
			if p.isPunct("]") {
				break
			}
			l.Elems = append(l.Elems, p.expr())
		}
	}
	p.expect("]")
	l.Node = p.node(start)
	return l
}

// String describes the error for tests.
func (e *rdError) String() string {
	return fmt.Sprintf("%d:%d: expected %s", e.tok.Pos.Line, e.tok.Pos.Column, e.expected)
}
