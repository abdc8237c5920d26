package lang_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps proves the layering: lang imports only participle and the standard library.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "github.com/dst-dev/dst/lang").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == "github.com/dst-dev/dst/lang":
		case strings.HasPrefix(dep, "github.com/alecthomas/participle/v2"):
		default:
			t.Errorf("lang depends on %s; it may import only participle and the standard library", dep)
		}
	}
}
