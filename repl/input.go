package repl

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
)

// NeedsMore reports whether text is an unfinished input: a bracket ( [ or brace { is
// still open. Brackets inside strings, regexes and comments do not count. A closing
// bracket without its opener does not ask for more: the parser reports it.
func NeedsMore(text string) bool {
	depth := 0
	prevValue := false // the last token was a value, so '/' is division
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '#':
			for i < len(text) && text[i] != '\n' {
				i++
			}
			prevValue = false
		case c == '"':
			for i++; i < len(text) && text[i] != '"' && text[i] != '\n'; i++ {
				if text[i] == '\\' {
					i++
				}
			}
			prevValue = true
		case c == '/' && !prevValue:
			for i++; i < len(text) && text[i] != '/' && text[i] != '\n'; i++ {
				if text[i] == '\\' {
					i++
				}
			}
			prevValue = true
		case c == '(' || c == '[' || c == '{':
			depth++
			prevValue = false
		case c == ')' || c == ']' || c == '}':
			depth--
			prevValue = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		case isWordByte(c):
			j := i
			for j < len(text) && isWordByte(text[j]) {
				j++
			}
			prevValue = !keywords[text[i:j]] // a regex may follow a keyword
			i = j - 1
		default:
			prevValue = c == '%'
		}
	}
	return depth > 0
}

// keywords are the reserved words of the language (docs/language.md §1).
var keywords = map[string]bool{"let": true, "prune": true, "regularize": true, "quantize": true, "lr": true,
	"distill": true, "thin": true, "by": true, "then": true, "at": true, "from": true, "to": true, "every": true,
	"before": true, "after": true, "except": true, "override": true}

func isWordByte(c byte) bool {
	return c == '_' || c == '.' || c == '*' || c == '?' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// RunScript executes the inputs read from r until its end or `exit`, without prompts:
// lines are joined while [NeedsMore] says an input is unfinished. It returns the number
// of inputs that failed, and an error when reading r fails or ctx is cancelled. Problems
// are printed by the session and never stop the script. While an input runs, an
// interrupt (SIGINT) cancels that input only, as in [Run].
func RunScript(ctx context.Context, s *Session, r io.Reader) (failed int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 8<<20)
	var pending []string
	run := func() bool {
		text := strings.Join(pending, "\n")
		pending = pending[:0]
		cctx, stop := commandContext(ctx)
		err := s.Exec(cctx, text)
		stop()
		if errors.Is(err, ErrExit) {
			return false
		}
		if err != nil {
			failed++
		}
		return true
	}
	for sc.Scan() {
		pending = append(pending, sc.Text())
		if NeedsMore(strings.Join(pending, "\n")) {
			continue
		}
		if !run() {
			return failed, nil
		}
		if ctx.Err() != nil {
			return failed, ctx.Err()
		}
	}
	if len(pending) > 0 {
		run()
	}
	return failed, sc.Err()
}
