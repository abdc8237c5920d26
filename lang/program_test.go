package lang_test

import (
	"os"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/dst-dev/dst/lang"
)

func mustCheck(t *testing.T, src string, params []lang.ParamInfo, epochs int) *lang.Program {
	t.Helper()
	prog, diags := lang.CheckSource("t.dst", []byte(src), lang.Env{Params: params, Builtins: testBuiltins(), Epochs: epochs})
	if diags.HasErrors() || prog == nil {
		t.Fatalf("check %q: %v", src, diags)
	}
	return prog
}

func TestProgramPolicies(t *testing.T) {
	ignore := cmp.Options{
		cmpopts.IgnoreFields(lang.Policy{}, "Signature", "Range", "Args"),
		cmpopts.IgnoreFields(lang.Window{}, "Range"),
		cmpopts.EquateEmpty(),
	}
	tests := []struct {
		name   string
		src    string
		model  []lang.ParamInfo
		epochs int
		want   lang.Policy
	}{
		{"glob selects weights in model order", "prune conv* level 0.7 from epoch 2 every 2", simplenetParams(), 0,
			lang.Policy{Kind: "prune", Method: "level", Granularity: "elements",
				Params: []string{"conv1.weight", "conv2.weight"},
				Window: lang.Window{Start: 2, End: lang.NoEnd, Every: 2}}},
		{"open window ends at run length", "prune conv* level 0.7 from epoch 2 every 2", simplenetParams(), 12,
			lang.Policy{Kind: "prune", Method: "level", Granularity: "elements",
				Params: []string{"conv1.weight", "conv2.weight"},
				Window: lang.Window{Start: 2, End: 12, Every: 2}}},
		{"alias and structure ranking default", "prune conv2 filters magnitude 0.1 at epoch 3 then thin", simplenetParams(), 0,
			lang.Policy{Kind: "prune", Method: "threshold", Granularity: "filters",
				Params: []string{"conv2.weight"}, ThenThin: true,
				Window: lang.Window{Start: 3, End: 4, Every: 1}}},
		{"default method and ranking", "prune conv2 filters 40% at epoch 3", simplenetParams(), 0,
			lang.Policy{Kind: "prune", Method: "level", Granularity: "filters", Ranking: "l1",
				Params: []string{"conv2.weight"}, Window: lang.Window{Start: 3, End: 4, Every: 1}}},
		{"biases only when named", "prune [*.bias, fc1] level 0.1 at epoch 0", simplenetParams(), 0,
			lang.Policy{Kind: "prune", Method: "level", Granularity: "elements",
				Params: []string{"conv1.bias", "conv2.bias", "fc1.weight", "fc1.bias", "fc2.bias"},
				Window: lang.Window{Start: 0, End: 1, Every: 1}}},
		{"except", "prune * except conv1 level 0.5 before training", simplenetParams(), 0,
			lang.Policy{Kind: "prune", Method: "level", Granularity: "elements",
				Params: []string{"conv2.weight", "fc1.weight", "fc2.weight"},
				Window: lang.Window{Kind: lang.WindowBefore, Every: 1}}},
		{"module prefix stripped", "prune module.fc1 level 0.5 at epoch 0", simplenetParams(), 0,
			lang.Policy{Kind: "prune", Method: "level", Granularity: "elements",
				Params: []string{"fc1.weight"}, Window: lang.Window{End: 1, Every: 1}}},
		{"resnet block glob", "prune layer2.*.conv2 level 0.5 at epoch 0", resnet20Params(), 0,
			lang.Policy{Kind: "prune", Method: "level", Granularity: "elements",
				Params: []string{"layer2.0.conv2.weight", "layer2.1.conv2.weight", "layer2.2.conv2.weight"},
				Window: lang.Window{End: 1, Every: 1}}},
		{"resnet explicit bn", "regularize layer1.0.bn*.weight l2 1e-4", resnet20Params(), 0,
			lang.Policy{Kind: "regularize", Method: "l2", Granularity: "elements",
				Params: []string{"layer1.0.bn1.weight", "layer1.0.bn2.weight"},
				Window: lang.Window{End: lang.NoEnd, Every: 1}}},
		{"regex any kind", `prune /fc1\..*/ level 0.5 at epoch 0`, simplenetParams(), 0,
			lang.Policy{Kind: "prune", Method: "level", Granularity: "elements",
				Params: []string{"fc1.weight", "fc1.bias"}, Window: lang.Window{End: 1, Every: 1}}},
		{"lr has no params", "lr step 0.1 every 4 epochs", simplenetParams(), 0,
			lang.Policy{Kind: "lr", Method: "step", Window: lang.Window{End: lang.NoEnd, Every: 4}}},
		{"steps unit", "prune fc1 level 0.5 from epoch 1 to 3 every 16 steps", simplenetParams(), 0,
			lang.Policy{Kind: "prune", Method: "level", Granularity: "elements", Params: []string{"fc1.weight"},
				Window: lang.Window{Start: 1, End: 3, Every: 16, Unit: lang.Steps}}},
		{"epoch list", "lr multistep 0.1 at epochs [3, 7]", nil, 0,
			lang.Policy{Kind: "lr", Method: "multistep", Window: lang.Window{Start: 3, End: 8, Epochs: []int{3, 7}}}},
		{"distill path", `distill from "t.safetensors" 3`, nil, 0,
			lang.Policy{Kind: "distill", Method: "kd", Teacher: "t.safetensors", Window: lang.Window{End: lang.NoEnd, Every: 1}}},
		{"quantize default window", "quantize * 4 bits", simplenetParams(), 0,
			lang.Policy{Kind: "quantize", Method: "linear", Params: []string{"conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight"},
				Window: lang.Window{Kind: lang.WindowAfter, Every: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog := mustCheck(t, tt.src, tt.model, tt.epochs)
			if len(prog.Policies) != 1 {
				t.Fatalf("got %d policies", len(prog.Policies))
			}
			if diff := cmp.Diff(tt.want, *prog.Policies[0], ignore...); diff != "" {
				t.Errorf("policy mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProgramArgs(t *testing.T) {
	src := "let t = 90%\nprune fc1 agp 5% -> t / 1 from epoch 0 to 10 leader\n" +
		"quantize conv* linear 8 bits asym_u clip=n_std n_std=2.5 after training {\n  override conv1 weights=4 bits\n}\n" +
		"lr multistep 0.5 gammas=[0.1, 0.2] at epochs [2, 4]\n"
	prog := mustCheck(t, src, simplenetParams(), 0)
	agp, q, lr := prog.Policies[0], prog.Policies[1], prog.Policies[2]
	tests := []struct {
		name string
		p    *lang.Policy
		arg  string
		want lang.Value
	}{
		{"range from let", agp, "sparsity", lang.Value{Type: lang.TypeFractionRange, From: 0.05, To: 0.9}},
		{"flag", agp, "leader", lang.Value{Type: lang.TypeFlag, Bool: true}},
		{"default filled", agp, "noise", lang.Value{Type: lang.TypeFraction, Num: 0}},
		{"bits", q, "bits", lang.Value{Type: lang.TypeBits, Num: 8}},
		{"enum by value", q, "mode", lang.Value{Type: lang.TypeEnum, Str: "asym_u"}},
		{"named enum", q, "clip", lang.Value{Type: lang.TypeEnum, Str: "n_std"}},
		{"default accum", q, "accum", lang.Value{Type: lang.TypeBits, Num: 32}},
		{"positive", q, "n_std", lang.Value{Type: lang.TypePositive, Num: 2.5}},
		{"list", lr, "gammas", lang.Value{Type: lang.TypeNumberList, List: []float64{0.1, 0.2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.p.Arg(tt.arg)
			if !ok {
				t.Fatalf("argument %s missing", tt.arg)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateApprox(0, 1e-12), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, ok := q.Arg("weights"); ok {
		t.Errorf("weights has no default and was not given, yet is present")
	}
	if len(q.Overrides) != 1 || q.Overrides[0].Params[0] != "conv1.weight" || q.Overrides[0].Args["weights"].Num != 4 {
		t.Errorf("overrides = %+v", q.Overrides)
	}
	if q.Overrides[0].Range.Start.Line != 4 {
		t.Errorf("override range = %v", q.Overrides[0].Range)
	}
	if agp.Range.String() != "t.dst:2:1" {
		t.Errorf("policy range = %v", agp.Range)
	}
}

func TestWindowActiveAt(t *testing.T) {
	tests := []struct {
		src    string
		epochs int
		active []int // epochs 0..11 where ActiveAt is true
		last   int
	}{
		{"at epoch 3", 0, []int{3}, 3},
		{"from epoch 2 to 8 every 2", 0, []int{2, 4, 6}, 6},
		{"from epoch 2 to 9 every 3", 0, []int{2, 5, 8}, 8},
		{"from epoch 9", 0, []int{9, 10, 11}, -1},
		{"from epoch 9", 11, []int{9, 10}, 10},
		{"every 4 epochs", 0, []int{0, 4, 8}, -1},
		{"at epochs [1, 5, 6]", 0, []int{1, 5, 6}, 6},
		{"from epoch 1 to 3 every 10 steps", 0, []int{1, 2}, 2},
		{"before training", 0, nil, -1},
		{"after training", 0, nil, -1},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			prog := mustCheck(t, "prune fc1 level 0.5 "+tt.src, simplenetParams(), tt.epochs)
			w := prog.Policies[0].Window
			var got []int
			for e := 0; e < 12; e++ {
				if w.ActiveAt(e) {
					got = append(got, e)
				}
			}
			if diff := cmp.Diff(tt.active, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("active epochs (-want +got):\n%s", diff)
			}
			if l := w.LastEpoch(); l != tt.last {
				t.Errorf("LastEpoch = %d, want %d", l, tt.last)
			}
			// String round-trips through the checker.
			again := mustCheck(t, "prune fc1 level 0.5 "+w.String(), simplenetParams(), tt.epochs).Policies[0].Window
			again.Range = w.Range
			if diff := cmp.Diff(w, again); diff != "" {
				t.Errorf("String() %q does not round-trip:\n%s", w.String(), diff)
			}
		})
	}
}

func TestWindowActiveAtStep(t *testing.T) {
	w := mustCheck(t, "prune fc1 level 0.5 from epoch 1 to 3 every 4 steps", simplenetParams(), 0).Policies[0].Window
	const steps = 6
	var got []int
	for e := 0; e < 4; e++ {
		for s := 0; s < steps; s++ {
			if w.ActiveAtStep(e, s, steps) {
				got = append(got, e*steps+s)
			}
		}
	}
	want := []int{8, 12, 16}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("active global steps (-want +got):\n%s", diff)
	}
	e := mustCheck(t, "prune fc1 level 0.5 at epoch 2", simplenetParams(), 0).Policies[0].Window
	if !e.ActiveAtStep(2, 0, steps) || e.ActiveAtStep(2, 1, steps) {
		t.Error("an epoch window acts at step 0 of its epoch only")
	}
}

func TestCheckDoesNotMutateAST(t *testing.T) {
	src := []byte("let a = 0.5\nprune conv* level a at epoch 1\nquantize * linear 8 bits after training\n")
	f, _ := lang.Parse("t.dst", src)
	before := dump(f)
	formatted := string(lang.FormatFile(f))
	for i := 0; i < 2; i++ {
		if _, d := lang.Check(f, lang.Env{Params: simplenetParams(), Builtins: testBuiltins()}); d.HasErrors() {
			t.Fatal(d)
		}
	}
	if dump(f) != before || string(lang.FormatFile(f)) != formatted {
		t.Fatal("Check modified the AST")
	}
}

func TestPolicyString(t *testing.T) {
	src := "prune conv2 filters 40% by l2 at epoch 3 then thin\ndistill from resnet20_cifar 2\n"
	prog := mustCheck(t, src, simplenetParams(), 10)
	want := []string{
		"prune level filters by l2 [conv2.weight] at epoch 3 then thin",
		"distill kd from resnet20_cifar from epoch 0 to 10",
	}
	for i, p := range prog.Policies {
		if got := p.String(); got != want[i] {
			t.Errorf("String() = %q, want %q", got, want[i])
		}
	}
}

// TestConcurrentCheck checks one parsed file and one Builtins table from several
// goroutines (meaningful under -race).
func TestConcurrentCheck(t *testing.T) {
	src, err := os.ReadFile("../examples/prune_then_quantize.dst")
	if err != nil {
		t.Fatal(err)
	}
	f, _ := lang.Parse("p.dst", src)
	env := lang.Env{Params: simplenetParams(), Builtins: testBuiltins(), Epochs: 10}
	want, _ := lang.Check(f, env)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, d := lang.Check(f, env)
			if d.HasErrors() || len(got.Policies) != len(want.Policies) {
				t.Errorf("concurrent check differs: %v", d)
			}
			_ = lang.FormatFile(f)
		}()
	}
	wg.Wait()
}

// TestValueStringRounding checks that values print as a person would write them: decimal
// literals exactly, and arithmetic without its binary rounding.
func TestValueStringRounding(t *testing.T) {
	for _, tc := range []struct {
		v    lang.Value
		want string
	}{
		{lang.Value{Type: lang.TypeFraction, Num: 0.05 + 0.1}, "0.15"},
		{lang.Value{Type: lang.TypeNumber, Num: 0.1 + 0.2}, "0.3"},
		{lang.Value{Type: lang.TypeNumber, Num: 1e-5}, "1e-05"},
		{lang.Value{Type: lang.TypeNumber, Num: 123456789012345}, "123456789012345"},
		{lang.Value{Type: lang.TypeNumber, Num: 0.123456789012345}, "0.123456789012345"},
		{lang.Value{Type: lang.TypeFractionRange, From: 0.05, To: 0.9}, "0.05 -> 0.9"},
	} {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.v.Num, got, tc.want)
		}
	}
}

// TestHeaderModel checks which comment lines name a script's model.
func TestHeaderModel(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"# model: lenet5\nprune x\n", "lenet5"},
		{"# About it.\n\n# Model: resnet20_cifar (named by extensions.net_thinner.arch).\n", "resnet20_cifar"},
		{"prune fc1 level 0.5 at epoch 0\n# model: lenet5\n", ""}, // after the first statement
		{"# the model: lenet5 is mentioned in prose\n", ""},
		{"#model:\n", ""},
	} {
		if got := lang.HeaderModel([]byte(tc.in)); got != tc.want {
			t.Errorf("HeaderModel(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
