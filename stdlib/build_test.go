package stdlib

import (
	"math"
	"testing"

	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
)

// sampleValue returns a plausible value of an argument's type.
func sampleValue(a lang.ArgSpec) lang.Value {
	v := lang.Value{Type: a.Type}
	switch a.Type {
	case lang.TypeInteger:
		v.Num = 2
	case lang.TypeBits:
		v.Num = 8
	case lang.TypeFractionRange:
		v.From, v.To = 0.2, 0.6
	case lang.TypeNumberRange:
		v.From, v.To = 0.01, 0.1
	case lang.TypeIntList:
		v.List = []float64{1, 2, 1, 1}
	case lang.TypeNumberList:
		v.List = []float64{0.5, 0.1}
	case lang.TypeEnum:
		v.Str = a.Enum[min(1, len(a.Enum)-1)]
	case lang.TypeFlag:
		v.Bool = true
	case lang.TypeString, lang.TypeIdent:
		v.Str = "x"
	default:
		v.Num = 0.5
	}
	return v
}

// TestBuildEverySignature builds every prune, regularize and lr method of Signatures()
// with every granularity and ranking it declares, all arguments given, and fails if the
// build errs or leaves an argument unread: the implementations' argument names must
// match the signature table.
func TestBuildEverySignature(t *testing.T) {
	for _, sig := range Signatures().All() {
		if sig.Statement != "prune" && sig.Statement != "regularize" && sig.Statement != "lr" && sig.Statement != "distill" {
			continue
		}
		grans := append([]string(nil), sig.Granularities...)
		if len(grans) == 0 {
			grans = []string{""}
		}
		for _, g := range grans {
			ranks := append([]string(nil), sig.Rankings...)
			if len(ranks) == 0 || g == "elements" || g == "" {
				ranks = []string{""}
			}
			for _, rk := range ranks {
				pol := &lang.Policy{Kind: sig.Statement, Method: sig.Method, Granularity: g, Ranking: rk,
					Args: map[string]lang.Value{}, Signature: sig,
					Window: lang.Window{Kind: lang.WindowEpochs, Start: 0, End: 6, Every: 1}}
				if sig.Method == "multistep" {
					pol.Window = lang.Window{Kind: lang.WindowEpochs, Start: 2, End: 5, Epochs: []int{2, 4}}
				}
				for _, a := range sig.Args {
					pol.Args[a.Name] = sampleValue(a)
				}
				name := sig.Statement + "/" + sig.Method + "/" + g + "/" + rk
				var (
					rd  *args
					err error
				)
				switch sig.Statement {
				case "prune":
					fold := func(p *nn.Param) ([]float32, error) { return p.Data(), nil }
					var pr Pruner
					pr, rd, err = buildPruner(pol, BuildOptions{FoldBN: fold})
					if _, ok := pr.(*ValuePruner); err == nil && pol.Args["fold_bn"].Bool && !ok {
						t.Errorf("%s: fold_bn did not wrap the pruner", name)
					}
					if _, _, err := buildPruner(pol, BuildOptions{}); pol.Args["fold_bn"].Bool && err == nil {
						t.Errorf("%s: fold_bn without a FoldBN function was accepted", name)
					}
				case "regularize":
					_, rd, err = buildRegularizer(pol)
				case "distill":
					_, rd, err = buildKD(pol)
				default:
					_, rd, err = buildLR(pol)
				}
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				for _, a := range sig.Args {
					if !rd.used[a.Name] {
						t.Errorf("%s: argument %s is declared but the implementation never reads it", name, a.Name)
					}
				}
			}
		}
	}
}

