package interp_test

import (
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/interp"
	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/ops"
)

// Example embeds dst in a hand-written training loop: the host owns one weight matrix,
// computes its gradient itself and updates it with plain SGD (which knows nothing of
// masks), and calls the Scheduler's hooks at each event. The AGP policy prunes the
// weight to exactly ⌊target·128⌋ zeros at every epoch, and the scheduler keeps them zero.
func Example() {
	w := nn.NewParam("fc.weight", "fc", nn.KindWeight, 8, 16)
	r := rand.New(rand.NewPCG(1, 1))
	target := make([]float32, w.Len())
	for i := range target {
		w.Data()[i], target[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
	}
	src := []byte("prune fc agp 10% -> 75% from epoch 0 to 4\nregularize fc l2 1e-4\n")
	sched, err := interp.CompileSource("example.dst", src, interp.Options{Params: []*nn.Param{w}, Epochs: 5})
	if err != nil {
		log.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			log.Fatal(err)
		}
	}
	must(sched.OnTrainingBegin())
	for epoch := range 5 {
		must(sched.OnEpochBegin(epoch))
		for step := range 10 {
			must(sched.OnMinibatchBegin(epoch, step, 10))
			st := &nn.Step{Epoch: epoch, Step: step, StepsPerEpoch: 10}
			g, v := w.GradData(), w.Data()
			for i := range v { // loss ½Σ(w−t)², gradient w−t
				g[i] = v[i] - target[i]
				st.Loss += float64(g[i]*g[i]) / 2
			}
			must(sched.BeforeBackward(st)) // the l2 policy adds its loss and gradient
			must(sched.BeforeOptimizerStep(st))
			for i := range v {
				v[i] -= 0.1 * g[i]
			}
			must(sched.OnMinibatchEnd(epoch, step, 10)) // re-applies the masks
		}
		must(sched.OnEpochEnd(epoch, &nn.EpochMetrics{Epoch: epoch}))
		fmt.Printf("epoch %d: %d of %d weights non-zero\n", epoch, w.NNZ(), w.Len())
	}
	must(sched.OnTrainingEnd())
	// Output:
	// epoch 0: 116 of 128 weights non-zero
	// epoch 1: 57 of 128 weights non-zero
	// epoch 2: 36 of 128 weights non-zero
	// epoch 3: 32 of 128 weights non-zero
	// epoch 4: 32 of 128 weights non-zero
}

// ExampleBuiltin registers a host builtin: a prune method `negative` that zeroes the
// weights below a bound. Its signature is checked like stdlib's, so a misspelled
// argument or a missing window is a compile-time diagnostic.
func ExampleBuiltin() {
	w := nn.NewParam("fc.weight", "fc", nn.KindWeight, 2, 4)
	copy(w.Data(), []float32{-0.9, -0.2, 0.4, 1, -0.6, 0.3, -0.1, 0.8})
	negative := interp.Builtin{
		Signature: lang.Signature{
			Statement: "prune", Method: "negative", Masks: true,
			Doc: "Prune the weights below a bound.",
			Args: []lang.ArgSpec{{Name: "below", Type: lang.TypeNumber, Default: "0", Positional: true,
				Doc: "Weights below this value are pruned."}},
		},
		Func: func(c *interp.Call) error {
			below := float32(c.Policy.Args["below"].Num)
			for _, p := range c.Params {
				mask := make([]float32, p.Len())
				for i, v := range p.Data() {
					if v >= below {
						mask[i] = 1
					}
				}
				p.SetMask(mask)
			}
			return nil
		},
	}
	opt := interp.Options{Params: []*nn.Param{w}, Builtins: []interp.Builtin{negative}}
	sched, err := interp.CompileSource("host.dst", []byte("prune fc negative below=-0.5 at epoch 1\n"), opt)
	if err != nil {
		log.Fatal(err)
	}
	for epoch := range 2 {
		if err := sched.OnEpochBegin(epoch); err != nil {
			log.Fatal(err)
		}
		fmt.Println(epoch, w.Data())
	}
	_, err = interp.CompileSource("host.dst", []byte("prune fc negative belw=1 at epoch 1\n"), opt)
	fmt.Println(err)
	// Output:
	// 0 [-0.9 -0.2 0.4 1 -0.6 0.3 -0.1 0.8]
	// 1 [0 -0.2 0.4 1 0 0.3 -0.1 0.8]
	// host.dst:1:19: Unknown argument; prune negative has no argument or value "belw". Did you mean "below"?
}

// ExampleRuntimeError shows how a failure inside a policy is reported: the policy's
// file:line:col, its statement and method, the event, the epoch and the step. A panic in
// a builtin is recovered at the hook boundary and reported the same way; the Scheduler
// stays usable.
func ExampleRuntimeError() {
	w := nn.NewParam("fc.weight", "fc", nn.KindWeight, 4, 4)
	flaky := interp.Builtin{
		Signature: lang.Signature{Statement: "prune", Method: "flaky", Masks: true, Doc: "Fails at step 2."},
		Func: func(c *interp.Call) error {
			if c.Step == 2 {
				var mask []float32
				mask[3] = 1 // a bug: index out of range
			}
			return nil
		},
	}
	sched, err := interp.CompileSource("flaky.dst", []byte("# a host method\nprune fc flaky from epoch 0 every 1 steps\n"),
		interp.Options{Params: []*nn.Param{w}, Builtins: []interp.Builtin{flaky}, Epochs: 2})
	if err != nil {
		log.Fatal(err)
	}
	for step := range 4 {
		if err := sched.OnMinibatchBegin(1, step, 4); err != nil {
			fmt.Println(err)
		}
	}
	// Output:
	// flaky.dst:2:1: prune flaky: OnMinibatchBegin (epoch 1, step 2): panic: runtime error: index out of range [3] with length 0
}

