package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/dst-dev/dst/internal/runlog"
	"github.com/dst-dev/dst/internal/safetensors"
	"github.com/dst-dev/dst/internal/tfevents"
	"github.com/dst-dev/dst/interp"
	"github.com/dst-dev/dst/nn"
)

// agpTarget is the AGP sparsity at epoch e of a window [0, end) every 1 (Distiller's
// span rule: span = end − 1).
func agpTarget(si, sf float64, end, e int) float64 {
	x := math.Min(float64(e)/float64(end-1), 1)
	return sf + (si-sf)*math.Pow(1-x, 3)
}

// writeRunFile writes content to dir/name and returns the path.
func writeRunFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunVerboseSteps checks that --verbose logs the masks a step-granular policy sets
// at the minibatches it fires on, as its help promises.
func TestRunVerboseSteps(t *testing.T) {
	dir := t.TempDir()
	sched := writeRunFile(t, dir, "steps.dst", "prune fc1 agp 10% -> 80% from epoch 0 to 2 every 2 steps\n")
	code, _, stderr := dst(t, "run", sched, "--model", "lenet300_100", "--epochs", "2", "--limit-train", "256",
		"--limit-test", "64", "--batch", "64", "--verbose", "--out", filepath.Join(dir, "out"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"param=fc1.weight epoch=0 step=2", "param=fc1.weight epoch=1 step=2"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("--verbose did not log %q:\n%s", want, stderr)
		}
	}
}

// TestRunAGPExactNNZ is the short form of issue 4's AGP acceptance: simplenet_mnist on a
// subset of MNIST, conv weights 5% → 70% and fc weights 5% → 90% over the first three
// epochs; after every epoch summary.json must show exactly ⌊target·n⌋ zeros per layer.
// It also checks the other outputs: run.csv, the schedule's copy, the checkpoint's
// scheduler state and the TensorBoard file (with tools/tbread.py when available).
func TestRunAGPExactNNZ(t *testing.T) {
	dir := t.TempDir()
	sched := writeRunFile(t, dir, "agp.dst", "prune [conv1, conv2] agp 5% -> 70% from epoch 0 to 3\nprune [fc1, fc2] agp 5% -> 90% from epoch 0 to 3\n")
	out := filepath.Join(dir, "out")
	code, stdout, stderr := dst(t, "run", sched, "--model", "simplenet_mnist", "--epochs", "3", "--limit-train", "256",
		"--limit-test", "64", "--batch", "64", "--verbose", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"Epoch 2 ==> Top1:", "| conv2.weight", "Total sparsity:"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "msg=pruned policy=") || !strings.Contains(stderr, "param=fc1.weight epoch=2") {
		t.Errorf("--verbose logged no pruning:\n%s", stderr)
	}
	s, err := runlog.ReadSummary(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Epochs) != 3 {
		t.Fatalf("summary.json has %d epochs, want 3", len(s.Epochs))
	}
	finals := map[string]float64{"conv1.weight": 0.7, "conv2.weight": 0.7, "fc1.weight": 0.9, "fc2.weight": 0.9}
	for _, ep := range s.Epochs {
		for _, p := range ep.Params {
			sf, pruned := finals[p.Name]
			n := 1
			for _, d := range p.Shape {
				n *= d
			}
			want := n
			if pruned {
				want = n - int(math.Floor(agpTarget(0.05, sf, 3, ep.Metrics.Epoch)*float64(n)+1e-9))
			}
			if pruned && p.NNZ != want || !pruned && p.NNZ < n-2 {
				t.Errorf("epoch %d %s: nnz %d, want %d", ep.Metrics.Epoch, p.Name, p.NNZ, want)
			}
		}
	}
	if ws := s.Epochs[2].WeightSparsity; ws < 0.88 {
		t.Errorf("final weight sparsity %.4f, want >= 0.88", ws)
	}
	for _, f := range []string{"run.csv", runSchedule} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	ci, err := nn.ReadCheckpointInfo(filepath.Join(out, runCheckpoint))
	if err != nil {
		t.Fatal(err)
	}
	if ci.Epoch != 2 || ci.Meta[metaFinished] != "true" || !strings.Contains(ci.Meta[metaScheduler], `"version":1`) {
		t.Errorf("checkpoint epoch %d, meta %v", ci.Epoch, ci.Meta)
	}
	// TensorBoard: the Go reader checks the CRCs; look for the tags a run must have.
	evFiles, _ := filepath.Glob(filepath.Join(out, "events.out.tfevents.*"))
	if len(evFiles) != 1 {
		t.Fatalf("event files %v, want one", evFiles)
	}
	events, err := tfevents.ReadFile(evFiles[0])
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]int{}
	for _, e := range events {
		for _, v := range e.Values {
			tags[v.Tag]++
		}
	}
	for _, tag := range []string{"Performance/Validation/Top1", "Performance/Training/LR", "sparsity/weights/fc1.weight", "sparsity/weights/total", "weights/conv1.weight"} {
		if tags[tag] != 3 {
			t.Errorf("tag %s written %d times, want 3", tag, tags[tag])
		}
	}
	checkTBRead(t, evFiles[0], "scalar 2 sparsity/weights/fc1.weight 90")
}

