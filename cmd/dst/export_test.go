package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dst-dev/dst/internal/int8model"
	"github.com/dst-dev/dst/nn"
)

func TestExportCommand(t *testing.T) {
	dir := t.TempDir()
	ckpt := prunedCheckpoint(t, dir, 0)
	small := []string{"--limit-train", "512", "--limit-test", "200", "--calib-batches", "2"}
	q := filepath.Join(dir, "q.dst")
	if err := os.WriteFile(q, []byte("quantize * linear 8 bits mode=asym_u per_channel after training {\n    override fc2 weights=4 bits\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"flags", []string{"--bits", "8", "--per-channel"}, []string{"conv1    w8 a8 acc32 sym per-channel", "predictions differing: 0"}},
		{"script", []string{"--quantize", q}, []string{"fc2      w4 a8 acc32 asym_u per-channel", "predictions differing: 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".safetensors")
			args := append(append([]string{"export", "--int8", ckpt, "-o", out, "--verify"}, small...), tc.args...)
			code, stdout, stderr := dst(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Fatalf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			m, info, err := int8model.Load(out, func(name string) (*nn.Model, error) { return nn.New(name, 0) })
			if err != nil || m.Name != "simplenet_mnist" || len(info.Layers) != 4 {
				t.Fatalf("reload: %v %+v", err, info)
			}
		})
	}
	// A stats file is written by the first run and read by the next.
	stats := filepath.Join(dir, "stats.json")
	qs := filepath.Join(dir, "qs.dst")
	os.WriteFile(qs, []byte("quantize * linear 8 bits stats=\""+stats+"\" after training\n"), 0o644)
	for i, want := range []string{"wrote calibration statistics", "calibration statistics from"} {
		out := filepath.Join(dir, "s"+string(rune('0'+i)))
		code, stdout, stderr := dst(t, append([]string{"export", "--int8", ckpt, "-o", out, "--quantize", qs}, small...)...)
		if code != 0 || !strings.Contains(stdout, want) {
			t.Fatalf("run %d: exit %d, stdout %q, stderr %q", i, code, stdout, stderr)
		}
	}
	// A residual network has its batch norms folded first.
	rn, _ := nn.New("resnet20_cifar", 0)
	rnPath := filepath.Join(dir, "rn.safetensors")
	if err := nn.SaveCheckpoint(rnPath, rn, nil, 0, nil); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := dst(t, "export", "--int8", rnPath, "-o", filepath.Join(dir, "rn8"), "--limit-train", "64", "--limit-test", "32", "--calib-batches", "1", "--verify")
	if code != 0 || !strings.Contains(stdout, "folded 21 batch norms") || !strings.Contains(stdout, "predictions differing: 0") {
		t.Fatalf("resnet export: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	qat := filepath.Join(dir, "qat.dst")
	os.WriteFile(qat, []byte("quantize * dorefa 4 bits\n"), 0o644)
	bad := filepath.Join(dir, "bad.dst")
	os.WriteFile(bad, []byte("quantize * linear 8 bits after training {\n    override fc9 float\n}\n"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"exists", []string{"export", "--int8", ckpt, "-o", filepath.Join(dir, "flags.safetensors")}, "exists"},
		{"qat script", []string{"export", "--int8", ckpt, "-o", filepath.Join(dir, "x1"), "--quantize", qat}, "quantization-aware"},
		{"bad override", []string{"export", "--int8", ckpt, "-o", filepath.Join(dir, "x2"), "--quantize", bad}, "fc9"},
		{"bits", []string{"export", "--int8", ckpt, "-o", filepath.Join(dir, "x3"), "--bits", "12"}, "--bits"},
		{"bits 0", []string{"export", "--int8", ckpt, "-o", filepath.Join(dir, "x7"), "--bits=0"}, "--bits must lie in [2, 8]"},
		{"bits with quantize", []string{"export", "--int8", ckpt, "-o", filepath.Join(dir, "x5"), "--quantize", bad, "--bits", "4"}, "--bits applies to an int8 export without --quantize"},
		{"bits with onnx", []string{"export", "--checkpoint", ckpt, "-o", filepath.Join(dir, "x6.onnx"), "--bits", "4", "--per-channel"}, "--bits and --per-channel apply to an int8 export without --quantize; the ONNX export is the float model"},
		{"same file", []string{"export", "--int8", ckpt, "-o", ckpt, "--force"}, "overwrite"},
		{"dynamic", []string{"export", "--int8", ckpt, "-o", filepath.Join(dir, "x4"), "--calib-batches", "0"}, "dynamic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := dst(t, append(append([]string{tc.args[0]}, small...), tc.args[1:]...)...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
		})
	}
}
