package lang_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dst-dev/dst/lang"
)

// TestExampleTrees compares the parse tree of every example script with its golden
// S-expression dump in testdata/trees (rewrite them with -update).
func TestExampleTrees(t *testing.T) {
	paths, _ := filepath.Glob("../examples/*.dst")
	if len(paths) == 0 {
		t.Fatal("no examples")
	}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".dst")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, diags := lang.Parse(filepath.Base(path), src)
			if len(diags) > 0 {
				t.Fatal(diags)
			}
			got := dump(f) + "\n"
			golden := filepath.Join("testdata", "trees", name+".sexpr")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./lang -run TestExampleTrees -update)", err)
			}
			if got != string(want) {
				t.Errorf("tree of %s changed:\n got %s\nwant %s", path, got, want)
			}
		})
	}
}
