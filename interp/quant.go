package interp

import (
	"encoding/json"
	"fmt"

	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/stdlib"
)

// Quantization and distillation policies.
//
//   - `quantize … linear … after training` quantizes the model (Options.Model) at
//     OnTrainingEnd with stdlib's range-linear post-training quantizer: batch norms are
//     folded, weights become integers with their scales, activations are quantized with
//     the policy's clipping mode and statistics.
//   - `quantize … dorefa|pact|wrpn|qat` installs quantization-aware training when the
//     program is compiled: the model's ReLUs become quantized activations and the
//     weights keep a float copy. At OnTrainingBegin the weights are quantized, before
//     each optimizer step the float copies receive the straight-through gradients, and
//     after it the weights are quantized again. PACT's learned clipping values α get an
//     SGD of their own, at the main optimizer's learning rate and the policy's
//     alpha_decay as weight decay, stepped after the main one.
//   - `distill from TEACHER …` loads the teacher checkpoint when the program is
//     compiled and, in BeforeBackward of its active epochs, replaces the minibatch's loss
//     and logit gradient by Hinton et al.'s distillation loss.

// buildQuantize compiles a quantize policy.
func (s *Scheduler) buildQuantize(cp *policy) error {
	if s.opt.Model == nil {
		return fmt.Errorf("quantization needs the model (Options.Model)")
	}
	if cp.pol.Method == "linear" {
		if cp.pol.Window.Kind != lang.WindowAfter {
			return fmt.Errorf("post-training quantization (linear) runs `after training`; for quantization-aware training use dorefa, pact, wrpn or qat")
		}
		return nil
	}
	run, q, err := stdlib.InstallQAT(cp.pol, s.opt.Model, s.opt.Seed)
	if err != nil {
		return err
	}
	if run.Widened != nil {
		s.log.Info("widened", "policy", cp.pol.Range.String(), "report", run.Widened.String())
	}
	cp.qat = run
	if len(run.Alphas) > 0 {
		lr := 0.01
		if s.opt.Optimizer != nil {
			lr = s.opt.Optimizer.LR()
		}
		opt, err := nn.NewSGD(run.Alphas, nn.SGDConfig{LR: lr, Momentum: 0.9, WeightDecay: q.AlphaDecay})
		if err != nil {
			return err
		}
		cp.alphaOpt = opt
	}
	return nil
}

// buildDistill compiles a distill policy: its loss and its teacher.
func (s *Scheduler) buildDistill(cp *policy) error {
	h, err := stdlib.NewKDHooks(cp.pol)
	if err != nil {
		return err
	}
	cp.kd = h
	return nil
}

// quantizeNow runs a post-training quantization policy.
func (s *Scheduler) quantizeNow(cp *policy) error {
	layers, err := stdlib.QuantizeAfterTraining(cp.pol, s.opt.Model)
	if err != nil {
		return err
	}
	s.log.Info("quantized", "policy", cp.pol.Range.String(), "layers", len(layers))
	return nil
}

// qatBeforeStep hands the straight-through gradients to the float copies.
func (s *Scheduler) qatBeforeStep(cp *policy) error {
	cp.qat.BeforeStep()
	return nil
}

// qatAfterStep steps PACT's α and quantizes the weights again.
func (s *Scheduler) qatAfterStep(cp *policy) error {
	if cp.alphaOpt != nil {
		if s.opt.Optimizer != nil {
			cp.alphaOpt.SetLR(s.opt.Optimizer.LR())
		}
		cp.alphaOpt.Step()
		for _, a := range cp.qat.Alphas {
			clear(a.GradData())
		}
	}
	cp.qat.AfterStep()
	return nil
}

// InstallQAT installs into m the quantization-aware training of prog's quantize policies
// (dorefa, pact, wrpn, qat), as [Compile] does, without a Scheduler: a model built
// afresh then takes the checkpoint of such a run (PACT's α are parameters, WRPN's
// widened shapes are adopted) and evaluates as the run did, with quantized activations.
// state is the run's [Scheduler.MarshalState] (nil for none); linear QAT's activation
// ranges come from it. It returns how many policies it installed.
func InstallQAT(prog *lang.Program, m *nn.Model, state []byte) (int, error) {
	var st schedState
	if len(state) > 0 {
		if err := json.Unmarshal(state, &st); err != nil {
			return 0, fmt.Errorf("interp: scheduler state: %w", err)
		}
		if len(st.Policies) != len(prog.Policies) {
			return 0, fmt.Errorf("interp: scheduler state has %d policies, the program %d", len(st.Policies), len(prog.Policies))
		}
	}
	n := 0
	for i, pol := range prog.Policies {
		if pol.Kind != lang.KindQuantize || pol.Method == "linear" {
			continue
		}
		run, _, err := stdlib.InstallQAT(pol, m, 0)
		if err != nil {
			return n, fmt.Errorf("%s: %w", pol.Range, err)
		}
		if st.Policies != nil && st.Policies[i].EMA != nil {
			if err := run.SetEMAState(st.Policies[i].EMA); err != nil {
				return n, fmt.Errorf("%s: %w", pol.Range, err)
			}
		}
		n++
	}
	return n, nil
}
