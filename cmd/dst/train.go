package main

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"

	"github.com/dst-dev/dst/internal/runlog"
	"github.com/dst-dev/dst/interp"
	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/stdlib"
)

// TrainFlags are the training settings shared by `dst train` and `dst run`.
type TrainFlags struct {
	Model     string  `help:"Model from the zoo (see 'dst models'). dst run's default is the model a schedule's '# model: NAME' header line names, if any." default:"simplenet_mnist" placeholder:"NAME"`
	Epochs    int     `help:"Number of epochs." default:"5" placeholder:"N"`
	Batch     int     `help:"Minibatch size." default:"64" placeholder:"N"`
	LR        float64 `name:"lr" help:"Learning rate." default:"0.01" placeholder:"X"`
	Momentum  float64 `help:"SGD momentum." default:"0.9" placeholder:"X"`
	WD        float64 `name:"wd" help:"Weight decay." default:"1e-4" placeholder:"X"`
	Nesterov  bool    `help:"Use Nesterov momentum."`
	Optimizer string  `help:"Optimizer: sgd or adam." default:"sgd" enum:"sgd,adam" placeholder:"NAME"`
	Seed      uint64  `help:"Seed for initialisation, shuffling and dropout." default:"0" placeholder:"N"`
	Threads   int     `help:"Worker threads (0 = all cores)." default:"0" placeholder:"N"`
}

// validate checks the flags and applies --threads; errors are usage errors.
func (f *TrainFlags) validate() error {
	if err := f.check(func(s string) string { return "--" + s }); err != nil {
		return usageError("%v", err)
	}
	return setThreads(f.Threads)
}

// check checks the training settings (all but Threads); name gives a setting's name in
// the error: "--lr" for a flag, "lr" for the settings a run's checkpoint saved.
func (f *TrainFlags) check(name func(setting string) string) error {
	switch {
	case f.Epochs < 1:
		return fmt.Errorf("%s must be >= 1, got %d", name("epochs"), f.Epochs)
	case f.Batch < 1:
		return fmt.Errorf("%s must be >= 1, got %d", name("batch"), f.Batch)
	case !(f.LR > 0):
		return fmt.Errorf("%s must be > 0, got %g", name("lr"), f.LR)
	case math.IsInf(f.LR, 1):
		return fmt.Errorf("%s must be finite, got %g", name("lr"), f.LR)
	case !(f.Momentum >= 0 && f.Momentum < 1):
		return fmt.Errorf("%s must be in [0, 1), got %g", name("momentum"), f.Momentum)
	case !(f.WD >= 0) || math.IsInf(f.WD, 1):
		return fmt.Errorf("%s must be a finite number >= 0, got %g", name("wd"), f.WD)
	case f.Optimizer != "sgd" && f.Optimizer != "adam":
		return fmt.Errorf("%s must be sgd or adam, got %q", name("optimizer"), f.Optimizer)
	}
	return nil
}

// lrFor returns the learning rate of epoch e under --lr and --lr-drop.
func (c *TrainCmd) lrFor(e int) float64 {
	if c.LRDrop > 0 && e >= int(math.Round(c.LRDrop*float64(c.Epochs))) {
		return c.LR * 0.1
	}
	return c.LR
}

// newOptimizer builds the optimizer the flags ask for.
func (f *TrainFlags) newOptimizer(m *nn.Model) (nn.Optimizer, error) {
	if f.Optimizer == "adam" {
		return nn.NewAdam(m.Params(), nn.AdamConfig{LR: f.LR, WeightDecay: f.WD})
	}
	return nn.NewSGD(m.Params(), nn.SGDConfig{LR: f.LR, Momentum: f.Momentum, WeightDecay: f.WD, Nesterov: f.Nesterov})
}

// TrainCmd trains a zoo model without a compression schedule.
type TrainCmd struct {
	TrainFlags
	// LRDrop is dst train's only learning-rate schedule; dst run takes lr policies.
	LRDrop float64 `name:"lr-drop" help:"Multiply the learning rate by 0.1 from this fraction of the epochs on (0 = never; the PyTorch anchors use 0.7)." default:"0" placeholder:"F"`
	DataFlags
	Out   string `help:"Output folder for summary.json and the checkpoint (default runs/<model>-<time>)." type:"path" placeholder:"DIR"`
	Force bool   `help:"Allow writing into an --out folder that already holds a run."`
}

