package nn

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// trainStep is one full minibatch of training: zero grads, forward, loss, backward,
// optimizer step.
type trainStep struct {
	m   *Model
	opt Optimizer
	ce  ops.CrossEntropy
	x   *tensor.Dense
	y   []int32
}

func newTrainStep(t testing.TB, name string, batch int) *trainStep {
	t.Helper()
	m := mustNew(t, name, 1)
	opt, err := NewSGD(m.Params(), SGDConfig{LR: 0.01, Momentum: 0.9, WeightDecay: 1e-4})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	x := ops.New(batch, m.Input[0], m.Input[1], m.Input[2])
	for i := range ops.F32(x) {
		ops.F32(x)[i] = float32(r.NormFloat64())
	}
	y := make([]int32, batch)
	for i := range y {
		y[i] = int32(r.IntN(m.Classes))
	}
	return &trainStep{m: m, opt: opt, x: x, y: y}
}

func (s *trainStep) run() float64 {
	s.m.ZeroGrad()
	loss := s.ce.Forward(s.m.Forward(s.x, true), s.y)
	s.m.Backward(s.ce.Backward())
	s.opt.Step()
	return loss
}

// BenchmarkTrainStep measures training throughput at batch 64 (run with -cpu 1 for the
// one-thread figures of the project's goals).
func BenchmarkTrainStep(b *testing.B) {
	for _, name := range []string{"simplenet_mnist", "lenet5", "lenet300_100", "simplenet_v2_mnist", "resnet20_cifar"} {
		b.Run(name, func(b *testing.B) {
			const batch = 64
			s := newTrainStep(b, name, batch)
			s.run()
			b.ReportAllocs()
			cpu0 := cpuSeconds()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s.run()
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "samples/s")
			// On a shared machine wall time includes other processes' turns; the
			// process's own CPU time does not (with -cpu 1 it is one thread's).
			b.ReportMetric(float64(b.N*batch)/(cpuSeconds()-cpu0), "samples/cpu-s")
		})
	}
}

// benchForward times forward, one batch of batch samples a call: samples/s, and the
// process's CPU time per call (cpu-ns/op), which leaves out the time other processes
// held the CPU (run it with -cpu 1).
func benchForward(b *testing.B, batch int, forward func()) {
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	for b.Loop() {
		forward()
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric((cpuSeconds()-cpu0)*1e9/float64(b.N), "cpu-ns/op")
}

// cpuSeconds returns the user+system CPU time of this process.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
