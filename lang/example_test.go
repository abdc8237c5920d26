package lang_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/stdlib"
)

// Example shows the whole embedding: parse and check a script against a model's
// parameter table and the standard methods, then walk the checked policies.
func Example() {
	params := []lang.ParamInfo{
		{Name: "conv1.weight", Shape: []int{20, 1, 5, 5}, Kind: "weight"},
		{Name: "conv1.bias", Shape: []int{20}, Kind: "bias"},
		{Name: "fc1.weight", Shape: []int{10, 2880}, Kind: "weight"},
		{Name: "fc1.bias", Shape: []int{10}, Kind: "bias"},
	}
	src := []byte(`let target = 90%
prune fc1 agp 5% -> target from epoch 0 to 8 every 2
prune conv1 filters 25% by l2 at epoch 4 then thin
quantize * linear 8 bits after training
`)
	prog, diags := lang.CheckSource("lenet.dst", src, lang.Env{Params: params, Builtins: stdlib.Signatures(), Epochs: 10})
	if diags.HasErrors() {
		fmt.Println(diags)
		return
	}
	for _, p := range prog.Policies {
		fmt.Printf("%s %s %v %s\n", p.Kind, p.Method, p.Params, p.Window)
	}
	agp := prog.Policies[0]
	s := agp.Args["sparsity"]
	fmt.Println("agp", s.From, "->", s.To, "active at 2:", agp.Window.ActiveAt(2), "at 3:", agp.Window.ActiveAt(3))
	// Output:
	// prune agp [fc1.weight] from epoch 0 to 8 every 2 epochs
	// prune level [conv1.weight] at epoch 4
	// quantize linear [conv1.weight fc1.weight] after training
	// agp 0.05 -> 0.9 active at 2: true at 3: false
}

// ExampleDiagnosticWriter shows the printed form of diagnostics: file:line:col first,
// the source line, an underline and the detail.
func ExampleDiagnosticWriter() {
	src := []byte("prune fc1 magnitdue 0.3 at epoch 2\nprune fc1 level 0.5 from epoch 0 to 4\nprune fc* level 0.7 at epoch 2\n")
	params := []lang.ParamInfo{{Name: "fc1.weight", Shape: []int{10, 20}, Kind: "weight"}}
	_, diags := lang.CheckSource("model.dst", src, lang.Env{Params: params, Builtins: stdlib.Signatures()})
	w := lang.NewDiagnosticWriter(os.Stdout, map[string][]byte{"model.dst": src}, 80, false)
	_ = w.WriteDiagnostics(diags)
	// Output:
	// model.dst:1:11: error: Unknown prune method
	//     1 | prune fc1 magnitdue 0.3 at epoch 2
	//       |           ^^^^^^^^^
	//   There is no prune method called "magnitdue". Did you mean "magnitude"?
	// model.dst:3:1: error: Conflicting policies
	//     3 | prune fc* level 0.7 at epoch 2
	//       | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
	//   Both policies set the mask of fc1.weight while their windows overlap (from
	//   epoch 0 to 4 and at epoch 2); the later one would overwrite the earlier one's
	//   mask. Make the windows disjoint or narrow a selector.
	// model.dst:2:1: note: the other policy is here
	//     2 | prune fc1 level 0.5 from epoch 0 to 4
	//       | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
	// 2 errors
}

func TestDiagnosticWriterColorAndOddInput(t *testing.T) {
	src := []byte("let a = \xff\tb\n" + "prune " + strings.Repeat("x", 500) + "$ level 0.5\n")
	_, diags := lang.Parse("t.dst", src)
	var buf bytes.Buffer
	w := lang.NewDiagnosticWriter(&buf, map[string][]byte{"t.dst": src}, 0, true)
	if err := w.WriteDiagnostics(diags); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "\x1b[1;31merror") {
		t.Errorf("colour requested but not used:\n%q", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if len(line) > 400 {
			t.Errorf("snippet line not shortened (%d bytes)", len(line))
		}
		if strings.ContainsRune(line, '\t') || strings.Contains(line, "\xff") {
			t.Errorf("control bytes leaked into output: %q", line)
		}
	}
	var plain bytes.Buffer
	_ = lang.NewDiagnosticWriter(&plain, nil, 60, false).WriteDiagnostics(diags)
	if strings.Contains(plain.String(), "\x1b") {
		t.Error("colour used although disabled")
	}
	if !strings.HasPrefix(plain.String(), "t.dst:1:9: error: Invalid UTF-8") {
		t.Errorf("plain output starts %q", plain.String())
	}
}

