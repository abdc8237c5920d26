package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dst-dev/dst/analysis"
	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/internal/safetensors"
	"github.com/dst-dev/dst/kernels"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// BenchCmd measures inference of the variants of one checkpoint side by side.
type BenchCmd struct {
	Model      string `help:"Model from the zoo (default: the one the checkpoint names)." placeholder:"NAME"`
	Checkpoint string `help:"Checkpoint to benchmark (default: the model's fresh initialisation)." type:"existingfile" placeholder:"FILE"`
	Batch      int    `help:"Batch size for the throughput figures." default:"64" placeholder:"N"`
	Reps       int    `help:"Timed repetitions; the median is reported (each one's figure is the median of its groups of 10 batch-1 passes and of its batches)." default:"5" placeholder:"N"`
	Samples    int    `help:"Test samples per repetition (0 = the whole test set)." default:"2000" placeholder:"N"`
	Threads    int    `help:"Worker threads (0 = all cores)." default:"1" placeholder:"N"`
	ColdInputs bool   `name:"cold-inputs" help:"Time the throughput on batches read where they lie in memory, instead of each first copied into one reused input buffer as a loader writes it."`
	JSON       bool   `name:"json" help:"Print the results as JSON."`
	Torch      bool   `help:"Also run PyTorch's dense model through the anchor scripts (needs /usr/bin/python3 with torch)."`
	Anchors    string `help:"Folder of the PyTorch anchor scripts (default: shared/anchors/torch beside the repository, looked for from the working folder up)." placeholder:"DIR"`
	DataFlags
}

// BenchResult is one variant's figures.
type BenchResult struct {
	// Variant is "dense fp32", "sparse fp32", "thinned fp32", "int8" or "pytorch dense".
	Variant string `json:"variant"`
	// LatencyUs is the median time of one batch-1 forward pass, in microseconds.
	LatencyUs float64 `json:"latency_us"`
	// Throughput is samples per second at the --batch size.
	Throughput float64 `json:"throughput"`
	// SpeedupLatency and SpeedupThroughput compare the variant with the dense one: the
	// median over the repetitions of the dense latency over this one's, and of this
	// throughput over the dense one, both timed in the same repetition, so that a
	// change in the machine's load between repetitions cancels out (0 for the PyTorch
	// rows, which are timed apart: the table divides their medians).
	SpeedupLatency    float64 `json:"speedup_latency,omitempty"`
	SpeedupThroughput float64 `json:"speedup_throughput,omitempty"`
	// SpeedupLatencyRange and SpeedupThroughputRange are the smallest and the largest
	// of those per-repetition ratios: how much the machine's noise moved them.
	SpeedupLatencyRange    []float64 `json:"speedup_latency_range,omitempty"`
	SpeedupThroughputRange []float64 `json:"speedup_throughput_range,omitempty"`
	// SizeBytes is the size of the variant's model file (0 when not applicable).
	SizeBytes int64 `json:"size_bytes"`
	// Top1 is the accuracy on the samples used, in percent (NaN when not measured).
	Top1 float64 `json:"top1"`
	// Note says how the variant was built (layers made sparse, channels removed...).
	Note string `json:"note,omitempty"`
	// FakeQuantTop1 is, for the int8 variant, the top-1 of the quantized model on the
	// float path (fake quantization) on the same samples; Top1 should equal it.
	FakeQuantTop1 float64 `json:"fake_quant_top1,omitempty"`
}

// BenchReport is what `dst bench --json` prints.
type BenchReport struct {
	Model   string `json:"model"`
	Kernels string `json:"kernels"`
	Threads int    `json:"threads"`
	Batch   int    `json:"batch"`
	// Inputs says where the throughput passes find their batch: "cached" (copied into
	// a reused input buffer before each timed pass) or "cold" (--cold-inputs).
	Inputs    string        `json:"inputs"`
	Sparsity  float64       `json:"weight_sparsity"`
	Crossover []Crossover   `json:"crossover"`
	Results   []BenchResult `json:"results"`
}

// Crossover is the density below which CSR beats the dense GEMM for one layer shape.
type Crossover struct {
	Layer   string  `json:"layer"`
	Batch   int     `json:"batch"`
	Density float64 `json:"density"`
}

