package lang

// The lexer is hand-written rather than built from participle's regex lexer because two
// tokens depend on context: a `/` starts a regex unless it follows a value (then it is
// division), and a `*` is a glob inside a path but an operator on its own. It also tracks
// bracket depth (newlines inside ( ) and [ ] are not statement ends) and turns every
// malformed byte into an Invalid token with a diagnostic instead of failing the whole file.

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2/lexer"
)

// Token types of the .dst lexer.
const (
	tokEOF     = lexer.EOF
	tokIdent   = lexer.TokenType(-2)
	tokKeyword = lexer.TokenType(-3)
	tokPath    = lexer.TokenType(-4)
	tokNumber  = lexer.TokenType(-5)
	tokString  = lexer.TokenType(-6)
	tokRegex   = lexer.TokenType(-7)
	tokPunct   = lexer.TokenType(-8)
	tokNewline = lexer.TokenType(-9)
	tokInvalid = lexer.TokenType(-10)
)

var tokenSymbols = map[string]lexer.TokenType{
	"EOF":     tokEOF,
	"Ident":   tokIdent,
	"Keyword": tokKeyword,
	"Path":    tokPath,
	"Number":  tokNumber,
	"String":  tokString,
	"Regex":   tokRegex,
	"Punct":   tokPunct,
	"Newline": tokNewline,
	"Invalid": tokInvalid,
}

// keywords are reserved words: they are never identifiers.
var keywords = map[string]bool{
	"let": true, "prune": true, "regularize": true, "quantize": true, "lr": true,
	"distill": true, "thin": true, "by": true, "then": true, "at": true, "from": true,
	"to": true, "every": true, "before": true, "after": true, "except": true, "override": true,
}

// Limits on input size; exceeding one is a diagnostic.
const (
	maxSource  = 8 << 20
	maxNesting = 64
)

// Comment is a `#` comment of a source file.
type Comment struct {
	// Text is the comment including the leading '#', without the newline.
	Text string
	// Range is where the comment is.
	Range Range
}

// lexResult is everything the lexer produced for one file.
type lexResult struct {
	tokens   []lexer.Token
	comments []*Comment
	// errs maps the index of each Invalid token to its diagnostic.
	errs map[int]*Diagnostic
}

type scanner struct {
	filename string
	src      []byte
	text     string // src as a string, sliced for token values without copying
	off      int
	line     int
	col      int // 1-based byte column
	depth    int // ( and [ nesting
	res      lexResult
}

// lex splits src into tokens. It never fails: malformed input becomes Invalid tokens.
func lex(filename string, src []byte) *lexResult {
	s := &scanner{filename: filename, src: src, text: string(src), line: 1, col: 1}
	s.res.errs = map[int]*Diagnostic{}
	s.res.tokens = make([]lexer.Token, 0, len(src)/5+16)
	s.run()
	return &s.res
}

func (s *scanner) pos() lexer.Position {
	return lexer.Position{Filename: s.filename, Offset: s.off, Line: s.line, Column: s.col}
}

func (s *scanner) advance(n int) {
	for i := 0; i < n && s.off < len(s.src); i++ {
		if s.src[s.off] == '\n' {
			s.line++
			s.col = 1
		} else {
			s.col++
		}
		s.off++
	}
}

func (s *scanner) emit(typ lexer.TokenType, start lexer.Position) {
	s.res.tokens = append(s.res.tokens, lexer.Token{Type: typ, Value: s.text[start.Offset:s.off], Pos: start})
}

func (s *scanner) invalid(start lexer.Position, summary, detail string) {
	if s.off == start.Offset {
		s.advance(1)
	}
	s.res.errs[len(s.res.tokens)] = &Diagnostic{
		Severity: Error, Summary: summary, Detail: detail,
		Subject: &Range{Filename: s.filename, Start: posOf(start), End: posOf(s.pos())},
	}
	s.emit(tokInvalid, start)
}

// prevIsValue reports whether the previous token ends a value, so that a following '/'
// is division rather than the start of a regex.
func (s *scanner) prevIsValue() bool {
	if len(s.res.tokens) == 0 {
		return false
	}
	t := s.res.tokens[len(s.res.tokens)-1]
	switch t.Type {
	case tokNumber, tokString, tokIdent, tokPath, tokRegex:
		return true
	case tokPunct:
		return t.Value == ")" || t.Value == "]"
	}
	return false
}

