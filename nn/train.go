package nn

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/ops"
)

// Metrics are the loss and accuracies of a model over a data set. Accuracies are
// percentages (0–100), as Distiller reports them.
type Metrics struct {
	// Loss is the mean cross-entropy.
	Loss float64
	// Top1 and Top5 are the percentages of samples whose label is the highest score,
	// or among the five highest.
	Top1, Top5 float64
	// N is the number of samples.
	N int
}

// Rank returns how many classes score strictly ahead of label in one row of logits; a
// tie goes to the lower class index, as argmax does. A NaN score for the label ranks it
// last. The label is in the top k when Rank < k.
func Rank(logits []float32, label int) int {
	t := logits[label]
	if t != t {
		return len(logits)
	}
	r := 0
	for j, v := range logits {
		if v > t || (v == t && j < label) || v != v {
			r++
		}
	}
	return r
}

// TrainConfig configures [Train]. The zero value of an optional field leaves it off.
type TrainConfig struct {
	// Epochs is the number of the epoch after the last one to run: training runs epochs
	// StartEpoch … Epochs−1.
	Epochs int
	// StartEpoch is the first epoch to run (> 0 when resuming from a checkpoint).
	StartEpoch int
	// Batch is the minibatch size (> 0).
	Batch int
	// EvalBatch is the minibatch size for evaluation; 0 means Batch.
	EvalBatch int
	// Seed drives the shuffling: epoch e's order depends only on Seed and e.
	Seed uint64
	// Hooks receive the training events; nil means none.
	Hooks Hooks
	// OnEpoch, if set, is called after Hooks.OnEpochEnd with the epoch's metrics; it may
	// change m.LR (the optimizer's rate for the next epoch) and may stop training by
	// returning an error.
	OnEpoch func(m *EpochMetrics) error
	// OnStep, if set, is called after every minibatch (for progress bars).
	OnStep func(p Progress)
}

// Progress reports one finished minibatch to [TrainConfig.OnStep].
type Progress struct {
	// Epoch is the epoch, Step the minibatch within it, Steps the minibatches per epoch.
	Epoch, Step, Steps int
	// Loss is the minibatch's loss (with any hook terms).
	Loss float64
	// Samples is the number of samples trained in this epoch so far.
	Samples int
}

// Train trains m with opt on train, evaluating on test (nil to skip) after every epoch,
// and returns the metrics of every epoch run. It checks ctx between minibatches and
// returns ctx's error (with the metrics of the finished epochs) when it is cancelled.
//
// Every minibatch runs: zero the gradients, OnMinibatchBegin, forward, cross-entropy
// loss, BeforeBackward, backward from Step.DLogits, BeforeOptimizerStep, optimizer step
// (which re-applies masks to weights and optimizer state), OnMinibatchEnd. Around them:
// OnTrainingBegin, then per epoch OnEpochBegin … minibatches … evaluation, OnEpochEnd,
// OnEpoch; finally OnTrainingEnd. When OnEpochEnd or OnEpoch changes the metrics' LR,
// the optimizer takes it for the next epoch. A hook's error stops training and is
// returned, wrapped with the event, epoch and step.
//
// Training allocates nothing per minibatch once the buffers exist, and with the same
// seeds gives bit-identical weights.
func Train(ctx context.Context, m *Model, opt Optimizer, train, test *data.Set, cfg TrainConfig) ([]EpochMetrics, error) {
	if m == nil || opt == nil {
		return nil, fmt.Errorf("nn: train: the model and the optimizer are required")
	}
	if cfg.Batch < 1 {
		return nil, fmt.Errorf("nn: train: batch size %d must be at least 1", cfg.Batch)
	}
	if cfg.StartEpoch < 0 || cfg.Epochs < cfg.StartEpoch {
		return nil, fmt.Errorf("nn: train: epochs %d…%d: need 0 ≤ start ≤ epochs", cfg.StartEpoch, cfg.Epochs)
	}
	if train == nil || train.N == 0 {
		return nil, fmt.Errorf("nn: train: empty training set")
	}
	if err := train.Validate(); err != nil {
		return nil, fmt.Errorf("nn: train: %w", err)
	}
	if err := m.CheckInput(train.C, train.H, train.W, train.Classes); err != nil {
		return nil, err
	}
	if test != nil {
		if test.N == 0 {
			// Every epoch would report a NaN top-1, found only after all the training.
			return nil, fmt.Errorf("nn: train: the test set %s is empty", test.Name)
		}
		if err := test.Validate(); err != nil {
			return nil, fmt.Errorf("nn: train: %w", err)
		}
		if err := m.CheckInput(test.C, test.H, test.W, test.Classes); err != nil {
			return nil, fmt.Errorf("nn: train: test set %s: %w", test.Name, err)
		}
	}
	hooks := cfg.Hooks
	if hooks == nil {
		hooks = NopHooks{}
	}
	evalBatch := cfg.EvalBatch
	if evalBatch <= 0 {
		evalBatch = cfg.Batch
	}
	loader := data.NewLoader(train, cfg.Batch, true, cfg.Seed)
	steps := loader.Steps()
	var (
		in   inputBuffer
		ce   ops.CrossEntropy
		step Step
		ev   evaluator
		out  []EpochMetrics
	)
	if err := hooks.OnTrainingBegin(); err != nil {
		return out, fmt.Errorf("nn: OnTrainingBegin: %w", err)
	}
	for epoch := cfg.StartEpoch; epoch < cfg.Epochs; epoch++ {
		t0 := time.Now()
		if err := hooks.OnEpochBegin(epoch); err != nil {
			return out, fmt.Errorf("nn: OnEpochBegin (epoch %d): %w", epoch, err)
		}
		em := EpochMetrics{Epoch: epoch, LR: opt.LR()}
		loader.Shuffle(epoch)
		var lossSum float64
		correct, seen := 0, 0
		for s := 0; s < steps; s++ {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			n := min(cfg.Batch, train.N-s*cfg.Batch)
			x, y := in.get(n, m.Input)
			loader.Batch(s, ops.F32(x), y)
			m.ZeroGrad()
			if err := hooks.OnMinibatchBegin(epoch, s, steps); err != nil {
				return out, fmt.Errorf("nn: OnMinibatchBegin (epoch %d, step %d): %w", epoch, s, err)
			}
			logits := m.Forward(x, true)
			step = Step{Epoch: epoch, Step: s, StepsPerEpoch: steps, Input: x, Labels: y, Logits: logits,
				Loss: ce.Forward(logits, y), DLogits: ce.Backward(), LR: opt.LR()}
			if err := hooks.BeforeBackward(&step); err != nil {
				return out, fmt.Errorf("nn: BeforeBackward (epoch %d, step %d): %w", epoch, s, err)
			}
			m.Backward(step.DLogits)
			if err := hooks.BeforeOptimizerStep(&step); err != nil {
				return out, fmt.Errorf("nn: BeforeOptimizerStep (epoch %d, step %d): %w", epoch, s, err)
			}
			opt.Step()
			if err := hooks.OnMinibatchEnd(epoch, s, steps); err != nil {
				return out, fmt.Errorf("nn: OnMinibatchEnd (epoch %d, step %d): %w", epoch, s, err)
			}
			lossSum += step.Loss * float64(n)
			correct += countCorrect(ops.F32(logits), y, m.Classes)
			seen += n
			if cfg.OnStep != nil {
				cfg.OnStep(Progress{Epoch: epoch, Step: s, Steps: steps, Loss: step.Loss, Samples: seen})
			}
		}
		trainSecs := time.Since(t0).Seconds()
		em.TrainLoss = lossSum / float64(seen)
		em.TrainTop1 = 100 * float64(correct) / float64(seen)
		em.SamplesPerSec = float64(seen) / trainSecs
		if test != nil {
			res, err := ev.run(ctx, m, test, evalBatch)
			if err != nil {
				return out, err
			}
			em.TestLoss, em.Top1, em.Top5 = res.Loss, res.Top1, res.Top5
		} else {
			em.TestLoss, em.Top1, em.Top5 = math.NaN(), math.NaN(), math.NaN()
		}
		em.Seconds = time.Since(t0).Seconds()
		lr := em.LR
		if err := hooks.OnEpochEnd(epoch, &em); err != nil {
			return out, fmt.Errorf("nn: OnEpochEnd (epoch %d): %w", epoch, err)
		}
		var cbErr error
		if cfg.OnEpoch != nil {
			cbErr = cfg.OnEpoch(&em)
		}
		if em.LR != lr {
			opt.SetLR(em.LR)
			em.LR = lr // the metrics report the rate this epoch ran with
		}
		out = append(out, em)
		if cbErr != nil {
			return out, cbErr
		}
	}
	if err := hooks.OnTrainingEnd(); err != nil {
		return out, fmt.Errorf("nn: OnTrainingEnd: %w", err)
	}
	return out, nil
}

