package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// runCmd runs a command's Run method with captured output and returns the exit status
// the CLI would use.
func runCmd(t *testing.T, r interface{ Run(*Globals) error }) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	err := r.Run(&Globals{Ctx: context.Background(), Stdout: &out, Stderr: &errb})
	switch {
	case err == nil:
		code = 0
	default:
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.Code
		} else {
			code = 1
		}
		if ee == nil || ee.Err != nil {
			errb.WriteString("dst: " + err.Error() + "\n")
		}
	}
	return code, out.String(), errb.String()
}

func writeScript(t *testing.T, name, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckCmd(t *testing.T) {
	good := writeScript(t, "good.dst", "prune fc1 agp 5% -> 90% from epoch 0 to 8\nquantize * linear 8 bits after training\n")
	bad := writeScript(t, "bad.dst", "prune fc9 level 0.5 at epoch 0\nprune fc1 magnitdue 0.2 at epoch 1\n")
	late := writeScript(t, "late.dst", "prune fc1 level 0.5 at epoch 30\n")
	syntax := writeScript(t, "syntax.dst", "prune\n")
	// Quantization that dst run refuses, or that would fail after training, is a check error.
	wide := writeScript(t, "wide.dst", "quantize * linear 16 bits after training\n")
	qlate := writeScript(t, "qlate.dst", "quantize * dorefa 2 bits scale_weights from epoch 2\n")
	pact := writeScript(t, "pact.dst", "quantize * pact 4 bits {\n    override conv1 float\n}\n")
	tests := []struct {
		name     string
		cmd      CheckCmd
		code     int
		stderrRE string
		stdoutRE string
	}{
		{"clean without model", CheckCmd{Files: []string{good}}, 0, `^$`, `^$`},
		{"clean with model", CheckCmd{Files: []string{good}, Model: "simplenet_mnist", Epochs: 10}, 0, `^$`, `^$`},
		{"verbose lists policies", CheckCmd{Files: []string{good}, Model: "simplenet_mnist", Verbose: true}, 0, `^$`,
			`good.dst: 2 policies\n  .*good.dst:1: prune agp \[fc1.weight\] from epoch 0 to 8\n  .*good.dst:2: quantize linear \[conv1.weight conv2.weight fc1.weight fc2.weight\] after training`},
		{"errors exit 1", CheckCmd{Files: []string{bad}, Model: "simplenet_mnist"}, 1,
			`(?s)bad.dst:1:7: error: Selector matches nothing.*bad.dst:2:11: error: Unknown prune method.*Did you mean "magnitude".*2 errors`, `^$`},
		{"selector errors need a model", CheckCmd{Files: []string{bad}}, 1, `(?s)Unknown prune method.*1 error\n$`, `^$`},
		{"warning does not fail", CheckCmd{Files: []string{late}, Model: "simplenet_mnist", Epochs: 10}, 0, `late.dst:1:21: warning: Window after the run`, `^$`},
		{"syntax error", CheckCmd{Files: []string{syntax}}, 1, `syntax.dst:1:6: error: Syntax error`, `^$`},
		{"several files", CheckCmd{Files: []string{good, bad, syntax}, Model: "simplenet_mnist"}, 1, `2 of 3 files have errors`, `^$`},
		{"missing file", CheckCmd{Files: []string{filepath.Join(t.TempDir(), "nope.dst")}}, 2, `no such file`, `^$`},
		{"unknown model", CheckCmd{Files: []string{good}, Model: "lenet9000"}, 2, `lenet9000`, `^$`},
		{"negative epochs", CheckCmd{Files: []string{good}, Epochs: -1}, 2, `--epochs`, `^$`},
		{"colour on request", CheckCmd{Files: []string{syntax}, Color: "always"}, 1, "\x1b\\[", `^$`},
		{"json", CheckCmd{Files: []string{good, bad}, Model: "simplenet_mnist", Format: "json"}, 1, `^$`,
			`(?s)^\[\n  \{\n    "severity": "error",\n    "summary": "Selector matches nothing",.*"file": ".*bad.dst",.*"summary": "Unknown prune method".*\]\n$`},
		{"json clean", CheckCmd{Files: []string{good}, Format: "json"}, 0, `^$`, `^\[\]\n$`},
		{"linear weights past int8", CheckCmd{Files: []string{wide}}, 1, `(?s)wide.dst:1:1: error: Value out of range.*16 bits also sets the width of the weights`, `^$`},
		{"qat window", CheckCmd{Files: []string{qlate}}, 1, "(?s)qlate.dst:1:40: error: Unsupported window.*`from epoch 0`", `^$`},
		{"qat inside residual blocks", CheckCmd{Files: []string{pact}, Model: "resnet20_cifar"}, 1,
			`(?s)pact.dst:1:1: error: Model cannot be prepared.*layer1.0.relu1 inside residual block layer1.0.*simplenet_mnist`, `^$`},
		{"qat without residual blocks", CheckCmd{Files: []string{pact}, Model: "simplenet_mnist"}, 0, `^$`, `^$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, &tt.cmd)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstderr: %s", code, tt.code, stderr)
			}
			if !regexp.MustCompile(tt.stderrRE).MatchString(stderr) {
				t.Errorf("stderr does not match %q:\n%s", tt.stderrRE, stderr)
			}
			if !regexp.MustCompile(tt.stdoutRE).MatchString(stdout) {
				t.Errorf("stdout does not match %q:\n%s", tt.stdoutRE, stdout)
			}
		})
	}
}

// TestCheckExamples checks every script in examples/ against the zoo model its header
// names ("# model: NAME").
func TestCheckExamples(t *testing.T) {
	paths, _ := filepath.Glob("../../examples/*.dst")
	if len(paths) < 12 {
		t.Fatalf("found %d example scripts, want at least 12", len(paths))
	}
	header := regexp.MustCompile(`(?m)^# model: (\S+)$`)
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(src), "# ") {
				t.Error("an example starts with a header comment saying what it does")
			}
			m := header.FindSubmatch(src)
			if m == nil {
				t.Fatal("no '# model: NAME' line")
			}
			code, _, stderr := runCmd(t, &CheckCmd{Files: []string{path}, Model: string(m[1]), Epochs: 40})
			if code != 0 || stderr != "" {
				t.Errorf("exit %d:\n%s", code, stderr)
			}
		})
	}
}

