package lang

// The formatter prints the AST back in one canonical layout: one statement per line,
// single spaces between words, `name=value` without spaces, spaced binary operators and
// `->`, lists as `[a, b]`, override lines indented by four spaces inside `{ }`, runs of
// blank lines collapsed to one, and no blank lines at the start or end. Arguments and
// clauses keep their source order, so formatting never changes what a statement means.
//
// Comments are kept: a comment on its own line stays on its own line before the next
// statement (inside a block, before the next override line); a comment at the end of a
// statement's (or override line's) last line stays at the end of it, after one space; a
// comment inside a statement that spans lines (a long list) moves to its own line before
// the statement. Formatting a formatted file changes nothing.

import (
	"bytes"
	"sort"
	"strings"
)

// Format parses src and returns it in canonical layout. When src has syntax errors it
// returns nil and the diagnostics; warnings do not stop formatting.
func Format(filename string, src []byte) ([]byte, Diagnostics) {
	f, diags := Parse(filename, src)
	if diags.HasErrors() {
		return nil, diags
	}
	return FormatFile(f), diags
}

// FormatFile prints a parsed file in canonical layout. It must not contain *BadStmt.
func FormatFile(f *File) []byte {
	p := &printer{}
	p.file(f)
	return p.buf.Bytes()
}

type printer struct {
	buf bytes.Buffer
}

type fmtItem struct {
	line, endLine int
	text          string // a comment or a printed statement
	stmt          Stmt
	trailing      string
}

func (p *printer) file(f *File) {
	// Assign comments to statements.
	var items []*fmtItem
	stmtItems := make([]*fmtItem, len(f.Stmts))
	for i, s := range f.Stmts {
		r := s.Span()
		it := &fmtItem{line: r.Start.Line, endLine: r.End.Line, stmt: s}
		stmtItems[i] = it
		items = append(items, it)
	}
	blockComments := map[*OverrideLine][]string{} // own-line comments before an override
	lineTrailing := map[*OverrideLine]string{}    // trailing comments of override lines
	blockEndComments := map[*Block][]string{}     // own-line comments before `}`
	for _, c := range f.Comments {
		line := c.Range.Start.Line
		// Find the statement whose lines contain the comment.
		k := sort.Search(len(stmtItems), func(i int) bool { return stmtItems[i].endLine >= line })
		if k < len(stmtItems) && stmtItems[k].line <= line {
			it := stmtItems[k]
			if blk := blockOf(it.stmt); blk != nil && line > it.line {
				if ov, trailing := overrideAt(blk, line); ov != nil {
					if trailing {
						lineTrailing[ov] = joinComment(lineTrailing[ov], c.Text)
					} else {
						blockComments[ov] = append(blockComments[ov], c.Text)
					}
					continue
				}
				if line < it.endLine || (line == it.endLine && c.Range.Start.Offset < blk.Span().End.Offset-1) {
					blockEndComments[blk] = append(blockEndComments[blk], c.Text)
					continue
				}
			}
			if line == it.endLine {
				it.trailing = joinComment(it.trailing, c.Text)
				continue
			}
			// Inside a multi-line statement: hoist before it.
			items = append(items, &fmtItem{line: it.line, endLine: it.line, text: c.Text, stmt: nil})
			continue
		}
		items = append(items, &fmtItem{line: line, endLine: line, text: c.Text})
	}
	sort.SliceStable(items, func(i, j int) bool {
		if items[i].line != items[j].line {
			return items[i].line < items[j].line
		}
		// A hoisted comment goes before its statement.
		return items[i].stmt == nil && items[j].stmt != nil
	})
	prevEnd := 0
	for n, it := range items {
		if n > 0 && it.line > prevEnd+1 {
			p.buf.WriteString("\n")
		}
		if it.stmt == nil {
			p.buf.WriteString(it.text)
			p.buf.WriteString("\n")
		} else {
			p.stmt(it.stmt, it.trailing, blockComments, lineTrailing, blockEndComments)
		}
		prevEnd = max(prevEnd, it.endLine)
	}
}

func joinComment(prev, c string) string {
	if prev == "" {
		return c
	}
	return prev + " " + c
}

func blockOf(s Stmt) *Block {
	if ps, ok := s.(*PolicyStmt); ok {
		return ps.Block
	}
	return nil
}

// overrideAt returns the override line on the given source line (trailing=true) or the
// first override line after it (trailing=false).
func overrideAt(b *Block, line int) (*OverrideLine, bool) {
	for _, ov := range b.Overrides {
		r := ov.Span()
		if r.Start.Line <= line && line <= r.End.Line {
			return ov, true
		}
		if r.Start.Line > line {
			return ov, false
		}
	}
	return nil, false
}

