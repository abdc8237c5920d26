package interp

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/stdlib"
)

// testParams returns a small conv+fc parameter set with random values (fixed seed).
func testParams(t *testing.T) []*nn.Param {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 1))
	ps := []*nn.Param{
		nn.NewParam("conv1.weight", "conv1", nn.KindWeight, 4, 1, 3, 3),
		nn.NewParam("conv1.bias", "conv1", nn.KindBias, 4),
		nn.NewParam("fc1.weight", "fc1", nn.KindWeight, 10, 20),
		nn.NewParam("fc1.bias", "fc1", nn.KindBias, 10),
	}
	for _, p := range ps {
		for i := range p.Data() {
			p.Data()[i] = float32(r.NormFloat64())
		}
	}
	return ps
}

// compile compiles src against opt and fails the test on error.
func compile(t *testing.T, src string, opt Options) *Scheduler {
	t.Helper()
	s, err := CompileSource("t.dst", []byte(src), opt)
	if err != nil {
		t.Fatalf("compile %q: %v", src, err)
	}
	return s
}

// fakeOpt is an LRSetter recording its rate.
type fakeOpt struct{ lr float64 }

func (o *fakeOpt) LR() float64      { return o.lr }
func (o *fakeOpt) SetLR(lr float64) { o.lr = lr }

// runEpochs drives s through epochs [from, to) of steps minibatches each, with a plain
// SGD step (lr 0.01, gradient = value) that does not mask.
func runEpochs(t *testing.T, s *Scheduler, ps []*nn.Param, from, to, steps int, each func(epoch int)) {
	t.Helper()
	for e := from; e < to; e++ {
		if err := s.OnEpochBegin(e); err != nil {
			t.Fatal(err)
		}
		for st := range steps {
			if err := s.OnMinibatchBegin(e, st, steps); err != nil {
				t.Fatal(err)
			}
			step := &nn.Step{Epoch: e, Step: st, StepsPerEpoch: steps}
			for _, p := range ps {
				clear(p.GradData())
			}
			if err := s.BeforeBackward(step); err != nil {
				t.Fatal(err)
			}
			for _, p := range ps {
				g, v := p.GradData(), p.Data()
				for i := range v {
					g[i] += v[i] + 0.01
				}
			}
			if err := s.BeforeOptimizerStep(step); err != nil {
				t.Fatal(err)
			}
			for _, p := range ps {
				g, v := p.GradData(), p.Data()
				for i := range v {
					v[i] -= 0.01 * g[i]
				}
			}
			if err := s.OnMinibatchEnd(e, st, steps); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.OnEpochEnd(e, &nn.EpochMetrics{Epoch: e, TestLoss: 1, Top1: 50}); err != nil {
			t.Fatal(err)
		}
		if each != nil {
			each(e)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name, src string
		opt       func(o *Options)
		want      string
	}{
		{"quantize without model", "quantize fc1 linear 8 bits after training\n", nil, "quantization needs the model"},
		{"distill without teacher", "distill from \"teacher.safetensors\" temperature 4\n", nil, "is not a checkpoint file"},
		{"lr without optimizer", "lr step 0.1 from epoch 0 every 2 epochs\n", nil, "needs an optimizer"},
		{"thin without model", "thin contract at epoch 1\n", nil, "needs the model"},
		{"then thin without model", "prune conv1 filters 50% by l1 at epoch 1 then thin\n", nil, "needs the model"},
		{"fold_bn without model", "prune fc1 level 0.5 fold_bn at epoch 0\n", nil, "fold_bn needs the model"},
		{"mask_gradients alone", "prune fc1 level 0.5 mask_gradients at epoch 0\n", nil, "mask_gradients needs forward_only"},
		{"regularize before training", "regularize fc1 l2 0.1 before training\n", nil, "before training never runs it"},
		{"checker error", "prune fc9 level 0.5 at epoch 0\n", nil, "t.dst:1:7"},
		{"missing param", "prune fc1 level 0.5 at epoch 0\n", func(o *Options) { o.Params = o.Params[:2] }, "fc1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opt := Options{Params: testParams(t), Epochs: 4}
			src := tc.src
			if tc.name == "missing param" {
				// Check against the full table, compile against a subset.
				prog, diags := Check("t.dst", []byte(src), opt)
				if diags.HasErrors() {
					t.Fatal(diags)
				}
				tc.opt(&opt)
				_, err := Compile(prog, opt)
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "t.dst:1:1") {
					t.Fatalf("error %v, want one mentioning %q at t.dst:1:1", err, tc.want)
				}
				return
			}
			_, err := CompileSource("t.dst", []byte(src), opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
			var ds lang.Diagnostics
			if !errors.As(err, &ds) || ds[0].Subject == nil {
				t.Fatalf("error %T is not diagnostics with a range", err)
			}
		})
	}
}

// hostPrune returns a prune builtin calling fn.
func hostPrune(fn func(c *Call) error) Builtin {
	return Builtin{Signature: lang.Signature{Statement: "prune", Method: "host", Masks: true, Doc: "test"}, Func: fn}
}

func TestRuntimeErrorNamesPolicy(t *testing.T) {
	ps := testParams(t)
	opt := Options{Params: ps, Epochs: 4, Builtins: []Builtin{hostPrune(func(c *Call) error {
		if c.Epoch == 2 {
			return errors.New("boom")
		}
		return nil
	})}}
	s := compile(t, "prune conv1 level 0.5 at epoch 0\nprune fc1 host from epoch 1 to 4\n", opt)
	if err := s.OnEpochBegin(1); err != nil {
		t.Fatal(err)
	}
	err := s.OnEpochBegin(2)
	var re *RuntimeError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a RuntimeError", err)
	}
	want := "t.dst:2:1: prune host: OnEpochBegin (epoch 2): boom"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err.Error(), want)
	}
	if re.Panic != nil || re.Err == nil || re.Range.Start.Line != 2 {
		t.Errorf("bad RuntimeError %+v", re)
	}
}

