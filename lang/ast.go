package lang

import "github.com/alecthomas/participle/v2/lexer"

// The AST is the participle grammar: each struct's tags are its production, and Pos and
// EndPos are filled in by participle. Fields without a parser tag are set by [Parse]
// after participle returns (the normalised clauses of a statement). The checker never
// modifies an AST.

// File is a parsed script.
type File struct {
	// Name is the filename given to [Parse].
	Name string
	// Stmts are the statements in source order. A statement that failed to parse is a
	// *BadStmt, so the rest of the file stays usable.
	Stmts []Stmt
	// Comments are every comment of the file, in source order.
	Comments []*Comment
}

// Stmt is a statement: *LetStmt, *PolicyStmt, *LRStmt, *DistillStmt, *ThinStmt or
// *BadStmt.
type Stmt interface {
	// Span returns the statement's source range.
	Span() Range
	stmt()
}

// Node holds what participle records for every AST node.
type Node struct {
	// Pos is the position of the node's first token.
	Pos lexer.Position
	// EndPos is the position of the first token after the node.
	EndPos lexer.Position
	// Tokens are the tokens the node consumed.
	Tokens []lexer.Token
}

// Span returns the node's source range, from its first token to the end of its last.
func (n *Node) Span() Range {
	if len(n.Tokens) == 0 {
		return rangeOf(n.Pos, n.Pos)
	}
	return rangeOf(n.Pos, tokenEnd(n.Tokens[len(n.Tokens)-1]))
}

// tokenEnd returns the position just past t (tokens never span lines, except a newline).
func tokenEnd(t lexer.Token) lexer.Position {
	p := t.Pos
	p.Offset += len(t.Value)
	p.Column += len(t.Value)
	return p
}

// Ident is a name with its position.
type Ident struct {
	Node
	// Name is the identifier's text.
	Name string `parser:"@Ident"`
}

// LetStmt is `let NAME = EXPR`.
type LetStmt struct {
	Node
	// Name is the bound name.
	Name *Ident `parser:"'let' @@ '='"`
	// Value is the bound expression.
	Value *Expr `parser:"@@"`
}

// PolicyStmt is a prune, regularize or quantize statement.
type PolicyStmt struct {
	Node
	// Keyword is "prune", "regularize" or "quantize".
	Keyword string `parser:"@('prune' | 'regularize' | 'quantize')"`
	// Selector picks the parameters.
	Selector *Selector `parser:"@@"`
	// Items are the arguments and clauses in source order.
	Items []*Item `parser:"@@*"`
	// Block holds override lines (quantize only).
	Block *Block `parser:"@@?"`

	// Clauses are Items normalised by Parse.
	Clauses
}

// LRStmt is `lr METHOD ARGS WINDOW`.
type LRStmt struct {
	Node
	// Items are the method, arguments and clauses in source order.
	Items []*Item `parser:"'lr' @@*"`

	// Clauses are Items normalised by Parse.
	Clauses
}

// DistillStmt is `distill from TEACHER ARGS WINDOW`.
type DistillStmt struct {
	Node
	// Teacher is the teacher model: a name or a quoted path.
	Teacher *Teacher `parser:"'distill' 'from' @@"`
	// Items are the arguments and clauses in source order.
	Items []*Item `parser:"@@*"`

	// Clauses are Items normalised by Parse.
	Clauses
}

// Teacher names a distillation teacher.
type Teacher struct {
	Node
	// Name is a model name or path written bare.
	Name string `parser:"  @(Ident | Path)"`
	// Path is a quoted string, still quoted.
	Path string `parser:"| @String"`
}

// ThinStmt is `thin [METHOD] WINDOW`.
type ThinStmt struct {
	Node
	// Items are the method and clauses in source order.
	Items []*Item `parser:"'thin' @@*"`

	// Clauses are Items normalised by Parse.
	Clauses
}

// BadStmt stands for a statement that failed to lex or parse; its diagnostic was
// reported. Tools (completion in the REPL) can still look at its tokens.
type BadStmt struct {
	// Range is the statement's extent.
	Range Range
	// Tokens are the statement's tokens, including any Invalid ones.
	Tokens []lexer.Token
}

// Clauses is the normalised form of a statement's items: arguments in order, and at most
// one ranking, one window and one `then thin`.
type Clauses struct {
	// Terms are the arguments (including the method and granularity words) in order.
	Terms []*Term
	// By is the ranking after `by`, or nil.
	By *Ident
	// Window is the window, or nil.
	Window *WindowClause
	// ThenThin is the `then thin` clause, or nil.
	ThenThin *Clause
}

// Item is an argument or a clause.
type Item struct {
	Node
	// Clause is a ranking, window or `then thin`.
	Clause *Clause `parser:"  @@"`
	// Term is an argument.
	Term *Term `parser:"| @@"`
}

// Clause is `by RANKING`, `then thin` or a window.
type Clause struct {
	Node
	// By is the ranking name.
	By *Ident `parser:"  'by' @@"`
	// Thin is set for `then thin`.
	Thin bool `parser:"| @('then' 'thin')"`
	// Window is a window.
	Window *WindowClause `parser:"| @@"`
}