// checkTBRead decodes path with tools/tbread.py (skipped without python3-protobuf) and
// requires a line starting with want.
func checkTBRead(t *testing.T, path, want string) {
	t.Helper()
	const python = "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import google.protobuf").CombinedOutput(); err != nil {
		t.Logf("tools/tbread.py not run: python3 with google.protobuf unavailable: %v %s", err, out)
		return
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "tools", "tbread.py"))
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(python, script, path)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tbread.py: %v: %s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "\n"+want) {
		t.Errorf("tbread.py output lacks %q:\n%s", want, stdout.String())
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	bad := writeRunFile(t, dir, "bad.dst", "prune fc9 level 0.5 at epoch 0\n")
	quant := writeRunFile(t, dir, "q.dst", "distill from \"missing-teacher.safetensors\" temperature 4\n")
	good := writeRunFile(t, dir, "good.dst", "prune fc1 level 0.5 at epoch 0\n")
	badHCL := writeRunFile(t, dir, "bad.hcl", "model = \"simplenet_mnist\"\noptimizer \"rmsprop\" {}\n")
	noSched := writeRunFile(t, dir, "nosched.hcl", "model = \"simplenet_mnist\"\n")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"checker error", []string{"run", bad, "--model", "simplenet_mnist"}, 1, "bad.dst:1:7: error"},
		{"missing teacher", []string{"run", quant, "--model", "simplenet_mnist"}, 1, "Cannot compile policy"},
		{"missing schedule", []string{"run", filepath.Join(dir, "none.dst")}, 2, "none.dst"},
		{"no file", []string{"run"}, 2, "give a .dst schedule"},
		{"unknown model", []string{"run", good, "--model", "nope"}, 2, `unknown model "nope"`},
		{"lr-drop", []string{"run", good, "--lr-drop", "0.5"}, 2, "write an lr policy"},
		{"bad hcl", []string{"run", badHCL}, 2, `want "sgd" or "adam"`},
		{"hcl without schedule", []string{"run", noSched}, 2, "names no schedule"},
		{"resume with flags", []string{"run", "--resume", dir, "--epochs", "3"}, 2, "--epochs cannot be given"},
		{"resume without run", []string{"run", "--resume", dir}, 2, "--resume"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(tc.name, " ", "-"))
			code, _, stderr := dst(t, append(tc.args, "--out", out)...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr, tc.code, tc.stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a failed run created %s", out)
			}
		})
	}
}