// TestHeaderModel checks that dst check and dst run take the model a schedule's header
// names when --model is not given (they used to check only the syntax, and run
// simplenet_mnist), that --model overrides it, and that an unknown name is reported.
func TestHeaderModel(t *testing.T) {
	dir := t.TempDir()
	bad := writeRunFile(t, dir, "bad.dst", "# Prunes a layer lenet300_100 lacks.\n#\n# model: lenet300_100\n\nprune conv1 level 50% at epoch 0\n")
	code, _, stderr := runCmd(t, &CheckCmd{Files: []string{bad}})
	if code != 1 || !strings.Contains(stderr, `"conv1" matches no parameter`) {
		t.Errorf("check against the header's model: exit %d:\n%s", code, stderr)
	}
	if code, _, stderr := runCmd(t, &CheckCmd{Files: []string{bad}, Model: "simplenet_mnist"}); code != 0 {
		t.Errorf("--model overrides the header: exit %d:\n%s", code, stderr)
	}
	// A missing file does not stop the others from being checked.
	code, _, stderr = runCmd(t, &CheckCmd{Files: []string{filepath.Join(dir, "missing.dst"), bad}})
	if code != 2 || !strings.Contains(stderr, `"conv1" matches no parameter`) || !strings.Contains(stderr, "cannot read") {
		t.Errorf("a missing file and a bad one: exit %d:\n%s", code, stderr)
	}
	// An experiment file is checked through its schedule, against its model; a Distiller
	// YAML schedule through its import.
	if code, _, stderr := runCmd(t, &CheckCmd{Files: []string{"../../examples/agp_lenet300.hcl"}}); code != 0 || stderr != "" {
		t.Errorf("check examples/agp_lenet300.hcl: exit %d:\n%s", code, stderr)
	}
	yaml := writeRunFile(t, dir, "agp.yaml", `version: 1
pruners:
  p1:
    class: AutomatedGradualPruner
    initial_sparsity: 0.05
    final_sparsity: 0.5
    weights: [fc9.weight]
policies:
  - pruner:
      instance_name: p1
    starting_epoch: 0
    ending_epoch: 2
    frequency: 1
`)
	code, _, stderr = runCmd(t, &CheckCmd{Files: []string{yaml}, Model: "lenet300_100"})
	if code != 1 || !strings.Contains(stderr, "agp.yaml (imported):") || !strings.Contains(stderr, `"fc9.weight" matches no parameter`) {
		t.Errorf("check of a Distiller schedule naming fc9: exit %d:\n%s", code, stderr)
	}
	// One that does not import has errors (exit 1), as a bad script has; it is not unreadable.
	noimport := writeRunFile(t, dir, "noimport.yaml", "pruners:\n  p:\n    class: NoSuchPruner\n")
	code, _, stderr = runCmd(t, &CheckCmd{Files: []string{noimport}})
	if code != 1 || !strings.Contains(stderr, "noimport.yaml:3:") || strings.Contains(stderr, "cannot read") {
		t.Errorf("check of a Distiller schedule that does not import: exit %d:\n%s", code, stderr)
	}
	unknown := writeRunFile(t, dir, "unknown.dst", "# model: lenet300\nprune fc1 level 50% at epoch 0\n")
	if code, _, stderr := runCmd(t, &CheckCmd{Files: []string{unknown}}); code != 0 || !strings.Contains(stderr, `unknown.dst: its '# model:' header names a model that is not in the zoo: unknown model "lenet300"; did you mean "lenet300_100"?`) || !strings.Contains(stderr, "checking it without a model") {
		t.Errorf("unknown header model: exit %d:\n%s", code, stderr)
	}
	if testing.Short() {
		return
	}
	// dst run trains lenet300_100, which the example's header names.
	out := filepath.Join(dir, "run")
	code, stdout, stderr := dst(t, "run", "../../examples/agp_lenet300.dst", "--epochs", "1", "--limit-train", "500", "--limit-test", "200", "--out", out)
	if code != 0 || !strings.Contains(stdout, "running lenet300_100") {
		t.Errorf("dst run examples/agp_lenet300.dst: exit %d:\n%s%s", code, stdout, stderr)
	}
}

