package lang_test

import (
	"strings"
	"testing"

	"github.com/dst-dev/dst/lang"
)

// TestParseTrees is the table of valid statements and their parse trees.
func TestParseTrees(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"let percent", "let t = 92%", "(let t 92%)"},
		{"let arithmetic precedence", "let x = 1 + 2 * 3 - 4 / 2", "(let x (- (+ 1 (* 2 3)) (/ 4 2)))"},
		{"let parens", "let x = (1 + 2) * -3", "(let x (* (paren (+ 1 2)) (-3)))"},
		{"let range", "let r = 5% -> 90%", "(let r (-> 5% 90%))"},
		{"let list", "let m = [30, 60, 90,]", "(let m [30 60 90])"},
		{"let string", `let p = "a \"b\""`, `(let p "a \"b\"")`},
		{"let exponent", "let s = 1e-5 * 2.5E3", "(let s (* 1e-5 2.5E3))"},
		{"let division after ident", "let x = a / b", "(let x (/ a b))"},
		{"prune glob level", "prune conv* level 0.7 from epoch 2 every 2",
			"(prune conv* level 0.7 (from 2 (every 2)))"},
		{"prune agp range", "prune fc1.weight agp 5% -> fc_target from epoch 0 to 8 every 1",
			"(prune fc1.weight agp (-> 5% fc_target) (from 0 (to 8) (every 1)))"},
		{"prune filters then thin", "prune conv2.weight filters 40% by l1 at epoch 3 then thin",
			"(prune conv2.weight filters 40% (by l1) (at 3) (then-thin))"},
		{"clause order normalised", "prune conv2 at epoch 3 then thin filters by l1 40%",
			"(prune conv2 filters 40% (by l1) (at 3) (then-thin))"},
		{"prune named args", "prune fc1 rnn 0.2 ramp_offset=3 ramp_slope 1.5 from epoch 0 to 10",
			"(prune fc1 rnn 0.2 (= ramp_offset 3) ramp_slope 1.5 (from 0 (to 10)))"},
		{"prune list selector", "prune [conv1, fc1.weight, /fc[0-9]\\.bias/] level 50% at epoch 0",
			"(prune [conv1 fc1.weight (re /fc[0-9]\\.bias/)] level 50% (at 0))"},
		{"prune except", "prune * except [conv1, fc2] level 0.5 before training",
			"(prune (except * [conv1 fc2]) level 0.5 (before-training))"},
		{"prune regex after keyword", "prune /layer1\\..*\\.conv1/ level 0.5 at epoch 0",
			"(prune (re /layer1\\..*\\.conv1/) level 0.5 (at 0))"},
		{"prune steps", "prune conv* filters bernoulli 0.1 from epoch 0 to 10 every 16 steps",
			"(prune conv* filters bernoulli 0.1 (from 0 (to 10) (every 16 steps)))"},
		{"prune at epochs", "prune fc1 level 0.5 at epochs [1, 3, 5]",
			"(prune fc1 level 0.5 (at-epochs [1 3 5]))"},
		{"glob with question mark", "prune layer?.*.conv2 level 0.5 at epoch 1",
			"(prune layer?.*.conv2 level 0.5 (at 1))"},
		{"regularize group lasso", "regularize conv* group_lasso filters 1e-4 threshold=mean_abs from epoch 0 to 4",
			"(regularize conv* group_lasso filters 1e-4 (= threshold mean_abs) (from 0 (to 4)))"},
		{"quantize bits and flags", "quantize * linear 8 bits per_channel asym_u clip=laplace after training",
			"(quantize * linear (bits 8) per_channel asym_u (= clip laplace) (after-training))"},
		{"quantize named bits", "quantize * dorefa weights=4 bits activations=8",
			"(quantize * dorefa (= weights (bits 4)) (= activations 8))"},
		{"quantize override block", "quantize * linear 8 bits after training {\n    override conv1 float\n    override [fc1, fc2] weights=4 bits\n}",
			"(quantize * linear (bits 8) (after-training) (block (override conv1 float) (override [fc1 fc2] (= weights (bits 4)))))"},
		{"override block one line", "quantize * qat 4 bits { override fc2 8 bits }",
			"(quantize * qat (bits 4) (block (override fc2 (bits 8))))"},
		{"lr step", "lr step 0.1 every 4 epochs", "(lr step 0.1 (every 4 epochs))"},
		{"lr multistep", "lr multistep 0.1 at epochs [30, 60]", "(lr multistep 0.1 (at-epochs [30 60]))"},
		{"lr warmup steps", "lr warmup 0.01 -> 0.1 from epoch 0 to 2 every 1 step",
			"(lr warmup (-> 0.01 0.1) (from 0 (to 2) (every 1 step)))"},
		{"distill name", "distill from resnet20_cifar temperature 4 student=0.3",
			"(distill resnet20_cifar temperature 4 (= student 0.3))"},
		{"distill path", `distill from "teacher.safetensors" kd 2 from epoch 1`,
			`(distill "teacher.safetensors" kd 2 (from 1))`},
		{"thin", "thin filters at epoch 3", "(thin filters (at 3))"},
		{"thin bare", "thin after training", "(thin (after-training))"},
		{"multi-line list", "lr multistep 0.1 at epochs [\n  30,\n  60,\n]", "(lr multistep 0.1 (at-epochs [30 60]))"},
		{"byte-order mark", "\ufefflet a = 1", "(let a 1)"},
		{"comments and blank lines", "# head\n\nlet a = 1 # one\n\n\nlet b = 2\n", "(let a 1)\n(let b 2)"},
		{"module prefix path", "prune module.fc1.weight level 0.5 at epoch 0",
			"(prune module.fc1.weight level 0.5 (at 0))"},
		{"window expression", "let s = 2\nprune fc1 level 0.5 from epoch s to s + 4",
			"(let s 2)\n(prune fc1 level 0.5 (from s (to (+ s 4))))"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, diags := lang.Parse("t.dst", []byte(tt.src))
			if len(diags) != 0 {
				t.Fatalf("Parse: %v", diags)
			}
			if got := dump(f); got != tt.want {
				t.Errorf("tree:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestParseErrors checks that each bad statement gives one positioned error and that
// parsing recovers at the next statement.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src string
		wantAt    string // file:line:col of the first diagnostic
		wantIn    string // substring of its Error()
		stmts     string // dump of the statements
	}{
		{"unknown statement", "prunee fc1 level 0.5\nlet a = 1", "t.dst:1:1", `Did you mean "prune"`, "(bad)\n(let a 1)"},
		{"missing selector", "prune\nlet a = 1", "t.dst:1:6", "a selector was expected", "(bad)\n(let a 1)"},
		{"keyword as name", "let at = 3", "t.dst:1:5", `keyword "at"`, "(bad)"},
		{"unterminated string", `distill from "abc`, "t.dst:1:14", "Unterminated string", "(bad)"},
		{"bad char", "prune fc1 level 0.5 at epoch 1 $", "t.dst:1:32", "Unexpected character", "(bad)"},
		{"invalid utf8", "let a = \xff", "t.dst:1:9", "Invalid UTF-8", "(bad)"},
		{"malformed number", "quantize * linear 8bits", "t.dst:1:19", "Malformed number", "(bad)"},
		{"glob in let", "let x = a*b", "t.dst:1:9", "selector pattern", "(let x (path a*b))"},
		{"duplicate window", "prune fc1 level 0.5 at epoch 1 at epoch 2", "t.dst:1:32", "Duplicate window", "(prune fc1 level 0.5 (at 1))"},
		{"stray to", "prune fc1 level 0.5 to 3", "t.dst:1:21", "`to` belongs in a window", "(bad)"},
		{"override outside block", "override fc1 float", "t.dst:1:1", "belongs inside", "(bad)"},
		{"unclosed block", "quantize * linear {\n override fc1 float\nlet a = 1", "t.dst:2:20", "`}` was expected", "(bad)\n(let a 1)"},
		{"too deep", "let a = " + strings.Repeat("(", 70) + "1" + strings.Repeat(")", 70), "t.dst:1:73", "Nesting too deep", "(bad)"},
		{"unterminated regex", "prune /conv.* level 0.5", "t.dst:1:7", "Unterminated regex", "(bad)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, diags := lang.CheckSource("t.dst", []byte(tt.src), lang.Env{Builtins: testBuiltins()})
			_ = f
			pf, _ := lang.Parse("t.dst", []byte(tt.src))
			if !diags.HasErrors() {
				t.Fatalf("no error for %q", tt.src)
			}
			d := diags.Errs()[0]
			if d.Subject == nil || d.Subject.String() != tt.wantAt {
				t.Errorf("first diagnostic at %v, want %s (%v)", d.Subject, tt.wantAt, d)
			}
			if !strings.Contains(d.Error(), tt.wantIn) {
				t.Errorf("diagnostic %q does not contain %q", d.Error(), tt.wantIn)
			}
			if got := dump(pf); got != tt.stmts {
				t.Errorf("statements:\n got %s\nwant %s", got, tt.stmts)
			}
		})
	}
}

