package importer_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dst-dev/dst/importer"
	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/stdlib"
	"github.com/google/go-cmp/cmp"
)

// simplenet is simplenet_mnist's parameter table as dst's zoo builds it.
func simplenet() []lang.ParamInfo {
	return []lang.ParamInfo{
		{Name: "conv1.weight", Shape: []int{20, 1, 5, 5}, Kind: "weight", Layer: "conv1"},
		{Name: "conv1.bias", Shape: []int{20}, Kind: "bias", Layer: "conv1"},
		{Name: "conv2.weight", Shape: []int{50, 20, 5, 5}, Kind: "weight", Layer: "conv2"},
		{Name: "conv2.bias", Shape: []int{50}, Kind: "bias", Layer: "conv2"},
		{Name: "fc1.weight", Shape: []int{500, 800}, Kind: "weight", Layer: "fc1"},
		{Name: "fc1.bias", Shape: []int{500}, Kind: "bias", Layer: "fc1"},
		{Name: "fc2.weight", Shape: []int{10, 500}, Kind: "weight", Layer: "fc2"},
		{Name: "fc2.bias", Shape: []int{10}, Kind: "bias", Layer: "fc2"},
	}
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// convert imports src checked against simplenet_mnist and fails the test on error.
func convert(t *testing.T, name string, src []byte) string {
	t.Helper()
	out, err := importer.Convert(name, src, importer.Options{Builtins: stdlib.Signatures(), Params: simplenet()})
	if err != nil {
		var list importer.ErrorList
		if errors.As(err, &list) {
			t.Fatalf("Convert(%s):\n%s", name, list.Details())
		}
		t.Fatalf("Convert(%s): %v", name, err)
	}
	return string(out)
}

func TestConvertFixtures(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"agp_simplenet.yaml", `# Imported from the Distiller schedule agp_simplenet.yaml by dst import.
# Model: simplenet_mnist (named by the command line in its comments).
# Parameter names are written without DataParallel's module. component.

prune conv2.weight filters agp 0.05 -> 0.4 by l1 from epoch 0 to 4
prune [fc1.weight, fc2.weight] agp 0.05 -> 0.8 from epoch 1 to 6 every 2
# StepLR(step_size=2, gamma=0.5) stepped by Distiller at the end of epochs 0 to 5, with the absolute epoch of the next one; the milestones are the epochs whose rate that changes, and multistep keeps the last rate after them, as Distiller does.
lr multistep 0.5 at epochs [2, 4, 6]
`},
		{"quantize_overrides.yaml", `# Imported from the Distiller schedule quantize_overrides.yaml by dst import.
# Parameter names are written without DataParallel's module. component.

# dorefa: Distiller re-quantizes up to ending_epoch 10; dst's quantization-aware training runs to the end of training, so run 10 epochs (--epochs 10).
quantize * dorefa weights=4 bits activations=8 bits from epoch 0 {
    override conv1 float
    override fc2 float
}
`},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got := convert(t, tc.file, readFixture(t, tc.file))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("output differs (-want +got):\n%s", diff)
			}
			// The output is already in canonical form.
			again, diags := lang.Format("x.dst", []byte(got))
			if diags.HasErrors() || string(again) != got {
				t.Errorf("output is not formatted: %v\n%s", diags, again)
			}
		})
	}
}

// schedule wraps policy-level YAML in a minimal schedule with one AGP pruner p.
const agpPruner = `pruners:
  p:
    class: AutomatedGradualPruner
    initial_sparsity: 0.1
    final_sparsity: 0.5
    weights: [module.fc1.weight]
`

