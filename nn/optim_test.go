package nn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// testParams returns two parameters with random values and gradients.
func testParams(t *testing.T, r *rand.Rand) []*Param {
	t.Helper()
	ps := []*Param{NewParam("a.weight", "a", KindWeight, 3, 4), NewParam("a.bias", "a", KindBias, 3)}
	for _, p := range ps {
		for i := range p.Data() {
			p.Data()[i] = float32(2*r.Float64() - 1)
		}
	}
	return ps
}

func randomGrads(ps []*Param, r *rand.Rand) {
	for _, p := range ps {
		for i := range p.GradData() {
			p.GradData()[i] = float32(2*r.Float64() - 1)
		}
	}
}

// TestOptimizersMatchReference runs each optimizer for a few steps against a float64
// transcription of PyTorch's update rules.
func TestOptimizersMatchReference(t *testing.T) {
	type ref struct {
		w, buf, m, v []float64
		t            int
	}
	cases := []struct {
		name  string
		make  func(ps []*Param) (Optimizer, error)
		steps func(s *ref, g []float64, lr float64)
	}{
		{"sgd", func(ps []*Param) (Optimizer, error) { return NewSGD(ps, SGDConfig{LR: 0.1}) },
			func(s *ref, g []float64, lr float64) {
				for i := range s.w {
					s.w[i] -= lr * g[i]
				}
			}},
		{"sgd-momentum-wd", func(ps []*Param) (Optimizer, error) {
			return NewSGD(ps, SGDConfig{LR: 0.1, Momentum: 0.9, WeightDecay: 0.01})
		}, func(s *ref, g []float64, lr float64) {
			for i := range s.w {
				d := g[i] + 0.01*s.w[i]
				s.buf[i] = 0.9*s.buf[i] + d
				s.w[i] -= lr * s.buf[i]
			}
		}},
		{"sgd-nesterov", func(ps []*Param) (Optimizer, error) {
			return NewSGD(ps, SGDConfig{LR: 0.05, Momentum: 0.8, WeightDecay: 0.001, Nesterov: true})
		}, func(s *ref, g []float64, lr float64) {
			for i := range s.w {
				d := g[i] + 0.001*s.w[i]
				s.buf[i] = 0.8*s.buf[i] + d
				s.w[i] -= lr * (d + 0.8*s.buf[i])
			}
		}},
		{"adam-wd", func(ps []*Param) (Optimizer, error) {
			return NewAdam(ps, AdamConfig{LR: 0.01, WeightDecay: 0.1})
		}, func(s *ref, g []float64, lr float64) {
			s.t++
			bc1, bc2 := 1-math.Pow(0.9, float64(s.t)), 1-math.Pow(0.999, float64(s.t))
			for i := range s.w {
				d := g[i] + 0.1*s.w[i]
				s.m[i] = 0.9*s.m[i] + 0.1*d
				s.v[i] = 0.999*s.v[i] + 0.001*d*d
				s.w[i] -= lr / bc1 * s.m[i] / (math.Sqrt(s.v[i])/math.Sqrt(bc2) + 1e-8)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 1))
			ps := testParams(t, r)
			opt, err := tc.make(ps)
			if err != nil {
				t.Fatal(err)
			}
			refs := make([]*ref, len(ps))
			for i, p := range ps {
				n := p.Len()
				refs[i] = &ref{w: make([]float64, n), buf: make([]float64, n), m: make([]float64, n), v: make([]float64, n)}
				for j, v := range p.Data() {
					refs[i].w[j] = float64(v)
				}
			}
			for step := 0; step < 5; step++ {
				if step == 3 {
					opt.SetLR(opt.LR() / 2)
				}
				randomGrads(ps, r)
				for i, p := range ps {
					g := make([]float64, p.Len())
					for j, v := range p.GradData() {
						g[j] = float64(v)
					}
					tc.steps(refs[i], g, opt.LR())
				}
				opt.Step()
			}
			for i, p := range ps {
				for j, v := range p.Data() {
					if math.Abs(float64(v)-refs[i].w[j]) > 1e-5 {
						t.Fatalf("%s[%d] = %v, reference %v", p.Name, j, v, refs[i].w[j])
					}
				}
			}
		})
	}
}