// TestCheckHostileFiles checks that no input makes dst check panic or hang.
func TestCheckHostileFiles(t *testing.T) {
	inputs := map[string][]byte{
		"empty.dst":    nil,
		"binary.dst":   {0x00, 0xff, 0xfe, 0x7f, 0x1b, '[', '(', 0x80},
		"utf8.dst":     []byte("prune \xc3\x28 level 0.5\n"),
		"nested.dst":   []byte("let a = " + strings.Repeat("[(", 5000)),
		"longline.dst": []byte("prune fc1 level " + strings.Repeat("0.5 ", 20000)),
	}
	for name, src := range inputs {
		t.Run(name, func(t *testing.T) {
			path := writeScript(t, name, string(src))
			code, _, stderr := runCmd(t, &CheckCmd{Files: []string{path}, Model: "simplenet_mnist"})
			if name == "empty.dst" {
				if code != 0 {
					t.Errorf("empty file: exit %d: %s", code, stderr)
				}
				return
			}
			if code != 1 || !strings.Contains(stderr, name+":1:") {
				t.Errorf("exit %d, want 1 with a positioned error:\n%.500s", code, stderr)
			}
		})
	}
}

// TestCheckAndFmtViaCLI runs the commands through dst's command line, for the exit codes.
func TestCheckAndFmtViaCLI(t *testing.T) {
	good := writeScript(t, "good.dst", "prune fc1 level 0.5 at epoch 0\n")
	bad := writeScript(t, "bad.dst", "prune fc1 levle 0.5 at epoch 0\n")
	messy := writeScript(t, "messy.dst", "prune  fc1 level 0.5   at epoch 0\n")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		errRE  string
	}{
		{"check clean", []string{"check", good, "--model", "simplenet_mnist", "--epochs", "5"}, 0, "", `^$`},
		{"check errors", []string{"check", bad}, 1, "", `bad.dst:1:11: error: Unknown prune method`},
		{"check no file", []string{"check"}, 2, "", `expected "<file> \.\.\."`},
		{"check bad flag", []string{"check", good, "--epochs", "many"}, 2, "", `epochs`},
		{"check unknown model", []string{"check", good, "--model", "nope"}, 2, "", `nope`},
		{"fmt list", []string{"fmt", "-l", good, messy}, 0, messy + "\n", `^$`},
		{"fmt errors", []string{"fmt", bad + "x"}, 2, "", `no such file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errb)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, errb.String())
			}
			if out.String() != tt.stdout {
				t.Errorf("stdout %q, want %q", out.String(), tt.stdout)
			}
			if !regexp.MustCompile(tt.errRE).MatchString(errb.String()) {
				t.Errorf("stderr does not match %q:\n%s", tt.errRE, errb.String())
			}
		})
	}
}