func TestConvertStatements(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // lines the output must contain
	}{
		{"range window unchanged", agpPruner + `policies:
  - pruner: {instance_name: p}
    starting_epoch: 2
    ending_epoch: 11
    frequency: 3
`, []string{"prune fc1.weight agp 0.1 -> 0.5 from epoch 2 to 11 every 3"}},
		{"epochs list sorted", `pruners:
  f:
    class: L1RankedStructureParameterPruner
    group_type: Filters
    desired_sparsity: 0.25
    weights: [module.conv1.weight]
policies:
  - pruner: {instance_name: f}
    epochs: [3, 1]
`, []string{"prune conv1.weight filters level 0.25 by l1 at epochs [1, 3]"}},
		{"single epoch and flags", `pruners:
  f:
    class: L2RankedStructureParameterPruner
    group_type: Channels
    desired_sparsity: 0.5
    weights: [conv2.weight]
policies:
  - pruner:
      instance_name: f
      args: {keep_mask: true, mask_on_forward_only: True, mask_gradients: yes, fold_batchnorm: false}
    epochs: [4]
`, []string{"prune conv2.weight channels level 0.5 keep_mask forward_only mask_gradients by l2 at epoch 4"}},
		{"levels with star default", `pruners:
  lv:
    class: SparsityLevelParameterPruner
    levels:
      module.conv1.weight: 0.5
      module.fc1.weight: 0.8
      module.fc2.weight: 0.0
      '*': 0.3
policies:
  - pruner: {instance_name: lv}
    epochs: [0]
`, []string{
			"prune conv1.weight level 0.5 at epoch 0",
			"prune fc1.weight level 0.8 at epoch 0",
			"prune /.*/ except [conv1.weight, fc1.weight, fc2.weight] level 0.3 at epoch 0",
			"# lv: level 0 leaves fc2.weight unpruned (Distiller skips it).",
		}},
		{"mini-batch frequency", `pruners:
  s:
    class: SplicingPruner
    low_thresh_mult: 0.9
    hi_thresh_mult: 1.1
    sensitivity_multiplier: 0.015
    sensitivities: {module.conv1.weight: 0.05, module.conv2.weight: 0.05}
policies:
  - pruner:
      instance_name: s
      args: {mini_batch_pruning_frequency: 1, mask_on_forward_only: true, keep_mask: true}
    starting_epoch: 0
    ending_epoch: 5
    frequency: 1
`, []string{"prune [conv1.weight, conv2.weight] splicing 0.05 low=0.9 high=1.1 growth=0.015 forward_only keep_mask from epoch 0 to 5 every 1 steps"}},
		{"regularizers and thinning", `regularizers:
  lasso:
    class: GroupLassoRegularizer
    reg_regims:
      module.conv1.weight: [0.0008, Filters]
      module.conv2.weight: [0.0008, Filters]
      module.fc1.weight: [0.0002, Rows]
    threshold_criteria: Max
  l1:
    class: L1Regularizer
    reg_regims: {module.fc2.weight: 0.001}
extensions:
  thinner:
    class: FilterRemover
    thinning_func_str: remove_filters
    arch: simplenet_mnist
    dataset: mnist
policies:
  - regularizer:
      instance_name: lasso
      args: {keep_mask: true}
    starting_epoch: 0
    ending_epoch: 8
    frequency: 1
  - regularizer: {instance_name: l1}
    starting_epoch: 0
    ending_epoch: 8
    frequency: 2
  - extension: {instance_name: thinner}
    starting_epoch: 8
    ending_epoch: 12
    frequency: 2
`, []string{
			"# Model: simplenet_mnist (named by extensions.thinner.arch).",
			"regularize [conv1.weight, conv2.weight] group_lasso filters 0.0008 threshold=max keep_mask from epoch 0 to 8",
			"regularize fc1.weight group_lasso rows 0.0002 threshold=max keep_mask from epoch 0 to 8",
			"regularize fc2.weight l1 0.001 from epoch 0 to 8 every 2",
			"thin filters at epochs [8, 10]",
		}},
		{"post-training quantizer without policy", `quantizers:
  ptq:
    class: PostTrainLinearQuantizer
    bits_activations: 8
    bits_parameters: 6
    mode: ASYMMETRIC_SIGNED
    per_channel_wts: false
    clip_acts: N_STD
    clip_n_stds: 3
    bits_accum: 32
    overrides:
      fc2: {bits_activations: null, bits_weights: null}
      .*conv.*: {bits_weights: 4, bits_activations: 4}
    model_activation_stats: stats/simplenet.yaml
`, []string{
			"# ptq: post-training quantization, which Distiller applies after training (--quantize-eval).",
			`quantize * linear weights=6 bits activations=8 bits accum=32 mode=asym_s clip=n_std n_std=3 stats="stats/simplenet.yaml" after training {`,
			"    override fc2 float",
			`    override /(?:.*conv.*)\.weight/ 4 bits`,
		}},
		{"unscheduled component noted", agpPruner, []string{
			"# pruner p (AutomatedGradualPruner) is defined but no policy schedules it; Distiller builds it and never runs it, so nothing is imported for it.",
			"# The schedule has no policy dst would run.",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := convert(t, "t.yaml", []byte(tc.yaml))
			// The synthetic table of the names the script selects checks it too.
			res, err := importer.Import("t.yaml", []byte(tc.yaml), importer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := importer.Import("t.yaml", []byte(tc.yaml), importer.Options{Builtins: stdlib.Signatures(), Params: res.Synthetic()}); err != nil {
				t.Errorf("check against the synthetic table: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w+"\n") {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		name, weight, want string
	}{
		{"DataParallel prefix", "module.conv1.weight", "conv1.weight"},
		{"no prefix", "conv1.weight", "conv1.weight"},
		{"features.module form", "features.module.3.weight", "features.3.weight"},
		{"keyword name", "module.lr", "/lr/"},
		{"name starting with a digit", "module.0.weight", `/0\.weight/`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "pruners:\n  p:\n    class: AutomatedGradualPruner\n    initial_sparsity: 0.1\n    final_sparsity: 0.5\n    weights: [" + tc.weight + "]\n" +
				"policies:\n  - pruner: {instance_name: p}\n    starting_epoch: 0\n    ending_epoch: 4\n    frequency: 1\n"
			res, err := importer.Import("t.yaml", []byte(src), importer.Options{Builtins: stdlib.Signatures()})
			if err != nil {
				t.Fatal(err)
			}
			want := "prune " + tc.want + " agp 0.1 -> 0.5 from epoch 0 to 4\n"
			if !strings.Contains(string(res.Source), want) {
				t.Errorf("output lacks %q:\n%s", want, res.Source)
			}
			// The synthetic table built from the names makes the script check clean.
			if _, err := importer.Import("t.yaml", []byte(src), importer.Options{Builtins: stdlib.Signatures(), Params: res.Synthetic()}); err != nil {
				t.Errorf("check against the synthetic table: %v", err)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // "line:col: substring" of the first error
	}{
		{"unknown class", "pruners:\n  p:\n    class: AutomaticGradualPruner\n", `3:12: pruners.p: unknown class "AutomaticGradualPruner"; did you mean "AutomatedGradualPruner"?`},
		{"dead class", "pruners:\n  p:\n    class: StructuredAutomatedGradualPruner\n", "3:12: pruners.p: class StructuredAutomatedGradualPruner cannot be imported: no such class exists"},
		{"class in the wrong section", "pruners:\n  p:\n    class: L1Regularizer\n", "3:12: pruners.p: L1Regularizer is a regularizer class, listed under pruners"},
		{"unknown component key", agpPruner[:len(agpPruner)-1] + "\n    final_sparsty: 0.6\n", `7:5: pruners.p: unknown key "final_sparsty"`},
		{"unknown top-level key", "pruners: {}\nschedule: []\n", `2:1: the schedule: unknown key "schedule"`},
		{"duplicate key", "pruners: {}\npruners: {}\n", `2:1: the schedule: duplicate key "pruners" (first at line 1, column 1)`},
		{"missing instance", agpPruner + "policies:\n  - pruner: {instance_name: q}\n    epochs: [1]\n", `8:29: policies[0]: there is no pruner called "q" under pruners`},
		{"AGP with epochs list", agpPruner + "policies:\n  - pruner: {instance_name: p}\n    epochs: [1, 2]\n", "8:5: pruner policy p: AutomatedGradualPruner schedules over a range"},
		{"empty window", agpPruner + "policies:\n  - pruner: {instance_name: p}\n    starting_epoch: 4\n    ending_epoch: 4\n    frequency: 1\n", "10:5: policies[0]: ending_epoch 4 must be greater than starting_epoch 4"},
		{"frequency too long", agpPruner + "policies:\n  - pruner: {instance_name: p}\n    starting_epoch: 0\n    ending_epoch: 4\n    frequency: 5\n", "11:5: policies[0]: frequency 5 must be between 1 and ending_epoch - starting_epoch = 4"},
		{"missing frequency", agpPruner + "policies:\n  - pruner: {instance_name: p}\n    starting_epoch: 0\n    ending_epoch: 4\n", "8:5: policies[0] has no frequency"},
		{"two kinds", agpPruner + "policies:\n  - pruner: {instance_name: p}\n    regularizer: {instance_name: p}\n    epochs: [1]\n", "9:5: policies[0] has both pruner and regularizer"},
		{"sparsity of 1", "pruners:\n  p:\n    class: AutomatedGradualPruner\n    initial_sparsity: 0.1\n    final_sparsity: 1.0\n    weights: [a.weight]\n", "5:21: p.final_sparsity is 1; dst sparsities are fractions in [0, 1)"},
		{"unknown policy arg", agpPruner + "policies:\n  - pruner:\n      instance_name: p\n      args: {mask_on_forward: true}\n    starting_epoch: 0\n    ending_epoch: 4\n    frequency: 1\n", `10:14: pruner policy p: unknown pruner policy arg "mask_on_forward"; did you mean "mask_on_forward_only"?`},
		{"activation override", "quantizers:\n  q:\n    class: PACTQuantizer\n    overrides:\n      final_relu: {bits_activations: null, bits_weights: null}\n", "5:7: quantizer q (PACTQuantizer): override final_relu names an activation"},
		{"half-null override", "quantizers:\n  q:\n    class: DorefaQuantizer\n    overrides:\n      fc: {bits_activations: null}\n", "5:7: quantizer q (DorefaQuantizer): override fc sets bits_activations to null"},
		{"two quantizers", "quantizers:\n  a: {class: DorefaQuantizer}\n  b: {class: WRPNQuantizer}\n", "3:3: quantizers: b is a second quantizer"},
		{"ema_decay 0", "quantizers:\n  q:\n    class: QuantAwareTrainRangeLinearQuantizer\n    ema_decay: 0\n", "4:16: quantizers.q: ema_decay must be in (0, 1)"},
		{"bit-width override in QAT", "quantizers:\n  q:\n    class: DorefaQuantizer\n    overrides:\n      fc: {bits_weights: 8}\n", "5:7: quantizer q (DorefaQuantizer): override fc sets bit widths; a quantization-aware training run in dst has one bit width"},
		{"bias bits in QAT", "quantizers:\n  q:\n    class: PACTQuantizer\n    bits_bias: 8\npolicies:\n  - quantizer: {instance_name: q}\n    starting_epoch: 0\n    ending_epoch: 4\n    frequency: 1\n", "4:5: quantizer q (PACTQuantizer) sets bits_bias 8; dst's quantization-aware training keeps biases in floating point"},
		{"QAT from epoch 2", "quantizers:\n  q: {class: DorefaQuantizer}\npolicies:\n  - quantizer: {instance_name: q}\n    starting_epoch: 2\n    ending_epoch: 4\n    frequency: 1\n", "4:5: quantizer policy q: starting_epoch 2; dst's quantization-aware training prepares the model before training"},
		{"AGP every K steps", agpPruner + "policies:\n  - pruner:\n      instance_name: p\n      args: {mini_batch_pruning_frequency: 16}\n    starting_epoch: 0\n    ending_epoch: 4\n    frequency: 1\n", "10:14: pruner policy p: mini_batch_pruning_frequency on an AGP pruner"},
		{"epoch beyond the limit", agpPruner + "policies:\n  - pruner: {instance_name: p}\n    starting_epoch: 0\n    ending_epoch: 2000000000\n    frequency: 1\n", "10:5: policies[0]: ending_epoch 2000000000 is beyond dst's limit of epoch 1000000"},
		{"too many milestones", "lr_schedulers:\n  l: {class: ExponentialLR, gamma: 0.999}\npolicies:\n  - lr_scheduler: {instance_name: l}\n    starting_epoch: 0\n    ending_epoch: 9000\n    frequency: 1\n", "4:5: lr_scheduler policy l: ExponentialLR(gamma=0.999) changes the rate at 9000 epochs"},
		{"bad YAML", "pruners:\n  p: [\n", "2:1: invalid YAML"},
		{"not YAML of Distiller", "- 1\n- 2\n", "1:1: not a Distiller schedule"},
		{"selector matches nothing", agpPruner + "policies:\n  - pruner: {instance_name: p}\n    starting_epoch: 0\n    ending_epoch: 4\n    frequency: 1\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := importer.Options{Builtins: stdlib.Signatures(), Params: simplenet()}
			if tc.want == "" {
				// fc1.weight exists in simplenet; check against a model without it.
				opts.Params = simplenet()[:4]
				tc.want = `8:5: pruner policy p: dst check of ` + "`prune fc1.weight agp 0.1 -> 0.5 from epoch 0 to 4`" + `: Selector matches nothing`
			}
			_, err := importer.Convert("t.yaml", []byte(tc.yaml), opts)
			var list importer.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("err = %v (%T), want an ErrorList", err, err)
			}
			if got := list[0].Error(); !strings.HasPrefix(got, "t.yaml:"+tc.want) {
				t.Errorf("first error\n got %s\nwant t.yaml:%s...\nall:\n%s", got, tc.want, list.Details())
			}
		})
	}
}

func TestDuplicateKeyFixture(t *testing.T) {
	_, err := importer.Convert("duplicate_key.yaml", readFixture(t, "duplicate_key.yaml"), importer.Options{})
	want := `duplicate_key.yaml:7:7: lasso.reg_regims: duplicate key "module.conv1.weight" (first at line 5, column 7); Distiller would silently keep the last value`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestNotSchedules(t *testing.T) {
	tests := []struct {
		file string
		kind importer.FileKind
	}{
		{"amc_layers.yaml", importer.KindAMC},
		{"act_stats.yaml", importer.KindStats},
		{"agp_simplenet.yaml", importer.KindSchedule},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			src := readFixture(t, tc.file)
			k, err := importer.Classify(tc.file, src)
			if err != nil || k != tc.kind {
				t.Fatalf("Classify = %v, %v; want %v", k, err, tc.kind)
			}
			_, err = importer.Convert(tc.file, src, importer.Options{})
			var ns *importer.NotScheduleError
			if got := errors.As(err, &ns); got != (tc.kind != importer.KindSchedule) {
				t.Fatalf("err = %v; want a NotScheduleError: %v", err, tc.kind != importer.KindSchedule)
			}
			if ns != nil && (ns.Kind != tc.kind || !strings.Contains(err.Error(), "not a compression schedule")) {
				t.Errorf("err = %v (kind %v)", err, ns.Kind)
			}
		})
	}
}

func TestSyntheticParams(t *testing.T) {
	got := importer.SyntheticParams(
		[]string{"layer1.0.conv1.weight", "layer1.0.bn1.weight", "fc.weight", "fc.bias", "rnn.weight_ih_l0", "encoder.weight", "features.3.weight"},
		[]string{"classifier.6", "conv1"})
	want := map[string]string{
		"layer1.0.conv1.weight": "weight [32 32 3 3]",
		"layer1.0.bn1.weight":   "norm_weight [32]",
		"fc.weight":             "weight [32 32]",
		"fc.bias":               "bias [32]",
		"rnn.weight_ih_l0":      "weight [32 32]",
		"encoder.weight":        "weight [32 32]",
		"features.3.weight":     "weight [32 32 3 3]",
		"classifier.6.weight":   "weight [32 32]",
		"conv1.weight":          "weight [32 32 3 3]",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d parameters, want %d: %v", len(got), len(want), got)
	}
	for _, p := range got {
		if s := fmt.Sprint(p.Kind, " ", p.Shape); s != want[p.Name] {
			t.Errorf("%s: %s, want %s", p.Name, s, want[p.Name])
		}
	}
}

// TestStatementTooLong: a policy whose statement exceeds dst's parser limits is a
// positioned error at the policy, not an internal error.
func TestStatementTooLong(t *testing.T) {
	var names []string
	for i := range 6000 {
		names = append(names, fmt.Sprintf("module.l%d.weight", i))
	}
	src := agpPruner[:strings.Index(agpPruner, "weights:")] + "weights: [" + strings.Join(names, ", ") + "]\n" +
		"policies:\n  - pruner: {instance_name: p}\n    starting_epoch: 0\n    ending_epoch: 4\n    frequency: 1\n"
	_, err := importer.Convert("t.yaml", []byte(src), importer.Options{})
	want := "t.yaml:8:5: pruner policy p: dst cannot parse the statement it becomes: Statement too long"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v\nwant %s...", err, want)
	}
}

// TestGap: errors caused by a limit of the language name the construct; errors in the
// file do not.
func TestGap(t *testing.T) {
	tests := []struct {
		name, yaml, gap string
	}{
		{"activation override", "quantizers:\n  q:\n    class: PACTQuantizer\n    overrides:\n      relu1: {bits_activations: null, bits_weights: null}\n", "per-activation quantizer override"},
		{"bit-width override in QAT", "quantizers:\n  q:\n    class: WRPNQuantizer\n    overrides:\n      fc: {bits_weights: 8, bits_activations: 8}\n", "per-layer bit widths in quantization-aware training"},
		{"QAT from epoch 2", "quantizers:\n  q: {class: DorefaQuantizer}\npolicies:\n  - quantizer: {instance_name: q}\n    starting_epoch: 2\n    ending_epoch: 4\n    frequency: 1\n", "quantization-aware training starting after epoch 0"},
		{"dead class", "pruners:\n  p: {class: FMReconstructionChannelPruner}\n", "class FMReconstructionChannelPruner"},
		{"duplicate key", "pruners: {}\npruners: {}\n", ""},
		{"unknown key", "pruners:\n  p: {class: AutomatedGradualPruner, final: 0.5}\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := importer.Convert("t.yaml", []byte(tc.yaml), importer.Options{})
			var list importer.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("err = %v", err)
			}
			if list[0].Gap != tc.gap {
				t.Errorf("Gap = %q, want %q (%v)", list[0].Gap, tc.gap, list[0])
			}
		})
	}
}
