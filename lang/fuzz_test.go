package lang_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dst-dev/dst/lang"
)

// maxFuzzInput caps fuzz inputs; larger inputs are covered by TestHostileInputs.
const maxFuzzInput = 16 << 10

// FuzzParseCheckFormat checks that no input makes the parser, checker or formatter
// panic, and that for every input that parses, formatting gives a file that parses to
// the same tree and formats to itself.
func FuzzParseCheckFormat(f *testing.F) {
	seeds, _ := filepath.Glob("../examples/*.dst")
	more, _ := filepath.Glob("testdata/*/*.dst")
	for _, path := range append(seeds, more...) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		for _, chunk := range strings.Split(string(data), "\n---\n") {
			f.Add([]byte(chunk))
		}
	}
	params := resnet20Params()
	builtins := testBuiltins()
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > maxFuzzInput {
			return
		}
		fuzzOne(t, src, params, builtins)
	})
}

func fuzzOne(t *testing.T, src []byte, params []lang.ParamInfo, builtins *lang.Builtins) {
	t.Helper()
	file, diags := lang.Parse("f.dst", src)
	for _, d := range diags {
		if d.Subject == nil {
			t.Fatalf("diagnostic without position: %v", d)
		}
	}
	prog, cdiags := lang.Check(file, lang.Env{Params: params, Builtins: builtins, Epochs: 10})
	if prog != nil && cdiags.HasErrors() {
		t.Fatal("Check returned a program along with errors")
	}
	var buf bytes.Buffer
	all := append(diags, cdiags...)
	_ = lang.NewDiagnosticWriter(&buf, map[string][]byte{"f.dst": src}, 80, false).WriteDiagnostics(all)
	if diags.HasErrors() {
		return
	}
	out, fd := lang.Format("f.dst", src)
	if fd.HasErrors() {
		t.Fatalf("Format failed on a file that parses: %v", fd)
	}
	file2, d2 := lang.Parse("f.dst", out)
	if d2.HasErrors() {
		t.Fatalf("formatted output does not parse: %v\ninput:  %q\noutput: %q", d2, src, out)
	}
	if a, b := dump(file), dump(file2); a != b {
		t.Fatalf("format changed the tree:\n%s\n---\n%s\ninput: %q\noutput: %q", a, b, src, out)
	}
	again, _ := lang.Format("f.dst", out)
	if !bytes.Equal(again, out) {
		t.Fatalf("format is not idempotent:\n%q\n%q", out, again)
	}
	if n1, n2 := len(file.Comments), len(file2.Comments); n1 != n2 {
		t.Fatalf("format lost comments (%d -> %d):\ninput:  %q\noutput: %q", n1, n2, src, out)
	}
}