func (p *printer) stmt(s Stmt, trailing string, blockComments map[*OverrideLine][]string, lineTrailing map[*OverrideLine]string, blockEnd map[*Block][]string) {
	var b strings.Builder
	var blk *Block
	switch s := s.(type) {
	case *LetStmt:
		b.WriteString("let " + s.Name.Name + " = ")
		writeExpr(&b, s.Value)
	case *PolicyStmt:
		b.WriteString(s.Keyword + " ")
		writeSelector(&b, s.Selector)
		writeItems(&b, s.Items)
		blk = s.Block
	case *LRStmt:
		b.WriteString("lr")
		writeItems(&b, s.Items)
	case *DistillStmt:
		b.WriteString("distill from ")
		if s.Teacher.Path != "" {
			b.WriteString(s.Teacher.Path)
		} else {
			b.WriteString(s.Teacher.Name)
		}
		writeItems(&b, s.Items)
	case *ThinStmt:
		b.WriteString("thin")
		writeItems(&b, s.Items)
	case *BadStmt:
		return
	}
	if blk != nil {
		b.WriteString(" {")
	} else if trailing != "" {
		b.WriteString(" " + trailing)
	}
	b.WriteString("\n")
	if blk != nil {
		for _, ov := range blk.Overrides {
			for _, c := range blockComments[ov] {
				b.WriteString("    " + c + "\n")
			}
			b.WriteString("    override ")
			writeSelector(&b, ov.Selector)
			for _, t := range ov.Terms {
				b.WriteString(" ")
				writeTerm(&b, t)
			}
			if c := lineTrailing[ov]; c != "" {
				b.WriteString(" " + c)
			}
			b.WriteString("\n")
		}
		for _, c := range blockEnd[blk] {
			b.WriteString("    " + c + "\n")
		}
		b.WriteString("}")
		if trailing != "" {
			b.WriteString(" " + trailing)
		}
		b.WriteString("\n")
	}
	p.buf.WriteString(b.String())
}

func writeItems(b *strings.Builder, items []*Item) {
	for _, it := range items {
		b.WriteString(" ")
		if it.Term != nil {
			writeTerm(b, it.Term)
			continue
		}
		c := it.Clause
		switch {
		case c.By != nil:
			b.WriteString("by " + c.By.Name)
		case c.Thin:
			b.WriteString("then thin")
		case c.Window != nil:
			writeWindow(b, c.Window)
		}
	}
}

func writeWindow(b *strings.Builder, w *WindowClause) {
	switch {
	case w.At != nil:
		b.WriteString("at epoch ")
		writeExpr(b, w.At)
	case w.AtList != nil:
		b.WriteString("at epochs ")
		writeExpr(b, w.AtList)
	case w.Before:
		b.WriteString("before training")
	case w.After:
		b.WriteString("after training")
	case w.Bare != nil:
		writeEvery(b, w.Bare)
	default:
		b.WriteString("from epoch ")
		writeExpr(b, w.From)
		if w.To != nil {
			b.WriteString(" to ")
			writeExpr(b, w.To)
		}
		if w.Every != nil {
			b.WriteString(" ")
			writeEvery(b, w.Every)
		}
	}
}

func writeEvery(b *strings.Builder, e *EveryClause) {
	b.WriteString("every ")
	writeExpr(b, e.N)
	if e.Unit != "" {
		b.WriteString(" " + e.Unit)
	}
}

func writeSelector(b *strings.Builder, s *Selector) {
	writeSelectorSet(b, s.Include)
	if s.Except != nil {
		b.WriteString(" except ")
		writeSelectorSet(b, s.Except)
	}
}

func writeSelectorSet(b *strings.Builder, s *SelectorSet) {
	if s.Bracket {
		b.WriteString("[")
	}
	for i, a := range s.Atoms {
		if i > 0 {
			b.WriteString(", ")
		}
		if a.Regex != "" {
			b.WriteString(a.Regex)
		} else {
			b.WriteString(a.Name)
		}
	}
	if s.Bracket {
		b.WriteString("]")
	}
}

func writeTerm(b *strings.Builder, t *Term) {
	if t.Name != nil {
		b.WriteString(t.Name.Name + "=")
	}
	writeExpr(b, t.Value)
	if t.Bits {
		b.WriteString(" bits")
	}
}

func writeExpr(b *strings.Builder, e *Expr) {
	writeSum(b, e.Left)
	if e.To != nil {
		b.WriteString(" -> ")
		writeSum(b, e.To)
	}
}

func writeSum(b *strings.Builder, s *Sum) {
	writeProduct(b, s.Left)
	for _, op := range s.Ops {
		b.WriteString(" " + op.Op + " ")
		writeProduct(b, op.Right)
	}
}

func writeProduct(b *strings.Builder, p *Product) {
	writeUnary(b, p.Left)
	for _, op := range p.Ops {
		b.WriteString(" " + op.Op + " ")
		writeUnary(b, op.Right)
	}
}

func writeUnary(b *strings.Builder, u *Unary) {
	b.WriteString(u.Op)
	x := u.X
	switch {
	case x.Number != "":
		b.WriteString(x.Number)
	case x.String != "":
		b.WriteString(x.String)
	case x.Ident != "":
		b.WriteString(x.Ident)
	case x.Path != "":
		b.WriteString(x.Path)
	case x.List != nil:
		writeList(b, x.List)
	case x.Paren != nil:
		b.WriteString("(")
		writeExpr(b, x.Paren)
		b.WriteString(")")
	}
}

func writeList(b *strings.Builder, l *List) {
	b.WriteString("[")
	for i, e := range l.Elems {
		if i > 0 {
			b.WriteString(", ")
		}
		writeExpr(b, e)
	}
	b.WriteString("]")
}