func TestOptimizerConfigErrors(t *testing.T) {
	ps := []*Param{NewParam("w", "", KindWeight, 2)}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"zero lr", second(NewSGD(ps, SGDConfig{})), "learning rate 0 must be positive"},
		{"nan lr", second(NewSGD(ps, SGDConfig{LR: math.NaN()})), "learning rate NaN"},
		{"negative momentum", second(NewSGD(ps, SGDConfig{LR: 1, Momentum: -1})), "momentum -1"},
		{"nesterov", second(NewSGD(ps, SGDConfig{LR: 1, Nesterov: true})), "Nesterov"},
		{"negative wd", second(NewSGD(ps, SGDConfig{LR: 1, WeightDecay: -1})), "weight decay -1"},
		{"adam betas", second(NewAdam(ps, AdamConfig{LR: 1, Beta1: 1, Beta2: 0.9})), "betas"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, tc.err, tc.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// TestMasksStayZero is Distiller issue #53: with momentum and weight decay, a pruned
// weight must not be revived by its velocity.
func TestMasksStayZero(t *testing.T) {
	for _, name := range []string{"sgd", "adam"} {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 1))
			ps := testParams(t, r)
			var opt Optimizer
			var err error
			if name == "sgd" {
				opt, err = NewSGD(ps, SGDConfig{LR: 0.1, Momentum: 0.9, WeightDecay: 1e-4})
			} else {
				opt, err = NewAdam(ps, AdamConfig{LR: 0.01, WeightDecay: 1e-4})
			}
			if err != nil {
				t.Fatal(err)
			}
			// Build momentum first, then prune half the weights.
			for i := 0; i < 10; i++ {
				randomGrads(ps, r)
				opt.Step()
			}
			w := ps[0]
			mask := make([]float32, w.Len())
			for i := range mask {
				mask[i] = float32(i % 2)
			}
			w.SetMask(mask)
			for i := 0; i < 100; i++ {
				randomGrads(ps, r)
				opt.Step()
				for j, v := range w.Data() {
					if mask[j] == 0 && v != 0 {
						t.Fatalf("step %d: pruned weight %d revived to %v", i, j, v)
					}
				}
			}
			for _, st := range opt.State()[w.Name] {
				if st.Shape().TotalSize() != w.Len() {
					continue // Adam's step count
				}
				for j, v := range ops.F32(st) {
					if mask[j] == 0 && v != 0 {
						t.Fatalf("optimizer state of pruned weight %d is %v", j, v)
					}
				}
			}
			if w.NNZ() != w.Len()/2 {
				t.Errorf("NNZ %d, want %d", w.NNZ(), w.Len()/2)
			}
		})
	}
}

func TestOptimizerState(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	ps := testParams(t, r)
	a, _ := NewAdam(ps, AdamConfig{LR: 0.01})
	for i := 0; i < 3; i++ {
		randomGrads(ps, r)
		a.Step()
	}
	if got := a.StateNames(); len(got) != 3 || got[0] != "exp_avg" {
		t.Fatalf("StateNames %v", got)
	}
	saved := map[string][]*tensor.Dense{}
	for name, ts := range a.State() {
		for _, x := range ts {
			c := ops.New(x.Shape()...)
			copy(ops.F32(c), ops.F32(x))
			saved[name] = append(saved[name], c)
		}
	}
	if ops.F32(saved["a.bias"][2])[0] != 3 {
		t.Fatalf("step count %v, want 3", ops.F32(saved["a.bias"][2]))
	}
	b, _ := NewAdam(ps, AdamConfig{LR: 0.01})
	if err := b.SetState(saved); err != nil {
		t.Fatal(err)
	}
	for name, ts := range b.State() {
		for k, x := range ts {
			for j, v := range ops.F32(x) {
				if v != ops.F32(saved[name][k])[j] {
					t.Fatalf("restored state %s[%d][%d] = %v, want %v", name, k, j, v, ops.F32(saved[name][k])[j])
				}
			}
		}
	}
	bad := map[string][]*tensor.Dense{"a.weight": {ops.New(2), ops.New(2), ops.New(1)}}
	if err := b.SetState(bad); err == nil || !strings.Contains(err.Error(), `"a.weight" has the wrong shape`) {
		t.Errorf("wrong shape: error %v", err)
	}
	if err := b.SetState(map[string][]*tensor.Dense{"zzz": nil}); err == nil || !strings.Contains(err.Error(), "unknown parameter") {
		t.Errorf("unknown parameter: error %v", err)
	}
	s, _ := NewSGD(ps, SGDConfig{LR: 0.1, Momentum: 0.9})
	if err := s.SetState(map[string][]*tensor.Dense{"a.bias": {ops.New(3)}}); err != nil {
		t.Errorf("SGD SetState: %v", err)
	}
}
