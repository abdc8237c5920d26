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
//     the policy's clipping mode and statistics. Its settings (and those of each override
//     line) are validated when the program is compiled, so a run does not train to the
//     end only to find it cannot quantize.
//   - `quantize … dorefa|pact|wrpn|qat` installs quantization-aware training when the
//     program is compiled: the model's ReLUs become quantized activations and the
//     weights keep a float copy. It acts on the whole run, as the checker's window rule
//     (lang.Signature.PreparesModel: `from epoch 0`, no `to`, no `every`) says: at
//     OnTrainingBegin the weights are quantized, before each optimizer step the float
//     copies receive the straight-through gradients, and after it (OnMinibatchEnd) the
//     weights are quantized again, on every mini-batch to the end of training.
//   - PACT's learned clipping values α get an optimizer of their own (Distiller's
//     separate parameter group), stepped after the main one at the main one's learning
//     rate: of the main optimizer's kind and with its settings (momentum, Nesterov, Adam's
//     betas) when Options.Optimizer is an [nn.SGD] or [nn.Adam], with weight decay
//     alpha_decay when the policy gives it and the main optimizer's otherwise. Another
//     optimizer's settings cannot be read: α then gets SGD with momentum 0.9 (dst run's
//     default), at that optimizer's rate (0.01 without one), and weight decay alpha_decay
//     or 0, and the Scheduler logs a warning when alpha_decay is absent.
//   - `distill from TEACHER …` loads the teacher checkpoint when the program is
//     compiled and, in BeforeBackward of its active epochs, replaces the minibatch's loss
//     and logit gradient by Hinton et al.'s distillation loss.

// buildQuantize compiles a quantize policy.
func (s *Scheduler) buildQuantize(cp *policy) error {
	if s.opt.Model == nil {
		return fmt.Errorf("quantization needs the model (Options.Model)")
	}
	layerOf := func(name string) string {
		if p := s.opt.Model.Param(name); p != nil {
			return p.Layer
		}
		return ""
	}
	w := cp.pol.Window
	if cp.pol.Method == "linear" {
		if w.Kind != lang.WindowAfter {
			return fmt.Errorf("post-training quantization (linear) runs `after training`; for quantization-aware training use dorefa, pact, wrpn or qat")
		}
		// Refuse settings PTQ cannot apply, and a statistics file it cannot read, now,
		// not after the last epoch.
		_, statsPath, err := stdlib.NewPTQ(cp.pol, layerOf)
		if err != nil {
			return err
		}
		if statsPath != "" {
			if _, err := stdlib.LoadStats(statsPath); err != nil {
				return fmt.Errorf("stats: %w (calibrate with `dst stats` first)", err)
			}
		}
		return nil
	}
	if w.Kind != lang.WindowEpochs || w.Start != 0 || w.Every != 1 || w.Unit != lang.Epochs || w.Epochs != nil ||
		(w.End != lang.NoEnd && w.End < s.opt.Epochs) {
		return fmt.Errorf("quantization-aware training acts from the first mini-batch to the end of the run; its window must be `from epoch 0`, not %s", w)
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
		opt, err := s.alphaOptimizer(cp, run.Alphas, q)
		if err != nil {
			return err
		}
		cp.alphaOpt = opt
	}
	return nil
}

// alphaOptimizer returns the optimizer of PACT's α: the main optimizer's kind and
// settings, with weight decay alpha_decay when the policy gives it.
func (s *Scheduler) alphaOptimizer(cp *policy, alphas []*nn.Param, q *stdlib.QAT) (nn.Optimizer, error) {
	switch o := s.opt.Optimizer.(type) {
	case *nn.SGD:
		cfg := o.Config()
		if q.HasAlphaDecay {
			cfg.WeightDecay = q.AlphaDecay
		}
		return nn.NewSGD(alphas, cfg)
	case *nn.Adam:
		cfg := o.Config()
		if q.HasAlphaDecay {
			cfg.WeightDecay = q.AlphaDecay
		}
		return nn.NewAdam(alphas, cfg)
	}
	lr := 0.01
	if s.opt.Optimizer != nil {
		lr = s.opt.Optimizer.LR()
	}
	if !q.HasAlphaDecay {
		s.log.Warn("pact: the optimizer's settings are unknown, so alpha gets SGD with momentum 0.9 and no weight decay; give alpha_decay to set one",
			"policy", cp.pol.Range.String(), "optimizer", fmt.Sprintf("%T", s.opt.Optimizer))
	}
	return nn.NewSGD(alphas, nn.SGDConfig{LR: lr, Momentum: 0.9, WeightDecay: q.AlphaDecay})
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
