package stdlib

// Quantization, with Distiller's semantics (catalog §1.5).
//
// Range-linear quantization maps x to q = clamp(round(scale·x − zp), qmin, qmax) and back
// to x̂ = (q + zp)/scale. [LinearParams] chooses scale and zero point from a saturation
// range and a [LinearMode]; [ClipRange] chooses the saturation range of an activation from
// its calibration [Stats] and a [ClipMode] (absolute, averaged, n·σ, or ACIQ's Gaussian
// and Laplace optima). [PTQ] applies all of it to a trained model: it collects statistics
// ([Calibrate]), quantizes every Conv2d and Linear weight (per tensor or per output
// channel), their biases to the accumulator scale, their inputs and their outputs, and
// replaces the layers with [nn.RangeLinear] integer layers.
//
// Quantization-aware training keeps a float copy of each weight ([WeightQAT]): before a
// forward pass the weights hold their quantized values, the gradient computed there is
// carried back to the float copy (straight-through for the rounding; through the tanh
// normalisation for DoReFa), and the optimizer updates the float copy. Activations are
// quantized by [nn.ActQuant] modules that replace the ReLUs, with the functions of
// [DorefaAct], [PACTAct] and [EMAAct].

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path"
	"slices"
	"sort"

	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// LinearMode is a range-linear quantization mode.
type LinearMode int

// The modes (language names sym, sym_restr, asym_u, asym_s).
const (
	// Symmetric: zero point 0, n = (2^b − 1)/2, range [−2^(b−1), 2^(b−1) − 1].
	Symmetric LinearMode = iota
	// SymmetricRestricted: zero point 0, n = 2^(b−1) − 1, range [−n, n].
	SymmetricRestricted
	// AsymmetricUnsigned: the range [min(lo, 0), max(hi, 0)] onto [0, 2^b − 1].
	AsymmetricUnsigned
	// AsymmetricSigned: as AsymmetricUnsigned, shifted to [−2^(b−1), 2^(b−1) − 1].
	AsymmetricSigned
)

var modeNames = [...]string{Symmetric: "sym", SymmetricRestricted: "sym_restr", AsymmetricUnsigned: "asym_u", AsymmetricSigned: "asym_s"}

// String returns the mode's name in the language.
func (lm LinearMode) String() string {
	if lm >= 0 && int(lm) < len(modeNames) {
		return modeNames[lm]
	}
	return fmt.Sprintf("LinearMode(%d)", int(lm))
}

// ParseLinearMode returns the mode called name (sym, sym_restr, asym_u, asym_s).
func ParseLinearMode(name string) (LinearMode, error) {
	for i, n := range modeNames {
		if n == name {
			return LinearMode(i), nil
		}
	}
	return 0, fmt.Errorf("stdlib: unknown quantization mode %q (want sym, sym_restr, asym_u or asym_s)", name)
}

// Symmetric reports whether the mode has a zero point of 0.
func (lm LinearMode) Symmetric() bool { return lm == Symmetric || lm == SymmetricRestricted }

// IntRange returns the integer range of b-bit values in mode lm.
func IntRange(bits int, lm LinearMode) (lo, hi int32) {
	h := int32(1) << (bits - 1)
	switch lm {
	case SymmetricRestricted:
		return -(h - 1), h - 1
	case AsymmetricUnsigned:
		return 0, 2*h - 1
	}
	return -h, h - 1
}

// checkBits reports an error unless 1 ≤ bits ≤ 32.
func checkBits(what string, bits int) error {
	if bits < 1 || bits > 32 {
		return fmt.Errorf("stdlib: %s bit width %d must lie in [1, 32]", what, bits)
	}
	return nil
}

// LinearParams returns the scale and zero point of b-bit quantization in mode lm of
// values saturating at [lo, hi] (Distiller's symmetric_ and
// asymmetric_linear_quantization_params):
//
//	symmetric:  sat = max(|lo|, |hi|), scale = n/sat (1 when sat = 0), zp = 0
//	asymmetric: lo' = min(lo, 0), hi' = max(hi, 0), scale = (2^b − 1)/(hi' − lo')
//	            (1 when hi' = lo'), zp = round(scale·lo') (+ 2^(b−1) when signed)
func LinearParams(lo, hi float64, bits int, lm LinearMode) (scale, zp float64) {
	if lm.Symmetric() {
		n := (math.Exp2(float64(bits)) - 1) / 2
		if lm == SymmetricRestricted {
			n = math.Exp2(float64(bits-1)) - 1
		}
		sat := math.Max(math.Abs(lo), math.Abs(hi))
		if sat == 0 {
			return 1, 0
		}
		return n / sat, 0
	}
	lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	n := math.Exp2(float64(bits)) - 1
	diff := hi - lo
	if diff == 0 {
		diff = n
	}
	scale = n / diff
	zp = math.RoundToEven(scale * lo)
	if lm == AsymmetricSigned {
		zp += math.Exp2(float64(bits - 1))
	}
	return scale, zp
}

// Quantize returns clamp(round(scale·x − zp), lo, hi) with round-half-to-even.
func Quantize(x, scale, zp float64, lo, hi int32) float64 {
	return math.Min(math.Max(math.RoundToEven(scale*x-zp), float64(lo)), float64(hi))
}

// Dequantize returns (q + zp)/scale.
func Dequantize(q, scale, zp float64) float64 { return (q + zp) / scale }

// ClipMode is how an activation's saturation range is chosen from its statistics.
type ClipMode int

// The clip modes (language names none, avg, n_std, gauss, laplace).
const (
	// ClipNone uses the absolute min and max.
	ClipNone ClipMode = iota
	// ClipAvg uses the means over samples of the per-sample min and max.
	ClipAvg
	// ClipNStd uses [max(min, μ − N·σ), min(max, μ + N·σ)].
	ClipNStd
	// ClipGauss uses ACIQ's optimal clip for a Gaussian: α = c_G(b)·σ.
	ClipGauss
	// ClipLaplace uses ACIQ's optimal clip for a Laplace law: α = c_L(b)·β, β = E|x − μ|.
	ClipLaplace
)

var clipNames = [...]string{ClipNone: "none", ClipAvg: "avg", ClipNStd: "n_std", ClipGauss: "gauss", ClipLaplace: "laplace"}

// String returns the clip mode's name in the language.
func (cm ClipMode) String() string {
	if cm >= 0 && int(cm) < len(clipNames) {
		return clipNames[cm]
	}
	return fmt.Sprintf("ClipMode(%d)", int(cm))
}

// ParseClipMode returns the clip mode called name.
func ParseClipMode(name string) (ClipMode, error) {
	for i, n := range clipNames {
		if n == name {
			return ClipMode(i), nil
		}
	}
	return 0, fmt.Errorf("stdlib: unknown clip mode %q (want none, avg, n_std, gauss or laplace)", name)
}

// ACIQ coefficients (Banner et al.), by bit width, as in Distiller's AciqClipper.
var (
	aciqGauss       = map[int]float64{1: 1.24, 2: 1.71, 3: 2.15, 4: 2.55, 5: 2.93, 6: 3.28, 7: 3.61, 8: 3.92}
	aciqGaussHalf   = map[int]float64{1: 1.71, 2: 2.15, 3: 2.55, 4: 2.93, 5: 3.28, 6: 3.61, 7: 3.92, 8: 4.2}
	aciqLaplace     = map[int]float64{0: 1.05, 1: 1.86, 2: 2.83, 3: 3.89, 4: 5.03, 5: 6.2, 6: 7.41, 7: 8.64, 8: 9.89}
	aciqLaplaceHalf = map[int]float64{0: 1.86, 1: 2.83, 2: 3.89, 3: 5.02, 4: 6.2, 5: 7.41, 6: 8.64, 7: 9.89, 8: 11.16}
)

