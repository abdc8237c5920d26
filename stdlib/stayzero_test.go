package stdlib

import (
	"fmt"
	"testing"

	"github.com/dst-dev/dst/nn"
)

// allPruners returns one configured instance of every pruner, for parameters of rank 2
// and 4 with 8 filters.
func allPruners() map[string]Pruner {
	act := func(p *nn.Param) ([]float64, error) {
		s := make([]float64, p.Shape()[0])
		for i := range s {
			s[i] = float64((i * 5) % 7)
		}
		return s, nil
	}
	agp := &AGP{Initial: 0.2, Final: 0.8, Start: 2, End: 6, Freq: 1}
	return map[string]Pruner{
		"threshold":         &ThresholdPruner{Threshold: 0.5},
		"sensitivity":       &SensitivityPruner{Sensitivity: 0.7},
		"level":             &LevelPruner{Sparsity: 0.6},
		"agp":               &AGPPruner{Schedule: *agp},
		"rnn":               &BaiduRNNPruner{Q: 1.5, RampEpochOffset: 1, RampSlopeMult: 2, Start: 0, End: 6, Freq: 1},
		"splicing":          &SplicingPruner{Sensitivity: 0.5, LowMult: 0.9, HighMult: 1.1},
		"random":            &RandomPruner{Sparsity: 0.5, Seed: 3},
		"bernoulli":         &BernoulliPruner{Sparsity: 0.5, Seed: 3},
		"filters_l1":        &StructurePruner{Granularity: Filters, Ranking: L1, Fraction: 0.5},
		"channels_l2":       &StructurePruner{Granularity: Channels, Ranking: L2, Fraction: 0.5},
		"filters_random":    &StructurePruner{Granularity: Filters, Ranking: RandomRank, Fraction: 0.5, Seed: 4},
		"filters_apoz":      &StructurePruner{Granularity: Filters, Ranking: APoZ, Fraction: 0.5, Activations: act},
		"filters_mean":      &StructurePruner{Granularity: Filters, Ranking: MeanActivation, Fraction: 0.5, Activations: act},
		"filters_gradient":  &StructurePruner{Granularity: Filters, Ranking: Gradient, Fraction: 0.5},
		"filters_agp_l1":    &StructurePruner{Granularity: Filters, Ranking: L1, AGP: agp},
		"filters_leader":    &StructurePruner{Granularity: Filters, Ranking: L1, Fraction: 0.5, Leader: true},
		"random_level":      &StructurePruner{Granularity: Channels, Range: &[2]float64{0.3, 0.6}, Seed: 2},
		"threshold_filters": &StructureThresholdPruner{Granularity: Filters, Criterion: MeanAbs, Threshold: 0.8},
		"bernoulli_filters": &BernoulliFilterPruner{Granularity: Filters, Fraction: 0.5, Seed: 5},
	}
}

// TestPrunedWeightsStayZero runs every pruner, then 100 optimizer steps with momentum
// and weight decay on random gradients (re-pruning half way, as a schedule would), and
// checks after every step that each masked weight and its optimizer state are exactly
// zero while the unmasked weights train.
func TestPrunedWeightsStayZero(t *testing.T) {
	optimizers := map[string]func([]*nn.Param) (nn.Optimizer, error){
		"sgd_momentum": func(ps []*nn.Param) (nn.Optimizer, error) {
			return nn.NewSGD(ps, nn.SGDConfig{LR: 0.01, Momentum: 0.9, WeightDecay: 1e-4})
		},
		"sgd_nesterov": func(ps []*nn.Param) (nn.Optimizer, error) {
			return nn.NewSGD(ps, nn.SGDConfig{LR: 0.01, Momentum: 0.9, WeightDecay: 1e-4, Nesterov: true})
		},
		"adam": func(ps []*nn.Param) (nn.Optimizer, error) {
			return nn.NewAdam(ps, nn.AdamConfig{LR: 0.01, WeightDecay: 1e-4})
		},
	}
	for name, pr := range allPruners() {
		for oname, newOpt := range optimizers {
			t.Run(name+"/"+oname, func(t *testing.T) {
				r := newRand()
				conv := randParam(t, r, "conv.weight", 8, 4, 3, 3)
				fc := randParam(t, r, "fc.weight", 8, 12)
				params := []*nn.Param{conv, fc}
				for _, p := range params {
					for i := range p.GradData() {
						p.GradData()[i] = float32(r.NormFloat64())
					}
				}
				reg := &L1Regularizer{Strength: 1e-3}
				mustPrune(t, pr, Point{Epoch: 2}, params...)
				for _, p := range params {
					if p.MaskData() == nil || countZeros(p.MaskData()) == 0 {
						t.Fatalf("%s: the pruner masked nothing, so the test would prove nothing", p.Name)
					}
				}
				opt, err := newOpt(params)
				if err != nil {
					t.Fatal(err)
				}
				start := map[*nn.Param][]float32{}
				for _, p := range params {
					start[p] = append([]float32(nil), p.Data()...)
				}
				for step := range 100 {
					if step == 50 {
						mustPrune(t, pr, Point{Epoch: 3}, params...)
					}
					for _, p := range params {
						g := p.GradData()
						for i := range g {
							g[i] = float32(r.NormFloat64())
						}
					}
					reg.Regularize(params)
					opt.Step()
					if err := checkZero(params, opt); err != nil {
						t.Fatalf("step %d: %v", step, err)
					}
				}
				moved := 0
				for _, p := range params {
					for i, v := range p.Data() {
						if p.MaskData() == nil || p.MaskData()[i] == 1 {
							if v != start[p][i] {
								moved++
							}
						}
					}
				}
				if moved == 0 {
					t.Fatalf("no unmasked weight changed: the optimizer did not run")
				}
			})
		}
	}
}

// checkZero reports the first masked weight or optimizer state that is not exactly 0.
func checkZero(params []*nn.Param, opt nn.Optimizer) error {
	st := opt.State()
	for _, p := range params {
		m := p.MaskData()
		for i, k := range m {
			if k != 0 {
				continue
			}
			if v := p.Data()[i]; v != 0 {
				return fmt.Errorf("%s[%d] is masked but %v", p.Name, i, v)
			}
			for j, s := range st[p.Name] {
				if s.Shape().TotalSize() != p.Len() {
					continue // a per-parameter scalar such as Adam's step count
				}
				if v := s.Data().([]float32)[i]; v != 0 {
					return fmt.Errorf("%s[%d] is masked but its %s is %v", p.Name, i, opt.StateNames()[j], v)
				}
			}
		}
	}
	return nil
}