func TestPanicLeavesSchedulerUsable(t *testing.T) {
	ps := testParams(t)
	calls := 0
	opt := Options{Params: ps, Epochs: 4, Builtins: []Builtin{hostPrune(func(c *Call) error {
		calls++
		if c.Step == 3 {
			var m []float32
			m[5] = 1 // index out of range
		}
		return nil
	})}}
	s := compile(t, "prune fc1 level 0.5 at epoch 0\nprune fc1.bias host from epoch 0 to 4 every 1 steps\n", opt)
	if err := s.OnEpochBegin(0); err != nil {
		t.Fatal(err)
	}
	var err error
	for st := 0; st < 5 && err == nil; st++ {
		err = s.OnMinibatchBegin(0, st, 5)
	}
	var re *RuntimeError
	if !errors.As(err, &re) || re.Panic == nil || len(re.Stack) == 0 {
		t.Fatalf("got %v, want a RuntimeError from a panic", err)
	}
	if !strings.HasPrefix(err.Error(), "t.dst:2:1: prune host: OnMinibatchBegin (epoch 0, step 3): panic: runtime error: index out of range") {
		t.Errorf("error %q", err)
	}
	// The scheduler keeps working: the next steps run the policy again and the masks
	// of the first policy are still enforced.
	fc1 := ps[2]
	fc1.Data()[0], fc1.Data()[1] = 5, 5
	if err := s.OnMinibatchBegin(0, 4, 5); err != nil {
		t.Fatal(err)
	}
	if err := s.OnMinibatchEnd(0, 4, 5); err != nil {
		t.Fatal(err)
	}
	if calls != 5 {
		t.Errorf("host builtin called %d times, want 5", calls)
	}
	if got := fc1.NNZ(); got != 100 {
		t.Errorf("fc1 has %d non-zeros after the panic, want 100", got)
	}
}

func TestAGPExactCounts(t *testing.T) {
	ps := testParams(t)
	s := compile(t, "prune conv1 agp 5% -> 70% from epoch 0 to 3\nprune fc1 agp 5% -> 90% from epoch 0 to 3\n", Options{Params: ps, Epochs: 5})
	// Distiller's span rule: span = 2, targets at epochs 0, 1, 2.
	target := func(si, sf float64, e int) float64 {
		x := math.Min(float64(e)/2, 1)
		return sf + (si-sf)*math.Pow(1-x, 3)
	}
	runEpochs(t, s, ps, 0, 5, 7, func(e int) {
		for _, c := range []struct {
			p      *nn.Param
			si, sf float64
		}{{ps[0], 0.05, 0.70}, {ps[2], 0.05, 0.90}} {
			want := c.p.Len() - int(math.Floor(target(c.si, c.sf, e)*float64(c.p.Len())+1e-9))
			if got := c.p.NNZ(); got != want {
				t.Errorf("epoch %d %s: %d non-zeros, want %d", e, c.p.Name, got, want)
			}
		}
		if ps[1].NNZ() != 4 || ps[3].NNZ() != 10 {
			t.Errorf("epoch %d: biases were pruned", e)
		}
	})
}