// ACIQAlpha returns ACIQ's clipping value α for b bits: c_G(b)·σ for [ClipGauss],
// c_L(b)·β for [ClipLaplace], from the half-range tables when halfRange is set.
func ACIQAlpha(cm ClipMode, bits int, st Stats, halfRange bool) (float64, error) {
	switch cm {
	case ClipGauss:
		tab := aciqGauss
		if halfRange {
			tab = aciqGaussHalf
		}
		c, ok := tab[bits]
		if !ok {
			return 0, fmt.Errorf("stdlib: ACIQ gauss clipping has coefficients for 1–8 bits, got %d", bits)
		}
		return c * st.Std, nil
	case ClipLaplace:
		tab := aciqLaplace
		if halfRange {
			tab = aciqLaplaceHalf
		}
		c, ok := tab[bits]
		if !ok {
			return 0, fmt.Errorf("stdlib: ACIQ laplace clipping has coefficients for 0–8 bits, got %d", bits)
		}
		return c * st.B, nil
	}
	return 0, fmt.Errorf("stdlib: %v is not an ACIQ clip mode", cm)
}

// ClipRange returns the saturation range [lo, hi] of a tensor with statistics st for
// b-bit quantization in mode lm:
//
//	none     [min, max]
//	avg      [avg_min, avg_max]
//	n_std    [max(min, μ − N·σ), min(max, μ + N·σ)]
//	gauss, laplace (ACIQ): symmetric ±(|μ| + α); asymmetric lo = max(min, μ − α),
//	         hi = lo + 2α (lo + α with halfRange)
func ClipRange(st Stats, cm ClipMode, bits int, nStd float64, halfRange bool, lm LinearMode) (lo, hi float64, err error) {
	switch cm {
	case ClipNone:
		return st.Min, st.Max, nil
	case ClipAvg:
		return st.AvgMin, st.AvgMax, nil
	case ClipNStd:
		if !(nStd > 0) {
			return 0, 0, fmt.Errorf("stdlib: clip n_std needs a positive n_std, got %v", nStd)
		}
		return math.Max(st.Min, st.Mean-nStd*st.Std), math.Min(st.Max, st.Mean+nStd*st.Std), nil
	case ClipGauss, ClipLaplace:
		alpha, err := ACIQAlpha(cm, bits, st, halfRange)
		if err != nil {
			return 0, 0, err
		}
		if lm.Symmetric() {
			a := math.Abs(st.Mean) + alpha
			return -a, a, nil
		}
		lo = math.Max(st.Min, st.Mean-alpha)
		if halfRange {
			return lo, lo + alpha, nil
		}
		return lo, lo + 2*alpha, nil
	}
	return 0, 0, fmt.Errorf("stdlib: unknown clip mode %v", cm)
}

// Stats are calibration statistics of one tensor over a calibration set (Distiller's
// QuantCalibrationStatsCollector): absolute min and max, the means over samples of each
// sample's min and max, mean, standard deviation and β = E|x − μ| (μ the batch mean).
type Stats struct {
	// Min and Max are the extremes over every value seen.
	Min float64 `json:"min"`
	Max float64 `json:"max"`
	// AvgMin and AvgMax are the means over samples of each sample's min and max.
	AvgMin float64 `json:"avg_min"`
	AvgMax float64 `json:"avg_max"`
	// Mean and Std are the mean and (population) standard deviation of all values.
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
	// B is the mean absolute deviation from each batch's mean (ACIQ's Laplace β).
	B float64 `json:"b"`
	// Samples is the number of samples and Count the number of values seen.
	Samples int   `json:"samples"`
	Count   int64 `json:"count"`

	sum, sumSq, sumB, sumMin, sumMax float64
}

// Add accumulates a batch of n samples (x holds n·size values, sample-major).
func (st *Stats) Add(x []float32, n int) {
	if n == 0 || len(x) == 0 {
		return
	}
	size := len(x) / n
	if st.Samples == 0 {
		st.Min, st.Max = math.Inf(1), math.Inf(-1)
	}
	var bs, bsq float64
	for i := 0; i < n; i++ {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range x[i*size : (i+1)*size] {
			f := float64(v)
			lo, hi = math.Min(lo, f), math.Max(hi, f)
			bs += f
			bsq += f * f
		}
		st.sumMin += lo
		st.sumMax += hi
		st.Min, st.Max = math.Min(st.Min, lo), math.Max(st.Max, hi)
	}
	mu := bs / float64(len(x))
	var b float64
	for _, v := range x {
		b += math.Abs(float64(v) - mu)
	}
	st.sum += bs
	st.sumSq += bsq
	st.sumB += b
	st.Samples += n
	st.Count += int64(len(x))
	c := float64(st.Count)
	st.Mean = st.sum / c
	st.Std = math.Sqrt(math.Max(st.sumSq/c-st.Mean*st.Mean, 0))
	st.B = st.sumB / c
	st.AvgMin = st.sumMin / float64(st.Samples)
	st.AvgMax = st.sumMax / float64(st.Samples)
}

// LayerStats are the statistics of a Conv2d or Linear layer's input and output.
type LayerStats struct {
	Input  Stats `json:"input"`
	Output Stats `json:"output"`
}

// Calibrate runs m in evaluation mode over the first batches minibatches of set
// (batches ≤ 0: all of it) and returns the statistics of every Conv2d and Linear
// layer's input and output (after a fused ReLU), by layer name.
func Calibrate(ctx context.Context, m *nn.Model, set *data.Set, batch, batches int) (map[string]*LayerStats, error) {
	if batch < 1 {
		return nil, fmt.Errorf("stdlib: calibrate: batch size %d must be at least 1", batch)
	}
	if set == nil || set.N == 0 {
		return nil, fmt.Errorf("stdlib: calibrate: empty data set")
	}
	if err := m.CheckInput(set.C, set.H, set.W, set.Classes); err != nil {
		return nil, err
	}
	stats := map[string]*LayerStats{}
	observe := func(layer string, in, out *tensor.Dense) {
		ls := stats[layer]
		if ls == nil {
			ls = &LayerStats{}
			stats[layer] = ls
		}
		n := in.Shape()[0]
		ls.Input.Add(ops.F32(in), n)
		ls.Output.Add(ops.F32(out), n)
	}
	err := nn.ReplaceModules(m, func(mod nn.Module) (nn.Module, error) {
		switch mod.(type) {
		case *nn.Conv2d, *nn.Linear:
			return &nn.Tap{Inner: mod, Observe: observe}, nil
		}
		return nil, nil
	})
	defer nn.ReplaceModules(m, func(mod nn.Module) (nn.Module, error) {
		if t, ok := mod.(*nn.Tap); ok {
			return t.Inner, nil
		}
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	loader := data.NewLoader(set, batch, false, 0)
	steps := loader.Steps()
	if batches > 0 {
		steps = min(steps, batches)
	}
	for s := 0; s < steps; s++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := min(batch, set.N-s*batch)
		x := ops.New(n, set.C, set.H, set.W)
		y := make([]int32, n)
		loader.Batch(s, ops.F32(x), y)
		m.Forward(x, false)
	}
	return stats, nil
}

// SaveStats writes calibration statistics as JSON, so evaluation can be repeated without
// recalibrating.
func SaveStats(file string, stats map[string]*LayerStats) error {
	b, err := json.MarshalIndent(stats, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(file, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("stdlib: save stats: %w", err)
	}
	return nil
}

// LoadStats reads statistics written by [SaveStats].
func LoadStats(file string) (map[string]*LayerStats, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("stdlib: load stats: %w", err)
	}
	var stats map[string]*LayerStats
	if err := json.Unmarshal(b, &stats); err != nil {
		return nil, fmt.Errorf("stdlib: load stats %s: %w", file, err)
	}
	layers := slices.Sorted(maps.Keys(stats))
	for _, layer := range layers {
		ls := stats[layer]
		if ls == nil {
			return nil, fmt.Errorf("stdlib: load stats %s: layer %s has no statistics", file, layer)
		}
		for _, side := range []struct {
			name string
			st   *Stats
		}{{"input", &ls.Input}, {"output", &ls.Output}} {
			if err := side.st.validate(); err != nil {
				return nil, fmt.Errorf("stdlib: load stats %s: layer %s %s: %w", file, layer, side.name, err)
			}
		}
	}
	return stats, nil
}

// maxStat bounds the magnitude of a statistic: quantization scales are float32, and a
// range beyond this gives a scale of 0 or infinity.
const maxStat = 1e30

// validate reports a statistic that no calibration gives: no samples, a value that is
// not finite or too large, extremes out of order, a negative spread.
func (st *Stats) validate() error {
	if st.Samples < 1 || st.Count < 1 {
		return fmt.Errorf("samples %d and count %d: want at least one of each (calibrate with dst stats)", st.Samples, st.Count)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"min", st.Min}, {"max", st.Max}, {"avg_min", st.AvgMin}, {"avg_max", st.AvgMax}, {"mean", st.Mean}, {"std", st.Std}, {"b", st.B}} {
		if math.IsNaN(f.v) || math.Abs(f.v) > maxStat {
			return fmt.Errorf("%s is %v: want a finite value of magnitude at most %g", f.name, f.v, maxStat)
		}
	}
	switch {
	case st.Min > st.Max:
		return fmt.Errorf("min %v exceeds max %v", st.Min, st.Max)
	case st.AvgMin > st.AvgMax:
		return fmt.Errorf("avg_min %v exceeds avg_max %v", st.AvgMin, st.AvgMax)
	case st.Std < 0 || st.B < 0:
		return fmt.Errorf("std %v and b %v must not be negative", st.Std, st.B)
	}
	return nil
}

