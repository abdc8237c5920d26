package nn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/kernels"
	"github.com/dst-dev/dst/ops"
	"github.com/google/go-cmp/cmp"
)

// recorder logs every hook call.
type recorder struct {
	log  []string
	fail string // event name that returns an error
}

func (r *recorder) ev(s string) error {
	r.log = append(r.log, s)
	if strings.HasPrefix(s, r.fail) && r.fail != "" {
		return errors.New("boom")
	}
	return nil
}
func (r *recorder) OnTrainingBegin() error   { return r.ev("TrainingBegin") }
func (r *recorder) OnEpochBegin(e int) error { return r.ev(fmt.Sprintf("EpochBegin %d", e)) }
func (r *recorder) OnMinibatchBegin(e, s, n int) error {
	return r.ev(fmt.Sprintf("MinibatchBegin %d %d/%d", e, s, n))
}
func (r *recorder) BeforeBackward(s *Step) error {
	return r.ev(fmt.Sprintf("BeforeBackward %d %d n=%d", s.Epoch, s.Step, len(s.Labels)))
}
func (r *recorder) BeforeOptimizerStep(s *Step) error {
	return r.ev(fmt.Sprintf("BeforeOptimizerStep %d %d", s.Epoch, s.Step))
}
func (r *recorder) OnMinibatchEnd(e, s, n int) error {
	return r.ev(fmt.Sprintf("MinibatchEnd %d %d", e, s))
}
func (r *recorder) OnEpochEnd(e int, m *EpochMetrics) error {
	m.LR /= 10
	return r.ev(fmt.Sprintf("EpochEnd %d", e))
}
func (r *recorder) OnTrainingEnd() error { return r.ev("TrainingEnd") }