func TestLRSchedules(t *testing.T) {
	tests := []struct {
		name, src string
		want      []float64 // LR seen during each epoch
	}{
		{"step", "lr step 0.1 from epoch 1 every 2 epochs\n", []float64{1, 1, 1, 0.1, 0.1, 0.01}},
		{"multistep", "lr multistep 0.5 at epochs [2, 4]\n", []float64{1, 1, 0.5, 0.5, 0.25, 0.25}},
		{"warmup then base", "lr warmup 0.2 -> 0.6 from epoch 0 to 2\n", []float64{0.2, 0.4, 1, 1, 1, 1}},
		{"exponential", "lr exponential 0.5 from epoch 3\n", []float64{1, 1, 1, 1, 0.5, 0.25}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := testParams(t)
			o := &fakeOpt{lr: 1}
			s := compile(t, tc.src, Options{Params: ps, Optimizer: o, Epochs: 6})
			var got []float64
			for e := range 6 {
				if err := s.OnEpochBegin(e); err != nil {
					t.Fatal(err)
				}
				got = append(got, o.lr)
			}
			for i := range got {
				if math.Abs(got[i]-tc.want[i]) > 1e-12 {
					t.Fatalf("rates %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestPerStepWarmup(t *testing.T) {
	ps := testParams(t)
	o := &fakeOpt{lr: 1}
	s := compile(t, "lr warmup 0 -> 0.8 from epoch 0 to 2 every 1 steps\n", Options{Params: ps, Optimizer: o, Epochs: 3})
	var got []float64
	for e := range 3 {
		if err := s.OnEpochBegin(e); err != nil {
			t.Fatal(err)
		}
		for st := range 4 {
			if err := s.OnMinibatchBegin(e, st, 4); err != nil {
				t.Fatal(err)
			}
			got = append(got, o.lr)
		}
	}
	want := []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1, 1, 1, 1}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("rates %v, want %v", got, want)
		}
	}
}

func TestPlateauStateRoundTrip(t *testing.T) {
	ps := testParams(t)
	o := &fakeOpt{lr: 1}
	src := "lr plateau 0.5 patience=1\n"
	s := compile(t, src, Options{Params: ps, Optimizer: o, Epochs: 10})
	loss := []float64{1, 0.9, 0.95, 0.97, 0.99, 0.98}
	step := func(s *Scheduler, e int) float64 {
		m := &nn.EpochMetrics{Epoch: e, TestLoss: loss[e], LR: o.lr}
		if err := s.OnEpochEnd(e, m); err != nil {
			t.Fatal(err)
		}
		return m.LR
	}
	var full []float64
	for e := range 6 {
		full = append(full, step(s, e))
	}
	if full[3] != 0.5 {
		t.Fatalf("rates %v: no reduction after two bad epochs", full)
	}
	// Interrupt after epoch 2 and resume in a fresh scheduler.
	o.lr = 1
	s1 := compile(t, src, Options{Params: ps, Optimizer: o, Epochs: 10})
	for e := range 3 {
		step(s1, e)
	}
	st, err := s1.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	o2 := &fakeOpt{lr: 123}
	s2 := compile(t, src, Options{Params: ps, Optimizer: o2, Epochs: 10})
	if err := s2.RestoreState(st); err != nil {
		t.Fatal(err)
	}
	o.lr = o2.lr
	o = o2
	for e := 3; e < 6; e++ {
		if got := step(s2, e); got != full[e] {
			t.Errorf("epoch %d: resumed rate %v, uninterrupted %v", e, got, full[e])
		}
	}
}

func TestSensitivityStateRoundTrip(t *testing.T) {
	src := "prune fc1 sensitivity 0.8 at epochs [0, 2]\n"
	ps := testParams(t)
	s := compile(t, src, Options{Params: ps, Epochs: 4})
	runEpochs(t, s, ps, 0, 2, 3, nil)
	st, err := s.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(st), `"fc1.weight":[`) {
		t.Fatalf("state %s lacks the cached σ", st)
	}
	snapshot := func(ps []*nn.Param) []*nn.Param {
		out := make([]*nn.Param, len(ps))
		for i, p := range ps {
			q := nn.NewParam(p.Name, p.Layer, p.Kind, p.Shape()...)
			copy(q.Data(), p.Data())
			if p.Mask != nil {
				q.SetMask(p.MaskData())
			}
			out[i] = q
		}
		return out
	}
	ps2 := snapshot(ps)
	runEpochs(t, s, ps, 2, 4, 3, nil)
	s2 := compile(t, src, Options{Params: ps2, Epochs: 4})
	if err := s2.RestoreState(st); err != nil {
		t.Fatal(err)
	}
	runEpochs(t, s2, ps2, 2, 4, 3, nil)
	for i := range ps {
		for j, v := range ps[i].Data() {
			if math.Float32bits(v) != math.Float32bits(ps2[i].Data()[j]) {
				t.Fatalf("%s[%d]: resumed %v, uninterrupted %v", ps[i].Name, j, ps2[i].Data()[j], v)
			}
		}
	}
	// A state from another program is refused.
	other := compile(t, "prune fc1 level 0.5 at epoch 0\nprune conv1 level 0.5 at epoch 0\n", Options{Params: testParams(t), Epochs: 4})
	if err := other.RestoreState(st); err == nil {
		t.Error("state of another program accepted")
	}
	if err := s2.RestoreState([]byte("{")); err == nil {
		t.Error("malformed state accepted")
	}
}

func TestRegularizerThresholdKeepMask(t *testing.T) {
	ps := testParams(t)
	fc1 := ps[2]
	for i := range fc1.Data() {
		if i%4 == 0 {
			fc1.Data()[i] = 1e-3
		}
	}
	s := compile(t, "regularize fc1 l1 0.01 threshold keep_mask from epoch 0 to 2\n", Options{Params: ps, Epochs: 4})
	st := &nn.Step{}
	if err := s.OnEpochBegin(0); err != nil {
		t.Fatal(err)
	}
	if err := s.BeforeBackward(st); err != nil {
		t.Fatal(err)
	}
	var l1 float64
	for _, v := range fc1.Data() {
		l1 += math.Abs(float64(v))
	}
	if math.Abs(st.Loss-0.01*l1) > 1e-6*l1 {
		t.Errorf("loss %v, want %v", st.Loss, 0.01*l1)
	}
	runEpochs(t, s, ps, 0, 2, 3, nil)
	if fc1.Mask == nil {
		t.Fatal("keep_mask left no mask after the window's last minibatch")
	}
	for i, v := range fc1.Data() {
		if i%4 == 0 && v != 0 {
			t.Fatalf("fc1[%d] = %v survived the threshold", i, v)
		}
	}
	nnz := fc1.NNZ()
	runEpochs(t, s, ps, 2, 4, 3, nil)
	if fc1.NNZ() != nnz {
		t.Errorf("kept mask not enforced: %d non-zeros, want %d", fc1.NNZ(), nnz)
	}
}

func TestForwardOnlyDoubleCopies(t *testing.T) {
	ps := testParams(t)
	fc1 := ps[2]
	src := "prune fc1 level 0.5 double_copies mask_gradients forward_only keep_mask from epoch 0 to 2\n"
	s := compile(t, src, Options{Params: ps, Epochs: 4})
	if err := s.OnEpochBegin(0); err != nil {
		t.Fatal(err)
	}
	if fc1.Mask != nil || fc1.NNZ() != fc1.Len() {
		t.Fatal("forward-only pruning changed the weights or set an ordinary mask")
	}
	if err := s.OnMinibatchBegin(0, 0, 3); err != nil {
		t.Fatal(err)
	}
	if got := fc1.NNZ(); got != 100 {
		t.Fatalf("forward pass sees %d non-zeros, want 100", got)
	}
	step := &nn.Step{}
	for i := range fc1.GradData() {
		fc1.GradData()[i] = 1
	}
	if err := s.BeforeOptimizerStep(step); err != nil {
		t.Fatal(err)
	}
	if fc1.NNZ() != fc1.Len() {
		t.Error("double copies: dense values not restored before the optimizer step")
	}
	var gsum float32
	for _, g := range fc1.GradData() {
		gsum += g
	}
	if gsum != 100 {
		t.Errorf("mask_gradients: %v gradients left, want 100", gsum)
	}
	state, err := s.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(state), "soft_masks") {
		t.Errorf("state %s lacks the forward-only masks", state)
	}
	if err := s.OnMinibatchEnd(0, 0, 3); err != nil {
		t.Fatal(err)
	}
	runEpochs(t, s, ps, 1, 2, 3, nil)
	if fc1.Mask == nil || fc1.NNZ() != 100 {
		t.Errorf("keep_mask: mask %v, %d non-zeros, want an ordinary mask and 100", fc1.Mask != nil, fc1.NNZ())
	}
	s2 := compile(t, src, Options{Params: testParams(t), Epochs: 4})
	if err := s2.RestoreState(state); err != nil {
		t.Fatal(err)
	}
}