func isLetter(c byte) bool { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isPathChar(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '.' || c == '*' || c == '?'
}

func (s *scanner) peekAt(i int) byte {
	if s.off+i < len(s.src) {
		return s.src[s.off+i]
	}
	return 0
}

func (s *scanner) run() {
	if len(s.src) > maxSource {
		start := s.pos()
		s.res.errs[0] = &Diagnostic{
			Severity: Error, Summary: "File too large",
			Detail:  fmt.Sprintf("A .dst script may be at most %d bytes; this one has %d.", maxSource, len(s.src)),
			Subject: &Range{Filename: s.filename, Start: posOf(start), End: posOf(start)},
		}
		s.res.tokens = append(s.res.tokens, lexer.Token{Type: tokInvalid, Pos: start}, lexer.Token{Type: tokEOF, Pos: start})
		return
	}
	if len(s.src) >= 3 && s.src[0] == 0xef && s.src[1] == 0xbb && s.src[2] == 0xbf {
		s.off = 3 // a UTF-8 byte-order mark, as some editors write: skipped, and not a column
		s.col = 1
	}
	for s.off < len(s.src) {
		c := s.src[s.off]
		start := s.pos()
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			s.advance(1)
		case c == '\n':
			if s.depth == 0 {
				s.advance(1)
				s.emit(tokNewline, start)
				s.res.tokens[len(s.res.tokens)-1].Value = "\n"
			} else {
				s.advance(1)
			}
		case c == '#':
			end := s.off
			for end < len(s.src) && s.src[end] != '\n' {
				end++
			}
			text := s.src[s.off:end]
			if !utf8.Valid(text) {
				s.advance(end - s.off)
				s.invalid(start, "Invalid UTF-8", "A comment contains bytes that are not valid UTF-8.")
				continue
			}
			s.advance(end - s.off)
			s.res.comments = append(s.res.comments, &Comment{
				Text:  strings.TrimRight(string(text), " \t\r"),
				Range: Range{Filename: s.filename, Start: posOf(start), End: posOf(s.pos())},
			})
		case isLetter(c) || ((c == '*' || c == '?') && isPathStart(s.peekAt(1))):
			s.word(start)
		case c == '?':
			s.advance(1)
			s.invalid(start, "Unexpected character", "A `?` is a wildcard and may appear only inside a path such as `fc?.weight`.")
		case isDigit(c) || (c == '.' && isDigit(s.peekAt(1))):
			s.number(start)
		case c == '"':
			s.str(start)
		case c == '/' && !s.prevIsValue():
			s.regex(start)
		case c == '-' && s.peekAt(1) == '>':
			s.advance(2)
			s.emit(tokPunct, start)
		case strings.IndexByte("=,+-*/{}", c) >= 0:
			s.advance(1)
			s.emit(tokPunct, start)
		case c == '(' || c == '[':
			s.depth++
			s.advance(1)
			if s.depth == maxNesting+1 {
				// Only the first bracket past the limit is reported: the statement is
				// already invalid, and one token per bracket would cost memory on hostile
				// input.
				s.invalid(start, "Nesting too deep", fmt.Sprintf("Brackets may be nested at most %d deep.", maxNesting))
				continue
			}
			s.emit(tokPunct, start)
		case c == ')' || c == ']':
			if s.depth > 0 {
				s.depth--
			}
			s.advance(1)
			s.emit(tokPunct, start)
		default:
			r, size := utf8.DecodeRune(s.src[s.off:])
			switch {
			case r == utf8.RuneError && size <= 1:
				s.invalid(start, "Invalid UTF-8", fmt.Sprintf("The byte 0x%02x is not valid UTF-8; a .dst script is UTF-8 text.", c))
			case c == 0:
				s.invalid(start, "Unexpected character", "The script contains a NUL byte; is it a binary file?")
			default:
				s.advance(size)
				s.invalid(start, "Unexpected character", fmt.Sprintf("The character %q cannot appear here; names are ASCII letters, digits and `_`.", r))
			}
		}
	}
	s.res.tokens = append(s.res.tokens, lexer.Token{Type: tokEOF, Pos: s.pos()})
}

func isPathStart(c byte) bool { return isLetter(c) || c == '.' || c == '*' || c == '?' }

func (s *scanner) word(start lexer.Position) {
	end := s.off
	path := false
	for end < len(s.src) && isPathChar(s.src[end]) {
		if c := s.src[end]; c == '.' || c == '*' || c == '?' {
			path = true
		}
		end++
	}
	s.advance(end - s.off)
	text := s.text[start.Offset:s.off]
	switch {
	case path:
		s.emit(tokPath, start)
	case keywords[text]:
		s.emit(tokKeyword, start)
	default:
		s.emit(tokIdent, start)
	}
}