// Run measures every variant and prints the table (or JSON).
func (c *BenchCmd) Run(g *Globals) error {
	if err := setThreads(c.Threads); err != nil {
		return err
	}
	if c.Batch < 1 || c.Reps < 1 || c.Samples < 0 {
		return usageError("--batch and --reps must be >= 1, --samples >= 0")
	}
	load := func() (*nn.Model, error) {
		if c.Checkpoint == "" {
			if c.Model == "" {
				return nil, usageError("give --model or --checkpoint")
			}
			m, err := nn.New(c.Model, 0)
			if err != nil {
				return nil, usageError("%v", err)
			}
			return m, nil
		}
		return loadModel(c.Model, c.Checkpoint)
	}
	m, err := load()
	if err != nil {
		return err
	}
	train, test, err := c.load(m)
	if err != nil {
		return err
	}
	if c.Samples > 0 {
		test = test.Subset(c.Samples)
	}
	dir, err := os.MkdirTemp("", "dst-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	rep := &BenchReport{Model: m.Name, Kernels: kernels.Path(), Threads: runtime.GOMAXPROCS(0), Batch: c.Batch, Inputs: "cached", Sparsity: weightSparsity(m)}
	if c.ColdInputs {
		rep.Inputs = "cold"
	}
	// Dense.
	dense, err := c.prepare("dense fp32", m, nn.InferDense)
	if err != nil {
		return err
	}
	dense.r.SizeBytes, err = denseFileSize(filepath.Join(dir, "dense.safetensors"), m)
	if err != nil {
		return err
	}
	runs := []*benchRun{dense}
	// Sparse: each layer in the format measured faster.
	sparse, err := c.prepare("sparse fp32", m, nn.InferAuto)
	if err != nil {
		return err
	}
	if err := nn.SaveSparse(filepath.Join(dir, "sparse.safetensors"), m); err != nil {
		return err
	}
	sparse.r.SizeBytes = fileSize(filepath.Join(dir, "sparse.safetensors"))
	runs = append(runs, sparse)
	// Thinned: a copy with zero filters and channels removed.
	tm, err := load()
	if err != nil {
		return err
	}
	tr, err := nn.Thin(tm, nil, nn.ThinContract)
	if err != nil {
		fmt.Fprintf(g.Stderr, "dst bench: thinned variant skipped: %v\n", err)
	} else {
		thin, err := c.prepare("thinned fp32", tm, nn.InferDense)
		if err != nil {
			return err
		}
		thin.r.SizeBytes, err = denseFileSize(filepath.Join(dir, "thin.safetensors"), tm)
		if err != nil {
			return err
		}
		thin.r.Note = fmt.Sprintf("%d channel spaces shrunk", len(tr.Removed))
		if sm, err := analysis.Summarize(tm); err == nil {
			thin.r.Note += "; " + thousands(sm.Total.MACs) + " MACs"
		}
		runs = append(runs, thin)
	}
	// Int8: the checkpoint quantized as `dst export --int8` does by default.
	qm, err := load()
	if err != nil {
		return err
	}
	if q, err := c.int8Variant(g, qm, train, test, dir); err != nil {
		fmt.Fprintf(g.Stderr, "dst bench: int8 variant skipped: %v\n", err)
	} else {
		runs = append(runs, q)
	}
	if err := c.timeAll(g, runs, m.Input, test); err != nil {
		return err
	}
	for _, r := range runs {
		rep.Results = append(rep.Results, r.r)
	}
	// The crossover density of the largest Linear or Conv2d layer, at batch 1 and --batch.
	if l := largestLayer(m); l != nil {
		s := l.Shape()
		rows, cols := s[0], l.Len()/s[0]
		for _, b := range []int{1, c.Batch} {
			rep.Crossover = append(rep.Crossover, Crossover{Layer: l.Name, Batch: b, Density: nn.Crossover(rows, cols, b)})
		}
	}
	if c.Torch {
		rs, err := c.torch(g, m.Name)
		if err != nil {
			fmt.Fprintf(g.Stderr, "dst bench: PyTorch comparison skipped: %v\n", err)
		}
		rep.Results = append(rep.Results, rs...)
	}
	if c.JSON {
		enc := json.NewEncoder(g.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(g.Stdout, "%s: %.2f%% of weights zero; kernels %s, %d thread(s); %d test samples; %s\n",
		rep.Model, 100*rep.Sparsity, rep.Kernels, rep.Threads, test.N, inputsNote[rep.Inputs])
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "variant\tlatency b=1 (µs)\tthroughput b=%d (samples/s)\tvs dense\tsize\ttop-1\tnote\t\n", c.Batch)
	for _, r := range rep.Results {
		top1, size := "-", "-"
		if r.Top1 == r.Top1 {
			top1 = fmt.Sprintf("%.2f%%", r.Top1)
		}
		if r.SizeBytes > 0 {
			size = sizeString(r.SizeBytes)
		}
		lat, tput := r.SpeedupLatency, r.SpeedupThroughput
		if lat == 0 {
			lat, tput = dense.r.LatencyUs/r.LatencyUs, r.Throughput/dense.r.Throughput
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.0f\t%.2fx / %.2fx\t%s\t%s\t%s\t\n", r.Variant, r.LatencyUs, r.Throughput,
			lat, tput, size, top1, r.Note)
	}
	tw.Flush()
	if c.Reps > 1 {
		var spread []string
		for _, r := range rep.Results[1:] {
			if l, t := r.SpeedupLatencyRange, r.SpeedupThroughputRange; len(l) == 2 && len(t) == 2 {
				spread = append(spread, fmt.Sprintf("%s %.2f-%.2fx / %.2f-%.2fx", r.Variant, l[0], l[1], t[0], t[1]))
			}
		}
		fmt.Fprintf(g.Stdout, "vs dense: median of %d repetitions timed side by side; their range: %s\n", c.Reps, strings.Join(spread, ", "))
	}
	for _, x := range rep.Crossover {
		fmt.Fprintf(g.Stdout, "crossover %s at batch %d: sparse is faster below %.1f%% density\n", x.Layer, x.Batch, 100*x.Density)
	}
	return nil
}

// benchRun is one variant being measured: its model compiled for batch 1 and for
// --batch, and the figures of each timed repetition.
type benchRun struct {
	r          BenchResult
	inf1, infB *nn.Inference
	lat, tput  []float64
}

// prepare compiles m for one variant's measurement.
func (c *BenchCmd) prepare(name string, m *nn.Model, mode nn.InferMode) (*benchRun, error) {
	run := &benchRun{r: BenchResult{Variant: name}}
	var err error
	if run.inf1, err = nn.NewInference(m, 1, mode); err != nil {
		return nil, err
	}
	if run.infB, err = nn.NewInference(m, c.Batch, mode); err != nil {
		return nil, err
	}
	if mode == nn.InferAuto {
		n := 0
		for _, ch := range run.infB.Choices() {
			if ch.Sparse {
				n++
			}
		}
		run.r.Note = fmt.Sprintf("%d of %d layers sparse at b=%d", n, len(run.infB.Choices()), c.Batch)
		for _, ch := range run.inf1.Choices() {
			if ch.Sparse && ch.Type == "Linear" {
				// kernels.SpMV's sliced layout keeps a lane's column in the weight's
				// low bits: say so next to the figures it gives.
				run.r.Note += "; b=1 sparse Linear weights keep 19 of 24 significant bits"
				break
			}
		}
	}
	return run, nil
}

// timeAll times the variants side by side: the median batch-1 latency and the median
// throughput at --batch over the test samples, their speed-ups over runs[0] (the dense
// variant), and each one's top-1 on them. Each
// repetition times every variant once, starting from a different one each time, so
// that a change in the machine's load during the run (other processes, the clock)
// falls on all of them alike instead of on whichever came first or last.
func (c *BenchCmd) timeAll(g *Globals, runs []*benchRun, input []int, test *data.Set) error {
	// The inputs are copied out of the data set before the clock starts, so that the
	// figures are the model's: data loading and scoring are not timed.
	sz := test.SampleSize()
	nLat := min(test.N, 500)
	singles := make([]*tensor.Dense, nLat)
	for i := range singles {
		singles[i] = ops.New(append([]int{1}, input...)...)
		test.Sample(i, ops.F32(singles[i]))
	}
	loader := data.NewLoader(test, c.Batch, false, 0)
	batches := make([]*tensor.Dense, loader.Steps())
	labels := make([][]int32, loader.Steps())
	for i := range batches {
		xb := make([]float32, c.Batch*sz)
		yb := make([]int32, c.Batch)
		n := loader.Batch(i, xb, yb)
		batches[i] = tensor.New(tensor.WithShape(append([]int{n}, input...)...), tensor.WithBacking(xb[:n*sz]))
		labels[i] = yb[:n]
	}
	// Only full batches are timed, so that every timing is of --batch samples; a test
	// set smaller than one batch times its one partial batch.
	timed := batches
	if full := test.N / c.Batch; full > 0 {
		timed = batches[:full]
	}
	// Unless --cold-inputs, each timed batch is first copied, untimed, into one input
	// tensor that every pass reuses, as a loader writes each batch into the buffer the
	// model reads: the figure is then the model's, with its input in the caches. With
	// --cold-inputs the batches are read where they lie, a fresh stretch of memory
	// each (200 KB at batch 64 for MNIST), whose cache and TLB misses then add the
	// same cost to every variant.
	hot := map[int]*tensor.Dense{}
	for _, x := range timed {
		if n := x.Shape()[0]; hot[n] == nil {
			hot[n] = ops.New(x.Shape()...)
		}
	}
	// Repetition 0 warms every variant up and is not counted. In the others, an
	// untimed pass over the batch-1 inputs before the timed one brings the variant's
	// weights and those inputs back into the caches the previous variant used: the
	// latency is that of a model in steady use, as at the head of the run.
	//
	// A repetition's figure for a variant is the median of short timings: of groups
	// of latencyGroup batch-1 passes, and of single full batches. This machine's
	// noise comes in bursts (another process takes the core for a while), and a
	// burst then spoils a few of the timings, which the median passes over, instead
	// of the whole repetition of the variant it falls on.
	var groups, perSample []float64
	for rep := 0; rep < c.Reps+1; rep++ {
		for k := range runs {
			run := runs[(k+rep)%len(runs)]
			for _, x1 := range singles {
				run.inf1.Forward(x1)
			}
			groups = groups[:0]
			for i := 0; i < nLat; i += latencyGroup {
				group := singles[i:min(i+latencyGroup, nLat)]
				t0 := time.Now()
				for _, x1 := range group {
					run.inf1.Forward(x1)
				}
				groups = append(groups, float64(time.Since(t0).Nanoseconds())/1e3/float64(len(group)))
			}
			if rep > 0 {
				run.lat = append(run.lat, median(groups))
			}
			// One untimed batch brings the weights of the --batch path back (the batch-1
			// passes used other buffers and layouts).
			run.infB.Forward(batches[0])
			perSample = perSample[:0]
			for _, x := range timed {
				if !c.ColdInputs {
					copy(ops.F32(hot[x.Shape()[0]]), ops.F32(x))
					x = hot[x.Shape()[0]]
				}
				t0 := time.Now()
				run.infB.Forward(x)
				perSample = append(perSample, time.Since(t0).Seconds()/float64(x.Shape()[0]))
			}
			if rep > 0 {
				run.tput = append(run.tput, 1/median(perSample))
			}
			if err := g.Ctx.Err(); err != nil {
				return err
			}
		}
	}
	for _, run := range runs {
		correct := 0
		for i, x := range batches {
			logits := ops.F32(run.infB.Forward(x))
			classes := len(logits) / len(labels[i])
			for j, y := range labels[i] {
				if nn.Rank(logits[j*classes:(j+1)*classes], int(y)) == 0 {
					correct++
				}
			}
		}
		run.r.LatencyUs = median(run.lat)
		run.r.Throughput = median(run.tput)
		run.r.SpeedupLatency, run.r.SpeedupLatencyRange = ratios(runs[0].lat, run.lat)
		run.r.SpeedupThroughput, run.r.SpeedupThroughputRange = ratios(run.tput, runs[0].tput)
		run.r.Top1 = 100 * float64(correct) / float64(test.N)
	}
	return nil
}

// ratios returns the median and the range [min, max] of num[k]/den[k], the ratios of
// figures timed in the same repetition.
func ratios(num, den []float64) (float64, []float64) {
	r := make([]float64, len(num))
	for k := range r {
		r[k] = num[k] / den[k]
	}
	return median(r), []float64{slices.Min(r), slices.Max(r)}
}

// inputsNote describes BenchReport.Inputs in the table's header line.
var inputsNote = map[string]string{
	"cached": "each batch copied into the input buffer before its timed pass",
	"cold":   "batches read from memory (--cold-inputs)",
}

// latencyGroup is the number of batch-1 passes timed together in dst bench: enough
// that the clock's cost (tens of nanoseconds) is lost in them, few enough that a
// repetition has dozens of timings to take the median of.
const latencyGroup = 10

// anchorsDir returns the absolute path of the folder of the PyTorch anchor scripts:
// dir when it is given, else the first shared/anchors/torch found beside the
// working folder or one of its parents (the repository's ../shared).
func anchorsDir(dir string) (string, error) {
	if dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(filepath.Join(abs, "bench_train.py")); err != nil {
			return "", fmt.Errorf("--anchors %s holds no bench_train.py", dir)
		}
		return abs, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		cand := filepath.Join(filepath.Dir(d), "shared", "anchors", "torch")
		if _, err := os.Stat(filepath.Join(cand, "bench_train.py")); err == nil {
			return cand, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no shared/anchors/torch/bench_train.py beside %s or its parents (set --anchors)", wd)
		}
	}
}

// torchNames maps dst's zoo names to the anchor scripts' model names.
var torchNames = map[string]string{"simplenet_mnist": "simplenet", "lenet5": "lenet5", "lenet300_100": "lenet300100"}

// torch runs bench_train.py for the model's PyTorch twin: inference at batch 1 and
// --batch on the same machine, in the same run.
func (c *BenchCmd) torch(g *Globals, model string) ([]BenchResult, error) {
	name, ok := torchNames[model]
	if !ok {
		return nil, fmt.Errorf("no PyTorch anchor for %s", model)
	}
	dir, err := anchorsDir(c.Anchors)
	if err != nil {
		return nil, err
	}
	script := filepath.Join(dir, "bench_train.py")
	if err := exec.Command("/usr/bin/python3", "-c", "import torch").Run(); err != nil {
		return nil, fmt.Errorf("/usr/bin/python3 cannot import torch (apt-get install python3-torch)")
	}
	cmd := exec.CommandContext(g.Ctx, "/usr/bin/python3", script, "--models", name, "--batches", strconv.Itoa(c.Batch),
		"--infer-batches", "1,"+strconv.Itoa(c.Batch), "--threads", strconv.Itoa(runtime.GOMAXPROCS(0)),
		"--reps", strconv.Itoa(c.Reps), "--samples", "1024")
	cmd.Dir = dir
	cmd.Stderr = g.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("bench_train.py: %w", err)
	}
	return parseTorch(out, c.Batch)
}