// QuantSettings are the settings of one layer's post-training quantization.
type QuantSettings struct {
	// Float leaves the layer in floating point (Distiller's null bits).
	Float bool
	// WeightBits, ActBits and AccumBits are the bit widths of weights (1–8, stored as
	// int8), of inputs and outputs (1–16), and of the accumulator and quantized bias.
	WeightBits, ActBits, AccumBits int
	// Mode is the range-linear mode of weights and activations.
	Mode LinearMode
	// PerChannel gives each output channel of the weight its own scale and zero point.
	PerChannel bool
	// Clip chooses activation ranges; NStd is N for ClipNStd; HalfRange uses ACIQ's
	// half-range tables (set automatically for outputs of a layer with a fused ReLU).
	Clip      ClipMode
	NStd      float64
	HalfRange bool
	// ClipWeights applies Clip to weights too (statistics of the weight tensor).
	ClipWeights bool
	// ScaleBits, when > 0, approximates each requantization multiplier M by A/2^n with
	// an integer A of ScaleBits bits (n = ⌊log2((2^m − 1)/M)⌋, A = ⌊M·2^n⌋).
	ScaleBits int
}

// Check reports whether the settings are usable.
func (qs *QuantSettings) Check() error {
	if qs.Float {
		return nil
	}
	if err := checkBits("accumulator", qs.AccumBits); err != nil {
		return err
	}
	if qs.WeightBits < 1 || qs.WeightBits > 8 {
		return fmt.Errorf("stdlib: weight bit width %d must lie in [1, 8]: integer layers store weights as int8", qs.WeightBits)
	}
	if qs.ActBits < 1 || qs.ActBits > 16 {
		return fmt.Errorf("stdlib: activation bit width %d must lie in [1, 16] for integer layers", qs.ActBits)
	}
	if qs.ScaleBits < 0 || qs.ScaleBits > 32 {
		return fmt.Errorf("stdlib: scale_bits %d must lie in [0, 32]", qs.ScaleBits)
	}
	if (qs.Clip == ClipGauss || qs.Clip == ClipLaplace) && qs.ActBits > 8 {
		return fmt.Errorf("stdlib: ACIQ %v clipping has coefficients up to 8 bits, activations have %d", qs.Clip, qs.ActBits)
	}
	if (qs.Clip == ClipGauss || qs.Clip == ClipLaplace) && qs.ClipWeights && qs.WeightBits > 8 {
		return fmt.Errorf("stdlib: ACIQ %v clipping has coefficients up to 8 bits, weights have %d", qs.Clip, qs.WeightBits)
	}
	if qs.Clip == ClipNStd && !(qs.NStd > 0) {
		return fmt.Errorf("stdlib: clip n_std needs n_std > 0")
	}
	if qs.Clip == ClipNStd && qs.PerChannel && qs.ClipWeights {
		return fmt.Errorf("stdlib: clip n_std is not allowed with per-channel weights")
	}
	return nil
}

// Override changes the settings of the layers whose name matches Pattern (a glob as
// path.Match reads it: "conv*", "fc2") or is one of Layers.
type Override struct {
	// Pattern selects layers by name; "" matches none (use Layers).
	Pattern string
	// Layers lists layer names selected exactly.
	Layers []string
	// Settings replace the defaults for those layers.
	Settings QuantSettings
}

// PTQ is post-training range-linear quantization (Distiller's
// PostTrainLinearQuantizer). The zero value is not usable: set Default.
type PTQ struct {
	// Default applies to every Conv2d and Linear layer no override matches.
	Default QuantSettings
	// Overrides are tried in order; the first whose pattern matches a layer wins. An
	// override that matches no layer is an error.
	Overrides []Override
	// Only, when not nil, lists the layers to quantize (the policy's selector); the
	// others stay in floating point.
	Only []string
}

// Settings returns the settings of layer: the first matching override's, or Default.
func (q *PTQ) Settings(layer string) QuantSettings {
	if q.Only != nil && !containsLayer(q.Only, layer) {
		return QuantSettings{Float: true}
	}
	for _, o := range q.Overrides {
		if o.matches(layer) {
			return o.Settings
		}
	}
	return q.Default
}

func (o *Override) matches(layer string) bool {
	for _, l := range o.Layers {
		if l == layer {
			return true
		}
	}
	ok, _ := path.Match(o.Pattern, layer)
	return o.Pattern != "" && ok
}

// String names the override by its pattern or its layer list.
func (o *Override) String() string {
	if o.Pattern != "" {
		return fmt.Sprintf("%q", o.Pattern)
	}
	return fmt.Sprint(o.Layers)
}

// QuantizedLayer describes one layer [PTQ.Apply] quantized.
type QuantizedLayer struct {
	// Name is the layer's name; Settings the settings it was quantized with.
	Name     string
	Settings QuantSettings
	// Layer is the integer layer now in the model.
	Layer *nn.RangeLinear
}

// Apply quantizes m in place: every Conv2d and Linear layer (inside Sequential
// containers and the [nn.Block]s of a model whose batch norms [nn.FoldBatchNorms]
// folded; a BasicBlock's layers cannot be replaced) that its settings do not leave in
// float becomes an [nn.RangeLinear] built
// from the layer's weights and the statistics of its input and output (from
// [Calibrate] on the same model). With nil stats the layers compute their activation
// ranges from each batch instead (Distiller's dynamic mode; such a model cannot be
// exported). It returns the quantized layers in model order.
func (q *PTQ) Apply(m *nn.Model, stats map[string]*LayerStats) ([]QuantizedLayer, error) {
	if err := q.Default.Check(); err != nil {
		return nil, err
	}
	matched := make([]bool, len(q.Overrides))
	for _, o := range q.Overrides {
		if _, err := path.Match(o.Pattern, ""); err != nil {
			return nil, fmt.Errorf("stdlib: override %s: %w", o.String(), err)
		}
		if err := o.Settings.Check(); err != nil {
			return nil, fmt.Errorf("stdlib: override %s: %w", o.String(), err)
		}
	}
	// Check before changing anything.
	var layers []string
	for _, li := range m.Layers() {
		if li.Type != "Conv2d" && li.Type != "Linear" {
			continue
		}
		layers = append(layers, li.Name)
		for i, o := range q.Overrides {
			if o.matches(li.Name) {
				matched[i] = true
				break
			}
		}
		if q.Settings(li.Name).Float {
			continue
		}
		if stats != nil && stats[li.Name] == nil {
			return nil, fmt.Errorf("stdlib: quantize: no calibration statistics for layer %s", li.Name)
		}
	}
	for i, ok := range matched {
		if !ok {
			return nil, fmt.Errorf("stdlib: quantize: override %s matches no Conv2d or Linear layer (layers: %v)", q.Overrides[i].String(), layers)
		}
	}
	var out []QuantizedLayer
	err := nn.ReplaceModules(m, func(mod nn.Module) (nn.Module, error) {
		switch mod.(type) {
		case *nn.Conv2d, *nn.Linear:
		default:
			return nil, nil
		}
		li := mod.Info()
		qs := q.Settings(li.Name)
		if qs.Float {
			return nil, nil
		}
		var ls *LayerStats
		if stats != nil {
			ls = stats[li.Name]
		}
		rl, err := quantizeLayer(mod, qs, ls, li.FusedReLU)
		if err != nil {
			return nil, err
		}
		out = append(out, QuantizedLayer{Name: li.Name, Settings: qs, Layer: rl})
		return rl, nil
	})
	return out, err
}

