package lang

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/participle/v2/lexer"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// paritySources returns the corpus: examples, testdata and some hand-picked statements.
func paritySources(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	paths, _ := filepath.Glob("../examples/*.dst")
	more, _ := filepath.Glob("testdata/*/*.dst")
	for _, p := range append(paths, more...) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, chunk := range strings.Split(string(data), "\n---\n") {
			out = append(out, []byte(chunk))
		}
	}
	for _, s := range []string{
		"prune [a, b,] level 0.5 at epoch 1", "prune [a,,b] level", "let x = [1, 2,]", "let x = []",
		"let x = [,]", "prune a b = c d = e", "lr x = = 1", "quantize * {", "quantize * { }",
		"quantize * {\n\noverride a 1\n\n}", "thin then", "thin then thin then", "prune a at epochs",
		"prune a from epoch 1 to", "prune a from epoch 1 every 2 steps to 3", "distill from", "distill from 3",
		"prune * except * except *", "prune a 8 bits bits", "let a = -+1", "let a = --1", "let a = 1 -> 2 -> 3",
		"prune a every 2 epoch every 3", "prune a (1, 2)", "prune a level (", "let = 1", "let a 1",
	} {
		out = append(out, []byte(s))
	}
	return out
}

// checkParity parses every statement of src with both parsers and reports any
// difference in acceptance or in the tree.
func checkParity(t *testing.T, src []byte) {
	t.Helper()
	res := lex("p.dst", src)
	for _, span := range splitStatements(res.tokens) {
		toks := res.tokens[span[0]:span[1]]
		bad := false
		for i := range toks {
			if _, ok := res.errs[span[0]+i]; ok {
				bad = true
			}
		}
		if bad || toks[0].Type != tokKeyword || !contains(statementStarts, toks[0].Value) {
			continue
		}
		stream := append(append([]lexer.Token(nil), toks...), lexer.Token{Type: tokEOF, Pos: tokenEnd(toks[len(toks)-1])})
		rd, rdErr := parseStmtRD(toks[:len(toks):len(toks)], stream[len(stream)-1])
		pp, ppErr := parseStmtParticiple(stream)
		if (rdErr == nil) != (ppErr == nil) {
			t.Fatalf("parsers disagree on %q: hand-written error %v, participle error %v", joinTokens(toks), rdErr, ppErr)
		}
		if rdErr != nil {
			continue
		}
		if diff := cmp.Diff(pp, rd, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("trees differ for %q (-participle +hand-written):\n%s", joinTokens(toks), diff)
		}
	}
}

func joinTokens(toks []lexer.Token) string {
	parts := make([]string, len(toks))
	for i, t := range toks {
		parts[i] = t.Value
	}
	return strings.Join(parts, " ")
}

// FuzzParserParity checks that the hand-written parser and the participle grammar agree:
// a plain test run checks the whole corpus (the seeds), and -fuzz looks for statements
// on which they disagree.
func FuzzParserParity(f *testing.F) {
	for _, src := range paritySources(f) {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 4096 {
			return
		}
		checkParity(t, src)
	})
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"conv*", "conv1", true},
		{"conv*", "conv1.weight", true},
		{"layer1.*.conv2", "layer1.0.conv2", true},
		{"layer1.*.conv2", "layer1.0.conv1", false},
		{"*", "", true},
		{"fc?", "fc1", true},
		{"fc?", "fc10", false},
		{"*.bias", "layer1.0.bn1.bias", true},
		{"a*b*c", "abxbyc", true},
		{"a*b*c", "abxbyd", false},
		{"", "", true},
		{"", "a", false},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.name); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	cands := []string{"magnitude", "level", "agp", "sensitivity", "per_channel", "l1", "l2"}
	tests := []struct{ in, want string }{
		{"magnitdue", "magnitude"},
		{"levle", "level"},
		{"Level", "level"},
		{"perchannel", "per_channel"},
		{"l3", "l1"},
		{"xyz", ""},
		{"agpp", "agp"},
	}
	for _, tt := range tests {
		if got := suggest(tt.in, cands); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
