package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.safetensors")
	if err := WriteFile(p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	checkFile(t, p, "one", 0o644)
	// A replaced file keeps its permissions.
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("two")); err != nil {
		t.Fatal(err)
	}
	checkFile(t, p, "two", 0o600)
	checkNoTemp(t, dir)
}

func TestWriteFails(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "keep.txt")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A failing writer leaves the old file and no temporary file behind.
	err := Write(p, func(w io.Writer) error {
		io.WriteString(w, "half")
		return errors.New("encoder failed")
	})
	if err == nil || !strings.Contains(err.Error(), "write "+p+": encoder failed") {
		t.Fatalf("error %v", err)
	}
	checkFile(t, p, "old", 0o644)
	checkNoTemp(t, dir)

	for _, c := range []struct {
		path, want string
	}{
		{filepath.Join(dir, "no", "such", "x.onnx"), "write " + filepath.Join(dir, "no", "such", "x.onnx") + ": folder " + filepath.Join(dir, "no", "such") + " does not exist"},
		{dir, "write " + dir + ": not a regular file"},
	} {
		err := WriteFile(c.path, []byte("x"))
		if err == nil || err.Error() != c.want {
			t.Errorf("WriteFile(%s): %v, want %q", c.path, err, c.want)
		}
	}
	checkNoTemp(t, dir)
}

func checkFile(t *testing.T, p, want string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Fatalf("%s holds %q, want %q", p, b, want)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != mode {
		t.Fatalf("%s has mode %v, want %v", p, st.Mode().Perm(), mode)
	}
}

func checkNoTemp(t *testing.T, dir string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if strings.Contains(e.Name(), ".tmp") {
			t.Fatalf("temporary file %s left behind", e.Name())
		}
	}
}