// quantizeLayer builds the integer form of a Conv2d or Linear layer.
func quantizeLayer(mod nn.Module, qs QuantSettings, ls *LayerStats, fusedReLU bool) (*nn.RangeLinear, error) {
	var w, b *nn.Param
	switch l := mod.(type) {
	case *nn.Conv2d:
		w, b = l.Weight, l.Bias
	case *nn.Linear:
		w, b = l.Weight, l.Bias
	}
	actBits := qs.ActBits
	if ls == nil {
		return dynamicLayer(mod, w, b, qs, fusedReLU)
	}
	// Input.
	lo, hi, err := ClipRange(ls.Input, qs.Clip, actBits, qs.NStd, false, qs.Mode)
	if err != nil {
		return nil, fmt.Errorf("stdlib: quantize %s input: %w", w.Layer, err)
	}
	sx, zpx := LinearParams(lo, hi, actBits, qs.Mode)
	qlo, qhi := IntRange(actBits, qs.Mode)
	in := nn.QuantParams{Scale: []float32{float32(sx)}, ZeroPoint: []float32{float32(zpx)}, Min: qlo, Max: qhi}
	// Output.
	var outQ *nn.QuantParams
	{
		half := qs.HalfRange || fusedReLU
		lo, hi, err := ClipRange(ls.Output, qs.Clip, actBits, qs.NStd, half, qs.Mode)
		if err != nil {
			return nil, fmt.Errorf("stdlib: quantize %s output: %w", w.Layer, err)
		}
		sy, zpy := LinearParams(lo, hi, actBits, qs.Mode)
		outQ = &nn.QuantParams{Scale: []float32{float32(sy)}, ZeroPoint: []float32{float32(zpy)}, Min: qlo, Max: qhi}
	}
	wq, q, err := quantizeWeights(w, qs)
	if err != nil {
		return nil, err
	}
	cout := w.Shape()[0]
	groups := len(wq.Scale)
	// Bias, in the accumulator scale s_x·s_w[o] with zero point 0.
	var bq []int32
	if b != nil {
		alo, ahi := IntRange(qs.AccumBits, Symmetric)
		bq = make([]int32, cout)
		for o, v := range b.Data() {
			sw := wq.Scale[0]
			if groups > 1 {
				sw = wq.Scale[o]
			}
			bq[o] = int32(Quantize(float64(v), float64(in.Scale[0])*float64(sw), 0, alo, ahi))
		}
	}
	rl, err := nn.NewRangeLinear(mod, in, wq, outQ, q, bq)
	if err != nil {
		return nil, err
	}
	if qs.ScaleBits > 0 {
		mult := make([]float32, len(rl.Mult))
		for o, mv := range rl.Mult {
			a, n := ApproxScale(float64(mv), qs.ScaleBits)
			mult[o] = float32(float64(a) / math.Exp2(float64(n)))
		}
		if err := rl.SetMult(mult); err != nil {
			return nil, err
		}
	}
	return rl, nil
}

// quantizeWeights returns the integer weights of w and their parameters, per tensor or
// per output channel.
func quantizeWeights(w *nn.Param, qs QuantSettings) (nn.QuantParams, []int8, error) {
	var err error
	cout := w.Shape()[0]
	groups := 1
	if qs.PerChannel {
		groups = cout
	}
	wlo, whi := IntRange(qs.WeightBits, qs.Mode)
	// Unsigned 8-bit weights are stored shifted by 128 (q' = q − 128, zp' = zp + 128),
	// which leaves v = q + zp unchanged and fits int8.
	var shift int32
	if wlo < -128 || whi > 127 {
		shift = wlo + 128
	}
	wq := nn.QuantParams{Min: wlo - shift, Max: whi - shift}
	q := make([]int8, w.Len())
	if qs.WeightBits > 8 {
		return nn.QuantParams{}, nil, fmt.Errorf("stdlib: quantize %s: weights of %d bits do not fit the int8 layer", w.Layer, qs.WeightBits)
	}
	wd := w.Data()
	gsize := w.Len() / groups
	for g := 0; g < groups; g++ {
		vals := wd[g*gsize : (g+1)*gsize]
		var st Stats
		st.Add(vals, 1)
		lo, hi := st.Min, st.Max
		if qs.ClipWeights {
			if lo, hi, err = ClipRange(st, qs.Clip, qs.WeightBits, qs.NStd, false, qs.Mode); err != nil {
				return nn.QuantParams{}, nil, fmt.Errorf("stdlib: quantize %s weight: %w", w.Layer, err)
			}
		}
		s, zp := LinearParams(lo, hi, qs.WeightBits, qs.Mode)
		wq.Scale = append(wq.Scale, float32(s))
		wq.ZeroPoint = append(wq.ZeroPoint, float32(zp)+float32(shift))
		for i, v := range vals {
			q[g*gsize+i] = int8(int32(nn.QuantizeValue(v, float32(s), float32(zp), wlo, whi)) - shift)
		}
	}
	return wq, q, nil
}

// dynamicLayer builds a layer whose activation ranges come from each batch.
func dynamicLayer(mod nn.Module, w, b *nn.Param, qs QuantSettings, fusedReLU bool) (*nn.RangeLinear, error) {
	wq, q, err := quantizeWeights(w, qs)
	if err != nil {
		return nil, err
	}
	qlo, qhi := IntRange(qs.ActBits, qs.Mode)
	rangeOf := func(half bool) nn.DynamicRange {
		return func(x []float32, n int) nn.QuantParams {
			var st Stats
			st.Add(x, n)
			lo, hi, err := ClipRange(st, qs.Clip, qs.ActBits, qs.NStd, half, qs.Mode)
			if err != nil { // settings were checked: cannot happen
				lo, hi = st.Min, st.Max
			}
			s, zp := LinearParams(lo, hi, qs.ActBits, qs.Mode)
			return nn.QuantParams{Scale: []float32{float32(s)}, ZeroPoint: []float32{float32(zp)}, Min: qlo, Max: qhi}
		}
	}
	in := nn.QuantParams{Scale: []float32{1}, ZeroPoint: []float32{0}, Min: qlo, Max: qhi}
	var bq []int32
	var bias []float32
	if b != nil {
		bq, bias = make([]int32, w.Shape()[0]), b.Data()
	}
	rl, err := nn.NewRangeLinear(mod, in, wq, &in, q, bq)
	if err != nil {
		return nil, err
	}
	alo, ahi := IntRange(qs.AccumBits, Symmetric)
	if err := rl.SetDynamic(rangeOf(qs.HalfRange), rangeOf(qs.HalfRange || fusedReLU), bias, alo, ahi); err != nil {
		return nil, err
	}
	return rl, nil
}

// ApproxScale returns the integer multiplier a and shift n with M ≈ a/2^n for an
// m-bit multiplier: n = ⌊log2((2^m − 1)/M)⌋, a = ⌊M·2^n⌋ (Distiller's
// approx_scale_as_mult_and_shift).
func ApproxScale(mult float64, bits int) (a int64, n int) {
	n = int(math.Floor(math.Log2((math.Exp2(float64(bits)) - 1) / mult)))
	a = int64(math.Floor(mult * math.Exp2(float64(n))))
	return a, n
}

