package stdlib

import (
	"fmt"
	"math"

	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
)

// Signatures returns the table of every builtin method a .dst script can name: pruners,
// regularizers, quantizers, learning-rate schedules, distillation and thinning. The
// checker validates scripts against it and the interpreter dispatches on (statement,
// method). Each call builds a fresh table, so a host may add its own methods to it.
//
// The semantics of each method follow Distiller (see docs/language.md); the Doc strings
// are the reference a stdlib implementation must match.
func Signatures() *lang.Builtins {
	return lang.MustBuiltins(signatureTable()...)
}

// sigPruneControl returns the fine-control flags every pruner accepts (Distiller's policy args).
func sigPruneControl() []lang.ArgSpec {
	return []lang.ArgSpec{
		{Name: "keep_mask", Type: lang.TypeFlag, Default: "false", Doc: "At the end of the window's last epoch make a forward_only or double_copies mask permanent (Distiller keep_mask). Ordinary masks always outlive their window."},
		{Name: "forward_only", Type: lang.TypeFlag, Default: "false", Doc: "Mask weights for the forward pass only; the optimizer may revive them (Distiller mask_on_forward_only, soft pruning)."},
		{Name: "mask_gradients", Type: lang.TypeFlag, Default: "false", Doc: "Also zero the gradients of pruned weights; needs forward_only."},
		{Name: "double_copies", Type: lang.TypeFlag, Default: "false", Doc: "Compute the loss on masked weights but let the optimizer update the unmasked copy (Distiller use_double_copies)."},
		{Name: "discard_masks", Type: lang.TypeFlag, Default: "false", Doc: "Drop the mask at the end of each mini-batch, so it acts on one forward pass only (DropFilter)."},
		{Name: "skip_first_minibatch", Type: lang.TypeFlag, Default: "false", Doc: "Do not set masks on the first mini-batch of an epoch; set them on the second."},
		{Name: "fold_bn", Type: lang.TypeFlag, Default: "false", Doc: "Rank or threshold Conv2d weights scaled by the following BatchNorm's gamma/sqrt(var+eps)."},
	}
}

// sigStructureArgs returns the arguments of ranked structure pruners.
func sigStructureArgs() []lang.ArgSpec {
	return []lang.ArgSpec{
		{Name: "leader", Type: lang.TypeFlag, Default: "false", Doc: "Rank only the first selected parameter and reuse its keep/drop map for the others (Distiller group_dependency Leader), for layers whose outputs are summed."},
		{Name: "block", Type: lang.TypeIntList, Doc: "Block shape [repetitions, depth, 1, 1] for the blocks granularity; required there."},
		{Name: "noise", Type: lang.TypeFraction, Default: "0", Doc: "Probability of multiplying the scores by N(0,1) noise before ranking (AMC's stochastic ranking)."},
		{Name: "group_size", Type: lang.TypeInteger, Default: "1", Bounds: &[2]float64{1, math.MaxInt32}, Doc: "Round the number of removed structures down to a multiple of this."},
	}
}