// TestRunActivationRanking prunes filters ranked by their mean activation, which dst
// run collects from the training data when the policy fires.
func TestRunActivationRanking(t *testing.T) {
	dir := t.TempDir()
	sched := writeRunFile(t, dir, "a.dst", "prune conv2 filters 40% by mean_activation at epoch 1\n")
	out := filepath.Join(dir, "out")
	code, stdout, stderr := dst(t, "run", sched, "--model", "simplenet_mnist", "--epochs", "2", "--limit-train", "128",
		"--limit-test", "64", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "prune level filters by mean_activation at epoch 1") {
		t.Errorf("policy listing missing:\n%s", stdout)
	}
	s, err := runlog.ReadSummary(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	for e, want := range []int{25000, 15000} {
		for _, p := range s.Epochs[e].Params {
			if p.Name == "conv2.weight" && p.NNZ != want {
				t.Errorf("epoch %d: conv2.weight nnz %d, want %d (20 of 50 filters pruned)", e, p.NNZ, want)
			}
		}
	}
}

// TestRunExperimentHCL runs an experiment file and checks that its settings apply and
// that a flag given on the command line overrides the file.
func TestRunExperimentHCL(t *testing.T) {
	dir := t.TempDir()
	writeRunFile(t, dir, "s.dst", "prune fc1 level 50% at epoch 0\nlr step 0.5 from epoch 0 every 1 epochs\n")
	exp := writeRunFile(t, dir, "exp.hcl", `
model    = "lenet300_100"
schedule = "s.dst"
out      = "out"
epochs   = 3
batch    = 50
seed     = 3
data {
  dataset     = "mnist"
  limit_train = 300
  limit_test  = 100
}
optimizer "sgd" {
  lr       = 0.04
  momentum = 0.5
  wd       = 0
}
`)
	code, _, stderr := dst(t, "run", exp, "--epochs", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	out := filepath.Join(dir, "out")
	s, err := runlog.ReadSummary(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Epochs) != 2 {
		t.Errorf("%d epochs, want 2 (the flag overrides the file)", len(s.Epochs))
	}
	for i, want := range []float64{0.04, 0.02} {
		if got := s.Epochs[i].Metrics.LR; math.Abs(got-want) > 1e-12 {
			t.Errorf("epoch %d lr %v, want %v", i, got, want)
		}
	}
	if got := s.Epochs[0].Params[0]; got.Name != "fc1.weight" || got.Sparsity != 0.5 {
		t.Errorf("fc1.weight after epoch 0: %+v", got)
	}
	if _, err := os.Stat(filepath.Join(out, runExperiment)); err != nil {
		t.Error(err)
	}
}

// TestRunKillResume kills `dst run` with SIGKILL at random steps (fixed seed), resumes
// it, and requires the final weights, masks and optimizer state to be bit-identical to
// an uninterrupted run's; the checkpoint left by the killed process must always load.
// The schedule thins conv1 after epoch 0, so the resumed run starts from a thinned
// checkpoint, and holds AGP, sensitivity (cached σ), L1 and an lr schedule.
func TestRunKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds dst and trains four times")
	}
	bin := buildDst(t)
	dir := t.TempDir()
	sched := writeRunFile(t, dir, "s.dst", "prune conv1 filters 50% by l1 at epoch 0 then thin\nprune conv2 agp 10% -> 60% from epoch 0 to 3\n"+
		"prune fc1 sensitivity 0.5 at epochs [1, 2]\nregularize fc2 l1 1e-4\nlr exponential 0.8 from epoch 1\n")
	const epochs, steps = 3, 8
	args := func(out string) []string {
		return []string{"run", sched, "--model", "simplenet_mnist", "--epochs", fmt.Sprint(epochs), "--limit-train", fmt.Sprint(steps * 32),
			"--limit-test", "32", "--batch", "32", "--seed", "5", "--threads", "1", "--out", out}
	}
	full := filepath.Join(dir, "full")
	if out, err := exec.Command(bin, args(full)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	want := loadRun(t, filepath.Join(full, runCheckpoint))
	if n := len(want["conv1.weight"]); n != 10*5*5 {
		t.Fatalf("conv1.weight has %d values after thinning, want 250", n)
	}
	r := rand.New(rand.NewPCG(1, 1))
	for trial := range 2 {
		// Trial 0 kills after a random global step of epochs 1 and 2 (epoch 0's checkpoint
		// exists); trial 1 kills as soon as epoch 1's metrics are printed, while its logs
		// and checkpoint are being written.
		kill := steps + r.IntN((epochs-1)*steps)
		if trial == 1 {
			kill = -1
		}
		out := filepath.Join(dir, fmt.Sprintf("killed%d", trial))
		n := 0
		runUntil(t, bin, append(args(out), "--print-steps"), func(line string) bool {
			if kill < 0 {
				return strings.HasPrefix(line, "Epoch 1 ==>")
			}
			if strings.HasPrefix(line, "step ") {
				n++
			}
			return n == kill+1
		})
		ci, err := nn.ReadCheckpointInfo(filepath.Join(out, runCheckpoint))
		if err != nil {
			t.Fatalf("trial %d: checkpoint after SIGKILL at step %d: %v", trial, kill, err)
		}
		t.Logf("trial %d: killed after global step %d (-1: at epoch 1's end); last checkpoint epoch %d", trial, kill, ci.Epoch)
		loadRun(t, filepath.Join(out, runCheckpoint)) // whole, not half-written
		if ci.Meta[metaFinished] == "true" {
			// The test was descheduled long enough for the run to finish: nothing to resume.
			t.Logf("trial %d: the run finished before the kill arrived", trial)
		} else if res, err := exec.Command(bin, "run", "--resume", out, "--threads", "1").CombinedOutput(); err != nil {
			t.Fatalf("resume: %v\n%s", err, res)
		}
		got := loadRun(t, filepath.Join(out, runCheckpoint))
		for name, w := range want {
			g := got[name]
			if len(g) != len(w) {
				t.Fatalf("trial %d: %s has %d values resumed, %d uninterrupted", trial, name, len(g), len(w))
			}
			for i := range w {
				if math.Float32bits(g[i]) != math.Float32bits(w[i]) {
					t.Fatalf("trial %d: %s[%d] = %v resumed, %v uninterrupted", trial, name, i, g[i], w[i])
				}
			}
		}
		s, err := runlog.ReadSummary(filepath.Join(out, "summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range s.Epochs {
			if e.Metrics.Epoch != i {
				t.Errorf("trial %d: summary.json epochs out of order: %d at %d", trial, e.Metrics.Epoch, i)
			}
		}
		if len(s.Epochs) != epochs {
			t.Errorf("trial %d: summary.json has %d epochs, want %d", trial, len(s.Epochs), epochs)
		}
		// Two event files now: the killed process's and the resumed one's, which starts
		// with a restart marker at the first epoch it redoes.
		if ci.Meta[metaFinished] != "true" {
			checkTBRead(t, out, fmt.Sprintf("session_start %d", ci.Epoch+1))
		}
	}
}

// loadRun loads a run's checkpoint into a fresh model and SGD optimizer and returns
// every value, mask and optimizer state tensor by name.
func loadRun(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	m, err := nn.New("simplenet_mnist", 0)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := nn.NewSGD(m.Params(), nn.SGDConfig{LR: 0.01, Momentum: 0.9, WeightDecay: 1e-4})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nn.LoadCheckpoint(path, m, opt); err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for _, p := range m.Params() {
		out[p.Name] = append([]float32(nil), p.Data()...)
		if p.Mask != nil {
			out[p.Name+"/mask"] = append([]float32(nil), p.MaskData()...)
		}
	}
	for name, ts := range opt.State() {
		for i, ts := range ts {
			out[fmt.Sprintf("%s/state%d", name, i)] = append([]float32(nil), ts.Data().([]float32)...)
		}
	}
	return out
}

// TestExampleExperiments decodes every examples/*.hcl (and the acceptance runs' files
// under testdata/run) and checks the schedule each names against its model.
func TestExampleExperiments(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.hcl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example experiments: %v", err)
	}
	more, _ := filepath.Glob(filepath.Join("testdata", "run", "*.hcl"))
	files = append(files, more...)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var stderr bytes.Buffer
			exp, err := loadExperiment(f, &stderr)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			if exp.Model == nil || exp.Schedule == nil || exp.Epochs == nil {
				t.Fatal("an example must name model, schedule and epochs")
			}
			m, err := nn.New(*exp.Model, 0)
			if err != nil {
				t.Fatal(err)
			}
			src, err := os.ReadFile(*exp.Schedule)
			if err != nil {
				t.Fatal(err)
			}
			prog, diags := interp.Check(*exp.Schedule, src, interp.Options{Params: m.Params(), Epochs: *exp.Epochs})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			opt, err := nn.NewSGD(m.Params(), nn.SGDConfig{LR: 0.01})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := interp.Compile(prog, interp.Options{Params: m.Params(), Optimizer: opt, Model: m, Epochs: *exp.Epochs}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRunResumeQAT kills quantization-aware runs of every method as epoch 1 ends and
// resumes them: the float copies of the weights, PACT's α and its optimizer state and
// linear QAT's activation ranges come back from the checkpoint, so the resumed run ends
// bit-identical to an uninterrupted one.
func TestRunResumeQAT(t *testing.T) {
	if testing.Short() {
		t.Skip("builds dst and trains eight times")
	}
	bin := buildDst(t)
	for _, sched := range []string{
		"quantize * dorefa weights=4 bits activations=8 bits scale_weights\n",
		"quantize * pact weights=4 bits activations=8 bits scale_weights alpha_decay=1e-4\n",
		"quantize * qat 8 bits mode=asym_u per_channel\n",
		"quantize * wrpn weights=4 bits activations=8 bits widen=2\n",
	} {
		method := strings.Fields(sched)[2]
		t.Run(method, func(t *testing.T) {
			dir := t.TempDir()
			file := writeRunFile(t, dir, "q.dst", sched)
			args := func(out string) []string {
				return []string{"run", file, "--model", "simplenet_mnist", "--epochs", "3", "--limit-train", "192",
					"--limit-test", "32", "--batch", "32", "--seed", "5", "--threads", "1", "--out", out}
			}
			full := filepath.Join(dir, "full")
			out, err := exec.Command(bin, args(full)...).CombinedOutput()
			if err != nil {
				t.Fatalf("uninterrupted run: %v\n%s", err, out)
			}
			// dst eval rebuilds the quantized activations from the checkpoint: it
			// computes what the run computed.
			ev, err := exec.Command(bin, "eval", "--checkpoint", filepath.Join(full, runCheckpoint), "--limit-test", "32").CombinedOutput()
			if err != nil {
				t.Fatalf("eval: %v\n%s", err, ev)
			}
			runTop1 := regexp.MustCompile(`final top-1 ([0-9.]+)%`).FindSubmatch(out)
			evalTop1 := regexp.MustCompile(`top-1 ([0-9.]+)%`).FindSubmatch(ev)
			if runTop1 == nil || evalTop1 == nil || string(runTop1[1]) != string(evalTop1[1]) {
				t.Errorf("dst eval says %q, the run ended with %q", ev, runTop1)
			}
			killed := filepath.Join(dir, "killed")
			runUntil(t, bin, args(killed), func(line string) bool { return strings.HasPrefix(line, "Epoch 1 ==>") })
			ci, err := nn.ReadCheckpointInfo(filepath.Join(killed, runCheckpoint))
			if err != nil {
				t.Fatalf("no checkpoint after the kill: %v", err)
			}
			if ci.Meta[metaFinished] == "true" {
				t.Skip("the run finished before the kill arrived")
			}
			if res, err := exec.Command(bin, "run", "--resume", killed, "--threads", "1").CombinedOutput(); err != nil {
				t.Fatalf("resume: %v\n%s", err, res)
			}
			want, got := rawTensors(t, filepath.Join(full, runCheckpoint)), rawTensors(t, filepath.Join(killed, runCheckpoint))
			if len(got) != len(want) {
				t.Fatalf("resumed checkpoint has %d tensors, uninterrupted %d", len(got), len(want))
			}
			floats := 0
			for name, w := range want {
				if strings.HasPrefix(name, "__state__.") {
					floats++
				}
				if !slices.Equal(got[name], w) {
					t.Errorf("%s differs between the resumed and the uninterrupted run", name)
				}
			}
			if method == "wrpn" && len(want["fc1.weight"]) != 1000*1600 {
				t.Errorf("wrpn widen=2: fc1.weight has %d values, want 1000×1600", len(want["fc1.weight"]))
			}
			if floats == 0 {
				t.Errorf("the checkpoint holds no float copies of the quantized weights")
			}
		})
	}
}

// runUntil runs dst with args and SIGKILLs it at the first line of its standard output
// for which stop returns true (or lets it finish), then waits for it.
func runUntil(t *testing.T, bin string, args []string, stop func(line string) bool) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if stop(sc.Text()) {
			cmd.Process.Signal(syscall.SIGKILL)
			break
		}
	}
	cmd.Wait()
}

// rawTensors returns every tensor of a safetensors file as its float32 values.
func rawTensors(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for _, ts := range f.Tensors {
		v := make([]float32, ts.Len())
		if err := ts.Float32s(v); err != nil {
			t.Fatal(err)
		}
		out[ts.Name] = v
	}
	return out
}

// TestRunOutRefusesRunFiles checks that dst run without --force refuses an --out folder
// holding any file it would write or delete (a schedule.dst, run.csv, experiment.hcl or
// TensorBoard file of the user's), lists them all, and leaves them untouched.
func TestRunOutRefusesRunFiles(t *testing.T) {
	dir := t.TempDir()
	sched := writeRunFile(t, dir, "s.dst", "prune fc1 level 50% at epoch 0\n")
	exp := writeRunFile(t, dir, "exp.hcl", "model = \"lenet300_100\"\nschedule = \"s.dst\"\nepochs = 1\n")
	args := []string{"--model", "lenet300_100", "--epochs", "1", "--limit-train", "64", "--limit-test", "64"}
	for _, tc := range []struct {
		name, file string
		args       []string
		held       map[string]string
		want       string
	}{
		{"schedule", sched, args, map[string]string{runSchedule: "mine\n", runCSV: "mine\n", "events.out.tfevents.1.host": "tb"},
			"(run.csv, schedule.dst, events.out.tfevents.1.host)"},
		{"experiment", exp, nil, map[string]string{runExperiment: "mine\n"}, "(experiment.hcl)"},
		// A folder whose name holds pattern characters is searched all the same.
		{"glob[1]", sched, args, map[string]string{"events.out.tfevents.2.host": "tb"}, "(events.out.tfevents.2.host)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+tc.name)
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, content := range tc.held {
				writeRunFile(t, out, name, content)
			}
			code, _, stderr := dst(t, append(append([]string{"run", tc.file}, tc.args...), "--out", out)...)
			if code != 2 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "pass --force") {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit 2 listing %s", code, stderr, tc.want)
			}
			entries, _ := os.ReadDir(out)
			if len(entries) != len(tc.held) {
				t.Errorf("the refused run changed %s: %v", out, entries)
			}
			for name, content := range tc.held {
				if b, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(b) != content {
					t.Errorf("%s: %q, %v; want it untouched", name, b, err)
				}
			}
		})
	}
}

