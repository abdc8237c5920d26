package lang_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/dst-dev/dst/lang"
)

// A testdata/errors file is a sequence of chunks separated by lines of `---`. Each chunk
// is a script checked on its own. A comment `## ERROR regexp` or `## WARNING regexp` on
// a line says that a diagnostic of that severity, whose text matches regexp, is reported
// at that line; every diagnostic must be expected. A chunk may start with
// `#! model=resnet20 epochs=10` to pick the parameter table (simplenet by default,
// none for no model) and the run length.

type chunk struct {
	file   string
	line   int // first line of the chunk in the file
	src    string
	model  string
	epochs int
}

func readChunks(t *testing.T, path string) []chunk {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var chunks []chunk
	lines := strings.Split(string(data), "\n")
	start := 0
	flush := func(end int) {
		body := strings.Join(lines[start:end], "\n")
		if strings.TrimSpace(body) == "" {
			return
		}
		c := chunk{file: filepath.Base(path), line: start + 1, src: body, model: "simplenet"}
		first := strings.TrimSpace(lines[start])
		if strings.HasPrefix(first, "#!") {
			for _, kv := range strings.Fields(first[2:]) {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "model":
					c.model = v
				case "epochs":
					c.epochs, _ = strconv.Atoi(v)
				}
			}
		}
		chunks = append(chunks, c)
	}
	for i, l := range lines {
		if strings.TrimSpace(l) == "---" {
			flush(i)
			start = i + 1
		}
	}
	flush(len(lines))
	return chunks
}

func paramsFor(model string) []lang.ParamInfo {
	switch model {
	case "resnet20":
		return resnet20Params()
	case "lenet300":
		return lenet300Params()
	case "none":
		return nil
	}
	return simplenetParams()
}

var expectRE = regexp.MustCompile(`## (ERROR|WARNING) (.*)$`)

// TestErrorCorpus runs every chunk of testdata/errors.
func TestErrorCorpus(t *testing.T) {
	files, _ := filepath.Glob("testdata/errors/*.dst")
	if len(files) == 0 {
		t.Fatal("no testdata/errors files")
	}
	failing := 0
	for _, path := range files {
		for _, c := range readChunks(t, path) {
			name := fmt.Sprintf("%s:%d", c.file, c.line)
			hasError := false
			t.Run(name, func(t *testing.T) {
				type want struct {
					line int
					sev  string
					re   *regexp.Regexp
					hit  bool
				}
				var wants []*want
				for i, l := range strings.Split(c.src, "\n") {
					if m := expectRE.FindStringSubmatch(l); m != nil {
						re, err := regexp.Compile(strings.TrimSpace(m[2]))
						if err != nil {
							t.Fatalf("line %d: bad regexp: %v", i+1, err)
						}
						wants = append(wants, &want{line: i + 1, sev: strings.ToLower(m[1]), re: re})
						if m[1] == "ERROR" {
							hasError = true
						}
					}
				}
				_, diags := lang.CheckSource("t.dst", []byte(c.src), lang.Env{
					Params: paramsFor(c.model), Builtins: testBuiltins(), Epochs: c.epochs,
				})
				for _, d := range diags {
					line := 0
					if d.Subject != nil {
						line = d.Subject.Start.Line
					}
					matched := false
					for _, w := range wants {
						if !w.hit && w.line == line && w.sev == d.Severity.String() && w.re.MatchString(d.Summary+": "+d.Detail) {
							w.hit, matched = true, true
							break
						}
					}
					if !matched {
						t.Errorf("%s:%d: unexpected %s: %s: %s", c.file, c.line+line-1, d.Severity, d.Summary, d.Detail)
					}
				}
				for _, w := range wants {
					if !w.hit {
						t.Errorf("%s:%d: missing %s matching %q", c.file, c.line+w.line-1, w.sev, w.re)
					}
				}
			})
			if hasError {
				failing++
			}
		}
	}
	if failing < 80 {
		t.Errorf("the corpus holds %d failing scripts, want at least 80", failing)
	}
}

// TestValidCorpus checks that every testdata/valid script (and every example) checks
// cleanly, and that formatting it is idempotent and keeps its parse tree.
func TestValidCorpus(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.dst")
	ex, _ := filepath.Glob("../examples/*.dst")
	files = append(files, ex...)
	if len(files) == 0 {
		t.Fatal("no valid scripts")
	}
	for _, path := range files {
		for _, c := range readChunks(t, path) {
			t.Run(fmt.Sprintf("%s:%d", c.file, c.line), func(t *testing.T) {
				model := c.model
				switch lang.HeaderModel([]byte(c.src)) {
				case "resnet20_cifar":
					model = "resnet20"
				case "lenet300_100":
					model = "lenet300"
				}
				prog, diags := lang.CheckSource("t.dst", []byte(c.src), lang.Env{
					Params: paramsFor(model), Builtins: testBuiltins(), Epochs: c.epochs,
				})
				if len(diags) != 0 || prog == nil {
					t.Fatalf("diagnostics: %v", diags)
				}
				checkFormatRoundTrip(t, c.src)
			})
		}
	}
}

func checkFormatRoundTrip(t *testing.T, src string) {
	t.Helper()
	f1, d := lang.Parse("t.dst", []byte(src))
	if d.HasErrors() {
		return
	}
	out, d := lang.Format("t.dst", []byte(src))
	if d.HasErrors() {
		t.Fatalf("Format: %v", d)
	}
	f2, d := lang.Parse("t.dst", out)
	if d.HasErrors() {
		t.Fatalf("formatted output does not parse: %v\n%s", d, out)
	}
	if a, b := dump(f1), dump(f2); a != b {
		t.Fatalf("format changed the tree:\n%s\n---\n%s\n--- formatted:\n%s", a, b, out)
	}
	again, _ := lang.Format("t.dst", out)
	if string(again) != string(out) {
		t.Fatalf("format is not idempotent:\n%s\n---\n%s", out, again)
	}
	if n1, n2 := len(f1.Comments), len(f2.Comments); n1 != n2 {
		t.Fatalf("format lost comments: %d -> %d\n%s", n1, n2, out)
	}
}

// TestTooManyArgumentErrors checks that a statement's argument errors stop at ten, with
// one "Too many errors" diagnostic saying so, as the language reference promises.
func TestTooManyArgumentErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("prune fc1 level 0.5")
	for i := range 12 {
		fmt.Fprintf(&b, " zz%d=1", i)
	}
	b.WriteString(" at epoch 0\n")
	_, diags := lang.CheckSource("t.dst", []byte(b.String()), lang.Env{Builtins: testBuiltins()})
	var unknown, tooMany int
	for _, d := range diags {
		switch d.Summary {
		case "Unknown argument":
			unknown++
		case "Too many errors":
			tooMany++
		default:
			t.Errorf("unexpected %s: %s", d.Summary, d.Detail)
		}
	}
	if unknown != 10 || tooMany != 1 {
		t.Errorf("%d unknown-argument errors and %d too-many ones, want 10 and 1", unknown, tooMany)
	}
}