func (s *scanner) number(start lexer.Position) {
	digits := func() {
		for isDigit(s.peekAt(0)) {
			s.advance(1)
		}
	}
	digits()
	if s.peekAt(0) == '.' && isDigit(s.peekAt(1)) {
		s.advance(1)
		digits()
	}
	if c := s.peekAt(0); c == 'e' || c == 'E' {
		if isDigit(s.peekAt(1)) {
			s.advance(1)
			digits()
		} else if (s.peekAt(1) == '+' || s.peekAt(1) == '-') && isDigit(s.peekAt(2)) {
			s.advance(2)
			digits()
		}
	}
	if s.peekAt(0) == '%' {
		s.advance(1)
	}
	if c := s.peekAt(0); isLetter(c) || isDigit(c) || c == '.' {
		for c := s.peekAt(0); isPathChar(c); c = s.peekAt(0) {
			s.advance(1)
		}
		s.invalid(start, "Malformed number", fmt.Sprintf("%q is not a number; separate a number from the word after it with a space (`8 bits`).", string(s.src[start.Offset:s.off])))
		return
	}
	s.emit(tokNumber, start)
}

func (s *scanner) str(start lexer.Position) {
	s.advance(1)
	for {
		c := s.peekAt(0)
		switch {
		case s.off >= len(s.src) || c == '\n':
			s.invalid(start, "Unterminated string", "A string must end with `\"` on the line where it starts.")
			return
		case c == '\\':
			switch s.peekAt(1) {
			case '"', '\\', 'n', 't':
				s.advance(2)
			default:
				s.advance(1)
				for s.off < len(s.src) && s.src[s.off] != '"' && s.src[s.off] != '\n' {
					s.advance(1)
				}
				if s.peekAt(0) == '"' {
					s.advance(1)
				}
				s.invalid(start, "Invalid escape", "Strings support only the escapes \\\" \\\\ \\n and \\t.")
				return
			}
		case c == '"':
			s.advance(1)
			if !utf8.Valid(s.src[start.Offset:s.off]) {
				s.invalid(start, "Invalid UTF-8", "A string contains bytes that are not valid UTF-8.")
				return
			}
			s.emit(tokString, start)
			return
		default:
			s.advance(1)
		}
	}
}

func (s *scanner) regex(start lexer.Position) {
	s.advance(1)
	for {
		c := s.peekAt(0)
		switch {
		case s.off >= len(s.src) || c == '\n':
			s.invalid(start, "Unterminated regex", "A regex `/.../` must end with `/` on the line where it starts; write `\\/` for a slash inside it.")
			return
		case c == '\\' && s.off+1 < len(s.src) && s.src[s.off+1] != '\n':
			s.advance(2)
		case c == '/':
			s.advance(1)
			if !utf8.Valid(s.src[start.Offset:s.off]) {
				s.invalid(start, "Invalid UTF-8", "A regex contains bytes that are not valid UTF-8.")
				return
			}
			s.emit(tokRegex, start)
			return
		default:
			s.advance(1)
		}
	}
}

// unquote returns the contents of a string token.
func unquote(tok string) string {
	if len(tok) < 2 {
		return ""
	}
	body := tok[1 : len(tok)-1]
	if !strings.Contains(body, `\`) {
		return body
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		if body[i] == '\\' && i+1 < len(body) {
			i++
			switch body[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				b.WriteByte(body[i])
			}
			continue
		}
		b.WriteByte(body[i])
	}
	return b.String()
}

// regexBody returns the pattern of a regex token, with `\/` turned into `/`.
func regexBody(tok string) string {
	if len(tok) < 2 {
		return ""
	}
	return strings.ReplaceAll(tok[1:len(tok)-1], `\/`, "/")
}

// definition adapts the lexer to participle. [Parse] feeds participle one statement at a
// time through sliceLexer; Lex serves participle's own entry points.
type definition struct{}

// Symbols returns the token types by name.
func (definition) Symbols() map[string]lexer.TokenType { return tokenSymbols }

// Lex reads r and returns its tokens; malformed input becomes Invalid tokens.
func (definition) Lex(filename string, r io.Reader) (lexer.Lexer, error) {
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	res := lex(filename, src)
	return &sliceLexer{toks: res.tokens}, nil
}

type sliceLexer struct {
	toks []lexer.Token
	i    int
}

// Next returns the next token, and the final EOF token forever after.
func (l *sliceLexer) Next() (lexer.Token, error) {
	if l.i >= len(l.toks) {
		return l.toks[len(l.toks)-1], nil
	}
	t := l.toks[l.i]
	l.i++
	return t, nil
}
