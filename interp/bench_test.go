package interp

import (
	"math"
	"testing"
	"time"

	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// benchSchedule holds five active policies on simplenet_mnist: AGP on the convolutions
// and on fc1, level pruning and an L1 regularizer (which works on every minibatch) on
// fc2, and a step learning-rate schedule.
const benchSchedule = `prune [conv1, conv2] agp 5% -> 70% from epoch 0 to 3
prune fc1 agp 5% -> 90% from epoch 0 to 3
prune fc2 level 50% at epoch 0
regularize fc2 l1 1e-5
lr step 0.1 from epoch 0 every 2 epochs
`

// BenchmarkHooksSimplenetMNIST5Policies measures what the Scheduler's hooks cost per
// training step of simplenet_mnist (batch 64, 938 steps per MNIST epoch) with five
// active policies: the four minibatch hooks every step plus OnEpochBegin (where the AGP
// pruners compute their masks) once every 938 steps. Before the timed loop it times
// real training steps (forward, loss, backward, SGD with momentum; the fastest of
// eight) and reports the hooks' cost as a percentage of one ("%step").
//
// The sub-benchmark reapply runs with the Scheduler re-applying every mask at
// OnMinibatchEnd (the default); optimizer_masks with Options.OptimizerMasks, as dst run
// sets it because nn's optimizers mask after every step.
func BenchmarkHooksSimplenetMNIST5Policies(b *testing.B) {
	for _, tc := range []struct {
		name     string
		optMasks bool
	}{{"reapply", false}, {"optimizer_masks", true}} {
		b.Run(tc.name, func(b *testing.B) { benchHooks(b, tc.optMasks) })
	}
}

func benchHooks(b *testing.B, optMasks bool) {
	const batch, stepsPerEpoch = 64, 938
	m, err := nn.New("simplenet_mnist", 1)
	if err != nil {
		b.Fatal(err)
	}
	opt, err := nn.NewSGD(m.Params(), nn.SGDConfig{LR: 0.01, Momentum: 0.9, WeightDecay: 1e-4})
	if err != nil {
		b.Fatal(err)
	}
	s, err := CompileSource("bench.dst", []byte(benchSchedule), Options{Params: m.Params(), Optimizer: opt, Epochs: 5, OptimizerMasks: optMasks})
	if err != nil {
		b.Fatal(err)
	}
	set := data.Synthetic(batch, 1, 28, 28, 10, 1)
	x := tensor.New(tensor.WithShape(batch, 1, 28, 28), tensor.WithBacking(append([]float32(nil), set.X[:batch*28*28]...)))
	var ce ops.CrossEntropy
	trainStep := func() {
		m.ZeroGrad()
		logits := m.Forward(x, true)
		ce.Forward(logits, set.Y[:batch])
		m.Backward(ce.Backward())
		opt.Step()
	}
	if err := s.OnEpochBegin(0); err != nil { // masks in place, as during training
		b.Fatal(err)
	}
	trainStep()
	// The fastest of a few steps: on a shared machine the mean is inflated by other
	// processes, and a smaller step time makes the reported ratio conservative.
	stepNs := math.Inf(1)
	for range 8 {
		t0 := time.Now()
		trainStep()
		stepNs = min(stepNs, float64(time.Since(t0).Nanoseconds()))
	}

	st := &nn.Step{StepsPerEpoch: stepsPerEpoch}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		epoch, step := (i/stepsPerEpoch)%3, i%stepsPerEpoch
		if step == 0 {
			if err := s.OnEpochBegin(epoch); err != nil {
				b.Fatal(err)
			}
		}
		st.Epoch, st.Step = epoch, step
		if err := s.OnMinibatchBegin(epoch, step, stepsPerEpoch); err != nil {
			b.Fatal(err)
		}
		if err := s.BeforeBackward(st); err != nil {
			b.Fatal(err)
		}
		if err := s.BeforeOptimizerStep(st); err != nil {
			b.Fatal(err)
		}
		if err := s.OnMinibatchEnd(epoch, step, stepsPerEpoch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	hookNs := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	// One OnEpochBegin per epoch: when b.N < stepsPerEpoch the loop ran it once for
	// fewer steps, which overstates its share; report the amortised figure too.
	b.ReportMetric(stepNs, "ns/trainstep")
	b.ReportMetric(100*hookNs/stepNs, "%step")
}