func newSGD(t testing.TB, m *Model, lr float64) *SGD {
	t.Helper()
	o, err := NewSGD(m.Params(), SGDConfig{LR: lr, Momentum: 0.9, WeightDecay: 1e-4})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestHookOrder(t *testing.T) {
	set := data.Synthetic(5, 1, 28, 28, 10, 1)
	m := mustNew(t, "lenet300_100", 1)
	opt := newSGD(t, m, 0.1)
	rec := &recorder{}
	var epochs []int
	res, err := Train(context.Background(), m, opt, set, set, TrainConfig{Epochs: 3, StartEpoch: 1, Batch: 3, Seed: 1, Hooks: rec,
		OnEpoch: func(em *EpochMetrics) error { epochs = append(epochs, em.Epoch); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"TrainingBegin"}
	for e := 1; e < 3; e++ {
		want = append(want, fmt.Sprintf("EpochBegin %d", e))
		for s := 0; s < 2; s++ {
			n := 3 - s
			want = append(want, fmt.Sprintf("MinibatchBegin %d %d/2", e, s), fmt.Sprintf("BeforeBackward %d %d n=%d", e, s, n),
				fmt.Sprintf("BeforeOptimizerStep %d %d", e, s), fmt.Sprintf("MinibatchEnd %d %d", e, s))
		}
		want = append(want, fmt.Sprintf("EpochEnd %d", e))
	}
	want = append(want, "TrainingEnd")
	if diff := cmp.Diff(want, rec.log); diff != "" {
		t.Fatalf("hook order (-want +got):\n%s", diff)
	}
	if !cmp.Equal(epochs, []int{1, 2}) || len(res) != 2 {
		t.Fatalf("per-epoch callback saw %v, %d metrics", epochs, len(res))
	}
	// OnEpochEnd divided the rate by 10 after each epoch.
	if res[0].LR != 0.1 || math.Abs(res[1].LR-0.01) > 1e-12 || math.Abs(opt.LR()-0.001) > 1e-12 {
		t.Errorf("learning rates %v, %v, now %v; want 0.1, 0.01, 0.001", res[0].LR, res[1].LR, opt.LR())
	}

	rec = &recorder{fail: "BeforeOptimizerStep"}
	_, err = Train(context.Background(), m, opt, set, nil, TrainConfig{Epochs: 1, Batch: 3, Hooks: rec})
	if err == nil || !strings.Contains(err.Error(), "BeforeOptimizerStep (epoch 0, step 0): boom") {
		t.Errorf("hook error: %v", err)
	}
}

func TestTrainErrors(t *testing.T) {
	set := data.Synthetic(4, 3, 8, 8, 10, 1)
	m := mustNew(t, "lenet5", 1)
	opt := newSGD(t, m, 0.1)
	_, err := Train(context.Background(), m, opt, set, nil, TrainConfig{Epochs: 1, Batch: 2})
	if err == nil || !strings.Contains(err.Error(), "lenet5 takes 1×28×28 samples, the data set has 3×8×8") {
		t.Errorf("shape mismatch: %v", err)
	}
	mn := data.Synthetic(4, 1, 28, 28, 10, 1)
	if _, err := Train(context.Background(), m, opt, mn, nil, TrainConfig{Epochs: 1}); err == nil {
		t.Errorf("batch 0 accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, m, opt, mn, nil, TrainConfig{Epochs: 1, Batch: 2}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if _, err := Evaluate(ctx, m, mn, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled evaluation: %v", err)
	}
	if _, err := Train(context.Background(), m, nil, mn, nil, TrainConfig{Epochs: 1, Batch: 2}); err == nil {
		t.Error("training without an optimizer: no error")
	}
	// An empty test set is refused before training, not found after it as a NaN top-1.
	if _, err := Train(context.Background(), m, opt, mn, mn.Subset(0), TrainConfig{Epochs: 1, Batch: 2}); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty test set: %v", err)
	}
	// Sets that do not hold what their shape says are errors, not panics or reads past
	// their end.
	badLabel := data.Synthetic(4, 1, 28, 28, 10, 1)
	badLabel.Y[3] = 42
	short := data.Synthetic(4, 1, 28, 28, 10, 1)
	short.X = short.X[:2*28*28]
	for _, bad := range []*data.Set{badLabel, short} {
		if _, err := Train(context.Background(), m, opt, bad, nil, TrainConfig{Epochs: 1, Batch: 2}); err == nil {
			t.Errorf("training on %s: no error", bad.Name)
		}
		if _, err := Train(context.Background(), m, opt, mn, bad, TrainConfig{Epochs: 1, Batch: 2}); err == nil {
			t.Errorf("testing on %s: no error", bad.Name)
		}
		if _, err := Evaluate(context.Background(), m, bad, 2); err == nil || !strings.Contains(err.Error(), "nn: evaluate: data:") {
			t.Errorf("evaluating on %s: %v", bad.Name, err)
		}
	}
}

func TestRank(t *testing.T) {
	nan := float32(math.NaN())
	for _, tc := range []struct {
		logits []float32
		label  int
		want   int
	}{
		{[]float32{0, 3, 1}, 1, 0},
		{[]float32{0, 3, 1}, 2, 1},
		{[]float32{0, 3, 1}, 0, 2},
		{[]float32{1, 1, 1}, 1, 1}, // ties go to the lower index
		{[]float32{1, nan, 0}, 1, 3},
		{[]float32{1, nan, 0}, 0, 1},
	} {
		if got := Rank(tc.logits, tc.label); got != tc.want {
			t.Errorf("Rank(%v, %d) = %d, want %d", tc.logits, tc.label, got, tc.want)
		}
	}
}

// trainBytes trains a model briefly and returns its weights' bits and the metrics.
func trainBytes(t *testing.T, name string, set *data.Set, seed uint64) ([]uint32, []EpochMetrics) {
	t.Helper()
	m := mustNew(t, name, seed)
	res, err := Train(context.Background(), m, newSGD(t, m, 0.05), set, set, TrainConfig{Epochs: 2, Batch: 16, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	var bits []uint32
	for _, p := range m.Params() {
		for _, v := range p.Data() {
			bits = append(bits, math.Float32bits(v))
		}
	}
	for _, b := range m.Buffers() {
		for _, v := range ops.F32(b.Value) {
			bits = append(bits, math.Float32bits(v))
		}
	}
	for i := range res {
		res[i].SamplesPerSec, res[i].Seconds = 0, 0
	}
	return bits, res
}

func TestDeterminism(t *testing.T) {
	cases := []struct {
		name string
		set  *data.Set
	}{
		{"lenet5", data.Synthetic(40, 1, 28, 28, 10, 3)},
		{"resnet20_cifar", data.Synthetic(12, 3, 32, 32, 10, 3)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && tc.name == "resnet20_cifar" {
				t.Skip("slow")
			}
			a, ma := trainBytes(t, tc.name, tc.set, 5)
			b, mb := trainBytes(t, tc.name, tc.set, 5)
			if !slices.Equal(a, b) {
				t.Fatalf("two runs with the same seed differ")
			}
			if !cmp.Equal(ma, mb, cmp.Comparer(func(x, y float64) bool { return x == y || (x != x && y != y) })) {
				t.Fatalf("metrics differ: %v vs %v", ma, mb)
			}
			c, _ := trainBytes(t, tc.name, tc.set, 6)
			if slices.Equal(a, c) {
				t.Fatalf("different seeds gave the same weights")
			}
		})
	}
}

// TestTrainSynthetic trains simplenet_v2_mnist on a learnable synthetic set and expects a
// clear accuracy on held-out samples.
func TestTrainSynthetic(t *testing.T) {
	train := data.Synthetic(1024, 1, 28, 28, 10, 11)
	test := data.Synthetic(512, 1, 28, 28, 10, 11)
	test = &data.Set{Name: "held-out", X: test.X[256*784:], Y: test.Y[256:], N: 256, C: 1, H: 28, W: 28, Classes: 10}
	m := mustNew(t, "lenet5", 2)
	before, err := Evaluate(context.Background(), m, test, 64)
	if err != nil {
		t.Fatal(err)
	}
	var steps int
	res, err := Train(context.Background(), m, newSGD(t, m, 0.02), train, test, TrainConfig{Epochs: 2, Batch: 32, Seed: 1,
		OnStep: func(p Progress) { steps++ }})
	if err != nil {
		t.Fatal(err)
	}
	last := res[len(res)-1]
	t.Logf("before: %+v; after: %+v", before, last)
	if steps != 2*32 {
		t.Errorf("OnStep called %d times, want 64", steps)
	}
	if last.Top1 < 90 || last.Top5 < last.Top1 || before.Top1 > 30 || last.TrainLoss >= res[0].TrainLoss || last.TestLoss > before.Loss/2 {
		t.Fatalf("training did not learn: before %+v, epochs %+v", before, res)
	}
	ev, err := Evaluate(context.Background(), m, test, 100)
	if err != nil || ev.Top1 != last.Top1 || math.Abs(ev.Loss-last.TestLoss) > 1e-6 || ev.N != 256 {
		t.Errorf("Evaluate with another batch: %+v, %v; want the epoch's %v", ev, err, last.Top1)
	}
}

// TestTrainResNetSynthetic checks that the residual network with batch normalisation
// learns, and that evaluation mode works once the running statistics have caught up
// with the weights (after a few steps they lag far behind, as in PyTorch).
func TestTrainResNetSynthetic(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	train := data.Synthetic(192, 3, 32, 32, 4, 5)
	m := mustNew(t, "resnet20_cifar", 2)
	res, err := Train(context.Background(), m, newSGD(t, m, 0.05), train, nil, TrainConfig{Epochs: 3, Batch: 32, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if first, last := res[0], res[len(res)-1]; last.TrainTop1 < 60 || last.TrainLoss > 0.7*first.TrainLoss {
		t.Fatalf("resnet20 did not learn: %+v", res)
	}
	// Let the running statistics settle with the final weights, then evaluate.
	var in inputBuffer
	x, y := in.get(32, m.Input)
	l := data.NewLoader(train, 32, false, 0)
	for k := 0; k < 30; k++ {
		l.Batch(k%l.Steps(), ops.F32(x), y)
		m.Forward(x, true)
	}
	ev, err := Evaluate(context.Background(), m, train, 64)
	if err != nil || ev.Top1 < 90 {
		t.Fatalf("evaluation after settling the running statistics: %+v, %v", ev, err)
	}
}

// TestModelGradient checks a whole small model — convolution, batch normalisation,
// ReLU, pooling, a residual block with a downsampling shortcut, average pooling and two
// linear layers, one with a fused ReLU — against central finite differences of the
// cross-entropy loss.
func TestModelGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	root := NewSequential("",
		NewConv2d("conv1", 2, 3, 3, 1, 1, true),
		NewBatchNorm2d("bn1", 3), NewReLU("relu1"),
		NewMaxPool2d("pool", 2, 2, 0),
		NewBasicBlock("layer1.0", 3, 4, 2),
		NewAvgPool2d("avgpool", 2, 1, 0),
		NewFlatten("flatten"),
		NewLinear("fc1", 4*2*2, 6, true), NewReLU("relu2"),
		NewLinear("fc2", 6, 3, true))
	m := NewModel("tiny", []int{2, 12, 12}, 3, root)
	for _, p := range m.Params() {
		for i := range p.Data() {
			p.Data()[i] = float32(r.NormFloat64() * 0.5)
			if p.Kind == KindNormWeight {
				p.Data()[i] = 1 + float32(r.Float64()*0.2)
			}
		}
	}
	if !m.Layers()[len(m.Layers())-3].FusedReLU {
		t.Fatalf("fc1 should carry the fused ReLU")
	}
	x := ops.New(4, 2, 12, 12)
	for i := range ops.F32(x) {
		ops.F32(x)[i] = float32(r.NormFloat64())
	}
	y := []int32{0, 2, 1, 2}
	var ce ops.CrossEntropy
	loss := func() float64 { return ce.Forward(m.Forward(x, true), y) }
	m.ZeroGrad()
	loss()
	m.Backward(ce.Backward())
	const eps = 1e-3
	checked, bad := 0, 0
	for _, p := range m.Params() {
		w, g := p.Data(), p.GradData()
		idx := r.Perm(len(w))
		if len(idx) > 6 {
			idx = idx[:6]
		}
		for _, i := range idx {
			orig := w[i]
			w[i] = orig + eps
			lp := loss()
			w[i] = orig - eps
			lm := loss()
			w[i] = orig
			num := (lp - lm) / (2 * eps)
			checked++
			if math.Abs(num-float64(g[i])) > 2e-3+2e-2*math.Abs(num) {
				bad++
				t.Errorf("%s[%d]: analytic %.6g, numerical %.6g", p.Name, i, g[i], num)
			}
		}
	}
	t.Logf("checked %d gradient values", checked)
	if checked < 60 || bad > 0 {
		t.Fatalf("%d of %d gradient values differ", bad, checked)
	}
}

func TestTrainStepNoAllocs(t *testing.T) {
	// The GEMM kernel is another package's; if it allocates by itself, this test cannot
	// see whether nn and ops do.
	a := make([]float32, 64*256)
	c := make([]float32, 64*64)
	if n := testing.AllocsPerRun(3, func() { kernels.Sgemm(false, true, 64, 64, 256, 1, a, 256, a, 256, 0, c, 64) }); n > 0 {
		t.Skipf("kernels.Sgemm allocates %v times per call", n)
	}
	for _, name := range []string{"lenet300_100", "lenet5", "resnet20_cifar"} {
		t.Run(name, func(t *testing.T) {
			if testing.Short() && name == "resnet20_cifar" {
				t.Skip("slow")
			}
			s := newTrainStep(t, name, 4)
			s.run()
			if a := testing.AllocsPerRun(3, func() { s.run() }); a != 0 {
				t.Errorf("%v allocations per training step, want 0", a)
			}
		})
	}
}

// TestFusedConvPoolModel checks a model whose convolutions absorb their ReLU and 2×2
// max pooling: gradients against finite differences, and layer shapes as if the
// layers ran separately.
func TestFusedConvPoolModel(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	root := NewSequential("",
		NewConv2d("conv1", 1, 3, 3, 1, 0, true), NewReLU("relu1"), NewMaxPool2d("pool1", 2, 2, 0),
		NewConv2d("conv2", 3, 4, 3, 1, 0, true), NewMaxPool2d("pool2", 2, 2, 0),
		NewFlatten("flatten"), NewLinear("fc", 4*2*2, 3, true))
	m := NewModel("tiny", []int{1, 14, 14}, 3, root)
	for _, p := range m.Params() {
		for i := range p.Data() {
			p.Data()[i] = float32(r.NormFloat64() * 0.5)
		}
	}
	x := ops.New(3, 1, 14, 14)
	for i := range ops.F32(x) {
		ops.F32(x)[i] = float32(r.NormFloat64())
	}
	y := []int32{0, 2, 1}
	var ce ops.CrossEntropy
	loss := func() float64 { return ce.Forward(m.Forward(x, true), y) }
	m.ZeroGrad()
	loss()
	m.Backward(ce.Backward())
	ls := m.Layers()
	want := []struct {
		name      string
		in, out   []int
		fusedPool bool
	}{
		{"conv1", []int{3, 1, 14, 14}, []int{3, 3, 12, 12}, true},
		{"relu1", []int{3, 3, 12, 12}, []int{3, 3, 12, 12}, false},
		{"pool1", []int{3, 3, 12, 12}, []int{3, 3, 6, 6}, false},
		{"conv2", []int{3, 3, 6, 6}, []int{3, 4, 4, 4}, true},
		{"pool2", []int{3, 4, 4, 4}, []int{3, 4, 2, 2}, false},
	}
	for i, w := range want {
		l := ls[i]
		if l.Name != w.name || !cmp.Equal(l.InShape, w.in) || !cmp.Equal(l.OutShape, w.out) || l.FusedPool != w.fusedPool {
			t.Errorf("layer %d: %s in %v out %v fused pool %v; want %s in %v out %v fused pool %v",
				i, l.Name, l.InShape, l.OutShape, l.FusedPool, w.name, w.in, w.out, w.fusedPool)
		}
	}
	const eps = 1e-3
	for _, p := range m.Params() {
		w, g := p.Data(), p.GradData()
		for _, i := range r.Perm(len(w))[:min(8, len(w))] {
			orig := w[i]
			w[i] = orig + eps
			lp := loss()
			w[i] = orig - eps
			lm := loss()
			w[i] = orig
			num := (lp - lm) / (2 * eps)
			if math.Abs(num-float64(g[i])) > 2e-3+2e-2*math.Abs(num) {
				t.Errorf("%s[%d]: analytic %.6g, numerical %.6g", p.Name, i, g[i], num)
			}
		}
	}
}

// TestTrainAllocationsDoNotGrowWithSteps checks that the training loop itself allocates
// nothing per minibatch: an epoch of 40 steps allocates as much as one of 10.
func TestTrainAllocationsDoNotGrowWithSteps(t *testing.T) {
	a := make([]float32, 64*256)
	c := make([]float32, 64*64)
	if n := testing.AllocsPerRun(3, func() { kernels.Sgemm(false, true, 64, 64, 256, 1, a, 256, a, 256, 0, c, 64) }); n > 0 {
		t.Skipf("kernels.Sgemm allocates %v times per call", n)
	}
	m := mustNew(t, "lenet300_100", 1)
	opt := newSGD(t, m, 0.01)
	allocs := func(n int) float64 {
		set := data.Synthetic(n, 1, 28, 28, 10, 1)
		cfg := TrainConfig{Epochs: 1, Batch: 4, Hooks: NopHooks{}, OnStep: func(Progress) {}}
		if _, err := Train(context.Background(), m, opt, set, nil, cfg); err != nil { // warm the buffers
			t.Fatal(err)
		}
		return testing.AllocsPerRun(2, func() {
			if _, err := Train(context.Background(), m, opt, set, nil, cfg); err != nil {
				t.Fatal(err)
			}
		})
	}
	short, long := allocs(40), allocs(160)
	t.Logf("allocations per epoch: %v with 10 steps, %v with 40", short, long)
	if long > short {
		t.Errorf("an epoch of 40 steps allocates %v times, one of 10 steps %v: the loop allocates per minibatch", long, short)
	}
}
