package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dst-dev/dst/nn"
)

func TestBenchVariantsAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("benchmarks take seconds")
	}
	// A 90%-sparse lenet300_100 whose fc1 lost half of its outputs, so every variant differs.
	m, _ := nn.New("lenet300_100", 1)
	for _, p := range m.Params() {
		if p.Kind != nn.KindWeight {
			continue
		}
		mask := make([]float32, p.Len())
		cols := p.Len() / p.Shape()[0]
		for i := range mask {
			if i%10 == 3 && !(p.Name == "fc1.weight" && (i/cols)%2 == 1) {
				mask[i] = 1
			}
		}
		p.SetMask(mask)
	}
	ckpt := filepath.Join(t.TempDir(), "sparse.safetensors")
	if err := nn.SaveCheckpoint(ckpt, m, nil, 0, nil); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := dst(t, "bench", "--checkpoint", ckpt, "--samples", "300", "--reps", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep BenchReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rep.Results) != 4 || rep.Results[3].Variant != "int8" {
		t.Fatalf("%d variants, want dense, sparse, thinned, int8", len(rep.Results))
	}
	dense := rep.Results[0]
	for _, r := range rep.Results {
		if r.Variant == "int8" {
			if r.Top1 != r.FakeQuantTop1 {
				t.Errorf("int8 top-1 %.2f, fake-quant %.2f: the int8 model must compute the quantized model", r.Top1, r.FakeQuantTop1)
			}
		} else if r.Top1 != dense.Top1 {
			t.Errorf("%s top-1 %.2f, dense %.2f: variants must compute the same model", r.Variant, r.Top1, dense.Top1)
		}
		if r.LatencyUs <= 0 || r.Throughput <= 0 || r.SizeBytes <= 0 {
			t.Errorf("%s: missing figures %+v", r.Variant, r)
		}
		// With one repetition the speed-ups are that repetition's ratios, which are the
		// medians' ratios.
		lat, tput := dense.LatencyUs/r.LatencyUs, r.Throughput/dense.Throughput
		if math.Abs(r.SpeedupLatency-lat) > 1e-9*lat || math.Abs(r.SpeedupThroughput-tput) > 1e-9*tput {
			t.Errorf("%s: speed-ups %v / %v, want %v / %v", r.Variant, r.SpeedupLatency, r.SpeedupThroughput, lat, tput)
		}
		if l, tp := r.SpeedupLatencyRange, r.SpeedupThroughputRange; len(l) != 2 || len(tp) != 2 ||
			l[0] != r.SpeedupLatency || l[1] != r.SpeedupLatency || tp[0] != r.SpeedupThroughput || tp[1] != r.SpeedupThroughput {
			t.Errorf("%s: speed-up ranges %v / %v, want the one repetition's ratios %v / %v", r.Variant, l, tp, r.SpeedupLatency, r.SpeedupThroughput)
		}
	}
	if rep.Results[1].SizeBytes*3 > dense.SizeBytes || rep.Results[2].SizeBytes >= dense.SizeBytes || rep.Results[3].SizeBytes*3 > dense.SizeBytes {
		t.Errorf("files did not shrink: dense %d, sparse %d, thinned %d, int8 %d", dense.SizeBytes, rep.Results[1].SizeBytes, rep.Results[2].SizeBytes, rep.Results[3].SizeBytes)
	}
	if rep.Inputs != "cached" {
		t.Errorf("inputs %q, want cached", rep.Inputs)
	}
	code, out, stderr = dst(t, "bench", "--checkpoint", ckpt, "--samples", "100", "--reps", "1", "--cold-inputs", "--json")
	if code != 0 {
		t.Fatalf("--cold-inputs: exit %d: %s", code, stderr)
	}
	var cold BenchReport
	if err := json.Unmarshal([]byte(out), &cold); err != nil || cold.Inputs != "cold" || len(cold.Results) != 4 || cold.Results[1].Throughput <= 0 {
		t.Errorf("--cold-inputs: %v, inputs %q, results %+v", err, cold.Inputs, cold.Results)
	}
	if rep.Sparsity < 0.9 {
		t.Errorf("weight sparsity %.3f, want >= 0.9", rep.Sparsity)
	}
}

func TestParseTorch(t *testing.T) {
	out := []byte("torch 1.13\n| model | threads | mode | batch | samples/s median |\n|---|\n| lenet300100 | 1 | train | 64 | 100000 | 0.64 | x |\n| lenet300100 | 1 | infer | 1 | 20000 | 0.05 | x |\n| lenet300100 | 1 | infer | 64 | 300000 | 0.21 | x |\n")
	rs, err := parseTorch(out, 64)
	if err != nil || len(rs) != 1 || rs[0].LatencyUs != 50 || rs[0].Throughput != 300000 {
		t.Fatalf("%+v %v", rs, err)
	}
	if _, err := parseTorch([]byte("nothing"), 64); err == nil {
		t.Fatal("parsed garbage")
	}
}

func TestBenchRatios(t *testing.T) {
	for _, tc := range []struct {
		num, den []float64
		med      float64
		rng      []float64
	}{
		{[]float64{10}, []float64{2}, 5, []float64{5, 5}},
		{[]float64{10, 12, 9}, []float64{2, 2, 3}, 5, []float64{3, 6}},
		{[]float64{8, 8, 8, 8}, []float64{1, 2, 4, 8}, 3, []float64{1, 8}},
	} {
		med, rng := ratios(tc.num, tc.den)
		if med != tc.med || !slices.Equal(rng, tc.rng) {
			t.Errorf("ratios(%v, %v) = %v, %v; want %v, %v", tc.num, tc.den, med, rng, tc.med, tc.rng)
		}
	}
}

func TestAnchorsDir(t *testing.T) {
	root := t.TempDir()
	anchors := filepath.Join(root, "shared", "anchors", "torch")
	sub := filepath.Join(root, "repo", "examples")
	for _, d := range []string{anchors, sub} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(anchors, "bench_train.py"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	if got, err := anchorsDir(""); err != nil || got != anchors {
		t.Errorf(`anchorsDir("") from %s = %q, %v; want %q`, sub, got, err, anchors)
	}
	// A relative --anchors is made absolute: the script runs with the folder as its
	// working directory.
	if got, err := anchorsDir("../../shared/anchors/torch"); err != nil || got != anchors {
		t.Errorf("anchorsDir(relative) = %q, %v; want %q", got, err, anchors)
	}
	if _, err := anchorsDir(sub); err == nil || !strings.Contains(err.Error(), "holds no bench_train.py") {
		t.Errorf("anchorsDir(a folder without the script): %v", err)
	}
	t.Chdir(root)
	if _, err := anchorsDir(""); err == nil || !strings.Contains(err.Error(), "set --anchors") {
		t.Errorf("anchorsDir with no anchors above: %v", err)
	}
}