func sigConcat(parts ...[]lang.ArgSpec) []lang.ArgSpec {
	var out []lang.ArgSpec
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// sigQuantBits returns the bit-width arguments every quantizer takes. maxWeights and
// maxActs, when > 0, are the widest weights and activations the method can run (linear
// stores weights as int8 and activations in at most 16 bits); `N bits` stands for both,
// so the checker holds it to both limits. Biases are not quantized by a bit width of
// their own: linear quantizes them to the accumulator's scale and width (accum), and
// quantization-aware training keeps them in floating point.
func sigQuantBits(defBits string, maxWeights, maxActs int) []lang.ArgSpec {
	bits := "Bit width for weights and activations unless weights= or activations= says otherwise."
	wts, acts := "Bit width of weights; defaults to bits.", "Bit width of activations; defaults to bits."
	var wb, ab *[2]float64
	if maxWeights > 0 {
		wb = &[2]float64{1, float64(maxWeights)}
		wts = fmt.Sprintf("Bit width of weights, 1 to %d; defaults to bits.", maxWeights)
	}
	if maxActs > 0 {
		ab = &[2]float64{1, float64(maxActs)}
		acts = fmt.Sprintf("Bit width of activations, 1 to %d; defaults to bits.", maxActs)
	}
	if maxWeights > 0 && maxActs > 0 {
		bits = fmt.Sprintf("Bit width for weights and activations unless weights= or activations= says otherwise, so at most %d "+
			"(the weights' limit) unless weights= is given, and at most %d unless activations= is.", maxWeights, maxActs)
	}
	return []lang.ArgSpec{
		{Name: "bits", Type: lang.TypeBits, Default: defBits, Positional: true, Doc: bits},
		{Name: "weights", Type: lang.TypeBits, Bounds: wb, Doc: wts},
		{Name: "activations", Type: lang.TypeBits, Bounds: ab, Doc: acts},
		{Name: "float", Type: lang.TypeFlag, Default: "false", Doc: "Leave the selected layers in floating point; meant for override lines (Distiller's null bits)."},
	}
}

// qatOverrides are the only arguments an override line of a quantization-aware training
// method may give: one run trains with one bit width for weights and one for activations.
var qatOverrides = []string{"float"}

func signatureTable() []lang.Signature {
	// Granularity and ranking vocabularies shared by several methods.
	structured := []string{"filters", "channels", "rows", "blocks"}
	allPruneGrans := []string{"elements", "filters", "channels", "rows", "blocks"}
	threshGrans := []string{"elements", "kernels", "rows", "cols", "filters", "channels"}
	lassoGroups := []string{"filters", "channels", "kernels", "rows", "cols", "rows_cols", "layers", "channels_layers"}
	rankings := []string{"l1", "l2", "apoz", "mean_activation", "gradient", "random"}
	// Pruners accept every window form: one-shot (at epoch, before or after training) or
	// periodic.
	var periodic []lang.WindowForm
	return []lang.Signature{
		// ---- prune -------------------------------------------------------------
		{
			Statement: "prune", Method: "threshold", Aliases: []string{"magnitude"},
			Doc: "Magnitude pruning (Distiller MagnitudeParameterPruner): keep a weight iff |w| > threshold. " +
				"With a structure granularity (Distiller StructureParameterPruner) a structure is kept iff its norm, " +
				"chosen by criterion, exceeds the threshold.",
			Args: sigConcat([]lang.ArgSpec{
				{Name: "threshold", Type: lang.TypeNonNegative, Required: true, Positional: true, Doc: "The magnitude below or at which weights (or structure norms) are pruned."},
				{Name: "criterion", Type: lang.TypeEnum, Enum: []string{"max", "mean_abs", "l1", "mean_l2", "l2"}, Default: "mean_abs", Doc: "How a structure's norm is computed for structure granularities: max |w|, mean |w|, L1, mean L2 or L2."},
			}, sigPruneControl()),
			Granularities: threshGrans, Windows: periodic, Masks: true, Thin: true,
		},
		{
			Statement: "prune", Method: "sensitivity",
			Doc: "Sensitivity pruning (Han et al.; Distiller SensitivityPruner): keep a weight iff |w| > s·σ, where σ is the " +
				"standard deviation of the tensor computed once, on the policy's first application, and cached. Applying it again " +
				"prunes more as surviving weights shrink.",
			Args: sigConcat([]lang.ArgSpec{
				{Name: "s", Type: lang.TypeNonNegative, Required: true, Positional: true, Doc: "Sensitivity: the threshold in standard deviations of the tensor."},
			}, sigPruneControl()),
			Granularities: []string{"elements"}, Windows: periodic, Masks: true, Thin: true,
		},
		{
			Statement: "prune", Method: "level", Default: true,
			Doc: "Level pruning (Distiller SparsityLevelParameterPruner): prune the given fraction of the tensor. Element-wise, " +
				"exactly k = floor(sparsity·N) weights, those of smallest |w|, are pruned (ties broken by index: Distiller prunes every " +
				"weight tied at the cut, so it can prune more). With a structure " +
				"granularity the structures are scored by the ranking and the floor(sparsity·n) lowest-scored are pruned " +
				"(Distiller L1/L2/APoZ/MeanActivation/Gradient/Random RankedStructureParameterPruner), keeping at least one group. " +
				"It is the default method: `prune conv1 filters 40% by l1` means level.",
			Args: sigConcat([]lang.ArgSpec{
				{Name: "sparsity", Type: lang.TypeFraction, Required: true, Positional: true, Doc: "Fraction of elements or structures to prune."},
			}, sigStructureArgs(), sigPruneControl()),
			Granularities: allPruneGrans, Rankings: rankings, Windows: periodic, Masks: true, Thin: true,
		},
		{
			Statement: "prune", Method: "agp",
			Doc: "Automated gradual pruning (Zhu & Gupta; Distiller AutomatedGradualPruner and the *_AGP structure pruners): at each " +
				"active epoch e the target is s_f + (s_i − s_f)·(1 − (e − A)/span)³ with span = floor((B − A − 1)/K)·K for the window " +
				"`from epoch A to B every K`; then level pruning to that target (by the ranking, for structures). The target reaches " +
				"s_f at epoch A + span. The window must end and span must be positive.",
			Args: sigConcat([]lang.ArgSpec{
				{Name: "sparsity", Type: lang.TypeFractionRange, Required: true, Positional: true, Doc: "Initial -> final sparsity, initial below final."},
			}, sigStructureArgs(), sigPruneControl()),
			Granularities: allPruneGrans, Rankings: append(append([]string(nil), rankings...), "bernoulli"),
			Windows: []lang.WindowForm{lang.FormRange}, NeedsEnd: true, Masks: true, Thin: true,
		},
		{
			Statement: "prune", Method: "rnn",
			Doc: "Baidu RNN pruning (Narang et al.; Distiller BaiduRNNPruner): with ramp = A + ramp_offset, θ = 2·q·K / (2·(ramp − A) + " +
				"3·(B − ramp)) computed once and φ = θ·ramp_slope, the threshold at epoch e is θ·(e − A + 1)/K before the ramp and " +
				"(θ·(ramp − A + 1) + φ·(e − ramp + 1))/K from it on; keep |w| > threshold.",
			Args: sigConcat([]lang.ArgSpec{
				{Name: "q", Type: lang.TypePositive, Required: true, Positional: true, Doc: "Threshold scale, typically the 90th percentile of |w| of the trained model."},
				{Name: "ramp_offset", Type: lang.TypeInteger, Required: true, Doc: "Epochs from the window start to the ramp."},
				{Name: "ramp_slope", Type: lang.TypePositive, Required: true, Doc: "Slope multiplier applied from the ramp on."},
			}, sigPruneControl()),
			Granularities: []string{"elements"}, Windows: []lang.WindowForm{lang.FormRange}, NeedsEnd: true, Masks: true,
		},
		{
			Statement: "prune", Method: "splicing",
			Doc: "Dynamic network surgery (Guo et al.; Distiller SplicingPruner): with μ and σ the mean and std of |W| cached at the " +
				"first call and s grown as s·((e − A)·growth + 1), a = (μ + σ·s)·low and b = (μ + σ·s)·high; the mask becomes 0 where " +
				"|w| < a, 1 where |w| >= b and keeps its previous value in between (hysteresis, pruned weights can be spliced back). " +
				"Use it with forward_only.",
			Args: sigConcat([]lang.ArgSpec{
				{Name: "s", Type: lang.TypeNonNegative, Required: true, Positional: true, Doc: "Sensitivity in standard deviations of |W|."},
				{Name: "low", Type: lang.TypePositive, Default: "0.9", Doc: "Multiplier of the lower (prune) threshold."},
				{Name: "high", Type: lang.TypePositive, Default: "1.1", Doc: "Multiplier of the upper (splice back) threshold."},
				{Name: "growth", Type: lang.TypeNonNegative, Default: "0", Doc: "Per-epoch linear growth of s (Distiller sensitivity_multiplier)."},
			}, sigPruneControl()),
			Granularities: []string{"elements"}, Windows: periodic, Masks: true,
		},
		{
			Statement: "prune", Method: "random",
			Doc: "Random-level structure pruning (Distiller RandomLevelStructureParameterPruner): at each application draw a fraction " +
				"uniformly from the range, then prune that fraction of the structures by the ranking (L1 by default), DropFilter-like.",
			Args: sigConcat([]lang.ArgSpec{
				{Name: "sparsity", Type: lang.TypeFractionRange, Required: true, Positional: true, Doc: "Range the fraction is drawn from."},
				{Name: "seed", Type: lang.TypeInteger, Default: "1", Doc: "Seed of the random draws."},
			}, sigStructureArgs(), sigPruneControl()),
			Granularities: structured, Rankings: []string{"l1", "l2"}, Windows: periodic, Masks: true, Thin: true,
		},
		{
			Statement: "prune", Method: "bernoulli",
			Doc: "Bernoulli filter dropping (Distiller BernoulliFilterPruner): each filter is kept with probability 1 − sparsity and the " +
				"kept filters are not rescaled (dst masks are 0/1; Distiller scales by filters/kept). Usually combined with every K " +
				"steps and discard_masks.",
			Args: sigConcat([]lang.ArgSpec{
				{Name: "sparsity", Type: lang.TypeFraction, Required: true, Positional: true, Doc: "Probability of dropping each filter."},
				{Name: "seed", Type: lang.TypeInteger, Default: "1", Doc: "Seed of the random draws."},
			}, sigPruneControl()),
			Granularities: []string{"filters"}, Windows: periodic, Masks: true,
		},

		// ---- regularize --------------------------------------------------------
		{
			Statement: "regularize", Method: "l1",
			Doc: "L1 regularization (Distiller L1Regularizer): adds strength·Σ|w| to the loss of each selected parameter before the " +
				"backward pass. With threshold, after each mini-batch weights with |w| <= strength are zeroed by a one-shot mask " +
				"(kept when keep_mask is set).",
			Args: []lang.ArgSpec{
				{Name: "strength", Type: lang.TypeNonNegative, Required: true, Positional: true, Doc: "The coefficient λ."},
				{Name: "threshold", Type: lang.TypeFlag, Default: "false", Doc: "Zero weights with |w| <= λ after each mini-batch."},
				{Name: "keep_mask", Type: lang.TypeFlag, Default: "false", Doc: "Keep the last threshold mask after the window ends."},
			},
			Granularities: []string{"elements"}, DefaultWindow: "from epoch 0",
		},
		{
			Statement: "regularize", Method: "l2",
			Doc: "L2 regularization: adds strength·Σw² to the loss of each selected parameter before the backward pass (per-parameter " +
				"weight decay).",
			Args: []lang.ArgSpec{
				{Name: "strength", Type: lang.TypeNonNegative, Required: true, Positional: true, Doc: "The coefficient λ."},
			},
			Granularities: []string{"elements"}, DefaultWindow: "from epoch 0",
		},
		{
			Statement: "regularize", Method: "group_lasso",
			Doc: "Group lasso (Distiller GroupLassoRegularizer, SSL): adds strength·Σ_g ‖w_g‖₂ over the groups of the granularity: " +
				"filters (dim 0), channels (dim 1 across filters, 1e-8 inside the square root), kernels (each k×k kernel), rows, " +
				"cols, rows_cols (both terms), layers (the whole tensor, for layer removal) or channels_layers (both). With " +
				"threshold, groups whose norm (max or mean_abs) is <= strength are zeroed after each mini-batch.",
			Args: []lang.ArgSpec{
				{Name: "strength", Type: lang.TypeNonNegative, Required: true, Positional: true, Doc: "The coefficient λ."},
				{Name: "threshold", Type: lang.TypeEnum, Enum: []string{"none", "max", "mean_abs"}, Default: "none", Doc: "Group norm used to zero groups after each mini-batch; none disables it."},
				{Name: "keep_mask", Type: lang.TypeFlag, Default: "false", Doc: "Keep the last threshold mask after the window ends (then thin to remove the groups)."},
			},
			Granularities: lassoGroups, DefaultWindow: "from epoch 0", Thin: true,
		},
		{
			Statement: "regularize", Method: "group_variance",
			Doc: "Group variance (Guided Structured Sparsity, Torfi et al.; Distiller GroupVarianceRegularizer): adds " +
				"strength / Var(channel L2 norms) to the loss, pushing channel norms apart so weak channels can be pruned.",
			Args: []lang.ArgSpec{
				{Name: "strength", Type: lang.TypeNonNegative, Required: true, Positional: true, Doc: "The coefficient λ."},
			},
			Granularities: []string{"channels"}, DefaultWindow: "from epoch 0",
		},

		// ---- quantize ----------------------------------------------------------
		{
			Statement: "quantize", Method: "linear", Default: true,
			Doc: "Post-training range-linear quantization (Distiller PostTrainLinearQuantizer): weights, activations and biases are " +
				"quantized q = round(scale·x − zp), clamped to the integer range, with the scale and zero point from the mode " +
				"(sym, sym_restr, asym_s, asym_u), per tensor or per output channel, and activation ranges clipped by clip " +
				"(none, avg, n_std, gauss, laplace). Runs once, after training; override lines change settings per layer. " +
				"Weights are stored as int8 (1 to 8 bits), activations take 1 to 16 bits (1 to 8 with ACIQ clipping), and biases are " +
				"quantized to the accumulator's scale (accum bits).",
			Args: sigConcat(sigQuantBits("8", 8, 16), []lang.ArgSpec{
				{Name: "accum", Type: lang.TypeBits, Default: "32", Doc: "Bit width of the accumulator (always signed), and of the biases, which are quantized to its scale."},
				{Name: "mode", Type: lang.TypeEnum, Enum: []string{"sym", "sym_restr", "asym_s", "asym_u"}, Default: "sym", Doc: "Symmetric (full or restricted range) or asymmetric signed/unsigned."},
				{Name: "per_channel", Type: lang.TypeFlag, Default: "false", Doc: "Separate scale and zero point per output channel (dim 0) of 2-D and 4-D weights."},
				{Name: "clip", Type: lang.TypeEnum, Enum: []string{"none", "avg", "n_std", "gauss", "laplace"}, Default: "none", Doc: "Activation clipping: absolute range, averaged per-sample range, mean ± n_std·σ, or ACIQ Gaussian/Laplace."},
				{Name: "n_std", Type: lang.TypePositive, Doc: "Number of standard deviations for clip=n_std (required there)."},
				{Name: "half_range", Type: lang.TypeFlag, Default: "false", Doc: "Use the positive half range for ACIQ clipping (a ReLU follows)."},
				{Name: "clip_weights", Type: lang.TypeFlag, Default: "false", Doc: "Apply the activation clip mode to weights too (Distiller also_clip_weights)."},
				{Name: "scale_bits", Type: lang.TypeBits, Doc: "Approximate each requantization scale by an integer multiplier of this many bits and a shift."},
				{Name: "stats", Type: lang.TypeString, Doc: "Path of an activation-statistics file; absent means dynamic per-batch ranges."},
			}),
			Windows: []lang.WindowForm{lang.FormAfter}, DefaultWindow: "after training",
			Overrides: true, Exclusive: true,
		},
		{
			Statement: "quantize", Method: "qat",
			Doc: "Quantization-aware training with range-linear fake quantization (Jacob et al.; Distiller " +
				"QuantAwareTrainRangeLinearQuantizer): weights are re-quantized from a floating-point copy after every mini-batch " +
				"and activation ranges are tracked by a bias-corrected EMA; gradients pass straight through.",
			Args: sigConcat(sigQuantBits("8", 0, 0), []lang.ArgSpec{
				{Name: "mode", Type: lang.TypeEnum, Enum: []string{"sym", "sym_restr", "asym_s", "asym_u"}, Default: "sym", Doc: "Symmetric or asymmetric ranges."},
				{Name: "per_channel", Type: lang.TypeFlag, Default: "false", Doc: "Per-output-channel weight scales."},
				{Name: "ema_decay", Type: lang.TypeFraction, Default: "0.999", Bounds: &[2]float64{0, 1}, OpenBounds: true, Doc: "Decay of the activation-range EMA, in (0, 1)."},
				{Name: "quantize_inputs", Type: lang.TypeFlag, Default: "true", Doc: "Also fake-quantize the model input."},
			}),
			Windows: []lang.WindowForm{lang.FormRange}, DefaultWindow: "from epoch 0", PreparesModel: true,
			Overrides: true, OverrideArgs: qatOverrides, Exclusive: true,
		},
		{
			Statement: "quantize", Method: "dorefa",
			Doc: "DoReFa-Net (Zhou et al.; Distiller DorefaQuantizer): for b > 1, w' = tanh(w)/(2·max|tanh(w)|) + 0.5 and " +
				"w_q = 2·round((2^b − 1)·w')/(2^b − 1) − 1; for b = 1, w_q = sign(w)·mean|w|. ReLUs become clamp(x, 0, 1) quantized " +
				"to 2^b − 1 steps. Trained with a straight-through estimator.",
			Args:    sigConcat(sigQuantBits("8", 0, 0), []lang.ArgSpec{{Name: "scale_weights", Type: lang.TypeFlag, Doc: "dst extension: multiply the quantized weights by the layer's largest |w| so they keep its scale (needed by networks without batch normalisation, such as simplenet_mnist)."}}),
			Windows: []lang.WindowForm{lang.FormRange}, DefaultWindow: "from epoch 0", PreparesModel: true,
			Overrides: true, OverrideArgs: qatOverrides, Exclusive: true,
		},
		{
			Statement: "quantize", Method: "pact",
			Doc: "PACT (Choi et al.; Distiller PACTQuantizer): DoReFa weights; each ReLU becomes min(relu(x), α) with a learned " +
				"per-layer α, quantized on [0, α] to 2^b − 1 steps. α has its own optimizer group with weight decay alpha_decay.",
			Args: sigConcat(sigQuantBits("8", 0, 0), []lang.ArgSpec{
				{Name: "alpha", Type: lang.TypePositive, Default: "8", Doc: "Initial value of the clipping parameter α."},
				{Name: "alpha_decay", Type: lang.TypeNonNegative, Doc: "Weight decay of α; absent uses the optimizer's."},
				{Name: "scale_weights", Type: lang.TypeFlag, Doc: "dst extension: multiply the quantized weights by the layer's largest |w| so they keep its scale (needed by networks without batch normalisation, such as simplenet_mnist)."},
			}),
			Windows: []lang.WindowForm{lang.FormRange}, DefaultWindow: "from epoch 0", PreparesModel: true,
			Overrides: true, OverrideArgs: qatOverrides, Exclusive: true,
		},
		{
			Statement: "quantize", Method: "wrpn",
			Doc: "WRPN (Mishra et al.; Distiller WRPNQuantizer): weights clamped to [−1, 1] and quantized symmetrically with scale " +
				"(2^b − 1)/2; activations clamped to [0, 1] as in DoReFa. widen multiplies the filters of every hidden layer, " +
				"as the paper's wide networks do; the widened layers are initialised afresh, so it is for training from scratch.",
			Args: sigConcat(sigQuantBits("8", 0, 0), []lang.ArgSpec{
				{Name: "widen", Type: lang.TypePositive, Default: "1", Bounds: &[2]float64{1, 8}, Doc: "Width multiplier, from 1 to 8: every hidden space of C channels becomes round(C·widen); the input and the class scores keep their sizes."},
				{Name: "scale_weights", Type: lang.TypeFlag, Doc: "dst extension: quantize w/max|w| and multiply the result by max|w|, so that small weights (networks without batch normalisation, such as simplenet_mnist) do not all round to zero."},
			}),
			Windows: []lang.WindowForm{lang.FormRange}, DefaultWindow: "from epoch 0", PreparesModel: true,
			Overrides: true, OverrideArgs: qatOverrides, Exclusive: true,
		},

		// ---- lr ----------------------------------------------------------------
		{
			Statement: "lr", Method: "step",
			Doc: "Step decay (StepLR): for the window `from epoch A every K epochs`, lr = base·gamma^floor((e − A)/K) from epoch A on (up to B when the window says `to B`).",
			Args: []lang.ArgSpec{
				{Name: "gamma", Type: lang.TypePositive, Default: "0.1", Positional: true, Doc: "Multiplicative decay per step."},
			},
			Windows: []lang.WindowForm{lang.FormRange}, Exclusive: true,
		},
		{
			Statement: "lr", Method: "multistep",
			Doc: "Multi-step decay (MultiStepLR / MultiStepMultiGammaLR): the window `at epochs [m1, m2, ...]` lists the milestones; " +
				"at each milestone lr is multiplied by gamma, or by the matching element of gammas when given.",
			Args: []lang.ArgSpec{
				{Name: "gamma", Type: lang.TypePositive, Default: "0.1", Positional: true, Doc: "Multiplicative decay at each milestone."},
				{Name: "gammas", Type: lang.TypeNumberList, Doc: "One decay per milestone, instead of gamma."},
			},
			Windows: []lang.WindowForm{lang.FormList, lang.FormAt}, Exclusive: true,
		},
		{
			Statement: "lr", Method: "exponential",
			Doc: "Exponential decay (ExponentialLR): lr = base·gamma^(e − A) at each epoch e of the window.",
			Args: []lang.ArgSpec{
				{Name: "gamma", Type: lang.TypePositive, Required: true, Positional: true, Doc: "Multiplicative decay per epoch."},
			},
			Windows: []lang.WindowForm{lang.FormRange}, DefaultWindow: "from epoch 0", Exclusive: true,
		},
		{
			Statement: "lr", Method: "cosine",
			Doc: "Cosine annealing (CosineAnnealingLR; with restarts, CosineAnnealingWarmRestarts): over the window [A, B), " +
				"lr = min_lr + (base − min_lr)·(1 + cos(π·(e − A)/T))/2 with T = B − A, or T = restarts restarting every restarts epochs.",
			Args: []lang.ArgSpec{
				{Name: "min_lr", Type: lang.TypeNonNegative, Default: "0", Positional: true, Doc: "The floor of the schedule (eta_min)."},
				{Name: "restarts", Type: lang.TypeInteger, Doc: "Period T_0 of warm restarts in epochs; absent means no restart."},
			},
			Windows: []lang.WindowForm{lang.FormRange}, NeedsEnd: true, Exclusive: true,
		},
		{
			Statement: "lr", Method: "warmup",
			Doc: "Linear warm-up: lr = start + (end − start)·(e − A)/(B − A) over the window [A, B), per epoch or, with " +
				"`every 1 steps`, per mini-batch, so the ramp would reach its end at B; from B on the next lr policy (or the optimizer's base lr) takes over.",
			Args: []lang.ArgSpec{
				{Name: "lr", Type: lang.TypeNumberRange, Required: true, Positional: true, Doc: "Learning rate at the window's start -> the rate the ramp reaches at B, where the window ends (usually the base rate that takes over)."},
			},
			Windows: []lang.WindowForm{lang.FormRange}, NeedsEnd: true, Exclusive: true,
		},
		{
			Statement: "lr", Method: "poly",
			Doc: "Polynomial decay (Distiller PolynomialLR): lr = base·(1 − (e − A)/T)^power over the window [A, B), T = B − A.",
			Args: []lang.ArgSpec{
				{Name: "power", Type: lang.TypePositive, Default: "1", Positional: true, Doc: "The exponent."},
			},
			Windows: []lang.WindowForm{lang.FormRange}, NeedsEnd: true, Exclusive: true,
		},
		{
			Statement: "lr", Method: "plateau",
			Doc: "Reduce on plateau (ReduceLROnPlateau): multiply lr by factor when the validation metric (loss for mode min, top-1 " +
				"for mode max) has not improved for patience epochs, then wait cooldown epochs; never below min_lr.",
			Args: []lang.ArgSpec{
				{Name: "factor", Type: lang.TypePositive, Default: "0.1", Positional: true, Bounds: &[2]float64{0, 1}, OpenBounds: true, Doc: "Multiplicative decay, in (0, 1)."},
				{Name: "patience", Type: lang.TypeInteger, Default: "10", Doc: "Epochs without improvement before decaying."},
				{Name: "cooldown", Type: lang.TypeInteger, Default: "0", Doc: "Epochs to wait after a decay."},
				{Name: "min_lr", Type: lang.TypeNonNegative, Default: "0", Doc: "Lower bound of lr."},
				{Name: "mode", Type: lang.TypeEnum, Enum: []string{"min", "max"}, Default: "min", Doc: "min watches validation loss, max watches top-1."},
			},
			Windows: []lang.WindowForm{lang.FormRange}, DefaultWindow: "from epoch 0", Exclusive: true,
		},

		// ---- distill -----------------------------------------------------------
		{
			Statement: "distill", Method: "kd", Default: true,
			Doc: "Knowledge distillation (Hinton et al.; Distiller KnowledgeDistillationPolicy): the teacher runs without gradients " +
				"on each batch and the loss becomes student·CE(y, z_s) + soft·T²·KL(softmax(z_t/T) ‖ softmax(z_s/T)).",
			Args: []lang.ArgSpec{
				{Name: "temperature", Type: lang.TypePositive, Default: "1", Positional: true, Doc: "Softmax temperature T."},
				{Name: "student", Type: lang.TypeNonNegative, Default: "0.5", Doc: "Weight of the student's loss against the labels."},
				{Name: "soft", Type: lang.TypeNonNegative, Default: "0.5", Doc: "Weight of the distillation (soft-target) loss."},
				{Name: "model", Type: lang.TypeEnum, Enum: nn.ModelNames(), Doc: "The teacher's zoo model: required when the checkpoint does not say which model it holds (a state dict written by other tools), checked against the checkpoint when it does."},
			},
			Windows: []lang.WindowForm{lang.FormRange}, DefaultWindow: "from epoch 0", Exclusive: true,
		},

		// ---- thin --------------------------------------------------------------
		{
			Statement: "thin", Method: "contract", Default: true,
			Doc: "Network thinning (Distiller contract_model): remove all-zero filters, then all-zero channels, shrinking the " +
				"following convolutions, linear layers, batch norms, gradients, masks and optimizer state. Runs at the first " +
				"mini-batch of each window epoch, after masks are applied.",
			Windows: []lang.WindowForm{lang.FormAt, lang.FormList, lang.FormBefore, lang.FormAfter},
		},
		{
			Statement: "thin", Method: "filters",
			Doc: "Filter removal (Distiller remove_filters): drop the all-zero filters of 4-D weights and the matching input " +
				"channels of their successors and batch norms.",
			Windows: []lang.WindowForm{lang.FormAt, lang.FormList, lang.FormBefore, lang.FormAfter},
		},
		{
			Statement: "thin", Method: "channels",
			Doc: "Channel removal (Distiller remove_channels): drop all-zero input channels (zero columns of 2-D weights) and the " +
				"matching filters of their predecessors and batch norms.",
			Windows: []lang.WindowForm{lang.FormAt, lang.FormList, lang.FormBefore, lang.FormAfter},
		},
	}
}
