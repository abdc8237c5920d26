package stdlib

import (
	"math"
	"slices"
	"testing"
)

// chain runs a PyTorch-style chainable scheduler: next(e, lr) returns the rate of epoch
// e from the rate of epoch e−1 (e >= 1); epoch 0 has rate first.
func chain(first float64, epochs int, next func(e int, lr float64) float64) []float64 {
	out := []float64{first}
	for e := 1; e < epochs; e++ {
		out = append(out, next(e, out[e-1]))
	}
	return out
}

func closed(s LRSchedule, base float64, epochs int) []float64 {
	out := make([]float64, epochs)
	for e := range out {
		out[e] = s.LR(base, e)
	}
	return out
}

func approxEqual(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-12*max(1, math.Abs(b[i])) {
			return false
		}
	}
	return true
}

// TestLRAgainstPyTorchRecursions checks each closed form against the recursive get_lr
// of the matching torch.optim.lr_scheduler class.
func TestLRAgainstPyTorchRecursions(t *testing.T) {
	const base, n = 0.1, 40
	tests := []struct {
		name string
		s    LRSchedule
		ref  []float64
	}{
		{"step", StepLR{StepSize: 3, Gamma: 0.5}, chain(base, n, func(e int, lr float64) float64 {
			if e%3 != 0 {
				return lr
			}
			return lr * 0.5
		})},
		{"multistep", MultiStepLR{Milestones: []int{5, 12, 30}, Gamma: 0.2}, chain(base, n, func(e int, lr float64) float64 {
			if slices.Contains([]int{5, 12, 30}, e) {
				return lr * 0.2
			}
			return lr
		})},
		{"exponential", ExponentialLR{Gamma: 0.93}, chain(base, n, func(_ int, lr float64) float64 { return lr * 0.93 })},
		{"cosine", CosineLR{TMax: 10, EtaMin: 0.001}, chain(base, n, func(e int, lr float64) float64 {
			const tm, eta = 10.0, 0.001
			if (e-1-10)%20 == 0 {
				return lr + (base-eta)*(1-math.Cos(math.Pi/tm))/2
			}
			return (1+math.Cos(math.Pi*float64(e)/tm))/(1+math.Cos(math.Pi*float64(e-1)/tm))*(lr-eta) + eta
		})},
		{"warmup_then_step", WarmupLR{Start: 0.01, End: 0.1, Epochs: 5, Then: StepLR{StepSize: 4, Gamma: 0.1}},
			// SequentialLR([LinearLR(start_factor=0.1, total_iters=5), StepLR(4, 0.1)], milestones=[5]).
			func() []float64 {
				lin := chain(base*0.1, 5, func(e int, lr float64) float64 {
					return lr * (1 + 0.9/(5*0.1+float64(e-1)*0.9))
				})
				step := chain(base, n-5, func(e int, lr float64) float64 {
					if e%4 != 0 {
						return lr
					}
					return lr * 0.1
				})
				return append(lin, step...)
			}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.s.Check(); err != nil {
				t.Fatalf("Check: %v", err)
			}
			if got := closed(tc.s, base, n); !approxEqual(got, tc.ref) {
				t.Errorf("closed form %v\nPyTorch recursion %v", got, tc.ref)
			}
		})
	}
}

func TestLRValues(t *testing.T) {
	tests := []struct {
		name string
		s    LRSchedule
		want map[int]float64
	}{
		{"poly", PolynomialLR{TMax: 10, Power: 2}, map[int]float64{0: 1, 5: 0.25, 9: 0.01, 10: 0, 12: 0}},
		{"multigamma", MultiStepMultiGammaLR{Milestones: []int{2, 5}, Gammas: []float64{0.5, 0.1}},
			map[int]float64{0: 1, 1: 1, 2: 0.5, 4: 0.5, 5: 0.05, 100: 0.05}},
		{"restarts", CosineLR{Restarts: 4, EtaMin: 0}, map[int]float64{0: 1, 2: 0.5, 4: 1, 6: 0.5, 7: (1 + math.Cos(3*math.Pi/4)) / 2}},
		{"warmup_const", WarmupLR{Start: 0, End: 0.5, Epochs: 4}, map[int]float64{0: 0, 1: 0.125, 3: 0.375, 4: 1, 9: 1}},
	}
	for _, tc := range tests {
		if err := tc.s.Check(); err != nil {
			t.Fatalf("%s: Check: %v", tc.name, err)
		}
		for e, want := range tc.want {
			if got := tc.s.LR(1, e); math.Abs(got-want) > 1e-12 {
				t.Errorf("%s: LR(1, %d) = %v, want %v", tc.name, e, got, want)
			}
		}
	}
}

func TestLRCheck(t *testing.T) {
	for name, s := range map[string]LRSchedule{
		"step0":           StepLR{Gamma: 0.1},
		"gamma0":          StepLR{StepSize: 1},
		"milestonesOrder": MultiStepLR{Milestones: []int{5, 3}, Gamma: 0.1},
		"noMilestones":    MultiStepLR{Gamma: 0.1},
		"gammasLen":       MultiStepMultiGammaLR{Milestones: []int{1, 2}, Gammas: []float64{0.1}},
		"cosine0":         CosineLR{},
		"poly0":           PolynomialLR{Power: 1},
		"warmup0":         WarmupLR{Start: 0, End: 1},
		"warmupNaN":       WarmupLR{Start: math.NaN(), End: 1, Epochs: 2},
		"warmupThen":      WarmupLR{End: 1, Epochs: 2, Then: ExponentialLR{}},
	} {
		if err := s.Check(); err == nil {
			t.Errorf("%s: Check accepted %+v", name, s)
		}
	}
}

// TestPlateau traces torch.optim.lr_scheduler.ReduceLROnPlateau(factor=0.5, patience=1,
// cooldown=1) by hand.
func TestPlateau(t *testing.T) {
	metrics := []float64{1.0, 0.9, 0.95, 0.96, 0.97, 0.98, 0.99, 0.5}
	for _, tc := range []struct {
		minLR float64
		want  []float64
	}{
		{0, []float64{0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025}},
		{0.04, []float64{0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.04, 0.04}},
	} {
		s := &Plateau{Factor: 0.5, Patience: 1, Cooldown: 1, MinLR: tc.minLR}
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
		lr := 0.1
		var got []float64
		for _, m := range metrics {
			lr = s.Step(lr, m)
			got = append(got, lr)
		}
		if !approxEqual(got, tc.want) {
			t.Errorf("min_lr %v: rates %v, want %v", tc.minLR, got, tc.want)
		}
	}
	up := &Plateau{Factor: 0.1, Patience: 0, Max: true}
	if lr := up.Step(1, 0.5); lr != 1 {
		t.Errorf("first step changed the rate to %v", lr)
	}
	if lr := up.Step(1, 0.6); lr != 1 {
		t.Errorf("mode max: an improvement reduced the rate to %v", lr)
	}
	if lr := up.Step(1, 0.55); math.Abs(lr-0.1) > 1e-15 {
		t.Errorf("mode max: a worse metric with patience 0 gave %v, want 0.1", lr)
	}
	if err := (&Plateau{Factor: 1}).Check(); err == nil {
		t.Errorf("factor 1 accepted")
	}
}
