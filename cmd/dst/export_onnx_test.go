package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dst-dev/dst/nn"
)

func TestExportONNX(t *testing.T) {
	dir := t.TempDir()
	m, _ := nn.New("simplenet_mnist", 1)
	ckpt := filepath.Join(dir, "m.safetensors")
	if err := nn.SaveCheckpoint(ckpt, m, nil, 0, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "m.onnx")
	code, stdout, stderr := dst(t, "export", "--format", "onnx", "--checkpoint", ckpt, "-o", out)
	if code != 0 || !strings.Contains(stdout, "opset 13") {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	if st, err := os.Stat(out); err != nil || st.Size() < 4*431080 {
		t.Fatalf("onnx file: %v", err)
	}
	// A second export refuses to overwrite without --force; --int8 with onnx is a usage error.
	if code, _, stderr := dst(t, "export", "--format", "onnx", "--checkpoint", ckpt, "-o", out); code != 2 || !strings.Contains(stderr, "--force") {
		t.Fatalf("overwrite: exit %d %s", code, stderr)
	}
	if code, _, _ := dst(t, "export", "--format", "onnx", "--int8", ckpt, "-o", out+"2"); code != 2 {
		t.Fatalf("--int8 with onnx: exit %d", code)
	}
	if code, _, _ := dst(t, "export", "-o", out+"3"); code != 2 {
		t.Fatalf("no checkpoint: exit %d", code)
	}
	// An .onnx output picks the ONNX format; an int8 export refuses to write one.
	out4 := filepath.Join(dir, "picked.onnx")
	if code, stdout, stderr := dst(t, "export", "--checkpoint", ckpt, "-o", out4); code != 0 || !strings.Contains(stdout, "opset 13") {
		t.Fatalf("-o picked.onnx without --format: exit %d: %s %s", code, stdout, stderr)
	}
	for _, args := range [][]string{{"--int8", ckpt}, {"--checkpoint", ckpt, "--format", "int8"}} {
		code, _, stderr := dst(t, append(append([]string{"export"}, args...), "-o", filepath.Join(dir, "int8.onnx"))...)
		if code != 2 || !strings.Contains(stderr, "names an ONNX file") {
			t.Errorf("%v -o int8.onnx: exit %d: %s", args, code, stderr)
		}
	}
	if code, _, stderr := dst(t, "export", "--checkpoint", ckpt, "--format", "tflite", "-o", filepath.Join(dir, "x")); code != 2 || !strings.Contains(stderr, "int8 or onnx") {
		t.Errorf("--format tflite: exit %d: %s", code, stderr)
	}
	if exec.Command("/usr/bin/python3", "-c", "import onnx").Run() != nil {
		t.Skip("python3-onnx not installed: the independent checker is skipped")
	}
	if b, err := exec.Command("/usr/bin/python3", "-c", "import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", out).CombinedOutput(); err != nil {
		t.Fatalf("onnx.checker: %v\n%s", err, b)
	}
}
