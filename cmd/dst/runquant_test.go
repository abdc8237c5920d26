package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestRunQuantizeAndDistill runs the issue-5 statements through dst run: post-training
// quantization after training (its accuracy is reported and must stay close to the
// float model's), DoReFa quantization-aware training, and distillation from a teacher
// checkpoint trained first.
func TestRunQuantizeAndDistill(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three small models")
	}
	dir := t.TempDir()
	limits := []string{"--limit-train", "2000", "--limit-test", "500", "--epochs", "2"}
	run := func(name, src string, extra ...string) string {
		t.Helper()
		f := writeRunFile(t, dir, name+".dst", src)
		args := append([]string{"run", f, "--model", "lenet300_100", "--out", filepath.Join(dir, name)}, limits...)
		code, out, stderr := dst(t, append(args, extra...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		return out
	}
	out := run("ptq", "quantize * linear 8 bits after training\n")
	m := regexp.MustCompile(`after post-training quantization \(.*\): top-1 ([\d.]+)% \(float ([\d.]+)%\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no post-training quantization line in:\n%s", out)
	}
	q, _ := strconv.ParseFloat(m[1], 64)
	f, _ := strconv.ParseFloat(m[2], 64)
	if q < f-1 || f < 50 {
		t.Errorf("8-bit PTQ top-1 %.2f%%, float %.2f%%", q, f)
	}
	// The run's checkpoint holds the trained float model the quantization was made from
	// (it used to hold none of the quantized layers' weights), and dst eval runs it.
	ckpt := filepath.Join(dir, "ptq", "checkpoint.safetensors")
	if code, out, stderr := dst(t, "eval", "--checkpoint", ckpt, "--limit-test", "500"); code != 0 || !strings.Contains(out, "top-1") {
		t.Errorf("dst eval of the PTQ run's checkpoint: exit %d: %s%s", code, out, stderr)
	} else if e := regexp.MustCompile(`top-1 ([\d.]+)%`).FindStringSubmatch(out); e == nil || e[1] != m[2] {
		t.Errorf("dst eval of the PTQ run's checkpoint: %q, want the float model's top-1 %s%%", strings.TrimSpace(out), m[2])
	}
	out = run("dorefa", "quantize * dorefa weights=4 bits activations=8 bits scale_weights from epoch 0\n")
	if !strings.Contains(out, "final top-1") {
		t.Fatalf("dorefa run:\n%s", out)
	}
	// An int8 export with --verify writes its file only when it predicts as the quantized
	// model: exit 0 and the file, or exit 1 and no file.
	x8 := filepath.Join(dir, "dorefa.int8")
	code, _, stderr := dst(t, "export", "--int8", filepath.Join(dir, "dorefa", "checkpoint.safetensors"), "-o", x8, "--verify", "--limit-test", "500", "--limit-train", "500")
	_, statErr := os.Stat(x8)
	if (code == 0) != (statErr == nil) || (code != 0 && !strings.Contains(stderr, "not written")) {
		t.Errorf("export --verify of the DoReFa run: exit %d, file: %v, stderr: %s", code, statErr, stderr)
	}
	if matches, _ := filepath.Glob(x8 + "*"); code != 0 && len(matches) > 0 {
		t.Errorf("a failed verification left %v", matches)
	}
	code, _, stderr = dst(t, append([]string{"train", "--model", "lenet300_100", "--out", filepath.Join(dir, "teacher")}, limits...)...)
	if code != 0 {
		t.Fatal(stderr)
	}
	teacher := filepath.Join(dir, "teacher", "checkpoint.safetensors")
	out = run("kd", "distill from \""+teacher+"\" temperature 4 student=0.3 soft=0.7\n")
	if !strings.Contains(out, "final top-1") {
		t.Fatalf("distill run:\n%s", out)
	}
}

// TestEvalQuantize evaluates a checkpoint as trained and under an 8-bit post-training
// quantization script, which must cost little accuracy.
func TestEvalQuantize(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := dst(t, "train", "--model", "lenet300_100", "--epochs", "1", "--limit-train", "3000", "--limit-test", "500", "--out", filepath.Join(dir, "m"))
	if code != 0 {
		t.Fatal(stderr)
	}
	ckpt := filepath.Join(dir, "m", "checkpoint.safetensors")
	q := writeRunFile(t, dir, "q.dst", "quantize * linear 8 bits after training\n")
	top1 := func(args ...string) float64 {
		t.Helper()
		code, out, stderr := dst(t, append([]string{"eval", "--checkpoint", ckpt, "--limit-test", "500", "--limit-train", "2000"}, args...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		m := regexp.MustCompile(`top-1 ([\d.]+)%`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no top-1 in %s", out)
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	f, q8 := top1(), top1("--quantize", q, "--calib-batches", "2")
	if q8 < f-1 || q8 == 0 {
		t.Errorf("8-bit top-1 %.2f%%, float %.2f%%", q8, f)
	}
}
