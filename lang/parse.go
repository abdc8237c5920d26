package lang

// Parsing happens in two levels. The hand-written lexer turns the whole file into tokens;
// the token stream is split into statements at newlines (outside brackets and override
// blocks); each statement is then parsed on its own by the participle grammar in ast.go.
// A statement that fails to lex or parse becomes a *BadStmt with exactly one diagnostic,
// and parsing resumes at the next statement, so one typo never hides the rest of the file.

import (
	"fmt"
	"strings"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// maxSyntaxErrors caps the syntax errors reported for one file.
const maxSyntaxErrors = 20

// maxStatementTokens caps the length of one statement, so that hostile input (a 1 MB
// line) costs no more than a proportionate error.
const maxStatementTokens = 10000

type stmtRoot struct {
	Stmt Stmt `parser:"@@"`
}

var stmtParser = participle.MustBuild[stmtRoot](
	participle.Lexer(definition{}),
	participle.Union[Stmt](&LetStmt{}, &PolicyStmt{}, &LRStmt{}, &DistillStmt{}, &ThinStmt{}),
	participle.UseLookahead(4),
)

// Grammar returns the EBNF of one statement, as participle prints it.
func Grammar() string { return stmtParser.String() }

// Parse parses a .dst script. It always returns a File: statements that failed to parse
// are *BadStmt values, each with one diagnostic, so the File is usable for tooling even
// when the Diagnostics hold errors. Parse never panics on any input.
func Parse(filename string, src []byte) (*File, Diagnostics) {
	res := lex(filename, src)
	f := &File{Name: filename, Comments: res.comments}
	var diags Diagnostics
	syntaxErrors := 0
	for _, span := range splitStatements(res.tokens) {
		if syntaxErrors >= maxSyntaxErrors {
			t := res.tokens[span[0]]
			diags = append(diags, errorAt(rangeOf(t.Pos, tokenEnd(t)), "Too many errors",
				"Stopped after %d syntax errors; fix those and check again.", maxSyntaxErrors))
			break
		}
		toks := res.tokens[span[0]:span[1]]
		stmt, d := parseStatement(filename, toks, span[0], res)
		f.Stmts = append(f.Stmts, stmt)
		if d != nil {
			diags = append(diags, d...)
			if d.HasErrors() {
				syntaxErrors++
			}
		}
	}
	return f, diags
}

// splitStatements returns [start, end) token index pairs of the statements in toks.
// A newline ends a statement unless an override block `{` is open; a line inside an open
// block that starts with a statement keyword ends the block's statement too (the `}` was
// forgotten), so the error stays local.
func splitStatements(toks []lexer.Token) [][2]int {
	var spans [][2]int
	start := -1
	braces := 0
	for i, t := range toks {
		switch {
		case t.Type == tokEOF:
			if start >= 0 {
				spans = append(spans, [2]int{start, i})
			}
			return spans
		case t.Type == tokNewline:
			if start < 0 {
				continue
			}
			if braces == 0 {
				spans = append(spans, [2]int{start, i})
				start = -1
				continue
			}
			if n := toks[i+1]; n.Type == tokKeyword && n.Value != "override" {
				spans = append(spans, [2]int{start, i})
				start, braces = -1, 0
			}
		default:
			if start < 0 {
				start = i
			}
			if t.Type == tokPunct {
				switch t.Value {
				case "{":
					braces++
				case "}":
					if braces > 0 {
						braces--
					}
				}
			}
		}
	}
	return spans
}

var statementStarts = []string{"let", "prune", "regularize", "quantize", "lr", "distill", "thin"}

func parseStatement(filename string, toks []lexer.Token, offset int, res *lexResult) (Stmt, Diagnostics) {
	first, last := toks[0], toks[len(toks)-1]
	bad := &BadStmt{Range: rangeOf(first.Pos, tokenEnd(last)), Tokens: toks[:len(toks):len(toks)]}
	for i := range toks {
		if d, ok := res.errs[offset+i]; ok {
			d.Context = &bad.Range
			return bad, Diagnostics{d}
		}
	}
	if len(toks) > maxStatementTokens {
		d := errorAt(rangeOf(first.Pos, tokenEnd(first)), "Statement too long",
			"This statement has %d tokens; a statement may have at most %d. Is a newline missing?", len(toks), maxStatementTokens)
		d.Context = &bad.Range
		return bad, Diagnostics{d}
	}
	if first.Type != tokKeyword || !contains(statementStarts, first.Value) {
		r := rangeOf(first.Pos, tokenEnd(first))
		detail := "A statement starts with let, prune, regularize, quantize, lr, distill or thin."
		if s := suggest(first.Value, statementStarts); s != "" {
			detail += fmt.Sprintf(" Did you mean %q?", s)
		}
		if first.Value == "override" {
			detail = "An override line belongs inside the `{ ... }` block of a quantize statement."
		}
		d := errorAt(r, "Unknown statement", "%s", detail)
		d.Context = &bad.Range
		return bad, Diagnostics{d}
	}
	stmt, perr := parseStmtRD(toks[:len(toks):len(toks)], lexer.Token{Type: tokEOF, Pos: tokenEnd(last)})
	if perr == nil {
		return stmt, normalize(stmt)
	}
	d := syntaxError(perr.tok, perr.expected, toks)
	d.Context = &bad.Range
	return bad, Diagnostics{d}
}

// parseStmtParticiple parses one statement's tokens (ending with EOF) with the
// participle grammar, the specification the hand-written parser must match.
func parseStmtParticiple(stream []lexer.Token) (Stmt, error) {
	peek, err := lexer.Upgrade(&sliceLexer{toks: stream})
	if err != nil {
		return nil, err
	}
	root, err := stmtParser.ParseFromLexer(peek)
	if err != nil {
		return nil, err
	}
	if root == nil || root.Stmt == nil {
		return nil, fmt.Errorf("empty statement")
	}
	return root.Stmt, nil
}

// syntaxError builds the diagnostic for a statement that stops parsing at tok.
func syntaxError(tok lexer.Token, expected string, stream []lexer.Token) *Diagnostic {
	r := rangeOf(tok.Pos, tokenEnd(tok))
	detail := fmt.Sprintf("Found %s where %s was expected.", describeToken(tok), expected)
	if hint := syntaxHint(tok, stream); hint != "" {
		detail += " " + hint
	}
	return errorAt(r, "Syntax error", "%s", detail)
}

func describeToken(t lexer.Token) string {
	switch t.Type {
	case tokEOF:
		return "the end of the statement"
	case tokNewline:
		return "the end of the line"
	case tokKeyword:
		return fmt.Sprintf("keyword %q", t.Value)
	case tokString:
		return "a string"
	case tokNumber:
		return fmt.Sprintf("number %s", t.Value)
	case tokRegex:
		return "a regex"
	}
	return fmt.Sprintf("%q", t.Value)
}

// syntaxHint adds advice for frequent mistakes.
func syntaxHint(tok lexer.Token, stream []lexer.Token) string {
	switch {
	case tok.Type == tokPath && strings.Contains(tok.Value, "*") && stream[0].Value == "let":
		return "A name with `*` is read as a glob; put spaces around `*` to multiply."
	case tok.Type == tokKeyword && tok.Value == "to":
		return "`to` belongs in a window: `from epoch A to B`."
	case tok.Type == tokKeyword && (tok.Value == "at" || tok.Value == "from" || tok.Value == "every" || tok.Value == "before" || tok.Value == "after"):
		return "Windows are `at epoch N`, `at epochs [a, b]`, `from epoch A [to B] [every K epochs|steps]`, `every K epochs|steps`, `before training` or `after training`."
	case tok.Value == "{" && stream[0].Value != "quantize":
		return "Only quantize statements take an override block."
	}
	return ""
}

// normalize fills a statement's Clauses from its Items and reports duplicate clauses.
func normalize(stmt Stmt) Diagnostics {
	var items []*Item
	var c *Clauses
	switch s := stmt.(type) {
	case *PolicyStmt:
		items, c = s.Items, &s.Clauses
	case *LRStmt:
		items, c = s.Items, &s.Clauses
	case *DistillStmt:
		items, c = s.Items, &s.Clauses
	case *ThinStmt:
		items, c = s.Items, &s.Clauses
	default:
		return nil
	}
	var diags Diagnostics
	dup := func(n *Node, prev *Node, what string) {
		d := errorAt(n.Span(), "Duplicate "+what, "A statement takes at most one %s.", what)
		d.Related = []Related{{Message: "the first " + what + " is here", Range: prev.Span()}}
		diags = append(diags, d)
	}
	for _, it := range items {
		switch {
		case it.Term != nil:
			c.Terms = append(c.Terms, it.Term)
		case it.Clause.By != nil:
			if c.By != nil {
				dup(&it.Clause.Node, &c.By.Node, "ranking")
				continue
			}
			c.By = it.Clause.By
		case it.Clause.Thin:
			if c.ThenThin != nil {
				dup(&it.Clause.Node, &c.ThenThin.Node, "`then thin`")
				continue
			}
			c.ThenThin = it.Clause
		case it.Clause.Window != nil:
			if c.Window != nil {
				dup(&it.Clause.Window.Node, &c.Window.Node, "window")
				continue
			}
			c.Window = it.Clause.Window
		}
	}
	return diags
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// parseWindowText parses a window written in a signature's DefaultWindow.
func parseWindowText(text string) (*WindowClause, error) {
	f, diags := Parse("<default window>", []byte("thin "+text))
	if diags.HasErrors() {
		return nil, diags
	}
	if len(f.Stmts) != 1 {
		return nil, fmt.Errorf("not one window")
	}
	t, ok := f.Stmts[0].(*ThinStmt)
	if !ok || t.Window == nil || len(t.Terms) != 0 || t.By != nil || t.ThenThin != nil {
		return nil, fmt.Errorf("not a window")
	}
	return t.Window, nil
}