// cancelOn is a writer that cancels a context at the first write containing a string.
type cancelOn struct {
	bytes.Buffer
	want   string
	cancel func()
}

func (w *cancelOn) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(w.want)) {
		w.cancel()
	}
	return w.Buffer.Write(p)
}

// TestRunForceInterrupted interrupts a forced run over an old one before its first
// epoch ends: the old run's checkpoint, summary and TensorBoard file are gone (no mix of
// the two runs), no resume hint is printed, and --resume says why it cannot resume.
func TestRunForceInterrupted(t *testing.T) {
	dir := t.TempDir()
	sched := writeRunFile(t, dir, "s.dst", "prune fc1 agp 10% -> 50% from epoch 0 to 2\n")
	out := filepath.Join(dir, "out")
	args := []string{"run", sched, "--model", "lenet300_100", "--epochs", "2", "--limit-train", "256", "--limit-test", "64", "--out", out}
	if code, _, stderr := dst(t, args...); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	oldEvents, _ := filepath.Glob(filepath.Join(out, "events.out.tfevents.*"))
	if len(oldEvents) != 1 {
		t.Fatalf("event files %v", oldEvents)
	}
	oldTB, err := os.ReadFile(oldEvents[0])
	if err != nil {
		t.Fatal(err)
	}
	writeRunFile(t, dir, "s2.dst", "prune fc2 level 30% at epoch 0\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &cancelOn{want: "step 0 0", cancel: cancel}
	var stderr bytes.Buffer
	args2 := append([]string{"run", filepath.Join(dir, "s2.dst")}, args[2:]...)
	if code := run(ctx, append(args2, "--force", "--print-steps"), stdout, &stderr); code == 0 {
		t.Fatalf("the interrupted run succeeded:\n%s", stdout.String())
	}
	for _, f := range []string{runCheckpoint, runSummary} {
		if _, err := os.Stat(filepath.Join(out, f)); err == nil {
			t.Errorf("the old run's %s is still there beside the new run's files", f)
		}
	}
	// The new run's event file may have the old one's name (both made in one second).
	if b, err := os.ReadFile(oldEvents[0]); err == nil && bytes.Equal(b, oldTB) {
		t.Errorf("the old run's %s is still there", filepath.Base(oldEvents[0]))
	}
	if strings.Contains(stderr.String(), "--resume") {
		t.Errorf("resume hint without a checkpoint of this run:\n%s", stderr.String())
	}
	code, _, resumeErr := dst(t, "run", "--resume", out)
	if code != 2 || !strings.Contains(resumeErr, "holds no checkpoint.safetensors") {
		t.Errorf("--resume: exit %d: %s", code, resumeErr)
	}
}

// editMeta rewrites the metadata of a checkpoint.
func editMeta(t *testing.T, path string, edit func(meta map[string]string)) {
	t.Helper()
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edit(f.Metadata)
	if err := safetensors.WriteFile(path, f); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies the files of src into a new folder dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeRunFile(t, dst, e.Name(), string(b))
	}
}