var torchRow = regexp.MustCompile(`^\|\s*(\w+)\s*\|\s*(\d+)\s*\|\s*infer\s*\|\s*(\d+)\s*\|\s*([\d.]+)\s*\|`)

// parseTorch reads bench_train.py's inference rows (samples/s at batch 1 and batch).
func parseTorch(out []byte, batch int) ([]BenchResult, error) {
	r := BenchResult{Variant: "pytorch dense", Top1: nanValue()}
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := torchRow.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		b, _ := strconv.Atoi(m[3])
		sps, _ := strconv.ParseFloat(m[4], 64)
		switch b {
		case 1:
			r.LatencyUs, found = 1e6/sps, found+1
		case batch:
			r.Throughput, found = sps, found+1
		}
	}
	if found == 0 {
		return nil, fmt.Errorf("no inference rows in bench_train.py's output")
	}
	r.Note = "bench_train.py, same machine, same run"
	return []BenchResult{r}, nil
}

func nanValue() float64 { z := 0.0; return z / z }

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[n/2]
}

// denseFileSize writes m's parameters and buffers as a plain dense safetensors file and
// returns its size.
func denseFileSize(path string, m *nn.Model) (int64, error) {
	f := &safetensors.File{Metadata: map[string]string{"format": "pt"}}
	for _, p := range m.Params() {
		f.Tensors = append(f.Tensors, safetensors.FromFloat32(p.Name, p.Shape(), p.Data()))
	}
	for _, b := range m.Buffers() {
		f.Tensors = append(f.Tensors, safetensors.FromFloat32(b.Name, b.Value.Shape(), b.Value.Data().([]float32)))
	}
	if err := safetensors.WriteFile(path, f); err != nil {
		return 0, err
	}
	return fileSize(path), nil
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// weightSparsity is the fraction of zero values among the Conv2d and Linear weights.
func weightSparsity(m *nn.Model) float64 {
	var zero, total int
	for _, p := range m.Params() {
		if p.Kind == nn.KindWeight {
			total += p.Len()
			zero += p.Len() - p.NNZ()
		}
	}
	if total == 0 {
		return 0
	}
	return float64(zero) / float64(total)
}

// largestLayer returns the biggest Conv2d or Linear weight.
func largestLayer(m *nn.Model) *nn.Param {
	var best *nn.Param
	for _, p := range m.Params() {
		if p.Kind == nn.KindWeight && len(p.Shape()) >= 2 && (best == nil || p.Len() > best.Len()) {
			best = p
		}
	}
	return best
}

// sizeString formats a byte count: "1.02 MiB", "87.3 KiB".
func sizeString(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return strings.TrimSpace(fmt.Sprintf("%d B", n))
}
