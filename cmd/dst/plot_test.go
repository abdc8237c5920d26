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

func TestPlotSensitivityCSV(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "resnet20.csv")
	body := "parameter,sparsity,top1,top5,loss\n" +
		"conv1.weight,0.0,91.5,99.7,0.35\nconv1.weight,0.5,85.1,99.1,0.6\n" +
		"fc.weight,0.0,91.5,99.7,0.35\nfc.weight,0.5,90.9,99.6,0.37\n"
	if err := os.WriteFile(csv, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := dst(t, "plot", csv)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "2 parameters × 2 levels") {
		t.Errorf("output %q", out)
	}
	f, err := os.Open(filepath.Join(dir, "resnet20.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Error(err)
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("parameter,sparsity,top1,top5,loss\nx,0,1,2\n"), 0o644)
	code, _, stderr = dst(t, "plot", bad)
	if code != 2 || !strings.Contains(stderr, "bad.csv") || !strings.Contains(stderr, "line 2") {
		t.Errorf("bad CSV: exit %d, %s", code, stderr)
	}
}
