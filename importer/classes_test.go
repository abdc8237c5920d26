package importer_test

import (
	"strings"
	"testing"

	"github.com/dst-dev/dst/importer"
	"github.com/dst-dev/dst/stdlib"
)

// TestEveryClass converts one component of every class the importer knows and checks
// the statement it becomes, against a synthetic table of the names it mentions.
func TestEveryClass(t *testing.T) {
	const rangePolicy = "    starting_epoch: 0\n    ending_epoch: 6\n    frequency: 2\n"
	tests := []struct {
		class  string
		kind   string // section key of the policy
		body   string // the component's keys besides class
		window string // the policy's epoch keys
		want   string
	}{
		{"MagnitudeParameterPruner", "pruner", "thresholds: {'*': 0.01, module.conv1.weight: 0.02}", rangePolicy,
			"prune conv1.weight threshold 0.02 from epoch 0 to 6 every 2\nprune /.*/ except conv1.weight threshold 0.01 from epoch 0 to 6 every 2"},
		{"SparsityLevelParameterPruner", "pruner", "levels: {module.fc1.weight: 0.5}", "    epochs: [1]\n",
			"prune fc1.weight level 0.5 at epoch 1"},
		{"SensitivityPruner", "pruner", "sensitivities: {module.conv1.weight: 0.3, module.fc1.weight: 0.3}", rangePolicy,
			"prune [conv1.weight, fc1.weight] sensitivity 0.3 from epoch 0 to 6 every 2"},
		{"SplicingPruner", "pruner", "sensitivities: {module.conv1.weight: 0.3}\n    low_thresh_mult: 0.6\n    hi_thresh_mult: 0.7", rangePolicy,
			"prune conv1.weight splicing 0.3 low=0.6 high=0.7 from epoch 0 to 6 every 2"},
		{"AutomatedGradualPruner", "pruner", "initial_sparsity: 0.1\n    final_sparsity: 0.6\n    weights: [module.fc1.weight]", rangePolicy,
			"prune fc1.weight agp 0.1 -> 0.6 from epoch 0 to 6 every 2"},
		{"BaiduRNNPruner", "pruner", "q: 0.17\n    ramp_epoch_offset: 3\n    ramp_slope_mult: 2\n    weights: [rnn.weight_ih_l0]", rangePolicy,
			"prune rnn.weight_ih_l0 rnn 0.17 ramp_offset=3 ramp_slope=2 from epoch 0 to 6 every 2"},
		{"L1RankedStructureParameterPruner", "pruner", "group_type: Blocks\n    desired_sparsity: 0.3\n    kwargs: {block_shape: [1, 8, 1, 1]}\n    weights: [module.conv2.weight]", "    epochs: [0]\n",
			"prune conv2.weight blocks level 0.3 block=[1, 8, 1, 1] by l1 at epoch 0"},
		{"L2RankedStructureParameterPruner", "pruner", "group_type: Channels\n    desired_sparsity: 0.3\n    noise: 0.1\n    group_size: 2\n    weights: [module.conv2.weight]", "    epochs: [0]\n",
			"prune conv2.weight channels level 0.3 noise=0.1 group_size=2 by l2 at epoch 0"},
		{"ActivationAPoZRankedFilterPruner", "pruner", "group_type: Filters\n    desired_sparsity: 0.3\n    weights: [module.conv2.weight]", "    epochs: [0]\n",
			"prune conv2.weight filters level 0.3 by apoz at epoch 0"},
		{"ActivationMeanRankedFilterPruner", "pruner", "group_type: 3D\n    desired_sparsity: 0.3\n    weights: [module.conv2.weight]", "    epochs: [0]\n",
			"prune conv2.weight filters level 0.3 by mean_activation at epoch 0"},
		{"GradientRankedFilterPruner", "pruner", "group_type: Filters\n    desired_sparsity: 0.3\n    weights: [module.conv2.weight]", "    epochs: [0]\n",
			"prune conv2.weight filters level 0.3 by gradient at epoch 0"},
		{"RandomRankedFilterPruner", "pruner", "group_type: Filters\n    desired_sparsity: 0.3\n    weights: [module.conv2.weight]", "    epochs: [0]\n",
			"prune conv2.weight filters level 0.3 by random at epoch 0"},
		{"RandomLevelStructureParameterPruner", "pruner", "group_type: Filters\n    sparsity_range: [0.1, 0.2]\n    weights: [module.conv2.weight]", rangePolicy,
			"prune conv2.weight filters random 0.1 -> 0.2 by l1 from epoch 0 to 6 every 2"},
		{"BernoulliFilterPruner", "pruner", "group_type: Filters\n    desired_sparsity: 0.1\n    weights: [module.conv2.weight]", rangePolicy,
			"prune conv2.weight filters bernoulli 0.1 from epoch 0 to 6 every 2"},
		{"L1RankedStructureParameterPruner_AGP", "pruner", "group_type: Filters\n    initial_sparsity: 0.1\n    final_sparsity: 0.5\n    group_dependency: Leader\n    weights: [module.conv1.weight, module.conv2.weight]", rangePolicy,
			"prune [conv1.weight, conv2.weight] filters agp 0.1 -> 0.5 leader by l1 from epoch 0 to 6 every 2"},
		{"L2RankedStructureParameterPruner_AGP", "pruner", "group_type: Rows\n    initial_sparsity: 0.1\n    final_sparsity: 0.5\n    weights: [module.fc1.weight]", rangePolicy,
			"prune fc1.weight channels agp 0.1 -> 0.5 by l2 from epoch 0 to 6 every 2"},
		{"ActivationAPoZRankedFilterPruner_AGP", "pruner", "group_type: Filters\n    initial_sparsity: 0.1\n    final_sparsity: 0.5\n    weights: [module.conv2.weight]", rangePolicy,
			"prune conv2.weight filters agp 0.1 -> 0.5 by apoz from epoch 0 to 6 every 2"},
		{"ActivationMeanRankedFilterPruner_AGP", "pruner", "group_type: Filters\n    initial_sparsity: 0.1\n    final_sparsity: 0.5\n    weights: [module.conv2.weight]", rangePolicy,
			"prune conv2.weight filters agp 0.1 -> 0.5 by mean_activation from epoch 0 to 6 every 2"},
		{"GradientRankedFilterPruner_AGP", "pruner", "group_type: Filters\n    initial_sparsity: 0.1\n    final_sparsity: 0.5\n    weights: [module.conv2.weight]", rangePolicy,
			"prune conv2.weight filters agp 0.1 -> 0.5 by gradient from epoch 0 to 6 every 2"},
		{"RandomRankedFilterPruner_AGP", "pruner", "group_type: Filters\n    initial_sparsity: 0.1\n    final_sparsity: 0.5\n    weights: [module.conv2.weight]", rangePolicy,
			"prune conv2.weight filters agp 0.1 -> 0.5 by random from epoch 0 to 6 every 2"},
		{"BernoulliFilterPruner_AGP", "pruner", "group_type: Filters\n    initial_sparsity: 0.1\n    final_sparsity: 0.5\n    weights: [module.conv2.weight]", rangePolicy,
			"prune conv2.weight filters agp 0.1 -> 0.5 by bernoulli from epoch 0 to 6 every 2"},
		{"StructureParameterPruner", "pruner", "reg_regims: {module.conv2.weight: [0.01, 2D], module.fc1.weight: [0.02, Cols]}\n    threshold_criteria: Max", "    epochs: [2]\n",
			"prune conv2.weight kernels threshold 0.01 criterion=max at epoch 2\nprune fc1.weight cols threshold 0.02 criterion=max at epoch 2"},
		{"L1Regularizer", "regularizer", "reg_regims: {module.fc1.weight: 0.0001}\n    threshold_criteria: Mean_Abs", rangePolicy,
			"regularize fc1.weight l1 0.0001 threshold from epoch 0 to 6 every 2"},
		{"GroupLassoRegularizer", "regularizer", "reg_regims: {module.conv2.weight: [0.004, 4D], module.fc1.weight: [0.002, Rows+Cols]}", rangePolicy,
			"regularize conv2.weight group_lasso layers 0.004 from epoch 0 to 6 every 2\nregularize fc1.weight group_lasso rows_cols 0.002 from epoch 0 to 6 every 2"},
		{"GroupVarianceRegularizer", "regularizer", "reg_regims: {module.conv2.weight: [0.00001, Channels]}", rangePolicy,
			"regularize conv2.weight group_variance channels 1e-5 from epoch 0 to 6 every 2"},
		{"QuantAwareTrainRangeLinearQuantizer", "quantizer", "bits_activations: 8\n    bits_weights: 4\n    bits_bias: null\n    mode: SYMMETRIC_RESTRICTED\n    quantize_inputs: false",
			"    starting_epoch: 0\n    ending_epoch: 6\n    frequency: 1\n",
			"quantize * qat weights=4 bits activations=8 bits mode=sym_restr quantize_inputs=false from epoch 0"},
		{"PACTQuantizer", "quantizer", "bits_activations: 4\n    bits_weights: 4\n    act_clip_init_val: 6\n    act_clip_decay: 0.0002",
			"    starting_epoch: 0\n    ending_epoch: 6\n    frequency: 1\n",
			"quantize * pact 4 bits alpha=6 alpha_decay=0.0002 from epoch 0"},
		{"WRPNQuantizer", "quantizer", "bits_activations: 4\n    bits_weights: 2", "    starting_epoch: 0\n    ending_epoch: 6\n    frequency: 1\n",
			"# c: Distiller re-quantizes up to ending_epoch 6; dst's quantization-aware training runs to the end of training, so run 6 epochs (--epochs 6).\nquantize * wrpn weights=2 bits activations=4 bits from epoch 0"},
		{"DorefaQuantizer", "quantizer", "bits_weights: 3", "    starting_epoch: 0\n    ending_epoch: 6\n    frequency: 1\n",
			"quantize * dorefa weights=3 bits activations=32 bits from epoch 0"},
		{"MultiStepMultiGammaLR", "lr_scheduler", "milestones: [2, 4]\n    gammas: [0.5, 0.2]", "    starting_epoch: 0\n    ending_epoch: 6\n    frequency: 1\n",
			"lr multistep gammas=[0.5, 0.2] at epochs [2, 4]"},
		{"MultiStepLR", "lr_scheduler", "milestones: [3]\n    gamma: 0.5", "    starting_epoch: 0\n    ending_epoch: 6\n    frequency: 1\n",
			"lr multistep 0.5 at epoch 3"},
		{"StructureRemover", "extension", "thinning_func_str: contract_model\n    arch: simplenet_mnist\n    dataset: mnist", "    epochs: [3]\n",
			"thin contract at epoch 3"},
		{"ChannelRemover", "extension", "thinning_func_str: remove_channels\n    arch: simplenet_mnist\n    dataset: mnist", rangePolicy,
			"thin channels at epochs [0, 2, 4]"},
	}
	sigs := stdlib.Signatures()
	for _, tc := range tests {
		t.Run(tc.class, func(t *testing.T) {
			src := tc.kind + "s:\n  c:\n    class: " + tc.class + "\n    " + tc.body + "\npolicies:\n  - " + tc.kind + ": {instance_name: c}\n" + tc.window
			res, err := importer.Import("c.yaml", []byte(src), importer.Options{Builtins: sigs})
			if err == nil {
				res, err = importer.Import("c.yaml", []byte(src), importer.Options{Builtins: sigs, Params: res.Synthetic()})
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, src)
			}
			got := string(res.Source)
			if !strings.Contains(got, "\n"+tc.want+"\n") {
				t.Errorf("output lacks\n%s\ngot:\n%s", tc.want, got)
			}
		})
	}
}