// Run trains, printing one line per epoch, and writes <out>/summary.json and
// <out>/checkpoint.safetensors after every epoch.
func (c *TrainCmd) Run(g *Globals) error {
	if c.LRDrop < 0 || c.LRDrop >= 1 {
		return usageError("--lr-drop must be in [0, 1), got %g", c.LRDrop)
	}
	if err := c.validate(); err != nil {
		return err
	}
	m, err := nn.New(c.Model, c.Seed)
	if err != nil {
		return usageError("%v", err)
	}
	train, test, err := c.load(m)
	if err != nil {
		return err
	}
	opt, err := c.newOptimizer(m)
	if err != nil {
		return usageError("%v", err)
	}
	out := c.Out
	if out == "" {
		out = defaultOut(c.Model)
	}
	if err := prepareOut(out, c.Force); err != nil {
		return err
	}
	meta := map[string]string{
		"model": c.Model, "dataset": train.Name, "optimizer": c.Optimizer,
		"lr": fmt.Sprint(c.LR), "momentum": fmt.Sprint(c.Momentum), "wd": fmt.Sprint(c.WD),
		"batch": strconv.Itoa(c.Batch), "epochs": strconv.Itoa(c.Epochs), "seed": fmt.Sprint(c.Seed),
		"lr_drop": fmt.Sprint(c.LRDrop),
	}
	summary := runlog.NewSummaryWriter(filepath.Join(out, "summary.json"), meta)
	ckpt := filepath.Join(out, "checkpoint.safetensors")
	fmt.Fprintf(g.Stdout, "training %s on %s (%d train / %d test samples), %d epochs, batch %d, %s lr %g\n",
		c.Model, train.Name, train.N, test.N, c.Epochs, c.Batch, c.Optimizer, c.LR)
	var last nn.EpochMetrics
	warned := false // about a diverged loss
	_, err = nn.Train(g.Ctx, m, opt, train, test, nn.TrainConfig{
		Epochs: c.Epochs, Batch: c.Batch, Seed: c.Seed,
		OnStep: stepBar(g.Stderr),
		OnEpoch: func(em *nn.EpochMetrics) error {
			warned = warnDiverged(g, em, warned)
			last = *em
			fmt.Fprintln(g.Stdout, epochLine(em, c.Epochs))
			if err := summary.AddEpoch(*em, m.Params()); err != nil {
				return err
			}
			if err := nn.SaveCheckpoint(ckpt, m, opt, em.Epoch, meta); err != nil {
				return err
			}
			em.LR = c.lrFor(em.Epoch + 1)
			return nil
		},
	})
	if err != nil {
		return err
	}
	if err := summary.SetFinalTop1(last.Top1); err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "final top-1 %.2f%%; wrote %s and %s\n", last.Top1, summary.Path(), ckpt)
	return nil
}

// epochLine formats one epoch's figures: epoch, loss, top-1, top-5, samples/s, seconds.
func epochLine(m *nn.EpochMetrics, epochs int) string {
	return fmt.Sprintf("epoch %2d (%d of %d)  loss %.4f  test loss %.4f  top-1 %6.2f%%  top-5 %6.2f%%  lr %.4g  %8.0f samples/s  %6.1fs",
		m.Epoch, m.Epoch+1, epochs, m.TrainLoss, m.TestLoss, m.Top1, m.Top5, m.LR, m.SamplesPerSec, m.Seconds)
}

// EvalCmd evaluates a checkpoint on the test set.
type EvalCmd struct {
	Model      string `help:"Model from the zoo (default: the one the checkpoint names)." placeholder:"NAME"`
	Checkpoint string `help:"Checkpoint file (.safetensors)." required:"" type:"existingfile" placeholder:"FILE"`
	Batch      int    `help:"Minibatch size." default:"256" placeholder:"N"`
	Threads    int    `help:"Worker threads (0 = all cores)." default:"0" placeholder:"N"`
	DataFlags
	QuantizeFlags
}

// Run loads the checkpoint and prints loss, top-1 and top-5.
func (c *EvalCmd) Run(g *Globals) error {
	if err := setThreads(c.Threads); err != nil {
		return err
	}
	if c.Batch < 1 {
		return usageError("--batch must be >= 1, got %d", c.Batch)
	}
	m, err := loadModel(c.Model, c.Checkpoint)
	if err != nil {
		return err
	}
	train, test, err := c.load(m)
	if err != nil {
		return err
	}
	if _, err := c.QuantizeFlags.apply(g.Ctx, m, train, g.Stdout); err != nil {
		return err
	}
	res, err := nn.Evaluate(g.Ctx, m, test, c.Batch)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "%s on %s (%d samples): loss %.4f  top-1 %.2f%%  top-5 %.2f%%\n",
		m.Name, test.Name, res.N, res.Loss, res.Top1, res.Top5)
	return nil
}

// installRunQAT gives m, before it loads the checkpoint of a dst run, the quantized
// activations (and PACT's α, WRPN's widening) of the run's quantization-aware training,
// from the schedule and scheduler state the checkpoint carries: the model then computes
// what the run evaluated.
func installRunQAT(m *nn.Model, checkpoint string, ci *nn.CheckpointInfo) error {
	src := ci.Meta[metaSchedule]
	if src == "" {
		return nil
	}
	name := checkpoint + " (" + metaSchedule + ")"
	prog, diags := lang.CheckSource(name, []byte(src), lang.Env{Params: paramTable(m), Builtins: stdlib.Signatures()})
	if diags.HasErrors() {
		return usageError("checkpoint %s: the schedule it was trained with does not check against %s: %v", checkpoint, m.Name, diags.Errs())
	}
	if _, err := interp.InstallQAT(prog, m, []byte(ci.Meta[metaScheduler])); err != nil {
		return usageError("checkpoint %s: %v", checkpoint, err)
	}
	return nil
}

// loadModel builds the model a checkpoint belongs to (or the named one) and loads it,
// with the quantization-aware training its run installed.
func loadModel(name, checkpoint string) (*nn.Model, error) {
	ci, err := nn.ReadCheckpointInfo(checkpoint)
	if err != nil {
		return nil, usageError("%v", err)
	}
	if name == "" {
		name = ci.Model
		if name == "" {
			return nil, usageError("checkpoint %s does not say which model it holds; pass --model", checkpoint)
		}
	}
	m, err := nn.New(name, 0)
	if err != nil {
		return nil, usageError("%v", err)
	}
	if ci.Model != "" && ci.Model != name {
		// Say so before the schedule it carries fails to check against the wrong model.
		return nil, usageError("checkpoint %s holds a %s, not a %s: %v", checkpoint, ci.Model, name, nn.ErrCheckpointMismatch)
	}
	if err := installRunQAT(m, checkpoint, ci); err != nil {
		return nil, err
	}
	if _, err := nn.LoadCheckpoint(checkpoint, m, nil); err != nil {
		return nil, usageError("%v", err)
	}
	return m, nil
}
