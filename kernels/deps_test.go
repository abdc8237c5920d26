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

// TestGeneratedAssembly fails if an assembly file that internal/asmgen
// writes (kernels_amd64.s and the files of the other kernel families)
// differs from what it writes now (run go generate to fix). The generator
// runs in a temporary directory, so a stale file is reported, not fixed.
func TestGeneratedAssembly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the generator")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "asmgen")
	if msg, err := exec.Command(goTool, "build", "-o", bin, "./internal/asmgen").CombinedOutput(); err != nil {
		t.Fatalf("build asmgen: %v\n%s", err, msg)
	}
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	gen := exec.Command(bin, "kernels_amd64.s")
	gen.Dir = out
	if msg, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("asmgen: %v\n%s", err, msg)
	}
	files, err := filepath.Glob(filepath.Join(out, "*.s"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("asmgen wrote %d files", len(files))
	}
	for _, f := range files {
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s is stale; run go generate ./kernels", name)
		}
	}
}
