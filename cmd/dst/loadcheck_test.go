package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dst-dev/dst/internal/safetensors"
	"github.com/dst-dev/dst/nn"
)

// TestBrokenCheckpoints gives every command that loads a checkpoint a file that does
// not fit its model (a transposed weight, NaN weights, an int8 model file): each must
// exit with a usage error that names the file and what is wrong, write nothing, and
// never panic.
func TestBrokenCheckpoints(t *testing.T) {
	dir := t.TempDir()
	m, _ := nn.New("lenet300_100", 1)
	good := filepath.Join(dir, "good.safetensors")
	if err := nn.SaveCheckpoint(good, m, nil, 0, nil); err != nil {
		t.Fatal(err)
	}
	broken := func(name string, edit func(f *safetensors.File)) string {
		t.Helper()
		f, err := safetensors.ReadFile(good)
		if err != nil {
			t.Fatal(err)
		}
		edit(f)
		path := filepath.Join(dir, name+".safetensors")
		if err := safetensors.WriteFile(path, f); err != nil {
			t.Fatal(err)
		}
		return path
	}
	transposed := broken("transposed", func(f *safetensors.File) { f.Tensor("fc1.weight").Shape = []int{784, 300} })
	nan := broken("nan", func(f *safetensors.File) {
		for i := 0; i < len(f.Tensor("fc1.weight").Data); i += 4 {
			copy(f.Tensor("fc1.weight").Data[i:], []byte{0, 0, 0xc0, 0x7f})
		}
	})
	int8File := filepath.Join(dir, "int8.safetensors")
	if code, _, stderr := dst(t, "export", "--int8", good, "-o", int8File, "--limit-train", "64", "--calib-batches", "1"); code != 0 {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
	files := []struct{ path, want string }{
		{transposed, "fc1.weight has shape [784 300]; lenet300_100 needs [300 784]"},
		{nan, "fc1.weight has 235200 NaN or infinite values (of 235200)"},
		{int8File, "is an int8 model file written by dst export --int8, not a float checkpoint; load the float checkpoint it was exported from (" + good + ")"},
	}
	for _, f := range files {
		out := filepath.Join(dir, "out-"+filepath.Base(f.path))
		for _, c := range []struct {
			name string
			args []string
		}{
			{"summary", []string{"summary", "--checkpoint", f.path}},
			{"eval", []string{"eval", "--checkpoint", f.path, "--limit-test", "32"}},
			{"thin", []string{"thin", "--checkpoint", f.path, "-o", out + ".safetensors"}},
			{"export onnx", []string{"export", "--checkpoint", f.path, "-o", out + ".onnx"}},
			{"export int8", []string{"export", "--int8", f.path, "-o", out + ".int8.safetensors", "--limit-train", "64", "--calib-batches", "1"}},
		} {
			t.Run(c.name+" "+filepath.Base(f.path), func(t *testing.T) {
				code, _, stderr := dstNoPanic(t, c.args...)
				if code != 2 || !strings.Contains(stderr, f.want) || !strings.Contains(stderr, f.path) {
					t.Errorf("exit %d, stderr %q; want exit 2 and an error saying %q", code, stderr, f.want)
				}
				if matches, _ := filepath.Glob(out + "*"); len(matches) > 0 {
					t.Errorf("wrote %v", matches)
				}
			})
		}
	}
}

// dstNoPanic runs dst like dst(t, …) and turns a panic into a test error.
func dstNoPanic(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("dst %s panicked: %v", strings.Join(args, " "), r)
			code, stderr = -1, fmt.Sprint(r)
		}
	}()
	return dst(t, args...)
}
