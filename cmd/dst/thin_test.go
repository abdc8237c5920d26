package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/dst-dev/dst/nn"
)

// prunedCheckpoint writes a simplenet_mnist checkpoint whose conv2 has its first k
// filters masked to zero.
func prunedCheckpoint(t *testing.T, dir string, k int) string {
	t.Helper()
	m, err := nn.New("simplenet_mnist", 1)
	if err != nil {
		t.Fatal(err)
	}
	p := m.Param("conv2.weight")
	mask := make([]float32, p.Len())
	size := p.Len() / p.Shape()[0]
	for i := k * size; i < len(mask); i++ {
		mask[i] = 1
	}
	p.SetMask(mask)
	path := filepath.Join(dir, "pruned.safetensors")
	if err := nn.SaveCheckpoint(path, m, nil, 4, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestThinCommand(t *testing.T) {
	dir := t.TempDir()
	in := prunedCheckpoint(t, dir, 25)
	out := filepath.Join(dir, "thin.safetensors")
	code, stdout, stderr := dst(t, "thin", "--checkpoint", in, "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "removed 25 of 50 channels") {
		t.Fatalf("stdout %q", stdout)
	}
	fresh, _ := nn.New("simplenet_mnist", 0)
	ci, err := nn.LoadCheckpoint(out, fresh, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ci.Epoch != 4 || ci.Meta["dst.thinned"] != "contract" {
		t.Fatalf("metadata %+v", ci)
	}
	for name, want := range map[string][]int{"conv2.weight": {25, 20, 5, 5}, "fc1.weight": {500, 400}} {
		if got := fresh.Param(name).Shape(); !sameInts(got, want) {
			t.Errorf("%s has shape %v, want %v", name, got, want)
		}
	}
	// Usage errors.
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"exists", []string{"thin", "--checkpoint", in, "-o", out}, "exists"},
		{"overwrite input", []string{"thin", "--checkpoint", in, "-o", in, "--force"}, "overwrite the input"},
		{"missing", []string{"thin", "--checkpoint", filepath.Join(dir, "nope"), "-o", out + "2"}, "nope"},
		{"mode", []string{"thin", "--checkpoint", in, "-o", out + "3", "--mode", "rows"}, "rows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := dst(t, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
		})
	}
}

func sameInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