func TestBuildSemantics(t *testing.T) {
	window := lang.Window{Kind: lang.WindowEpochs, Start: 0, End: 4, Every: 1}
	pol := &lang.Policy{Kind: "prune", Method: "agp", Granularity: "elements", Window: window,
		Args: map[string]lang.Value{"sparsity": {Type: lang.TypeFractionRange, From: 0.05, To: 0.7}}}
	pr, err := NewPruner(pol, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := randParam(t, newRand(), "fc.weight", 20, 10)
	mustPrune(t, pr, Point{Epoch: 1}, p)
	if z := zeros(p); z != LevelCount(0.5074074074074074, 200) {
		t.Errorf("agp epoch 1: %d zeros, want %d", z, LevelCount(0.5074074074074074, 200))
	}

	pol = &lang.Policy{Kind: "prune", Method: "level", Granularity: "filters", Ranking: "l2",
		Args: map[string]lang.Value{"sparsity": {Num: 0.5}, "leader": {Bool: true}}}
	pr, err = NewPruner(pol, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sp, ok := pr.(*StructurePruner); !ok || sp.Ranking != L2 || !sp.Leader || sp.Fraction != 0.5 || sp.Granularity != Filters {
		t.Errorf("level filters by l2 built %#v", pr)
	}

	pol = &lang.Policy{Kind: "regularize", Method: "group_lasso", Granularity: "rows_cols",
		Args: map[string]lang.Value{"strength": {Num: 0.1}, "threshold": {Str: "max"}}}
	r, err := NewRegularizer(pol)
	if err != nil {
		t.Fatal(err)
	}
	if gl, ok := r.(*GroupLasso); !ok || len(gl.Groups) != 2 || gl.Threshold == nil || *gl.Threshold != MaxAbs {
		t.Errorf("group lasso rows_cols built %#v", r)
	}
	if _, ok := r.(ThresholdMasker); !ok {
		t.Errorf("group lasso does not implement ThresholdMasker")
	}

	lrTests := []struct {
		pol  *lang.Policy
		at   Point
		want float64
	}{
		{&lang.Policy{Kind: "lr", Method: "step", Window: lang.Window{Start: 2, End: lang.NoEnd, Every: 3},
			Args: map[string]lang.Value{"gamma": {Num: 0.5}}}, Point{Epoch: 5}, 0.5},
		{&lang.Policy{Kind: "lr", Method: "cosine", Window: lang.Window{Start: 2, End: 6, Every: 1},
			Args: map[string]lang.Value{"min_lr": {Num: 0}}}, Point{Epoch: 4}, 0.5},
		{&lang.Policy{Kind: "lr", Method: "warmup", Window: lang.Window{Start: 1, End: 3, Every: 1, Unit: lang.Steps},
			Args: map[string]lang.Value{"lr": {From: 0, To: 0.2}}}, Point{Epoch: 2, Step: 5, StepsPerEpoch: 10}, 0.15},
		{&lang.Policy{Kind: "lr", Method: "cosine", Window: lang.Window{Start: 1, End: 3, Every: 1, Unit: lang.Steps},
			Args: map[string]lang.Value{"min_lr": {Num: 0}}}, Point{Epoch: 2, Step: 0, StepsPerEpoch: 10}, 0.5},
		{&lang.Policy{Kind: "lr", Method: "poly", Window: lang.Window{Start: 0, End: 2, Every: 1, Unit: lang.Steps},
			Args: map[string]lang.Value{"power": {Num: 1}}}, Point{Epoch: 1, Step: 5, StepsPerEpoch: 10}, 0.25},
		{&lang.Policy{Kind: "lr", Method: "step", Window: lang.Window{Start: 0, End: lang.NoEnd, Every: 4, Unit: lang.Steps},
			Args: map[string]lang.Value{"gamma": {Num: 0.5}}}, Point{Epoch: 1, Step: 0, StepsPerEpoch: 10}, 0.25},
		{&lang.Policy{Kind: "lr", Method: "multistep", Window: lang.Window{Epochs: []int{3, 6}},
			Args: map[string]lang.Value{"gamma": {Num: 0.1}}}, Point{Epoch: 6}, 0.01},
	}
	for _, tc := range lrTests {
		lp, err := NewLRPolicy(tc.pol)
		if err != nil {
			t.Fatalf("%s: %v", tc.pol.Method, err)
		}
		if got := lp.LR(1, tc.at); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: LR at %+v = %v, want %v", tc.pol.Method, tc.at, got, tc.want)
		}
	}

	for name, pol := range map[string]*lang.Policy{
		"unknown method": {Kind: "prune", Method: "nosuch"},
		"wrong kind":     {Kind: "lr", Method: "level"},
		"missing arg":    {Kind: "prune", Method: "level", Args: map[string]lang.Value{}},
		"bad ranking":    {Kind: "prune", Method: "level", Granularity: "filters", Ranking: "taste", Args: map[string]lang.Value{"sparsity": {Num: 0.5}}},
	} {
		if _, err := NewPruner(pol, BuildOptions{}); err == nil {
			t.Errorf("%s: NewPruner accepted it", name)
		}
	}
	if _, err := NewLRPolicy(&lang.Policy{Kind: "lr", Method: "poly", Window: lang.Window{Start: 0, End: lang.NoEnd}}); err == nil {
		t.Errorf("poly without an end accepted")
	}
}