func TestBeforeAndAfterTraining(t *testing.T) {
	ps := testParams(t)
	s := compile(t, "prune fc1 level 0.25 before training\nprune conv1 level 0.5 after training\n", Options{Params: ps, Epochs: 2})
	if err := s.OnTrainingBegin(); err != nil {
		t.Fatal(err)
	}
	if ps[2].NNZ() != 150 || ps[0].NNZ() != 36 {
		t.Fatalf("before training: nnz %d %d", ps[2].NNZ(), ps[0].NNZ())
	}
	st, err := s.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.OnTrainingEnd(); err != nil {
		t.Fatal(err)
	}
	if ps[0].NNZ() != 18 {
		t.Fatalf("after training: conv1 nnz %d, want 18", ps[0].NNZ())
	}
	// A resumed run does not prune before training again.
	ps2 := testParams(t)
	s2 := compile(t, "prune fc1 level 0.25 before training\nprune conv1 level 0.5 after training\n", Options{Params: ps2, Epochs: 2})
	if err := s2.RestoreState(st); err != nil {
		t.Fatal(err)
	}
	if err := s2.OnTrainingBegin(); err != nil {
		t.Fatal(err)
	}
	if ps2[2].Mask != nil {
		t.Error("restored scheduler ran a before-training policy again")
	}
}

