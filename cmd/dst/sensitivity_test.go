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

// writeParts writes the parts of a sweep of fc1.weight at levels 0 and 0.5 in two
// shards into a new folder and returns it; edit, when not nil, changes shard 1 first.
func writeParts(t *testing.T, edit func(p *analysis.Part)) string {
	t.Helper()
	dir := t.TempDir()
	for shard := range 2 {
		p := &analysis.Part{Version: 1, Model: "lenet300_100", Granularity: "elements", Levels: []float64{0, 0.5},
			Params: []string{"fc1.weight"}, Shard: shard, Shards: 2,
			Points: []analysis.PartPoint{{Index: shard, Top1: 90, Top5: 99, Loss: 0.3}}}
		if shard == 1 && edit != nil {
			edit(p)
		}
		if err := analysis.WritePart(filepath.Join(dir, analysis.PartName(shard, 2)), p); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestSensitivityMergeRefusesOverwrite checks that merge, like the sweep, replaces an
// earlier sweep's results only with --force.
func TestSensitivityMergeRefusesOverwrite(t *testing.T) {
	parts := writeParts(t, nil)
	out := t.TempDir()
	csvPath := filepath.Join(out, "sensitivity.csv")
	if err := os.WriteFile(csvPath, []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := dst(t, "sensitivity", "merge", parts, "--out", out)
	if code != 2 || !strings.Contains(stderr, "already holds a sensitivity sweep (sensitivity.csv)") || !strings.Contains(stderr, "--force") {
		t.Errorf("merge over a sweep: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(csvPath); string(b) != "mine\n" {
		t.Fatalf("merge without --force replaced sensitivity.csv: %q", b)
	}
	if code, _, stderr := dst(t, "sensitivity", "merge", parts, "--out", out, "--force"); code != 0 {
		t.Fatalf("merge --force: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(csvPath); !strings.HasPrefix(string(b), "parameter,sparsity") {
		t.Errorf("merge --force wrote %q", b)
	}
}

// TestSensitivityMergeRefusesBadParts checks that merge refuses part files holding what
// no sweep writes, naming the file and the field.
func TestSensitivityMergeRefusesBadParts(t *testing.T) {
	tests := []struct {
		name string
		edit func(p *analysis.Part)
		want string
	}{
		{"level above 1", func(p *analysis.Part) { p.Levels[1] = 1.5 }, "levels[1] is 1.5; want a sparsity in [0, 1)"},
		{"negative level", func(p *analysis.Part) { p.Levels[0] = -0.1 }, "levels[0] is -0.1"},
		{"repeated level", func(p *analysis.Part) { p.Levels[1] = 0 }, "levels[1] repeats levels[0]"},
		{"NaN top1", nil, "points[0] (index 1): top1 is NaN; want an accuracy in [0, 100]"},
		{"absurd top1", func(p *analysis.Part) { p.Points[0].Top1 = 1e300 }, "top1 is 1e+300; want an accuracy in [0, 100]"},
		{"top5 below top1", func(p *analysis.Part) { p.Points[0].Top5 = 10 }, "top5 is 10; want an accuracy in [top1, 100]"},
		{"infinite loss", nil, "loss is +Inf; want a finite loss >= 0"},
		{"overflowing loss", nil, "loss is +Inf; want a finite loss >= 0"},
		{"negative loss", func(p *analysis.Part) { p.Points[0].Loss = -1 }, "loss is -1"},
		{"shard not its file's", func(p *analysis.Part) { p.Shard = 0 }, "shard 0 of 2, but the file name says shard 1 of 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parts := writeParts(t, tc.edit)
			// JSON numbers cannot be NaN or infinite: the part file's strings can.
			part := filepath.Join(parts, analysis.PartName(1, 2))
			b, err := os.ReadFile(part)
			if err != nil {
				t.Fatal(err)
			}
			switch tc.name {
			case "NaN top1":
				b = bytes.Replace(b, []byte(`"top1": "90"`), []byte(`"top1": "NaN"`), 1)
			case "infinite loss":
				b = bytes.Replace(b, []byte(`"loss": "0.3"`), []byte(`"loss": "+Inf"`), 1)
			case "overflowing loss":
				b = bytes.Replace(b, []byte(`"loss": "0.3"`), []byte(`"loss": "1e309"`), 1)
			}
			if err := os.WriteFile(part, b, 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := dst(t, "sensitivity", "merge", parts)
			if code != 2 || !strings.Contains(stderr, analysis.PartName(1, 2)+": ") || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr, tc.want)
			}
			if _, err := os.Stat(filepath.Join(parts, "sensitivity.csv")); err == nil {
				t.Error("a refused merge wrote sensitivity.csv")
			}
		})
	}
}

// TestSensitivityShardChecksOutFirst checks that a shard whose --out cannot be written
// fails before it sweeps anything.
func TestSensitivityShardChecksOutFirst(t *testing.T) {
	ckpt := untrainedCheckpoint(t, "lenet300_100")
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := dst(t, "sensitivity", "--checkpoint", ckpt, "--levels", "0,0.5", "--params", "fc3.weight",
		"--limit-test", "64", "--shard", "0/2", "--out", notDir)
	if code != 2 || !strings.Contains(stderr, "exists and is not a folder") || stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 before the sweep", code, stdout, stderr)
	}
}
