package main

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dst-dev/dst/analysis"
)

// buildDst compiles the dst binary into a temporary folder.
func buildDst(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "dst")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestSensitivityFourShards runs an unsharded sweep and four shards as separate
// processes, merges the shards, and requires byte-identical CSV and PNG files.
func TestSensitivityFourShards(t *testing.T) {
	if testing.Short() {
		t.Skip("builds dst and runs five sweeps")
	}
	bin := buildDst(t)
	ckpt := untrainedCheckpoint(t, "simplenet_mnist")
	dir := t.TempDir()
	common := []string{"sensitivity", "--checkpoint", ckpt, "--levels", "0,0.4,0.8", "--limit-test", "300", "--batch", "100", "--threads", "1"}
	runDst := func(args ...string) error {
		cmd := exec.Command(bin, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("dst %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return nil
	}
	whole := filepath.Join(dir, "whole")
	shards := filepath.Join(dir, "shards")
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range 5 {
		wg.Go(func() {
			if i == 4 {
				errs[i] = runDst(append(common, "--out", whole)...)
				return
			}
			errs[i] = runDst(append(common, "--out", shards, "--shard", fmt.Sprintf("%d/4", i))...)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 4 {
		if _, err := os.Stat(filepath.Join(shards, analysis.PartName(i, 4))); err != nil {
			t.Fatal(err)
		}
	}
	code, out, stderr := dst(t, "sensitivity", "merge", shards)
	if code != 0 {
		t.Fatalf("merge: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "merged 4 parts") {
		t.Errorf("merge output:\n%s", out)
	}
	for _, f := range []string{"sensitivity.csv", "sensitivity.png"} {
		a, err := os.ReadFile(filepath.Join(whole, f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(shards, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: merged shards differ from the unsharded sweep", f)
		}
	}
	csv, _ := os.ReadFile(filepath.Join(whole, "sensitivity.csv"))
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if len(lines) != 1+4*3 || lines[0] != "parameter,sparsity,top1,top5,loss" || !strings.HasPrefix(lines[1], "conv1.weight,0,") || !strings.HasPrefix(lines[12], "fc2.weight,0.8,") {
		t.Errorf("CSV:\n%s", csv)
	}
	f, err := os.Open(filepath.Join(whole, "sensitivity.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("sensitivity.png: %v", err)
	}

	// A missing shard is refused.
	if err := os.Remove(filepath.Join(shards, analysis.PartName(2, 4))); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = dst(t, "sensitivity", "merge", shards)
	if code != 2 || !strings.Contains(stderr, "shard 2 (of shards 0 to 3) is missing") {
		t.Errorf("merge without shard 2: exit %d, %s", code, stderr)
	}
}

func TestSensitivityErrors(t *testing.T) {
	ckpt := untrainedCheckpoint(t, "simplenet_mnist")
	out := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--shard", "4/4"}, "want i/n with 0 <= i < n"},
		{[]string{"--shard", "x"}, "want i/n"},
		{[]string{"--levels", "0:1:0"}, "step must be positive"},
		{[]string{"--levels", "1.5"}, "outside [0, 1)"},
		{[]string{"--params", "fc9"}, `"fc9" matches none of conv1.weight`},
		{[]string{"--granularity", "filters", "--params", "fc1"}, `"fc1" matches none of conv1.weight, conv2.weight`},
		{[]string{"--granularity", "rows"}, "must be one of"},
		{[]string{"--batch", "0"}, "--batch must be >= 1"},
	}
	for _, tc := range tests {
		args := append([]string{"sensitivity", "--checkpoint", ckpt, "--out", out}, tc.args...)
		code, _, errs := dst(t, args...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errs, tc.want)
		}
	}
	code, _, errs := dst(t, "sensitivity", "merge", out)
	if code != 2 || !strings.Contains(errs, "holds no part file") {
		t.Errorf("merge of an empty folder: exit %d, %q", code, errs)
	}
}

func TestPointBarOnlyOnTerminal(t *testing.T) {
	if pointBar(&bytes.Buffer{}, 10) != nil {
		t.Error("progress bar drawn on a non-terminal writer")
	}
}
