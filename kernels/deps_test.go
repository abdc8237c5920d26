package kernels

import (
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeps checks the layering rule: the non-test sources of kernels (and
// of its generator) import the standard library only, that is import paths
// whose first element has no dot.
func TestDeps(t *testing.T) {
	var files []string
	for _, pat := range []string{"*.go", "internal/*/*.go"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 5 {
		t.Fatalf("found only %d source files", len(files))
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
				t.Errorf("%s imports %s; kernels may use the standard library only", name, path)
			}
		}
	}
}

// TestGeneratedAssembly fails if kernels_amd64.s differs from what
// internal/asmgen writes now (run go generate to fix).
func TestGeneratedAssembly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator with go run")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	out := filepath.Join(t.TempDir(), "gen.s")
	if msg, err := exec.Command(goTool, "run", "./internal/asmgen", out).CombinedOutput(); err != nil {
		t.Fatalf("asmgen: %v\n%s", err, msg)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("kernels_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("kernels_amd64.s is stale; run go generate ./kernels")
	}
}