// TestHostileInputs feeds inputs no script should contain and checks that each returns
// quickly with positioned diagnostics (or passes).
func TestHostileInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	garbage := make([]byte, 64<<10)
	for i := range garbage {
		garbage[i] = byte(rng.UintN(256))
	}
	asciiNoise := make([]byte, 64<<10)
	const alphabet = "abc.*?/[](){}=,->+#\"\n 0123456789%let prune quantize from to at every epoch\\"
	for i := range asciiNoise {
		asciiNoise[i] = alphabet[rng.IntN(len(alphabet))]
	}
	long, many := 1<<20, 20000
	if testing.Short() {
		long, many = 32<<10, 2000
	}
	tests := []struct {
		name string
		src  []byte
	}{
		{"empty", nil},
		{"binary garbage", garbage},
		{"ascii noise", asciiNoise},
		{"NUL bytes", make([]byte, 4096)},
		{"invalid UTF-8", []byte("let a = 1 # \xc3\x28\nprune \xff\xfe level 0.5\n")},
		{"1 MB line of terms", []byte("prune fc1 level " + strings.Repeat("x ", long/2))},
		{"1 MB arithmetic line", []byte("let a = 1" + strings.Repeat(" + 1", long/4))},
		{"1 MB comment", []byte("# " + strings.Repeat("c", long))},
		{"1 MB selector list", []byte("prune [" + strings.Repeat("fc1, ", long/5) + "fc2] level 0.5 at epoch 0")},
		{"deep parens", []byte("let a = " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000))},
		{"deep lists", []byte("let a = " + strings.Repeat("[", 100000))},
		{"many statements", []byte(strings.Repeat("prune fc1 level 0.5 at epoch 0\n", many))},
		{"unclosed block", []byte("quantize * linear {\n" + strings.Repeat("override fc1 float\n", 10000))},
		{"long string", []byte("distill from \"" + strings.Repeat("s", long) + "\"")},
		{"huge number", []byte("let a = 1" + strings.Repeat("0", 400) + "\nprune fc1 level a at epoch 0")},
		{"huge epoch", []byte("prune fc1 level 0.5 at epoch 99999999999999999999")},
		{"unterminated regex", []byte("prune /" + strings.Repeat("a", 1000))},
	}
	params := resnet20Params()
	builtins := testBuiltins()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan lang.Diagnostics, 1)
			go func() {
				_, d := lang.CheckSource("h.dst", tt.src, lang.Env{Params: params, Builtins: builtins, Epochs: 10})
				_, _ = lang.Format("h.dst", tt.src)
				done <- d
			}()
			select {
			case d := <-done:
				for _, x := range d {
					if x.Subject == nil {
						t.Errorf("diagnostic without position: %v", x)
					}
				}
				if len(d) > 200 {
					t.Errorf("%d diagnostics; the cap should keep output readable", len(d))
				}
			case <-time.After(20 * time.Second):
				t.Fatal("CheckSource did not return within 20s")
			}
		})
	}
}

// benchScript builds an n-statement script over resnet20_cifar with no conflicts.
func benchScript(n int) []byte {
	var b strings.Builder
	convs := []string{}
	for _, p := range resnet20Params() {
		if strings.Contains(p.Name, "conv") && strings.HasSuffix(p.Name, ".weight") {
			convs = append(convs, strings.TrimSuffix(p.Name, ".weight"))
		}
	}
	for i := 0; i < n; i++ {
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "let s%d = %d%% + 1%%\n", i, i%80)
		case 1:
			fmt.Fprintf(&b, "prune %s level s%d at epoch %d\n", convs[i%len(convs)], i-1, i)
		case 2:
			fmt.Fprintf(&b, "prune %s filters 30%% by l1 from epoch %d to %d every 1 then thin # block %d\n", convs[i%len(convs)], i, i+1, i)
		case 3:
			fmt.Fprintf(&b, "regularize layer%d.*.conv* group_lasso filters 1e-4 threshold=max from epoch %d to %d\n", 1+i%3, i, i+2)
		case 4:
			fmt.Fprintf(&b, "prune [%s, %s] agp 5%% -> 50%% from epoch %d to %d every 1\n", convs[i%len(convs)], convs[(i+7)%len(convs)], i, i+4)
		}
	}
	return []byte(b.String())
}

func TestBenchScriptIsValid(t *testing.T) {
	_, d := lang.CheckSource("b.dst", benchScript(1000), lang.Env{Params: resnet20Params(), Builtins: testBuiltins()})
	if d.HasErrors() {
		t.Fatal(d)
	}
}

// BenchmarkParseCheck1000Statements parses and checks a 1,000-statement script against
// resnet20_cifar; the target is under 50 ms per script.
func BenchmarkParseCheck1000Statements(b *testing.B) {
	src := benchScript(1000)
	env := lang.Env{Params: resnet20Params(), Builtins: testBuiltins()}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, d := lang.CheckSource("b.dst", src, env); d.HasErrors() {
			b.Fatal(d)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/script")
	// CPU time includes the garbage collector's background work, on any core.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N)/1000, "cpu-ms/script")
}

// BenchmarkFormat1000Statements formats the same script.
func BenchmarkFormat1000Statements(b *testing.B) {
	src := benchScript(1000)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, d := lang.Format("b.dst", src); d.HasErrors() {
			b.Fatal(d)
		}
	}
}