// ExampleScheduler_MarshalState saves a Scheduler's state with a checkpoint and restores
// it into the Scheduler of a resumed run: here the σ a sensitivity pruner cached when it
// first ran, which a resumed run must reuse rather than recompute from pruned weights.
func ExampleScheduler_MarshalState() {
	newParam := func() *nn.Param {
		w := nn.NewParam("fc.weight", "fc", nn.KindWeight, 2, 4)
		copy(w.Data(), []float32{-0.9, -0.2, 0.4, 1, -0.6, 0.3, -0.1, 0.8})
		return w
	}
	src := []byte("prune fc sensitivity 0.9 at epochs [0, 1]\n")
	w := newParam()
	sched, err := interp.CompileSource("s.dst", src, interp.Options{Params: []*nn.Param{w}})
	if err != nil {
		log.Fatal(err)
	}
	if err := sched.OnEpochBegin(0); err != nil {
		log.Fatal(err)
	}
	state, err := sched.MarshalState()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(state))

	resumed, err := interp.CompileSource("s.dst", src, interp.Options{Params: []*nn.Param{newParam()}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resumed.RestoreState(state))
	// Output:
	// {"version":1,"began":false,"steps_per_epoch":0,"base_lr":0,"policies":[{"policy":"prune sensitivity","range":"s.dst:1:1","cache":{"fc.weight":[0.6599512983921425]}}]}
	// <nil>
}

// Example_zooModel drives a zoo model from a hand-written loop: the host owns the data,
// the forward and backward passes, the loss and the optimizer, and calls the Scheduler's
// hooks at each event of the order [nn.Hooks] gives (nn.Train does the same). The schedule
// prunes fc1 to 50% at epoch 0 and fc2 gradually; the masks hold through the updates.
func Example_zooModel() {
	m, err := nn.New("lenet300_100", 1)
	if err != nil {
		log.Fatal(err)
	}
	opt, err := nn.NewSGD(m.Params(), nn.SGDConfig{LR: 0.01, Momentum: 0.9})
	if err != nil {
		log.Fatal(err)
	}
	src := []byte("prune fc1 level 50% at epoch 0\nprune fc2 agp 0% -> 80% from epoch 0 to 3\n")
	sched, err := interp.CompileSource("example.dst", src, interp.Options{
		Params: m.Params(), Optimizer: opt, Model: m, Epochs: 3})
	if err != nil {
		log.Fatal(err) // a diagnostic with file:line:col, as dst check prints it
	}
	train := data.Synthetic(256, 1, 28, 28, 10, 1)
	const batch = 64
	loader := data.NewLoader(train, batch, true, 1)
	x := ops.New(batch, 1, 28, 28)
	y := make([]int32, batch)
	var ce ops.CrossEntropy
	must := func(err error) {
		if err != nil {
			log.Fatal(err)
		}
	}
	must(sched.OnTrainingBegin())
	for epoch := range 3 {
		must(sched.OnEpochBegin(epoch))
		loader.Shuffle(epoch)
		steps := loader.Steps()
		for s := range steps {
			loader.Batch(s, ops.F32(x), y)
			m.ZeroGrad()
			must(sched.OnMinibatchBegin(epoch, s, steps))
			logits := m.Forward(x, true)
			st := &nn.Step{Epoch: epoch, Step: s, StepsPerEpoch: steps, Input: x, Labels: y,
				Logits: logits, Loss: ce.Forward(logits, y), DLogits: ce.Backward(), LR: opt.LR()}
			must(sched.BeforeBackward(st)) // regularizers and distillation change st
			m.Backward(st.DLogits)
			must(sched.BeforeOptimizerStep(st))
			opt.Step()
			must(sched.OnMinibatchEnd(epoch, s, steps)) // masks are re-applied
		}
		must(sched.OnEpochEnd(epoch, &nn.EpochMetrics{Epoch: epoch, LR: opt.LR()}))
		fc1, fc2 := m.Param("fc1.weight"), m.Param("fc2.weight")
		fmt.Printf("epoch %d: fc1 %d of %d non-zero, fc2 %d of %d\n", epoch, fc1.NNZ(), fc1.Len(), fc2.NNZ(), fc2.Len())
	}
	must(sched.OnTrainingEnd())
	// Output:
	// epoch 0: fc1 117600 of 235200 non-zero, fc2 30000 of 30000
	// epoch 1: fc1 117600 of 235200 non-zero, fc2 9000 of 30000
	// epoch 2: fc1 117600 of 235200 non-zero, fc2 6000 of 30000
}