// LayerNames returns the sorted names of the layers in stats.
func LayerNames(stats map[string]*LayerStats) []string {
	names := make([]string, 0, len(stats))
	for k := range stats {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// NewPTQ returns the post-training quantization a checked `quantize linear` policy
// describes, with its override lines in order. layerOf maps a parameter name to its
// layer's name (nn.Param.Layer); override lines select parameters, PTQ acts on layers.
// It also returns the policy's stats path ("" when absent).
func NewPTQ(pol *lang.Policy, layerOf func(param string) string) (*PTQ, string, error) {
	if pol.Kind != lang.KindQuantize || pol.Method != "linear" {
		return nil, "", fmt.Errorf("stdlib: NewPTQ: policy is %s %s, not quantize linear", pol.Kind, pol.Method)
	}
	a := newArgs(pol)
	def, err := quantSettings(QuantSettings{WeightBits: 8, ActBits: 8, AccumBits: 32}, a.get)
	if err != nil {
		return nil, "", err
	}
	stats := a.str("stats", "")
	q := &PTQ{Default: def}
	if pol.Params != nil {
		q.Only = layersOf(pol.Params, layerOf)
	}
	for _, o := range pol.Overrides {
		layers := layersOf(o.Params, layerOf)
		get := func(name string) (lang.Value, bool) { v, ok := o.Args[name]; return v, ok }
		qs, err := quantSettings(def, get)
		if err != nil {
			return nil, "", err
		}
		q.Overrides = append(q.Overrides, Override{Layers: layers, Settings: qs})
	}
	return q, stats, a.err
}

// quantSettings applies the quantize arguments get returns on top of base.
func quantSettings(base QuantSettings, get func(string) (lang.Value, bool)) (QuantSettings, error) {
	qs := base
	if v, ok := get("bits"); ok {
		qs.WeightBits, qs.ActBits = v.Int(), v.Int()
	}
	if v, ok := get("weights"); ok {
		qs.WeightBits = v.Int()
	}
	if v, ok := get("activations"); ok {
		qs.ActBits = v.Int()
	}
	if v, ok := get("accum"); ok {
		qs.AccumBits = v.Int()
	}
	if v, ok := get("float"); ok {
		qs.Float = v.Bool
	}
	if v, ok := get("mode"); ok {
		m, err := ParseLinearMode(v.Str)
		if err != nil {
			return qs, err
		}
		qs.Mode = m
	}
	if v, ok := get("per_channel"); ok {
		qs.PerChannel = v.Bool
	}
	if v, ok := get("clip"); ok {
		c, err := ParseClipMode(v.Str)
		if err != nil {
			return qs, err
		}
		qs.Clip = c
	}
	if v, ok := get("n_std"); ok {
		qs.NStd = v.Num
	}
	if v, ok := get("half_range"); ok {
		qs.HalfRange = v.Bool
	}
	if v, ok := get("clip_weights"); ok {
		qs.ClipWeights = v.Bool
	}
	if v, ok := get("scale_bits"); ok {
		qs.ScaleBits = v.Int()
	}
	// Biases are quantized to the accumulator's scale and width (accum); the language has
	// no bias= for linear, and a policy built by hand with one is refused, not ignored.
	if _, ok := get("bias"); ok {
		return qs, fmt.Errorf("stdlib: quantize linear has no bias bit width: biases are quantized to the accumulator's scale with accum bits")
	}
	get("stats")
	return qs, qs.Check()
}

// layersOf returns the distinct layers of params, in order.
func layersOf(params []string, layerOf func(string) string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, p := range params {
		if l := layerOf(p); l != "" && !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}

func containsLayer(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// WeightFunc is a weight quantizer for quantization-aware training. Forward writes the
// quantized weights of w (a tensor of filters output channels) into wq; Backward turns g,
// the gradient with respect to wq, into the gradient with respect to w in place
// (straight-through for the rounding, exact for the other steps).
type WeightFunc interface {
	Forward(wq, w []float32, filters int)
	Backward(g, w []float32, filters int)
}

// DorefaWeights is DoReFa's weight quantizer (Zhou et al.; Distiller's
// dorefa_quantize_param). For b > 1: w' = tanh(w)/(2·max|tanh(w)|) + 0.5 and
// w_q = 2·round((2^b − 1)·w')/(2^b − 1) − 1, whose gradient flows through tanh and the
// max (autograd's, with the rounding straight-through). For b = 1: w_q = sign(w)·mean|w|
// (sign(0) = +1) with a straight-through gradient.
//
// With Scale set (a dst extension, off in Distiller's DoReFa) the quantized weights are
// multiplied by S = max|w| of the float weights, so they keep the float layer's scale:
// DoReFa's [−1, 1] weights suit networks with BatchNorm after every layer, and blow up
// or saturate the activations of networks without (simplenet_mnist). The gradient then
// includes S and the dependence of S on the largest weight.
type DorefaWeights struct {
	// Bits is the weight bit width (≥ 1).
	Bits int
	// Scale multiplies the quantized weights by max|w| (b > 1 only).
	Scale bool
}

// Forward implements [WeightFunc].
func (d DorefaWeights) Forward(wq, w []float32, _ int) {
	if d.Bits == 1 {
		var s float64
		for _, v := range w {
			s += math.Abs(float64(v))
		}
		m := float32(s / float64(len(w)))
		for i, v := range w {
			if v >= 0 {
				wq[i] = m
			} else {
				wq[i] = -m
			}
		}
		return
	}
	n := math.Exp2(float64(d.Bits)) - 1
	mx := tanhMax(w)
	scale, _ := d.scale(w)
	for i, v := range w {
		t := math.Tanh(float64(v))
		u := t/(2*mx) + 0.5
		wq[i] = float32((2*math.RoundToEven(n*u)/n - 1) * scale)
	}
}

// scale returns S = max|w| (1 without Scale or for a zero tensor) and its argmax.
func (d DorefaWeights) scale(w []float32) (float64, int) {
	if !d.Scale {
		return 1, -1
	}
	s, arg := 0.0, 0
	for i, v := range w {
		if a := math.Abs(float64(v)); a > s {
			s, arg = a, i
		}
	}
	if s == 0 {
		return 1, -1
	}
	return s, arg
}

// tanhMax returns max|tanh(w)| (1 when it is 0, so that w' is defined).
func tanhMax(w []float32) float64 {
	var mx float64
	for _, v := range w {
		mx = math.Max(mx, math.Abs(math.Tanh(float64(v))))
	}
	if mx == 0 {
		return 1
	}
	return mx
}

// Backward implements [WeightFunc].
func (d DorefaWeights) Backward(g, w []float32, _ int) {
	if d.Bits == 1 {
		return
	}
	// With Scale, w_s = S·w_q: dL/dw_q = S·g, plus dL/dS = Σ g·w_q flowing to the
	// largest |w|.
	scale, sarg := d.scale(w)
	var gs float64
	if sarg >= 0 {
		n := math.Exp2(float64(d.Bits)) - 1
		mx := tanhMax(w)
		for i, v := range w {
			u := math.Tanh(float64(v))/(2*mx) + 0.5
			gs += float64(g[i]) * (2*math.RoundToEven(n*u)/n - 1)
			g[i] *= float32(scale)
		}
	}
	defer func() {
		if sarg >= 0 {
			g[sarg] += float32(gs * math.Copysign(1, float64(w[sarg])))
		}
	}()
	// w_q = 2·u − 1 (rounding straight-through), u = t/(2M) + 0.5, M = max|t|:
	// dL/dt_i = 2·(g_i/(2M) − [i = argmax]·sign(t_i)·Σ_j g_j·t_j/(2M²)).
	mx, arg := 0.0, 0
	var sgt float64
	for i, v := range w {
		t := math.Tanh(float64(v))
		if a := math.Abs(t); a > mx {
			mx, arg = a, i
		}
		sgt += float64(g[i]) * t
	}
	if mx == 0 {
		mx = 1
	}
	targ := math.Tanh(float64(w[arg]))
	for i, v := range w {
		t := math.Tanh(float64(v))
		dt := float64(g[i]) / mx
		if i == arg {
			dt -= math.Copysign(1, targ) * sgt / (mx * mx)
		}
		g[i] = float32(dt * (1 - t*t))
	}
}

// WRPNWeights is WRPN's weight quantizer (Mishra et al.; Distiller's
// wrpn_quantize_param): clamp to [−1, 1], then round(s·w)/s with s = (2^b − 1)/2. The
// gradient passes where |w| ≤ 1. With Scale (a dst extension, as for DoReFa) the weights
// are first divided by S = max|w| and the result multiplied by it, so that a layer whose
// weights are all far below 1 (any layer without batch normalisation) does not round to
// zero; S is held constant in the backward pass.
type WRPNWeights struct {
	// Bits is the weight bit width (≥ 2).
	Bits int
	// Scale quantizes w/max|w| and multiplies the result by max|w|.
	Scale bool
}

// Forward implements [WeightFunc].
func (q WRPNWeights) Forward(wq, w []float32, _ int) {
	s := (math.Exp2(float64(q.Bits)) - 1) / 2
	S, _ := DorefaWeights{Scale: q.Scale}.scale(w)
	for i, v := range w {
		c := math.Min(math.Max(float64(v)/S, -1), 1)
		wq[i] = float32(math.RoundToEven(s*c) / s * S)
	}
}

// Backward implements [WeightFunc].
func (q WRPNWeights) Backward(g, w []float32, _ int) {
	if q.Scale {
		return // |w|/max|w| ≤ 1: the clamp never cuts
	}
	for i, v := range w {
		if v < -1 || v > 1 {
			g[i] = 0
		}
	}
}

// LinearWeights is range-linear fake quantization of weights for linear QAT
// (Distiller's QuantAwareTrainRangeLinearQuantizer): the range is the weight's (or each
// output channel's) min and max, re-read at every call; the gradient passes straight
// through.
type LinearWeights struct {
	// Bits, Mode and PerChannel are as in [QuantSettings].
	Bits       int
	Mode       LinearMode
	PerChannel bool
}

// Forward implements [WeightFunc].
func (q LinearWeights) Forward(wq, w []float32, filters int) {
	groups := 1
	if q.PerChannel && filters > 0 {
		groups = filters
	}
	lo, hi := IntRange(q.Bits, q.Mode)
	size := len(w) / groups
	for g := 0; g < groups; g++ {
		vals := w[g*size : (g+1)*size]
		mn, mx := math.Inf(1), math.Inf(-1)
		for _, v := range vals {
			mn, mx = math.Min(mn, float64(v)), math.Max(mx, float64(v))
		}
		s, zp := LinearParams(mn, mx, q.Bits, q.Mode)
		for i, v := range vals {
			wq[g*size+i] = float32(Dequantize(Quantize(float64(v), s, zp, lo, hi), s, zp))
		}
	}
}

// Backward implements [WeightFunc]: straight-through.
func (q LinearWeights) Backward([]float32, []float32, int) {}

// WeightQAT keeps the float copies of quantized weights during quantization-aware
// training (Distiller's train_with_fp_copy). Between [WeightQAT.Begin] and the end of
// training a parameter's Value holds its quantized weights, except from
// [WeightQAT.BeforeStep] to [WeightQAT.AfterStep], when it holds the float copy the
// optimizer updates. Evaluation therefore sees quantized weights.
type WeightQAT struct {
	// Params are the quantized weights and Funcs their quantizers (same length).
	Params []*nn.Param
	Funcs  []WeightFunc

	fp [][]float32
}

// Begin saves the float copies and quantizes the weights.
func (q *WeightQAT) Begin() {
	q.fp = make([][]float32, len(q.Params))
	for i, p := range q.Params {
		q.fp[i] = append([]float32(nil), p.Data()...)
		q.quantize(p, q.fp[i], q.Funcs[i])
	}
}

// quantize writes the quantized form of the float copy fp into p's values. A pruned
// weight (mask 0) stays zero in both: a quantizer whose levels do not hold 0 exactly
// (DoReFa's 2k/(2^b−1) − 1 for b ≥ 2 has no zero) would otherwise revive it.
func (q *WeightQAT) quantize(p *nn.Param, fp []float32, f WeightFunc) {
	m := p.MaskData()
	if m != nil {
		maskZero(fp, m)
	}
	f.Forward(p.Data(), fp, p.Shape()[0])
	if m != nil {
		maskZero(p.Data(), m)
	}
}

// BeforeStep turns each gradient (with respect to the quantized weights) into the
// gradient with respect to the float copy and puts the float copy back into Value.
//
// A parameter thinned since the last step has lost the float copy of its removed and
// kept entries alike; its quantized values become the new float copy.
func (q *WeightQAT) BeforeStep() {
	for i, p := range q.Params {
		if len(q.fp[i]) != p.Len() {
			q.fp[i] = append(q.fp[i][:0], p.Data()...)
		}
		q.Funcs[i].Backward(p.GradData(), q.fp[i], p.Shape()[0])
		if m := p.MaskData(); m != nil {
			maskZero(p.GradData(), m)
		}
		copy(p.Data(), q.fp[i])
	}
}

// AfterStep saves the updated float copies and quantizes the weights again.
func (q *WeightQAT) AfterStep() {
	for i, p := range q.Params {
		if len(q.fp[i]) != p.Len() { // thinned since Begin
			q.fp[i] = make([]float32, p.Len())
		}
		copy(q.fp[i], p.Data())
		q.quantize(p, q.fp[i], q.Funcs[i])
	}
}

// Began reports whether [WeightQAT.Begin] (or [WeightQAT.SetFloats]) has run.
func (q *WeightQAT) Began() bool { return q.fp != nil }

// SetFloats restores the float copies (one per parameter, as [WeightQAT.Float] returns
// them) of a run that already began, as when training resumes from a checkpoint whose
// weights are the quantized ones. It changes nothing and returns an error when a copy's
// length differs from its parameter's.
func (q *WeightQAT) SetFloats(fp [][]float32) error {
	if len(fp) != len(q.Params) {
		return fmt.Errorf("stdlib: qat: %d float copies for %d weights", len(fp), len(q.Params))
	}
	for i, p := range q.Params {
		if len(fp[i]) != p.Len() {
			return fmt.Errorf("stdlib: qat: the float copy of %s has %d values, the weight %d", p.Name, len(fp[i]), p.Len())
		}
	}
	q.fp = make([][]float32, len(fp))
	for i := range fp {
		q.fp[i] = append([]float32(nil), fp[i]...)
	}
	return nil
}

// Float returns the float copy of the i-th parameter (nil before Begin).
func (q *WeightQAT) Float(i int) []float32 {
	if q.fp == nil {
		return nil
	}
	return q.fp[i]
}

func maskZero(x, mask []float32) {
	for i, k := range mask {
		if k == 0 {
			x[i] = 0
		}
	}
}

// DorefaAct is DoReFa's (and WRPN's) activation: clamp(x, 0, 1) quantized to 2^b − 1
// steps; the gradient passes where 0 ≤ x ≤ 1. It implements [nn.ActQuantizer].
type DorefaAct struct {
	// Bits is the activation bit width.
	Bits int
}

// Forward implements [nn.ActQuantizer].
func (d *DorefaAct) Forward(dst, x []float32, _ bool) {
	n := float32(math.Exp2(float64(d.Bits)) - 1)
	for i, v := range x {
		c := min(max(v, 0), 1)
		dst[i] = float32(math.RoundToEven(float64(c*n))) / n
	}
}

// Backward implements [nn.ActQuantizer].
func (d *DorefaAct) Backward(dx, dy, x []float32) {
	for i, v := range x {
		if v >= 0 && v <= 1 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

// Params implements [nn.ActQuantizer]: none.
func (d *DorefaAct) Params() []*nn.Param { return nil }

// PACTAct is PACT's activation (Choi et al.; Distiller's
// LearnedClippedLinearQuantization): y = min(relu(x), α) quantized on [0, α] to 2^b − 1
// steps, α learned. The input gradient passes where 0 < x < α; dL/dα = Σ dy where
// x ≥ α. It implements [nn.ActQuantizer].
type PACTAct struct {
	// Bits is the activation bit width; Alpha the learned clipping value (one value).
	Bits  int
	Alpha *nn.Param
}

// NewPACTAct returns a PACT activation whose α, named layer+".clip_val", starts at alpha.
func NewPACTAct(layer string, bits int, alpha float64) *PACTAct {
	a := nn.NewParam(layer+".clip_val", layer, nn.KindOther, 1)
	a.Data()[0] = float32(alpha)
	return &PACTAct{Bits: bits, Alpha: a}
}

// Forward implements [nn.ActQuantizer].
func (p *PACTAct) Forward(dst, x []float32, _ bool) {
	a := p.Alpha.Data()[0]
	s := float32(math.Exp2(float64(p.Bits))-1) / a
	for i, v := range x {
		c := min(max(v, 0), a)
		dst[i] = float32(math.RoundToEven(float64(c*s))) / s
	}
}

// Backward implements [nn.ActQuantizer].
func (p *PACTAct) Backward(dx, dy, x []float32) {
	a := p.Alpha.Data()[0]
	var ga float64
	for i, v := range x {
		switch {
		case v >= a:
			dx[i] = 0
			ga += float64(dy[i])
		case v <= 0:
			dx[i] = 0
		default:
			dx[i] = dy[i]
		}
	}
	p.Alpha.GradData()[0] += float32(ga)
}

// Params implements [nn.ActQuantizer]: α.
func (p *PACTAct) Params() []*nn.Param { return []*nn.Param{p.Alpha} }

// EMAAct is linear QAT's activation fake-quantizer: in training the batch min and max
// feed exponential moving averages with bias correction (m_b ← d·m_b + (1 − d)·x,
// m = m_b/(1 − d^t)); x is clamped to the averaged range and fake-quantized in Mode
// with Bits. The gradient passes inside the range. It implements [nn.ActQuantizer].
type EMAAct struct {
	// Bits, Mode and Decay configure the quantizer.
	Bits  int
	Mode  LinearMode
	Decay float64

	minB, maxB float64
	steps      int
}

// Range returns the current bias-corrected range (0, 0 before the first training batch).
func (e *EMAAct) Range() (lo, hi float64) {
	if e.steps == 0 {
		return 0, 0
	}
	c := 1 - math.Pow(e.Decay, float64(e.steps))
	return e.minB / c, e.maxB / c
}

// Forward implements [nn.ActQuantizer].
func (e *EMAAct) Forward(dst, x []float32, train bool) {
	if train || e.steps == 0 {
		mn, mx := math.Inf(1), math.Inf(-1)
		for _, v := range x {
			mn, mx = math.Min(mn, float64(v)), math.Max(mx, float64(v))
		}
		e.minB = e.Decay*e.minB + (1-e.Decay)*mn
		e.maxB = e.Decay*e.maxB + (1-e.Decay)*mx
		e.steps++
	}
	lo, hi := e.Range()
	s, zp := LinearParams(lo, hi, e.Bits, e.Mode)
	qlo, qhi := IntRange(e.Bits, e.Mode)
	for i, v := range x {
		c := math.Min(math.Max(float64(v), lo), hi)
		dst[i] = float32(Dequantize(Quantize(c, s, zp, qlo, qhi), s, zp))
	}
}

// Backward implements [nn.ActQuantizer].
func (e *EMAAct) Backward(dx, dy, x []float32) {
	lo, hi := e.Range()
	for i, v := range x {
		if f := float64(v); f >= lo && f <= hi {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

// Params implements [nn.ActQuantizer]: none.
func (e *EMAAct) Params() []*nn.Param { return nil }

// QAT is a quantization-aware training configuration: a method (dorefa, pact, wrpn or
// qat), bit widths for the weights of Conv2d and Linear layers and for the activations
// that follow them (the ReLUs), and per-layer overrides.
type QAT struct {
	// Method is "dorefa", "pact", "wrpn" or "qat" (linear with EMA ranges).
	Method string
	// WeightBits and ActBits are the default bit widths; 0 leaves them in float.
	WeightBits, ActBits int
	// Mode and PerChannel configure linear QAT; EMADecay its activation EMA.
	Mode       LinearMode
	PerChannel bool
	EMADecay   float64
	// Alpha is PACT's initial clipping value.
	Alpha float64
	// ScaleWeights sets [DorefaWeights.Scale] for dorefa and pact (a dst extension).
	ScaleWeights bool
	// QuantizeInputs fake-quantizes the model input with an EMA range (linear QAT).
	QuantizeInputs bool
	// AlphaDecay is the weight decay of PACT's α when HasAlphaDecay is set; otherwise
	// the host uses its optimizer's. Install does not read it: the host builds the α
	// optimizer group from it.
	AlphaDecay    float64
	HasAlphaDecay bool
	// Float lists layers (Conv2d, Linear or ReLU names) left in floating point.
	Float []string
	// Widen is WRPN's width multiplier (1 or more; 0 means 1): Install widens every
	// hidden layer of the model by it ([nn.Widen]) before quantizing, initialising the
	// widened layers from a generator seeded with Seed.
	Widen float64
	Seed  uint64
}

// QATRun is a [QAT] installed in a model: the weight quantizer and the activation
// quantizers' parameters (PACT's α, which the host should give their own optimizer).
// Its hook methods are meant for nn.Hooks: Begin at OnTrainingBegin, BeforeStep at
// BeforeOptimizerStep, AfterStep at OnMinibatchEnd.
type QATRun struct {
	*WeightQAT
	// Alphas are PACT's clipping parameters (nil for other methods).
	Alphas []*nn.Param
	// Widened says which layers WRPN widened (nil without widening).
	Widened *nn.WidenReport
	// EMAs are linear QAT's activation quantizers, in model order (the input's first,
	// with quantize_inputs); their ranges are training state ([QATRun.EMAState]).
	EMAs []*EMAAct
}

// EMAState returns the running ranges of the EMA activation quantizers, in the order of
// [QATRun.EMAs]: the biased minimum and maximum and the number of updates of each.
func (r *QATRun) EMAState() [][3]float64 {
	out := make([][3]float64, len(r.EMAs))
	for i, e := range r.EMAs {
		out[i] = [3]float64{e.minB, e.maxB, float64(e.steps)}
	}
	return out
}

// SetEMAState restores ranges saved by [QATRun.EMAState]; it changes nothing and returns
// an error when st does not fit the run.
func (r *QATRun) SetEMAState(st [][3]float64) error {
	if len(st) != len(r.EMAs) {
		return fmt.Errorf("stdlib: qat: %d saved activation ranges, the model has %d", len(st), len(r.EMAs))
	}
	for i, v := range st {
		if v[2] < 0 || v[2] != math.Trunc(v[2]) || math.IsNaN(v[0]) || math.IsNaN(v[1]) {
			return fmt.Errorf("stdlib: qat: saved activation range %d is malformed (%v)", i, v)
		}
	}
	for i, v := range st {
		r.EMAs[i].minB, r.EMAs[i].maxB, r.EMAs[i].steps = v[0], v[1], int(v[2])
	}
	return nil
}

// Install replaces m's ReLUs by quantized activations and sets up the weight quantizer;
// call it before building the optimizer, so that new parameters (α) are in m.Params().
func (q *QAT) Install(m *nn.Model) (*QATRun, error) {
	var wf func() WeightFunc
	var af func(name string) nn.ActQuantizer
	for _, b := range []int{q.WeightBits, q.ActBits} {
		if b != 0 {
			if err := checkBits("QAT", b); err != nil {
				return nil, err
			}
		}
	}
	switch q.Method {
	case "dorefa", "wrpn":
		wf = func() WeightFunc { return DorefaWeights{Bits: q.WeightBits, Scale: q.ScaleWeights} }
		if q.Method == "wrpn" {
			wf = func() WeightFunc { return WRPNWeights{Bits: q.WeightBits, Scale: q.ScaleWeights} }
		}
		af = func(string) nn.ActQuantizer { return &DorefaAct{Bits: q.ActBits} }
	case "pact":
		if !(q.Alpha > 0) {
			return nil, fmt.Errorf("stdlib: pact: initial alpha %v must be positive", q.Alpha)
		}
		wf = func() WeightFunc { return DorefaWeights{Bits: q.WeightBits, Scale: q.ScaleWeights} }
		af = func(name string) nn.ActQuantizer { return NewPACTAct(name, q.ActBits, q.Alpha) }
	case "qat":
		if !(q.EMADecay > 0 && q.EMADecay < 1) {
			return nil, fmt.Errorf("stdlib: qat: ema_decay %v must lie in (0, 1)", q.EMADecay)
		}
		wf = func() WeightFunc { return LinearWeights{Bits: q.WeightBits, Mode: q.Mode, PerChannel: q.PerChannel} }
		af = func(string) nn.ActQuantizer { return &EMAAct{Bits: q.ActBits, Mode: q.Mode, Decay: q.EMADecay} }
	default:
		return nil, fmt.Errorf("stdlib: unknown quantization-aware method %q (want dorefa, pact, wrpn or qat)", q.Method)
	}
	float := map[string]bool{}
	for _, l := range q.Float {
		float[l] = true
	}
	run := &QATRun{WeightQAT: &WeightQAT{}}
	if q.Widen > 1 {
		rep, err := nn.Widen(m, q.Widen, rand.New(rand.NewPCG(q.Seed, 0x7772706e))) // "wrpn"
		if err != nil {
			return nil, fmt.Errorf("stdlib: %s: %w", q.Method, err)
		}
		run.Widened = rep
	}
	known := map[string]bool{}
	first := q.QuantizeInputs
	if first && q.Method != "qat" {
		return nil, fmt.Errorf("stdlib: %s: quantize_inputs applies to linear QAT (qat) only", q.Method)
	}
	var replace func(mod nn.Module) (nn.Module, error)
	replace = func(mod nn.Module) (nn.Module, error) {
		name := mod.Info().Name
		known[name] = true
		if first {
			first = false
			inner, err := replace(mod)
			if err != nil {
				return nil, err
			}
			if inner == nil {
				inner = mod
			}
			e := &EMAAct{Bits: q.ActBits, Mode: q.Mode, Decay: q.EMADecay}
			run.EMAs = append([]*EMAAct{e}, run.EMAs...)
			return &nn.InputQuant{Inner: inner, Quant: e}, nil
		}
		switch l := mod.(type) {
		case *nn.ReLU:
			if q.ActBits == 0 || float[name] {
				return nil, nil
			}
			aq := af(name)
			switch a := aq.(type) {
			case *PACTAct:
				run.Alphas = append(run.Alphas, a.Alpha)
			case *EMAAct:
				run.EMAs = append(run.EMAs, a)
			}
			return nn.NewActQuant(l, aq), nil
		case *nn.Conv2d, *nn.Linear:
			if q.WeightBits == 0 || float[name] {
				return nil, nil
			}
			w := mod.Params()[0]
			run.Params = append(run.Params, w)
			run.Funcs = append(run.Funcs, wf())
		}
		return nil, nil
	}
	if err := nn.ReplaceModules(m, replace); err != nil {
		return nil, err
	}
	for _, l := range q.Float {
		if !known[l] {
			return nil, fmt.Errorf("stdlib: %s: float layer %q is not a layer of %s", q.Method, l, m.Name)
		}
	}
	return run, nil
}

// QATHooks drives a [QATRun] from nn.Train; embed or wrap it to add other callbacks.
type QATHooks struct {
	nn.NopHooks
	// Run is the installed quantizer.
	Run *QATRun
}

// OnTrainingBegin implements nn.Hooks: quantize the weights, keeping float copies.
func (h *QATHooks) OnTrainingBegin() error { h.Run.Begin(); return nil }

// BeforeOptimizerStep implements nn.Hooks: hand the optimizer the float copies.
func (h *QATHooks) BeforeOptimizerStep(*nn.Step) error { h.Run.BeforeStep(); return nil }

// OnMinibatchEnd implements nn.Hooks: re-quantize the updated weights.
func (h *QATHooks) OnMinibatchEnd(int, int, int) error { h.Run.AfterStep(); return nil }

// NewQAT returns the quantization-aware training a checked quantize policy (method
// dorefa, pact, wrpn or qat) describes. Its selector and override lines may only choose
// which layers stay in floating point: layers whose parameters the selector leaves out,
// and override lines with float, are listed in QAT.Float (layerOf maps a parameter to its
// layer). Override lines that change bit widths are an error: one QAT run uses one bit
// width for weights and one for activations. A scale_weights flag, once the dorefa and
// pact signatures declare it, sets [QAT.ScaleWeights].
func NewQAT(pol *lang.Policy, all []string, layerOf func(param string) string) (*QAT, error) {
	if pol.Kind != lang.KindQuantize || pol.Method == "linear" {
		return nil, fmt.Errorf("stdlib: NewQAT: policy is %s %s, not quantization-aware training", pol.Kind, pol.Method)
	}
	a := newArgs(pol)
	q := &QAT{Method: pol.Method, Alpha: 8, EMADecay: 0.999}
	bits := int(a.numOr("bits", 8))
	q.WeightBits, q.ActBits = int(a.numOr("weights", float64(bits))), int(a.numOr("activations", float64(bits)))
	if a.flag("float") {
		q.WeightBits, q.ActBits = 0, 0
	}
	if _, ok := a.get("bias"); ok {
		a.fail("bias bit widths are not supported by quantization-aware training; biases stay in floating point")
	}
	switch pol.Method {
	case "qat":
		m, err := ParseLinearMode(a.str("mode", "sym"))
		if err != nil {
			return nil, err
		}
		q.Mode, q.PerChannel = m, a.flag("per_channel")
		q.EMADecay = a.numOr("ema_decay", 0.999)
		if v, ok := a.get("quantize_inputs"); ok {
			q.QuantizeInputs = v.Bool
		}
	case "wrpn":
		q.ScaleWeights = a.flag("scale_weights")
		q.Widen = a.numOr("widen", 1)
		if !(q.Widen >= 1) {
			a.fail("widen %v must be at least 1 (WRPN widens layers; it does not narrow them)", q.Widen)
		}
	case "dorefa":
		q.ScaleWeights = a.flag("scale_weights") // when the signature declares it
	case "pact":
		q.ScaleWeights = a.flag("scale_weights")
		q.Alpha = a.numOr("alpha", 8)
		if v, ok := a.get("alpha_decay"); ok {
			q.AlphaDecay, q.HasAlphaDecay = v.Num, true
		}
	}
	if a.err != nil {
		return nil, a.err
	}
	if pol.Params != nil {
		sel := map[string]bool{}
		for _, l := range layersOf(pol.Params, layerOf) {
			sel[l] = true
		}
		for _, l := range layersOf(all, layerOf) {
			if !sel[l] {
				q.Float = append(q.Float, l)
			}
		}
	}
	for _, o := range pol.Overrides {
		v, ok := o.Args["float"]
		if !ok || !v.Bool || len(o.Args) != 1 {
			return nil, fmt.Errorf("stdlib: quantize %s: override lines may only say float (one bit width per run)", pol.Method)
		}
		q.Float = append(q.Float, layersOf(o.Params, layerOf)...)
	}
	return q, nil
}

// QuantizeAfterTraining applies a checked `quantize linear` policy to m: it folds m's
// batch norms into their convolutions ([nn.FoldBatchNorms]), reads the calibration
// statistics of the policy's stats file when it names one (an error when that file is
// missing: calibrate with [Calibrate] and [SaveStats] first), or computes activation
// ranges from each batch when it names none, and quantizes with [PTQ.Apply].
func QuantizeAfterTraining(pol *lang.Policy, m *nn.Model) ([]QuantizedLayer, error) {
	layerOf := func(name string) string {
		if p := m.Param(name); p != nil {
			return p.Layer
		}
		return ""
	}
	q, statsPath, err := NewPTQ(pol, layerOf)
	if err != nil {
		return nil, err
	}
	var stats map[string]*LayerStats
	if statsPath != "" {
		if stats, err = LoadStats(statsPath); err != nil {
			return nil, err
		}
	}
	if err := nn.FoldBatchNorms(m); err != nil {
		return nil, err
	}
	return q.Apply(m, stats)
}

// InstallQAT installs the quantization-aware training a checked quantize policy (dorefa,
// pact, wrpn or qat) describes into m (see [NewQAT] and [QAT.Install]). Call it before
// building the optimizer; PACT's α parameters are in the result's Alphas and, with the
// policy's alpha_decay, in the returned QAT. seed seeds the initialisation of layers
// WRPN widens.
func InstallQAT(pol *lang.Policy, m *nn.Model, seed uint64) (*QATRun, *QAT, error) {
	var all []string
	for _, p := range m.Params() {
		all = append(all, p.Name)
	}
	layerOf := func(name string) string {
		if p := m.Param(name); p != nil {
			return p.Layer
		}
		return ""
	}
	q, err := NewQAT(pol, all, layerOf)
	if err != nil {
		return nil, nil, err
	}
	q.Seed = seed
	run, err := q.Install(m)
	return run, q, err
}
