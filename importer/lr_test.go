package importer

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/stdlib"
)

func stepLR(step int, gamma float64) lrSched {
	g := gamma
	return lrSched{class: "StepLR", gamma: g, step: step,
		f:      func(e int) float64 { return math.Pow(g, float64(floorDiv(e, step))) },
		factor: func(a, b int) float64 { return math.Pow(g, float64(floorDiv(b, step)-floorDiv(max(a, 0), step))) }}
}

func expLR(gamma float64) lrSched {
	g := gamma
	return lrSched{class: "ExponentialLR", gamma: g,
		f:      func(e int) float64 { return math.Pow(g, float64(e)) },
		factor: func(a, b int) float64 { return math.Pow(g, float64(b-max(a, 0))) }}
}

func multiLR(ms []int, gammas []float64) lrSched {
	s := lrSched{class: "MultiStepMultiGammaLR"}
	s.factor = func(a, b int) float64 {
		m := 1.0
		for i, x := range ms {
			if a < x && x <= b {
				m *= gammas[i]
			}
		}
		return m
	}
	s.f = func(e int) float64 { return s.factor(-1, e) }
	return s
}

func rng(start, end, freq int) window { return window{start: start, end: end, freq: freq} }

// TestDistillerLR pins the model of Distiller's LRPolicy to hand-computed rates: the
// scheduler is stepped at the end of each active epoch u with epoch u+1.
func TestDistillerLR(t *testing.T) {
	tests := []struct {
		name  string
		s     lrSched
		w     window
		epoch int
		want  float64
	}{
		{"exponential before its window", expLR(0.9), rng(24, 200, 1), 24, 1},
		{"exponential jumps to gamma^25", expLR(0.9), rng(24, 200, 1), 25, math.Pow(0.9, 25)},
		{"exponential inside", expLR(0.9), rng(24, 200, 1), 26, math.Pow(0.9, 26)},
		{"exponential last step", expLR(0.9), rng(24, 200, 1), 200, math.Pow(0.9, 200)},
		{"exponential frozen after", expLR(0.9), rng(24, 200, 1), 230, math.Pow(0.9, 200)},
		{"step late start, epoch 45", stepLR(45, 0.1), rng(45, 300, 1), 45, 1},
		{"step late start, epoch 46", stepLR(45, 0.1), rng(45, 300, 1), 46, 0.1},
		{"step late start, epoch 90", stepLR(45, 0.1), rng(45, 300, 1), 90, 0.01},
		{"step from 0", stepLR(50, 0.1), rng(0, 400, 1), 49, 1},
		{"step from 0, epoch 50", stepLR(50, 0.1), rng(0, 400, 1), 50, 0.1},
		{"frequency 2 updates every other epoch", expLR(0.5), rng(0, 10, 2), 2, 0.5},
		{"frequency 2, epoch 3", expLR(0.5), rng(0, 10, 2), 3, 0.125},
		{"multi-gamma", multiLR([]int{80, 120, 160}, []float64{0.1, 0.1, 0.2}), rng(0, 200, 1), 160, 0.1 * 0.1 * 0.2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := distillerLR(tc.s, tc.w, tc.epoch+1)[tc.epoch]
			if math.Abs(got-tc.want) > 1e-15*math.Abs(tc.want) {
				t.Errorf("m(%d) = %v, want %v", tc.epoch, got, tc.want)
			}
		})
	}
}

// dstLRFromPolicy computes the rate multiplier a checked lr multistep policy gives each
// epoch, as dst's interpreter runs it: milestones are absolute epochs, each multiplies
// the base rate by its gamma from that epoch on, and the rate is never restored.
func dstLRFromPolicy(t *testing.T, p *lang.Policy, n int) []float64 {
	t.Helper()
	w := p.Window
	var g func(e int) float64
	switch p.Method {
	case "multistep":
		miles := w.Epochs
		if miles == nil {
			miles = []int{w.Start}
		}
		gammas := make([]float64, len(miles))
		for i := range gammas {
			gammas[i] = p.Args["gamma"].Num
		}
		if v, ok := p.Args["gammas"]; ok {
			gammas = v.List
		}
		g = func(e int) float64 {
			m := 1.0
			for i, x := range miles {
				if x <= e {
					m *= gammas[i]
				}
			}
			return m
		}
	default:
		t.Fatalf("unexpected lr method %s", p.Method)
	}
	m := make([]float64, n)
	cur := 1.0
	for e := range m {
		if w.ActiveAt(e) {
			cur = g(e)
		}
		m[e] = cur
	}
	return m
}