func TestStepWindowPruning(t *testing.T) {
	ps := testParams(t)
	var at []int
	opt := Options{Params: ps, Epochs: 3, Builtins: []Builtin{hostPrune(func(c *Call) error {
		at = append(at, c.Epoch*c.StepsPerEpoch+c.Step)
		return nil
	})}}
	s := compile(t, "prune fc1 host from epoch 1 to 3 every 4 steps\n", opt)
	runEpochs(t, s, ps, 0, 3, 6, nil)
	want := []int{8, 12, 16}
	if len(at) != len(want) {
		t.Fatalf("fired at global steps %v, want %v", at, want)
	}
	for i := range at {
		if at[i] != want[i] {
			t.Fatalf("fired at global steps %v, want %v", at, want)
		}
	}
}

func TestThin(t *testing.T) {
	m, err := nn.New("simplenet_mnist", 1)
	if err != nil {
		t.Fatal(err)
	}
	src := "prune conv1 filters 50% by l1 at epoch 0 then thin\n"
	s := compile(t, src, Options{Params: m.Params(), Model: m, Epochs: 2})
	if err := s.OnEpochBegin(0); err != nil {
		t.Fatal(err)
	}
	if err := s.OnEpochEnd(0, &nn.EpochMetrics{}); err != nil {
		t.Fatal(err)
	}
	if got := m.Param("conv1.weight").Shape()[0]; got != 10 {
		t.Errorf("conv1 has %d filters after thinning, want 10", got)
	}
}

// TestFoldBN prunes resnet20_cifar's layer1.0.conv2 by magnitude with fold_bn: the
// weights zeroed are the smallest of w·γ/√(σ²+ε), not of w, and the batch norm of half
// the filters is made to shrink them. Without a batch norm after it, a layer is refused.
func TestFoldBN(t *testing.T) {
	m, err := nn.New("resnet20_cifar", 1)
	if err != nil {
		t.Fatal(err)
	}
	g := m.Param("layer1.0.bn2.weight").Data()
	for i := range g {
		if i%2 == 0 {
			g[i] = 0.01
		}
	}
	p := m.Param("layer1.0.conv2.weight")
	folded, err := nn.FoldedWeight(m, p)
	if err != nil {
		t.Fatal(err)
	}
	s := compile(t, "prune layer1.0.conv2 level 0.5 fold_bn at epoch 0\n", Options{Params: m.Params(), Model: m, Epochs: 1})
	if err := s.OnEpochBegin(0); err != nil {
		t.Fatal(err)
	}
	// The threshold of the level pruner on the folded values: the median of |folded|.
	abs := make([]float64, len(folded))
	for i, v := range folded {
		abs[i] = math.Abs(float64(v))
	}
	sorted := slices.Clone(abs)
	slices.Sort(sorted)
	cut := sorted[len(sorted)/2]
	wrong := 0
	for i, w := range p.Data() {
		if (w == 0) != (abs[i] < cut) {
			wrong++
		}
	}
	if wrong > 0 {
		t.Errorf("%d weights pruned against the folded ranking", wrong)
	}
	// Most pruned weights belong to the shrunk (even) filters.
	per := p.Len() / p.Shape()[0]
	even := 0
	for i, w := range p.Data() {
		if w == 0 && (i/per)%2 == 0 {
			even++
		}
	}
	if even < p.Len()/2*9/10 {
		t.Errorf("%d of %d pruned weights in the shrunk filters", even, p.Len()/2)
	}
	_, err = CompileSource("t.dst", []byte("prune fc level 0.5 fold_bn at epoch 0\n"), Options{Params: m.Params(), Model: m, Epochs: 1})
	if err == nil || !strings.Contains(err.Error(), "not the weight of a Conv2d") {
		t.Errorf("fold_bn on a Linear layer: %v", err)
	}
}

