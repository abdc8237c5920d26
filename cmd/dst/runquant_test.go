package main

import (
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
	out = run("dorefa", "quantize * dorefa weights=4 bits activations=8 bits scale_weights from epoch 0\n")
	if !strings.Contains(out, "final top-1") {
		t.Fatalf("dorefa run:\n%s", out)
	}
	code, _, stderr := dst(t, append([]string{"train", "--model", "lenet300_100", "--out", filepath.Join(dir, "teacher")}, limits...)...)
	if code != 0 {
		t.Fatal(stderr)
	}
	teacher := filepath.Join(dir, "teacher", "checkpoint.safetensors")
	out = run("kd", "distill from \""+teacher+"\" temperature 4 student=0.3 soft=0.7\n")
	if !strings.Contains(out, "final top-1") {
		t.Fatalf("distill run:\n%s", out)
	}
}