// TestRunResumeRefusesBadFolders resumes copies of a run interrupted after epoch 0 whose
// checkpoint or logs were damaged: every one is refused with what is wrong, before any
// log is touched; the undamaged copy resumes.
func TestRunResumeRefusesBadFolders(t *testing.T) {
	dir := t.TempDir()
	sched := writeRunFile(t, dir, "s.dst", "prune fc1 agp 10% -> 50% from epoch 0 to 2\n")
	base := filepath.Join(dir, "base")
	if code, _, stderr := dst(t, "run", sched, "--model", "lenet300_100", "--epochs", "2", "--limit-train", "128",
		"--limit-test", "64", "--out", base); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// As if interrupted after epoch 0: the logs' epoch 1 is what a resumed run redoes.
	editMeta(t, filepath.Join(base, runCheckpoint), func(m map[string]string) {
		delete(m, metaFinished)
		m["dst.epoch"] = "0"
	})
	setRun := func(key string, v any) func(map[string]string) {
		return func(m map[string]string) {
			var cfg map[string]any
			if err := json.Unmarshal([]byte(m[metaRun]), &cfg); err != nil {
				t.Fatal(err)
			}
			cfg[key] = v
			b, _ := json.Marshal(cfg)
			m[metaRun] = string(b)
		}
	}
	tests := []struct {
		name   string
		meta   func(map[string]string)
		remove string
		want   string
	}{
		{"negative epoch", func(m map[string]string) { m["dst.epoch"] = "-5" }, "", "(dst.epoch metadata) is -5; a run of 2 epochs checkpoints epochs 0 to 1"},
		{"epoch past the end", func(m map[string]string) { m["dst.epoch"] = "7" }, "", "(dst.epoch metadata) is 7"},
		{"bogus optimizer", setRun("optimizer", "bogus"), "", `dst.run metadata are not valid: optimizer must be sgd or adam, got "bogus"`},
		{"zero batch", setRun("batch", 0), "", "batch must be >= 1, got 0"},
		{"negative lr", setRun("lr", -1), "", "lr must be > 0, got -1"},
		{"bogus dataset", setRun("dataset", "cifar"), "", `dataset must be mnist, fashion-mnist or synthetic, got "cifar"`},
		{"train folder", func(m map[string]string) { delete(m, metaRun) }, "", "no dst.run metadata (the run's settings): "},
		{"no scheduler state", func(m map[string]string) { delete(m, metaScheduler) }, "", "no dst.scheduler metadata (the schedule's state)"},
		{"run.csv deleted", nil, runCSV, "run.csv is missing: it recorded epochs 0 to 0"},
		{"summary.json deleted", nil, runSummary, "summary.json is missing: it recorded epochs 0 to 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			copyDir(t, base, out)
			if tc.meta != nil {
				editMeta(t, filepath.Join(out, runCheckpoint), tc.meta)
			}
			if tc.remove != "" {
				os.Remove(filepath.Join(out, tc.remove))
			}
			before, _ := os.ReadDir(out)
			csvBefore, _ := os.ReadFile(filepath.Join(out, runCSV))
			code, _, stderr := dst(t, "run", "--resume", out)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit 2 and %q", code, stderr, tc.want)
			}
			if tc.name == "train folder" && !strings.Contains(stderr, "is not the folder of a `dst run` that can be resumed") {
				t.Errorf("a dst train folder is not called one: %s", stderr)
			}
			after, _ := os.ReadDir(out)
			csvAfter, _ := os.ReadFile(filepath.Join(out, runCSV))
			if len(after) != len(before) || !bytes.Equal(csvBefore, csvAfter) {
				t.Errorf("the refused resume changed the folder: %v → %v, run.csv %q → %q", before, after, csvBefore, csvAfter)
			}
		})
	}
	if code, _, stderr := dst(t, "run", "--resume", base); code != 0 {
		t.Fatalf("the undamaged copy: exit %d: %s", code, stderr)
	}
	s, err := runlog.ReadSummary(filepath.Join(base, runSummary))
	if err != nil || len(s.Epochs) != 2 {
		t.Fatalf("resumed summary: %v, %v", s, err)
	}
}