func TestHostRegularizeAndLR(t *testing.T) {
	ps := testParams(t)
	o := &fakeOpt{lr: 1}
	reg := Builtin{Signature: lang.Signature{Statement: "regularize", Method: "count", Doc: "test", DefaultWindow: "from epoch 0",
		Args: []lang.ArgSpec{{Name: "w", Type: lang.TypeNumber, Required: true, Positional: true, Doc: "weight"}}},
		Func: func(c *Call) error {
			c.Train.Loss += c.Policy.Args["w"].Num * float64(len(c.Params))
			return nil
		}}
	lr := Builtin{Signature: lang.Signature{Statement: "lr", Method: "halving", Doc: "test"},
		Func: func(c *Call) error {
			c.Optimizer.SetLR(c.Optimizer.LR() / 2)
			return nil
		}}
	s := compile(t, "regularize [conv1, fc1] count 0.5 from epoch 1\nlr halving at epochs [1, 2]\n",
		Options{Params: ps, Optimizer: o, Epochs: 4, Builtins: []Builtin{reg, lr}})
	var losses, rates []float64
	for e := range 4 {
		if err := s.OnEpochBegin(e); err != nil {
			t.Fatal(err)
		}
		st := &nn.Step{Epoch: e}
		if err := s.BeforeBackward(st); err != nil {
			t.Fatal(err)
		}
		losses, rates = append(losses, st.Loss), append(rates, o.lr)
	}
	if want := []float64{0, 1, 1, 1}; !equal(losses, want) {
		t.Errorf("losses %v, want %v", losses, want)
	}
	if want := []float64{1, 0.5, 0.25, 0.25}; !equal(rates, want) {
		t.Errorf("rates %v, want %v", rates, want)
	}
	// A host builtin for a statement hosts cannot extend, or one clashing with stdlib,
	// is refused.
	for _, b := range []Builtin{
		{Signature: lang.Signature{Statement: "thin", Method: "mine"}, Func: reg.Func},
		{Signature: lang.Signature{Statement: "prune", Method: "level"}, Func: reg.Func},
		{Signature: lang.Signature{Statement: "prune", Method: "nofunc"}},
	} {
		if _, err := CompileSource("t.dst", []byte(""), Options{Builtins: []Builtin{b}}); err == nil {
			t.Errorf("host builtin %s %s accepted", b.Signature.Statement, b.Signature.Method)
		}
	}
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-12 {
			return false
		}
	}
	return true
}

