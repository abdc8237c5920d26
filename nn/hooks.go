package nn

import "gorgonia.org/tensor"

// Step describes the minibatch being trained, as seen by [Hooks.BeforeBackward] and
// [Hooks.BeforeOptimizerStep].
//
// A hook may add to Loss (a regularizer's term, reported in the epoch's loss) and may
// change DLogits, the gradient of the loss with respect to Logits that backward starts
// from (knowledge distillation replaces it). Parameter gradients are zero when
// BeforeBackward runs and hold the minibatch's gradients when BeforeOptimizerStep runs;
// both hooks may add to them.
type Step struct {
	// Epoch is the 0-based epoch; Step is the 0-based minibatch index within the epoch.
	Epoch, Step int
	// StepsPerEpoch is the number of minibatches in one epoch.
	StepsPerEpoch int
	// Input is the minibatch input (N×C×H×W or N×features); read-only.
	Input *tensor.Dense
	// Labels holds the minibatch's class labels; read-only.
	Labels []int32
	// Logits is the model's output (N×classes); read-only.
	Logits *tensor.Dense
	// Loss is the minibatch's mean loss; hooks may add their terms.
	Loss float64
	// DLogits is dLoss/dLogits (N×classes); hooks may change it before backward.
	DLogits *tensor.Dense
	// LR is the learning rate the optimizer will use for this step.
	LR float64
}

// Hooks are the callbacks of the training loop. [Train] fires them in this order (the
// event model a hand-written loop follows too):
//
//	OnTrainingBegin
//	for every epoch:
//		OnEpochBegin
//		for every minibatch:
//			OnMinibatchBegin, forward pass and loss, BeforeBackward (the loss may be
//			changed), backward pass, BeforeOptimizerStep (the gradients may be changed),
//			optimizer step, OnMinibatchEnd
//		evaluation on the test set, OnEpochEnd
//	OnTrainingEnd
//
// Any method may return an error, which stops training and is returned by [Train]. A
// nil Hooks value means no callbacks.
type Hooks interface {
	OnTrainingBegin() error
	OnEpochBegin(epoch int) error
	OnMinibatchBegin(epoch, step, stepsPerEpoch int) error
	BeforeBackward(s *Step) error
	BeforeOptimizerStep(s *Step) error
	OnMinibatchEnd(epoch, step, stepsPerEpoch int) error
	// OnEpochEnd receives the epoch's metrics; it may change the learning rate through m.
	OnEpochEnd(epoch int, m *EpochMetrics) error
	OnTrainingEnd() error
}

// NopHooks implements [Hooks] with methods that do nothing; embed it to implement only
// some of the callbacks.
type NopHooks struct{}

func (NopHooks) OnTrainingBegin() error               { return nil }
func (NopHooks) OnEpochBegin(int) error               { return nil }
func (NopHooks) OnMinibatchBegin(int, int, int) error { return nil }
func (NopHooks) BeforeBackward(*Step) error           { return nil }
func (NopHooks) BeforeOptimizerStep(*Step) error      { return nil }
func (NopHooks) OnMinibatchEnd(int, int, int) error   { return nil }
func (NopHooks) OnEpochEnd(int, *EpochMetrics) error  { return nil }
func (NopHooks) OnTrainingEnd() error                 { return nil }

// EpochMetrics are the figures of one finished epoch. Accuracies (TrainTop1, Top1, Top5)
// are percentages (0–100); the test figures are NaN when training runs without a test
// set. LR is the learning rate the epoch ran with; a hook's OnEpochEnd may set it to the
// rate of the next epoch. SamplesPerSec counts training samples over the training part
// of the epoch; Seconds is the whole epoch, evaluation included.
type EpochMetrics struct {
	Epoch         int     `json:"epoch"`
	TrainLoss     float64 `json:"train_loss"`
	TrainTop1     float64 `json:"train_top1"`
	TestLoss      float64 `json:"test_loss"`
	Top1          float64 `json:"top1"`
	Top5          float64 `json:"top5"`
	LR            float64 `json:"lr"`
	SamplesPerSec float64 `json:"samples_per_sec"`
	Seconds       float64 `json:"seconds"`
}
