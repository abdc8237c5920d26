package lang_test

import (
	"strings"

	"github.com/dst-dev/dst/lang"
)

// dump renders a parsed file as compact S-expressions, one statement per line. It shows
// the normalised clauses, so two files that differ only in layout or clause order dump
// the same.
func dump(f *lang.File) string {
	var lines []string
	for _, s := range f.Stmts {
		lines = append(lines, dumpStmt(s))
	}
	return strings.Join(lines, "\n")
}

func dumpStmt(s lang.Stmt) string {
	switch s := s.(type) {
	case *lang.LetStmt:
		return "(let " + s.Name.Name + " " + dumpExpr(s.Value) + ")"
	case *lang.PolicyStmt:
		out := "(" + s.Keyword + " " + dumpSelector(s.Selector) + dumpClauses(s.Clauses)
		if s.Block != nil {
			out += " (block"
			for _, ov := range s.Block.Overrides {
				out += " (override " + dumpSelector(ov.Selector) + dumpTerms(ov.Terms) + ")"
			}
			out += ")"
		}
		return out + ")"
	case *lang.LRStmt:
		return "(lr" + dumpClauses(s.Clauses) + ")"
	case *lang.DistillStmt:
		t := s.Teacher.Name
		if s.Teacher.Path != "" {
			t = s.Teacher.Path
		}
		return "(distill " + t + dumpClauses(s.Clauses) + ")"
	case *lang.ThinStmt:
		return "(thin" + dumpClauses(s.Clauses) + ")"
	case *lang.BadStmt:
		return "(bad)"
	}
	return "(?)"
}

func dumpClauses(c lang.Clauses) string {
	out := dumpTerms(c.Terms)
	if c.By != nil {
		out += " (by " + c.By.Name + ")"
	}
	if c.Window != nil {
		out += " " + dumpWindow(c.Window)
	}
	if c.ThenThin != nil {
		out += " (then-thin)"
	}
	return out
}

func dumpTerms(ts []*lang.Term) string {
	out := ""
	for _, t := range ts {
		s := dumpExpr(t.Value)
		if t.Bits {
			s = "(bits " + s + ")"
		}
		if t.Name != nil {
			s = "(= " + t.Name.Name + " " + s + ")"
		}
		out += " " + s
	}
	return out
}

func dumpWindow(w *lang.WindowClause) string {
	every := func(e *lang.EveryClause) string {
		s := "(every " + dumpExpr(e.N)
		if e.Unit != "" {
			s += " " + e.Unit
		}
		return s + ")"
	}
	switch {
	case w.At != nil:
		return "(at " + dumpExpr(w.At) + ")"
	case w.AtList != nil:
		return "(at-epochs " + dumpExpr(w.AtList) + ")"
	case w.Before:
		return "(before-training)"
	case w.After:
		return "(after-training)"
	case w.Bare != nil:
		return every(w.Bare)
	}
	s := "(from " + dumpExpr(w.From)
	if w.To != nil {
		s += " (to " + dumpExpr(w.To) + ")"
	}
	if w.Every != nil {
		s += " " + every(w.Every)
	}
	return s + ")"
}

func dumpSelector(s *lang.Selector) string {
	out := dumpSet(s.Include)
	if s.Except != nil {
		out = "(except " + out + " " + dumpSet(s.Except) + ")"
	}
	return out
}

func dumpSet(s *lang.SelectorSet) string {
	var atoms []string
	for _, a := range s.Atoms {
		if a.Regex != "" {
			atoms = append(atoms, "(re "+a.Regex+")")
		} else {
			atoms = append(atoms, a.Name)
		}
	}
	if s.Bracket {
		return "[" + strings.Join(atoms, " ") + "]"
	}
	return atoms[0]
}

func dumpExpr(e *lang.Expr) string {
	s := dumpSum(e.Left)
	if e.To != nil {
		s = "(-> " + s + " " + dumpSum(e.To) + ")"
	}
	return s
}

func dumpSum(s *lang.Sum) string {
	out := dumpProduct(s.Left)
	for _, op := range s.Ops {
		out = "(" + op.Op + " " + out + " " + dumpProduct(op.Right) + ")"
	}
	return out
}

func dumpProduct(p *lang.Product) string {
	out := dumpUnary(p.Left)
	for _, op := range p.Ops {
		out = "(" + op.Op + " " + out + " " + dumpUnary(op.Right) + ")"
	}
	return out
}

func dumpUnary(u *lang.Unary) string {
	x := u.X
	var s string
	switch {
	case x.Number != "":
		s = x.Number
	case x.String != "":
		s = x.String
	case x.Ident != "":
		s = x.Ident
	case x.Path != "":
		s = "(path " + x.Path + ")"
	case x.List != nil:
		s = dumpList(x.List)
	case x.Paren != nil:
		s = "(paren " + dumpExpr(x.Paren) + ")"
	}
	if u.Op != "" {
		s = "(" + u.Op + s + ")"
	}
	return s
}

func dumpList(l *lang.List) string {
	var parts []string
	for _, e := range l.Elems {
		parts = append(parts, dumpExpr(e))
	}
	return "[" + strings.Join(parts, " ") + "]"
}