// TestLRStatementExact checks that every statement the importer writes for a scheduler
// gives exactly Distiller's rate at every epoch, well past the window.
func TestLRStatementExact(t *testing.T) {
	tests := []struct {
		name string
		s    lrSched
		w    window
		want string // the statement, or its beginning
	}{
		{"step from 0", stepLR(50, 0.1), rng(0, 400, 1), "lr multistep 0.1 at epochs [50, 100, 150, 200, 250, 300, 350, 400]"},
		{"step late start aligned", stepLR(45, 0.2), rng(30, 200, 1), "lr multistep 0.2 at epochs [45, 90, 135, 180]"},
		{"step late start", stepLR(45, 0.1), rng(45, 300, 1), "lr multistep 0.1 at epochs [46, 90, 135, 180, 225, 270]"},
		{"step late multi-power jump", stepLR(25, 0.05), rng(180, 300, 1), "lr multistep gammas=[7.812500000000006e-10, 0.05, 0.05, 0.05, 0.05, 0.05] at epochs [181, 200, 225, 250, 275, 300]"},
		{"step every 2 epochs", stepLR(5, 0.5), rng(0, 20, 2), "lr multistep 0.5 at epochs [5, 11, 15]"},
		{"exponential from 0", expLR(0.98), rng(0, 200, 1), "lr multistep 0.98 at epochs [1, 2, 3, "},
		{"exponential late", expLR(0.95), rng(40, 80, 1), "lr multistep gammas=[0.12208654873684816, 0.95, 0.95, "},
		{"exponential epochs list", expLR(0.9), window{list: []int{3, 7}}, "lr multistep 0.6561000000000001 at epochs [4, 8]"},
		{"multistep", multiLR([]int{60, 75}, []float64{0.2, 0.2}), rng(0, 200, 1), "lr multistep 0.2 at epochs [60, 75]"},
		{"multistep cut by the window", multiLR([]int{60, 120}, []float64{0.1, 0.1}), rng(0, 100, 1), "lr multistep 0.1 at epoch 60"},
		{"multi-gamma", multiLR([]int{80, 120, 160}, []float64{0.1, 0.1, 0.2}), rng(0, 161, 1), "lr multistep gammas=[0.1, 0.1, 0.2] at epochs [80, 120, 160]"},
		{"milestone at epoch 0", multiLR([]int{0, 5}, []float64{0.5, 0.5}), rng(0, 10, 1), "lr multistep 0.5 at epochs [0, 5]"},
		{"never changes", stepLR(100, 0.1), rng(0, 10, 1), ""},
	}
	sigs := stdlib.Signatures()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text, _ := lrStatement(tc.s, tc.w)
			if tc.want == "" {
				if text != "" {
					t.Fatalf("got %q for a schedule that never changes the rate", text)
				}
				return
			}
			prog, diags := lang.CheckSource("t.dst", []byte(text+"\n"), lang.Env{Builtins: sigs})
			if diags.HasErrors() {
				t.Fatalf("%s: %v", text, diags)
			}
			p := prog.Policies[0]
			if !strings.HasPrefix(text, tc.want) {
				t.Errorf("got  %s\nwant %s", text, tc.want)
			}
			n := tc.w.last() + 50
			want := distillerLR(tc.s, tc.w, n)
			got := dstLRFromPolicy(t, p, n)
			for e := range want {
				if math.Abs(got[e]-want[e]) > 1e-12*want[e] {
					t.Fatalf("%s: epoch %d: dst %v, Distiller %v", text, e, got[e], want[e])
				}
			}
		})
	}
}

func ExampleConvert_lr() {
	src := []byte(`lr_schedulers:
  decay:
    class: StepLR
    step_size: 45
    gamma: 0.1
policies:
  - lr_scheduler:
      instance_name: decay
    starting_epoch: 45
    ending_epoch: 200
    frequency: 1
`)
	out, err := Convert("baseline.yaml", src, Options{Builtins: stdlib.Signatures()})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(out))
	// Output:
	// # Imported from the Distiller schedule baseline.yaml by dst import.
	// # Parameter names are written without DataParallel's module. component.
	//
	// # StepLR(step_size=45, gamma=0.1) stepped by Distiller at the end of epochs 45 to 199, with the absolute epoch of the next one; the milestones are the epochs whose rate that changes, and multistep keeps the last rate after them, as Distiller does.
	// lr multistep 0.1 at epochs [46, 90, 135, 180]
}
