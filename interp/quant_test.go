package interp

import (
	"strings"
	"testing"

	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
)

// TestPACTAlphaOptimizer checks that PACT's α is trained with the run's optimizer
// settings (its kind, momentum, Nesterov, Adam's betas) and with the optimizer's weight
// decay when alpha_decay is absent, as Distiller's separate parameter group is (it
// used to get SGD with momentum 0.9 and weight decay 0 whatever the run's optimizer).
func TestPACTAlphaOptimizer(t *testing.T) {
	sgd := func(cfg nn.SGDConfig) func([]*nn.Param) (LRSetter, error) {
		return func(ps []*nn.Param) (LRSetter, error) { return nn.NewSGD(ps, cfg) }
	}
	adam := func(cfg nn.AdamConfig) func([]*nn.Param) (LRSetter, error) {
		return func(ps []*nn.Param) (LRSetter, error) { return nn.NewAdam(ps, cfg) }
	}
	tests := []struct {
		name   string
		script string
		opt    func([]*nn.Param) (LRSetter, error)
		want   any // the α optimizer's configuration
	}{
		{"sgd decay from the optimizer", "quantize * pact 4 bits\n",
			sgd(nn.SGDConfig{LR: 0.05, Momentum: 0.5, WeightDecay: 3e-4, Nesterov: true}),
			nn.SGDConfig{LR: 0.05, Momentum: 0.5, WeightDecay: 3e-4, Nesterov: true}},
		{"sgd alpha_decay", "quantize * pact 4 bits alpha_decay=0.01\n",
			sgd(nn.SGDConfig{LR: 0.05, Momentum: 0.5, WeightDecay: 3e-4}),
			nn.SGDConfig{LR: 0.05, Momentum: 0.5, WeightDecay: 0.01}},
		{"sgd alpha_decay 0", "quantize * pact 4 bits alpha_decay=0\n",
			sgd(nn.SGDConfig{LR: 0.05, WeightDecay: 3e-4}),
			nn.SGDConfig{LR: 0.05}},
		{"adam decay from the optimizer", "quantize * pact 4 bits\n",
			adam(nn.AdamConfig{LR: 1e-3, Beta1: 0.8, Beta2: 0.99, WeightDecay: 1e-4}),
			nn.AdamConfig{LR: 1e-3, Beta1: 0.8, Beta2: 0.99, Eps: 1e-8, WeightDecay: 1e-4}},
		{"adam alpha_decay", "quantize * pact 4 bits alpha_decay=5e-4\n",
			adam(nn.AdamConfig{LR: 1e-3, WeightDecay: 1e-4}),
			nn.AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 5e-4}},
		{"unknown optimizer", "quantize * pact 4 bits alpha_decay=2e-4\n",
			func([]*nn.Param) (LRSetter, error) { return &fakeOpt{lr: 0.2}, nil },
			nn.SGDConfig{LR: 0.2, Momentum: 0.9, WeightDecay: 2e-4}},
		{"no optimizer", "quantize * pact 4 bits\n", nil,
			nn.SGDConfig{LR: 0.01, Momentum: 0.9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := nn.New("simplenet_mnist", 1)
			if err != nil {
				t.Fatal(err)
			}
			opt := Options{Params: m.Params(), Model: m}
			if tt.opt != nil {
				o, err := tt.opt(m.Params())
				if err != nil {
					t.Fatal(err)
				}
				opt.Optimizer = o
			}
			s := compile(t, tt.script, opt)
			var got any
			switch o := s.pols[0].alphaOpt.(type) {
			case *nn.SGD:
				got = o.Config()
			case *nn.Adam:
				got = o.Config()
			default:
				t.Fatalf("α optimizer %T", o)
			}
			if got != tt.want {
				t.Errorf("α optimizer %#v, want %#v", got, tt.want)
			}
		})
	}
}

// TestCompileQuantizeRefusals checks that Compile refuses, before training, quantize
// policies the checker would reject (a program built by hand) or that could only fail
// once training is over.
func TestCompileQuantizeRefusals(t *testing.T) {
	tests := []struct {
		name, script string
		edit         func(p *lang.Policy)
		want         string
	}{
		{"qat window starts late", "quantize * dorefa 4 bits\n",
			func(p *lang.Policy) { p.Window.Start, p.Window.End = 2, lang.NoEnd },
			"its window must be `from epoch 0`, not from epoch 2"},
		{"qat window ends early", "quantize * qat 8 bits\n",
			func(p *lang.Policy) { p.Window.End = 1 },
			"its window must be `from epoch 0`"},
		{"linear weights wider than int8", "quantize * linear 8 bits after training\n",
			func(p *lang.Policy) { p.Args["bits"] = lang.Value{Type: lang.TypeBits, Num: 16} },
			"weight bit width 16 must lie in [1, 8]"},
		{"linear bias width", "quantize * linear 8 bits after training\n",
			func(p *lang.Policy) { p.Args["bias"] = lang.Value{Type: lang.TypeBits, Num: 8} },
			"no bias bit width"},
		{"linear stats file missing", "quantize * linear 8 bits stats=\"no-such-stats.json\" after training\n", nil,
			"no-such-stats.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := nn.New("simplenet_mnist", 1)
			if err != nil {
				t.Fatal(err)
			}
			opt := Options{Params: m.Params(), Model: m, Epochs: 4}
			prog, diags := Check("t.dst", []byte(tt.script), opt)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			p := *prog.Policies[0]
			p.Args = map[string]lang.Value{}
			for k, v := range prog.Policies[0].Args {
				p.Args[k] = v
			}
			if tt.edit != nil {
				tt.edit(&p)
			}
			_, err = Compile(&lang.Program{Filename: prog.Filename, Policies: []*lang.Policy{&p}}, opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Compile: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
