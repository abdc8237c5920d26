package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dst-dev/dst/analysis"
	"github.com/dst-dev/dst/stdlib"
)

func TestStatsCmd(t *testing.T) {
	ckpt := untrainedCheckpoint(t, "simplenet_mnist")
	out := filepath.Join(t.TempDir(), "stats")
	code, stdout, stderr := dst(t, "stats", "--checkpoint", ckpt, "--out", out, "--batches", "2", "--batch", "16", "--limit-test", "100")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "32 samples in 2 batches") || !strings.Contains(stdout, "conv2") {
		t.Errorf("output:\n%s", stdout)
	}
	f, err := os.Open(filepath.Join(out, "activations.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := analysis.ReadStats(f)
	if err != nil {
		t.Fatal(err)
	}
	if l := st.Layer("conv2"); l == nil || len(l.ChannelAPoZ) != 50 || l.Samples != 32 {
		t.Errorf("conv2 stats %+v", l)
	}
	csv, err := os.ReadFile(filepath.Join(out, "activations.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(csv), analysis.StatsCSVHeader+"\n") {
		t.Errorf("CSV:\n%s", csv)
	}
	// conv1 pools and rectifies its own output: its row says so, with a sample's shape
	// (the last batch's size used to stand in for the batch).
	if !strings.Contains(string(csv), "\nconv1,Conv2d+ReLU+MaxPool2d,20x12x12,32,") {
		t.Errorf("conv1's CSV row, want type Conv2d+ReLU+MaxPool2d and shape 20x12x12:\n%s", csv)
	}
	calib, err := stdlib.LoadStats(filepath.Join(out, "calibration.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The calibration's output statistics of a layer are the activation statistics.
	if c, a := calib["conv2"], st.Layer("conv2"); c == nil || c.Output.Samples != 32 || c.Output.Max != a.Max || c.Output.Min != a.Min {
		t.Errorf("calibration of conv2: %+v; activations min %v max %v", c, a.Min, a.Max)
	}
	// A second run does not replace the statistics without --force.
	code, _, stderr = dst(t, "stats", "--checkpoint", ckpt, "--out", out, "--batches", "1", "--batch", "16", "--limit-test", "100")
	if code != 2 || !strings.Contains(stderr, "already holds activation statistics (activations.json, activations.csv, calibration.json)") {
		t.Errorf("second run into %s: exit %d, %s", out, code, stderr)
	}
	code, _, stderr = dst(t, "stats", "--checkpoint", ckpt, "--out", out, "--batches", "1", "--batch", "16", "--limit-test", "100", "--force")
	if code != 0 {
		t.Errorf("second run with --force: exit %d, %s", code, stderr)
	}
	code, _, stderr = dst(t, "stats", "--checkpoint", ckpt, "--out", out, "--batches=-1")
	if code != 2 || !strings.Contains(stderr, "--batches >= 0") {
		t.Errorf("--batches -1: exit %d, %s", code, stderr)
	}
}

// TestStatsResNet checks dst stats on a model with residual blocks: its calibration
// folds the batch norms first, as post-training quantization does (it used to fail with
// "cannot replace layer1.0.conv1 inside residual block layer1.0").
func TestStatsResNet(t *testing.T) {
	ckpt := untrainedCheckpoint(t, "resnet20_cifar")
	out := filepath.Join(t.TempDir(), "stats")
	code, _, stderr := dst(t, "stats", "--checkpoint", ckpt, "--out", out, "--batches", "1", "--batch", "8", "--limit-train", "8", "--limit-test", "8")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	calib, err := stdlib.LoadStats(filepath.Join(out, "calibration.json"))
	if err != nil || calib["layer1.0.conv1"] == nil || calib["fc"] == nil {
		t.Fatalf("calibration.json: %v (%d layers)", err, len(calib))
	}
}