func countCorrect(logits []float32, labels []int32, classes int) int {
	c := 0
	for i, l := range labels {
		if Rank(logits[i*classes:(i+1)*classes], int(l)) == 0 {
			c++
		}
	}
	return c
}

// Evaluate returns the loss and accuracies of m (in evaluation mode) over set, in
// minibatches of batch samples. It checks ctx between minibatches.
func Evaluate(ctx context.Context, m *Model, set *data.Set, batch int) (Metrics, error) {
	if batch < 1 {
		return Metrics{}, fmt.Errorf("nn: evaluate: batch size %d must be at least 1", batch)
	}
	if set == nil || set.N == 0 {
		return Metrics{}, fmt.Errorf("nn: evaluate: empty data set")
	}
	if err := set.Validate(); err != nil {
		return Metrics{}, fmt.Errorf("nn: evaluate: %w", err)
	}
	if err := m.CheckInput(set.C, set.H, set.W, set.Classes); err != nil {
		return Metrics{}, err
	}
	var ev evaluator
	return ev.run(ctx, m, set, batch)
}

// evaluator keeps the buffers of an evaluation loop between epochs.
type evaluator struct {
	in inputBuffer
	ce ops.CrossEntropy
}

func (ev *evaluator) run(ctx context.Context, m *Model, set *data.Set, batch int) (Metrics, error) {
	loader := data.NewLoader(set, batch, false, 0)
	var loss float64
	top1, top5 := 0, 0
	for s := 0; s < loader.Steps(); s++ {
		if err := ctx.Err(); err != nil {
			return Metrics{}, err
		}
		n := min(batch, set.N-s*batch)
		x, y := ev.in.get(n, m.Input)
		loader.Batch(s, ops.F32(x), y)
		logits := m.Forward(x, false)
		loss += ev.ce.Forward(logits, y) * float64(n)
		ld := ops.F32(logits)
		for i, l := range y {
			r := Rank(ld[i*m.Classes:(i+1)*m.Classes], int(l))
			if r == 0 {
				top1++
			}
			if r < 5 {
				top5++
			}
		}
	}
	n := float64(set.N)
	return Metrics{Loss: loss / n, Top1: 100 * float64(top1) / n, Top5: 100 * float64(top5) / n, N: set.N}, nil
}