// WindowClause is when a policy is active, as written.
type WindowClause struct {
	Node
	// At is N of `at epoch N`.
	At *Expr `parser:"(  'at' ( 'epoch' @@"`
	// AtList is the list expression of `at epochs [...]`.
	AtList *Expr `parser:"| 'epochs' @@ )"`
	// From is A of `from epoch A ...`.
	From *Expr `parser:"| 'from' 'epoch' @@"`
	// To is B of `... to B`.
	To *Expr `parser:"  ( 'to' @@ )?"`
	// Every is the `every K unit` part of a from-window.
	Every *EveryClause `parser:"  @@?"`
	// Bare is a window written as just `every K unit`.
	Bare *EveryClause `parser:"| @@"`
	// Before is set for `before training`.
	Before bool `parser:"| @('before' 'training')"`
	// After is set for `after training`.
	After bool `parser:"| @('after' 'training') )"`
}

// EveryClause is `every K [epoch|epochs|step|steps]`.
type EveryClause struct {
	Node
	// N is K.
	N *Expr `parser:"'every' @@"`
	// Unit is the unit word as written, or "".
	Unit string `parser:"@('epochs' | 'epoch' | 'steps' | 'step')?"`
}

// Block is an override block of a quantize statement.
type Block struct {
	Node
	// Overrides are the override lines in order.
	Overrides []*OverrideLine `parser:"'{' ( Newline | @@ )* '}'"`
}

// OverrideLine is `override SELECTOR ARGS` as written.
type OverrideLine struct {
	Node
	// Selector picks the parameters the override applies to.
	Selector *Selector `parser:"'override' @@"`
	// Terms are the override's arguments.
	Terms []*Term `parser:"@@*"`
}

// Selector is `SET [except SET]`.
type Selector struct {
	Node
	// Include is what the selector selects.
	Include *SelectorSet `parser:"@@"`
	// Except is removed from Include; nil when absent.
	Except *SelectorSet `parser:"( 'except' @@ )?"`
}

// SelectorSet is one atom or a bracketed list of atoms.
type SelectorSet struct {
	Node
	// Bracket is set for a `[a, b]` list.
	Bracket bool `parser:"(  @'['"`
	// Atoms are the set's atoms.
	Atoms []*SelectorAtom `parser:"   @@ ( ',' @@ )* ','? ']' | @@ )"`
}

// SelectorAtom is a name, glob or regex.
type SelectorAtom struct {
	Node
	// Name is a parameter or layer name or glob, or "*".
	Name string `parser:"  @(Ident | Path | '*')"`
	// Regex is a regex token, still between slashes.
	Regex string `parser:"| @Regex"`
}

// Term is an argument: `[name =] value [bits]`.
type Term struct {
	Node
	// Name is set for `name=value`.
	Name *Ident `parser:"( @@ '=' )?"`
	// Value is the argument's value.
	Value *Expr `parser:"@@"`
	// Bits is set when the value is followed by `bits`.
	Bits bool `parser:"@'bits'?"`
}

// Expr is `SUM [-> SUM]`.
type Expr struct {
	Node
	// Left is the value, or the start of a range.
	Left *Sum `parser:"@@"`
	// To is the end of a range, or nil.
	To *Sum `parser:"( '->' @@ )?"`
}

// Sum is PRODUCT {(+|-) PRODUCT}.
type Sum struct {
	Node
	// Left is the first operand.
	Left *Product `parser:"@@"`
	// Ops are the following operators and operands.
	Ops []*SumOp `parser:"@@*"`
}

// SumOp is one `+ x` or `- x`.
type SumOp struct {
	Node
	// Op is "+" or "-".
	Op string `parser:"@('+' | '-')"`
	// Right is the operand.
	Right *Product `parser:"@@"`
}

// Product is UNARY {(*|/) UNARY}.
type Product struct {
	Node
	// Left is the first operand.
	Left *Unary `parser:"@@"`
	// Ops are the following operators and operands.
	Ops []*ProductOp `parser:"@@*"`
}

// ProductOp is one `* x` or `/ x`.
type ProductOp struct {
	Node
	// Op is "*" or "/".
	Op string `parser:"@('*' | '/')"`
	// Right is the operand.
	Right *Unary `parser:"@@"`
}

// Unary is `[-|+] PRIMARY`.
type Unary struct {
	Node
	// Op is "-", "+" or "".
	Op string `parser:"@('-' | '+')?"`
	// X is the operand.
	X *Primary `parser:"@@"`
}

// Primary is a literal, name, list or parenthesised expression.
type Primary struct {
	Node
	// Number is a number token as written ("70%", "1e-5").
	Number string `parser:"  @Number"`
	// String is a string token, still quoted.
	String string `parser:"| @String"`
	// Ident is a bare name.
	Ident string `parser:"| @Ident"`
	// Path is a dotted or wildcard name (not a value; kept for diagnostics).
	Path string `parser:"| @Path"`
	// List is a bracketed list.
	List *List `parser:"| @@"`
	// Paren is a parenthesised expression.
	Paren *Expr `parser:"| '(' @@ ')'"`
}

// List is `[a, b, ...]`.
type List struct {
	Node
	// Elems are the elements.
	Elems []*Expr `parser:"'[' ( @@ ( ',' @@ )* ','? )? ']'"`
}

func (*LetStmt) stmt()     {}
func (*PolicyStmt) stmt()  {}
func (*LRStmt) stmt()      {}
func (*DistillStmt) stmt() {}
func (*ThinStmt) stmt()    {}
func (*BadStmt) stmt()     {}

// Span returns the statement's range.
func (s *BadStmt) Span() Range { return s.Range }
