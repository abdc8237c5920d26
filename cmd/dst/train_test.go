package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dst-dev/dst/internal/runlog"
)

// dst runs the CLI in-process and returns its exit code, stdout and stderr.
func dst(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestTrainDeterministic(t *testing.T) {
	dir := t.TempDir()
	var ckpts [2][]byte
	var lines [2]string
	for i := range ckpts {
		out := filepath.Join(dir, "run"+string(rune('a'+i)))
		code, stdout, stderr := dst(t, "train", "--model", "lenet300_100", "--epochs", "2", "--limit-train", "2000", "--limit-test", "500", "--seed", "7", "--out", out)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		b, err := os.ReadFile(filepath.Join(out, "checkpoint.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		ckpts[i] = b
		// Epochs count from 0, as in schedules and dst run.
		if !strings.Contains(stdout, "\nepoch  0 (1 of 2)") {
			t.Errorf("epoch lines not numbered from 0:\n%s", stdout)
		}
		// Keep the figures that must repeat (loss, accuracy), not the timing.
		for _, l := range strings.Split(stdout, "\n") {
			if strings.HasPrefix(l, "epoch") {
				lines[i] += l[:strings.Index(l, "lr")] + "\n"
			}
		}
		s, err := runlog.ReadSummary(filepath.Join(out, "summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Epochs) != 2 {
			t.Fatalf("summary.json has %d epochs, want 2", len(s.Epochs))
		}
	}
	if !bytes.Equal(ckpts[0], ckpts[1]) {
		t.Error("two runs with the same seed wrote different checkpoints")
	}
	if lines[0] != lines[1] || lines[0] == "" {
		t.Errorf("metrics differ:\n%s\n%s", lines[0], lines[1])
	}
}

func TestCLIErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "junk.safetensors"), []byte("not a checkpoint"), 0o644)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"train", "--model", "nope"}, 2, `unknown model "nope"`},
		{[]string{"train", "--epochs", "0"}, 2, "--epochs must be >= 1"},
		{[]string{"train", "--lr=-1"}, 2, "--lr must be > 0"},
		{[]string{"train", "--bogus"}, 2, "unknown flag --bogus"},
		{[]string{"train", "--lr-drop", "1.5"}, 2, "--lr-drop must be in [0, 1)"},
		{[]string{"train", "--model", "resnet20_cifar", "--dataset", "mnist"}, 2, "choose another --dataset"},
		{[]string{"train", "--dataset", "cifar"}, 2, `unknown dataset "cifar"`},
		{[]string{"train", "--data", filepath.Join(dir, "nothing")}, 2, "not a folder"},
		{[]string{"eval", "--checkpoint", filepath.Join(dir, "missing.safetensors")}, 2, "missing.safetensors"},
		{[]string{"eval", "--checkpoint", filepath.Join(dir, "junk.safetensors")}, 2, "malformed"},
		{[]string{"frobnicate"}, 2, "unexpected argument frobnicate"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := dst(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d containing %q", code, stderr, tc.code, tc.want)
			}
			if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
				t.Fatalf("stack trace on bad input: %s", stderr)
			}
		})
	}
	// Help gives defaults; dst run's help leaves out dst train's --lr-drop.
	if code, stdout, _ := dst(t, "bench", "--help"); code != 0 || !strings.Contains(stdout, "(default 64)") {
		t.Errorf("dst bench --help shows no default batch:\n%s", stdout)
	}
	if _, stdout, _ := dst(t, "run", "--help"); strings.Contains(stdout, "lr-drop") {
		t.Errorf("dst run --help lists --lr-drop:\n%s", stdout)
	}
	// dst alone prints the commands; --version is the version command.
	if code, stdout, _ := dst(t); code != 0 || !strings.Contains(stdout, "Usage: dst <command>") {
		t.Errorf("dst without arguments: exit %d:\n%s", code, stdout)
	}
	if code, stdout, _ := dst(t, "--version"); code != 0 || !strings.HasPrefix(stdout, "dst ") {
		t.Errorf("dst --version: exit %d: %s", code, stdout)
	}
}

func TestOutRefusesOverwrite(t *testing.T) {
	out := t.TempDir()
	os.WriteFile(filepath.Join(out, "summary.json"), []byte("{}"), 0o644)
	code, _, stderr := dst(t, "train", "--model", "lenet300_100", "--epochs", "1", "--limit-train", "100", "--limit-test", "100", "--out", out)
	if code != 2 || !strings.Contains(stderr, "already holds a run") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "summary.json")); string(b) != "{}" {
		t.Fatal("existing run was overwritten")
	}
}

// TestWarnDiverged checks that a run whose loss turns NaN says so once, and that a
// healthy one says nothing.
func TestWarnDiverged(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := dst(t, "train", "--model", "lenet300_100", "--lr=1e9", "--epochs", "2", "--limit-train", "200", "--limit-test", "100", "--out", filepath.Join(dir, "nan"))
	if code != 0 || strings.Count(stderr, "training diverged") != 1 {
		t.Errorf("lr 1e9: exit %d, stderr:\n%s", code, stderr)
	}
	code, _, stderr = dst(t, "train", "--model", "lenet300_100", "--epochs", "1", "--limit-train", "200", "--limit-test", "100", "--out", filepath.Join(dir, "ok"))
	if code != 0 || strings.Contains(stderr, "diverged") {
		t.Errorf("lr 0.01: exit %d, stderr:\n%s", code, stderr)
	}
	// dst run finishes a diverged run too, with its logs and checkpoint: the TensorBoard
	// file skips the histograms of non-finite weights instead of failing the run.
	sched := writeRunFile(t, dir, "reg.dst", "regularize fc1 l1 1e300 from epoch 0 to 2\n")
	out := filepath.Join(dir, "run")
	code, _, stderr = dst(t, "run", sched, "--model", "lenet300_100", "--epochs", "2", "--limit-train", "200", "--limit-test", "100", "--out", out)
	if _, err := os.Stat(filepath.Join(out, "checkpoint.safetensors")); code != 0 || err != nil || !strings.Contains(stderr, "training diverged") {
		t.Errorf("diverged run: exit %d, checkpoint %v, stderr:\n%s", code, err, stderr)
	}
}