func TestThinStatement(t *testing.T) {
	m, err := nn.New("simplenet_mnist", 1)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := nn.NewSGD(m.Params(), nn.SGDConfig{LR: 0.1, Momentum: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	src := "prune conv2 filters 40% by l2 at epoch 0\nthin filters at epoch 1\n"
	s := compile(t, src, Options{Params: m.Params(), Model: m, Optimizer: opt, Epochs: 2})
	if err := s.OnEpochBegin(0); err != nil {
		t.Fatal(err)
	}
	if err := s.OnMinibatchBegin(0, 0, 2); err != nil {
		t.Fatal(err)
	}
	if got := m.Param("conv2.weight").Shape()[0]; got != 50 {
		t.Fatalf("thinned before its epoch: %d filters", got)
	}
	if err := s.OnEpochBegin(1); err != nil {
		t.Fatal(err)
	}
	if err := s.OnMinibatchBegin(1, 0, 2); err != nil {
		t.Fatal(err)
	}
	if got := m.Param("conv2.weight").Shape()[0]; got != 30 {
		t.Errorf("conv2 has %d filters after thinning, want 30", got)
	}
	if err := s.OnMinibatchEnd(1, 0, 2); err != nil { // masks of the new shape
		t.Fatal(err)
	}
}

func TestRestoreStateErrors(t *testing.T) {
	src := "prune fc1 splicing 0.5 forward_only from epoch 0 to 3\nlr plateau 0.5\n"
	opt := func() Options { return Options{Params: testParams(t), Optimizer: &fakeOpt{lr: 1}, Epochs: 3} }
	s := compile(t, src, opt())
	runEpochs(t, s, s.opt.Params, 0, 1, 2, nil)
	good, err := s.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	if err := compile(t, src, opt()).RestoreState(good); err != nil {
		t.Fatalf("round trip: %v", err)
	}
	tests := []struct{ name, from, to, want string }{
		{"version", `"version":1`, `"version":7`, "version 7"},
		{"policy", `"prune splicing"`, `"prune level"`, "is \"prune level\""},
		{"mask length", `"soft_masks":{"fc1.weight":"`, `"soft_masks":{"fc1.weight":"AAAA`, "bytes for 200 elements"},
		{"mask encoding", `"soft_masks":{"fc1.weight":"`, `"soft_masks":{"fc1.weight":"!`, "illegal base64"},
		{"cache", `"cache":{"fc1.weight":[`, `"cache":{"fc1.weight":[1,`, "want 2 values"},
		{"not json", `{`, `[`, "restore state"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(string(good), tc.from, tc.to, 1)
			if bad == string(good) {
				t.Fatalf("state %s has no %s", good, tc.from)
			}
			err := compile(t, src, opt()).RestoreState([]byte(bad))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestTrainOptimizerMasksEquivalent trains with nn.Train twice, once with the Scheduler
// re-applying masks at OnMinibatchEnd and once trusting nn's optimizer to
// (Options.OptimizerMasks): the weights must be bit-identical, and pruned weights zero.
func TestTrainOptimizerMasksEquivalent(t *testing.T) {
	set := data.Synthetic(640, 1, 28, 28, 10, 1)
	var runs [2][]*nn.Param
	for i, optMasks := range []bool{false, true} {
		m, err := nn.New("lenet300_100", 1)
		if err != nil {
			t.Fatal(err)
		}
		opt, err := nn.NewSGD(m.Params(), nn.SGDConfig{LR: 0.05, Momentum: 0.9, WeightDecay: 1e-4})
		if err != nil {
			t.Fatal(err)
		}
		s := compile(t, "prune fc1 agp 10% -> 80% from epoch 0 to 2 every 5 steps\nprune fc2 level 50% at epoch 0\nregularize fc3 l1 1e-4\n",
			Options{Params: m.Params(), Optimizer: opt, Epochs: 3, OptimizerMasks: optMasks})
		if _, err := nn.Train(context.Background(), m, opt, set, nil, nn.TrainConfig{Epochs: 3, Batch: 64, Seed: 1, Hooks: s}); err != nil {
			t.Fatal(err)
		}
		runs[i] = m.Params()
		fc1 := m.Param("fc1.weight")
		if want := fc1.Len() - int(0.8*float64(fc1.Len())); fc1.NNZ() != want {
			t.Errorf("fc1: %d non-zeros, want %d", fc1.NNZ(), want)
		}
	}
	for j, p := range runs[0] {
		q := runs[1][j]
		for k, v := range p.Data() {
			if math.Float32bits(v) != math.Float32bits(q.Data()[k]) {
				t.Fatalf("%s[%d]: %v with re-application, %v without", p.Name, k, v, q.Data()[k])
			}
		}
	}
}

func TestActivationRankings(t *testing.T) {
	stats := []float64{0.9, 0.1, 0.8, 0.2}
	tests := []struct {
		ranking string
		zero    []bool // conv1's filters expected pruned
	}{
		{"apoz", []bool{true, false, true, false}},            // most zeros go
		{"mean_activation", []bool{false, true, false, true}}, // weakest mean goes
	}
	for _, tc := range tests {
		t.Run(tc.ranking, func(t *testing.T) {
			ps := testParams(t)
			var asked []stdlib.Ranking
			opt := Options{Params: ps, Epochs: 2, Activations: func(r stdlib.Ranking) stdlib.ActivationStats {
				asked = append(asked, r)
				return func(p *nn.Param) ([]float64, error) { return stats, nil }
			}}
			s := compile(t, "prune conv1 filters 50% by "+tc.ranking+" at epoch 0\n", opt)
			if len(asked) != 1 || asked[0].String() != tc.ranking {
				t.Fatalf("provider asked for %v", asked)
			}
			if err := s.OnEpochBegin(0); err != nil {
				t.Fatal(err)
			}
			conv := ps[0].Data()
			for f, z := range tc.zero {
				nnz := 0
				for _, v := range conv[f*9 : (f+1)*9] {
					if v != 0 {
						nnz++
					}
				}
				if (nnz == 0) != z {
					t.Errorf("filter %d: %d non-zeros, pruned want %v", f, nnz, z)
				}
			}
		})
	}
	// Without a provider the policy cannot compile.
	if _, err := CompileSource("t.dst", []byte("prune conv1 filters 50% by apoz at epoch 0\n"), Options{Params: testParams(t), Epochs: 2}); err == nil || !strings.Contains(err.Error(), "activation") {
		t.Errorf("error %v, want one about activation statistics", err)
	}
}

// TestDiscardMasksKeepsEarlierMask runs a DropFilter-style policy (a fresh mask every
// step, dropped at the step's end) on a parameter an earlier policy pruned for good: the
// earlier mask must survive.
func TestDiscardMasksKeepsEarlierMask(t *testing.T) {
	ps := testParams(t)
	conv := ps[0]
	s := compile(t, "prune conv1 level 25% at epoch 0\nprune conv1 bernoulli 0.5 discard_masks from epoch 1 to 3 every 1 steps\n",
		Options{Params: ps, Epochs: 3})
	runEpochs(t, s, ps, 0, 1, 2, nil)
	want := append([]float32(nil), conv.MaskData()...)
	if conv.NNZ() != 27 {
		t.Fatalf("level: %d non-zeros, want 27", conv.NNZ())
	}
	if err := s.OnEpochBegin(1); err != nil {
		t.Fatal(err)
	}
	if err := s.OnMinibatchBegin(1, 0, 2); err != nil {
		t.Fatal(err)
	}
	if conv.NNZ() >= 27 {
		t.Fatalf("bernoulli dropped nothing: %d non-zeros", conv.NNZ())
	}
	if err := s.OnMinibatchEnd(1, 0, 2); err != nil {
		t.Fatal(err)
	}
	got := conv.MaskData()
	for i := range want {
		if got == nil || got[i] != want[i] {
			t.Fatalf("mask after discard differs from the level mask at %d", i)
		}
	}
}

// TestSchedulersShareProgram runs two Schedulers compiled from one Program at once on
// two parameter sets (run it with -race): they must not share state, and they give the
// same result.
func TestSchedulersShareProgram(t *testing.T) {
	opt := Options{Params: testParams(t), Epochs: 3}
	prog, diags := Check("t.dst", []byte("prune fc1 agp 10% -> 70% from epoch 0 to 3\nprune conv1 sensitivity 0.5 at epochs [0, 2]\nregularize fc1 l2 1e-3\n"), opt)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var sets [2][]*nn.Param
	done := make(chan error, 2)
	for i := range sets {
		sets[i] = testParams(t)
		o := opt
		o.Params = sets[i]
		s, err := Compile(prog, o)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for e := range 3 {
				if err := s.OnEpochBegin(e); err != nil {
					done <- err
					return
				}
				if err := s.BeforeBackward(&nn.Step{Epoch: e}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range sets {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for j, p := range sets[0] {
		for k, v := range p.Data() {
			if v != sets[1][j].Data()[k] {
				t.Fatalf("%s[%d] differs between the two runs", p.Name, k)
			}
		}
	}
}

// TestThinWarnsKept checks that thinning which must keep zeroed filters (their constant
// output, a batch norm's shift, cannot be folded through the next convolution's zero
// padding) says so at warning level, which dst run prints without --verbose.
func TestThinWarnsKept(t *testing.T) {
	m, err := nn.New("resnet20_cifar", 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		if p.Name == "layer1.0.bn1.bias" {
			for i := range p.Data() {
				p.Data()[i] = 0.5 // a zeroed filter then outputs the constant relu(0.5)
			}
		}
	}
	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	src := "prune layer1.0.conv1 filters 50% by l1 at epoch 0 then thin\n"
	s := compile(t, src, Options{Params: m.Params(), Model: m, Epochs: 1, Logger: logger})
	if err := s.OnEpochBegin(0); err != nil {
		t.Fatal(err)
	}
	if err := s.OnEpochEnd(0, &nn.EpochMetrics{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "thinning kept zeroed filters") || !strings.Contains(log.String(), "kept=8") {
		t.Errorf("warning log:\n%s", log.String())
	}
}

// TestNilArguments checks that nil arguments of the embedding API are errors, not
// nil dereferences.
func TestNilArguments(t *testing.T) {
	ps := testParams(t)
	if _, err := CompileSource("t.dst", []byte("prune fc1 level 50% at epoch 0\n"), Options{Params: append(ps, nil), Epochs: 1}); err == nil || !strings.Contains(err.Error(), "Options.Params") {
		t.Errorf("a nil parameter: %v", err)
	}
	s := compile(t, "prune fc1 level 50% at epoch 0\n", Options{Params: ps, Epochs: 1})
	if err := s.BeforeBackward(nil); err == nil {
		t.Error("BeforeBackward(nil): no error")
	}
	if err := s.BeforeOptimizerStep(nil); err == nil {
		t.Error("BeforeOptimizerStep(nil): no error")
	}
}
