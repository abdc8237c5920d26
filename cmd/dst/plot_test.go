package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dst-dev/dst/analysis"
)

func TestPlotCmd(t *testing.T) {
	run := t.TempDir()
	b, err := os.ReadFile("../../internal/runlog/testdata/summary.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(run, "summary.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := dst(t, "plot", run)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, name := range analysis.RunPlots {
		path := filepath.Join(run, name)
		if !strings.Contains(out, path) {
			t.Errorf("output does not name %s:\n%s", path, out)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r := img.Bounds(); r.Dx() < 500 || r.Dy() < 300 {
			t.Errorf("%s: %v", name, r)
		}
	}
	code, _, stderr = dst(t, "plot", t.TempDir())
	if code != 2 || !strings.Contains(stderr, "holds no summary.json") {
		t.Errorf("empty folder: exit %d, %s", code, stderr)
	}
}