func TestDiagnosticsError(t *testing.T) {
	_, diags := lang.Parse("t.dst", []byte("bogus\nprune\nlet\n"))
	if len(diags) != 3 {
		t.Fatalf("got %d diagnostics", len(diags))
	}
	var err error = diags
	if got := err.Error(); !strings.HasPrefix(got, "t.dst:1:1: Unknown statement") || !strings.HasSuffix(got, ", and 2 more") {
		t.Errorf("Error() = %q", got)
	}
}

// ExampleFormat shows the canonical layout: spacing normalised, comments kept.
func ExampleFormat() {
	src := []byte("let t=90%   # target\nprune   fc1 agp 5%->t from epoch 0 to 8\n\n\n\nquantize * linear 8 bits{override fc1 float}\n")
	out, diags := lang.Format("a.dst", src)
	if diags.HasErrors() {
		fmt.Println(diags)
		return
	}
	fmt.Print(string(out))
	// Output:
	// let t = 90% # target
	// prune fc1 agp 5% -> t from epoch 0 to 8
	//
	// quantize * linear 8 bits {
	//     override fc1 float
	// }
}

// ExampleParse shows that a file with a syntax error still yields the other statements.
func ExampleParse() {
	f, diags := lang.Parse("a.dst", []byte("let a = 1\nprune\nlr step 0.1 every 2 epochs\n"))
	for _, s := range f.Stmts {
		fmt.Printf("%T at %s\n", s, s.Span())
	}
	fmt.Println(diags)
	// Output:
	// *lang.LetStmt at a.dst:1:1
	// *lang.BadStmt at a.dst:2:1
	// *lang.LRStmt at a.dst:3:1
	// a.dst:2:6: Syntax error; Found the end of the statement where a selector was expected.
}

func TestDiagnosticWriterByteOrderMark(t *testing.T) {
	src := []byte("\ufeffprune fc1 levle 0.5 at epoch 0\n")
	_, diags := lang.CheckSource("b.dst", src, lang.Env{Builtins: stdlib.Signatures()})
	var buf bytes.Buffer
	_ = lang.NewDiagnosticWriter(&buf, map[string][]byte{"b.dst": src}, 80, false).WriteDiagnostics(diags)
	want := "b.dst:1:11: error: Unknown prune method\n    1 | prune fc1 levle 0.5 at epoch 0\n      |           ^^^^^\n"
	if !strings.HasPrefix(buf.String(), want) {
		t.Errorf("got:\n%s\nwant prefix:\n%s", buf.String(), want)
	}
}

// ExampleWriteJSON shows the JSON form of diagnostics, for editors and CI.
func ExampleWriteJSON() {
	_, diags := lang.CheckSource("a.dst", []byte("lr stpe 0.1 every 2 epochs\n"), lang.Env{Builtins: stdlib.Signatures()})
	_ = lang.WriteJSON(os.Stdout, diags)
	// Output:
	// [
	//   {
	//     "severity": "error",
	//     "summary": "Unknown lr method",
	//     "detail": "There is no lr method called \"stpe\". Did you mean \"step\"?",
	//     "range": {
	//       "file": "a.dst",
	//       "start": {
	//         "line": 1,
	//         "column": 4,
	//         "offset": 3
	//       },
	//       "end": {
	//         "line": 1,
	//         "column": 8,
	//         "offset": 7
	//       }
	//     }
	//   }
	// ]
}