func TestParseErrorCap(t *testing.T) {
	src := strings.Repeat("bogus\n", 100)
	_, diags := lang.Parse("t.dst", []byte(src))
	if len(diags) != 21 {
		t.Fatalf("got %d diagnostics, want 20 and a 'too many errors'", len(diags))
	}
	if last := diags[len(diags)-1]; last.Summary != "Too many errors" {
		t.Errorf("last diagnostic = %v", last)
	}
}

func TestGrammarPrints(t *testing.T) {
	g := lang.Grammar()
	for _, want := range []string{"PolicyStmt", "WindowClause", "Selector", "Term"} {
		if !strings.Contains(g, want) {
			t.Errorf("Grammar() lacks %s:\n%s", want, g)
		}
	}
}

func TestBadStmtKeepsTokens(t *testing.T) {
	f, _ := lang.Parse("t.dst", []byte("prune fc1 level 0.5 at\n"))
	bad, ok := f.Stmts[0].(*lang.BadStmt)
	if !ok {
		t.Fatalf("got %T", f.Stmts[0])
	}
	var words []string
	for _, tok := range bad.Tokens {
		words = append(words, tok.Value)
	}
	if got := strings.Join(words, " "); got != "prune fc1 level 0.5 at" {
		t.Errorf("tokens = %q", got)
	}
}
