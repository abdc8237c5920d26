package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dst-dev/dst/internal/runlog"
)

// TestRunDistillerYAML runs a Distiller YAML schedule directly: it is imported in memory,
// and the run folder keeps the generated .dst text.
func TestRunDistillerYAML(t *testing.T) {
	dir := t.TempDir()
	yml := filepath.Join(dir, "agp.yaml")
	os.WriteFile(yml, []byte(`version: 1
pruners:
  fc_pruner:
    class: AutomatedGradualPruner
    initial_sparsity: 0.05
    final_sparsity: 0.80
    weights: [module.fc1.weight, module.fc2.weight]
policies:
  - pruner:
      instance_name: fc_pruner
    starting_epoch: 0
    ending_epoch: 2
    frequency: 1
`), 0o644)
	out := filepath.Join(dir, "run")
	code, _, stderr := dst(t, "run", yml, "--model", "lenet300_100", "--epochs", "2", "--limit-train", "500", "--limit-test", "200", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	s, err := runlog.ReadSummary(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	last := s.Epochs[len(s.Epochs)-1]
	found := false
	for _, p := range last.Params {
		found = found || p.Name == "fc1.weight"
		if p.Name == "fc1.weight" && p.NNZ != 300*784-int(0.8*300*784) {
			t.Errorf("fc1.weight has %d non-zeros at the end, want %d", p.NNZ, 300*784-int(0.8*300*784))
		}
	}
	if !found {
		t.Fatal("summary.json has no fc1.weight")
	}
	b, _ := os.ReadFile(filepath.Join(out, "schedule.dst"))
	if !strings.Contains(string(b), "prune [fc1.weight, fc2.weight] agp") {
		t.Errorf("run folder's schedule.dst:\n%s", b)
	}
	// A YAML file with an unknown class fails with a positioned error before training.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("pruners:\n  p:\n    class: NoSuchPruner\n"), 0o644)
	code, _, stderr = dst(t, "run", bad, "--model", "lenet300_100", "--out", filepath.Join(dir, "bad"))
	if code != 1 || !strings.Contains(stderr, "bad.yaml:3:") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	// One that imports but names a parameter the model lacks is diagnosed on the imported
	// script, cited as the YAML file's import (not a .dst file that does not exist).
	wrong := filepath.Join(dir, "wrong.yaml")
	os.WriteFile(wrong, []byte("version: 1\npruners:\n  p1:\n    class: AutomatedGradualPruner\n    initial_sparsity: 0.05\n    final_sparsity: 0.5\n    weights: [fc9.weight]\npolicies:\n  - pruner:\n      instance_name: p1\n    starting_epoch: 0\n    ending_epoch: 2\n    frequency: 1\n"), 0o644)
	code, _, stderr = dst(t, "run", wrong, "--model", "lenet300_100", "--out", filepath.Join(dir, "wrong"))
	if code != 1 || !strings.Contains(stderr, "wrong.yaml (imported):") || strings.Contains(stderr, ".imported.dst") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