// TestThreadsCap checks that --threads is refused above four threads per core, from the
// command line and from an experiment file, before anything runs.
func TestThreadsCap(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	tooMany := strconv.Itoa(4*runtime.NumCPU() + 1)
	want := fmt.Sprintf("--threads must be between 0 (all cores) and %d", 4*runtime.NumCPU())
	if err := setThreads(4*runtime.NumCPU() + 1); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("setThreads(%s): %v", tooMany, err)
	}
	if err := setThreads(4 * runtime.NumCPU()); err != nil {
		t.Errorf("setThreads(4×cores): %v", err)
	}
	dir := t.TempDir()
	writeRunFile(t, dir, "s.dst", "prune fc1 level 50% at epoch 0\n")
	exp := writeRunFile(t, dir, "exp.hcl", "model = \"lenet300_100\"\nschedule = \"s.dst\"\nepochs = 1\nthreads = "+tooMany+
		"\ndata {\n  limit_train = 64\n  limit_test = 64\n}\n")
	ckpt := untrainedCheckpoint(t, "lenet300_100")
	small := []string{"--limit-test", "64"}
	for _, args := range [][]string{
		append([]string{"eval", "--checkpoint", ckpt, "--threads", tooMany}, small...),
		{"run", exp, "--out", filepath.Join(dir, "out")},
		append([]string{"train", "--model", "lenet300_100", "--epochs", "1", "--limit-train", "64", "--threads", tooMany, "--out", filepath.Join(dir, "out")}, small...),
	} {
		code, _, stderr := dst(t, args...)
		if code != 2 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "got "+tooMany) {
			t.Errorf("dst %s: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("a refused command created its output folder")
	}
}
