package nn

// Quantization layers. This file holds the runtime side of quantization; the math that
// chooses scales, zero points and clipping ranges, and the DoReFa/PACT/WRPN functions,
// live in stdlib, which builds these layers.
//
//   - [ReplaceModules] swaps layers of a model's module tree (inside Sequential
//     containers) and refreshes the model's parameter list.
//   - [Tap] observes a layer's input and output (calibration statistics).
//   - [RangeLinear] is a post-training range-linear quantized Conv2d or Linear layer:
//     integer weights and biases, quantized inputs, integer accumulation, requantized
//     outputs. It runs either on float32 GEMMs over integer-valued tensors (exact while
//     the accumulators stay below 2²⁴) or on the int8 GEMM ([kernels.GemmS8S8S32]); both
//     finish with the same float32 requantization, so they give the same outputs.
//   - [ActQuant] replaces a ReLU by a quantized activation ([ActQuantizer]: DoReFa's
//     clamp, PACT's learned clip, an EMA-ranged linear fake-quantizer) whose backward is
//     a straight-through estimator.
//   - [Groups] runs several optimizers as one (PACT's α has its own weight decay).

import (
	"errors"
	"fmt"
	"math"

	"github.com/dst-dev/dst/kernels"
	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// ErrQuant is wrapped by errors about layers that cannot be quantized or replaced.
var ErrQuant = errors.New("nn: quantization")

// ReplaceModules calls f on every module of m below the root inside Sequential
// containers and [Block]s (and BasicBlocks, which cannot take a replacement: fold them
// into Blocks with [FoldBatchNorms]), parents before children, and puts the module f returns in its place; f returns its argument (or nil)
// to leave a module alone, and then ReplaceModules descends into the module's children. Afterwards m's
// parameter and buffer lists are rebuilt from the tree, so parameters of new modules (a
// PACT clipping value) appear in [Model.Params]. Optimizers built before the call do not
// see new parameters. It returns f's first error, or an error wrapping [ErrQuant] when f
// replaces a layer of a BasicBlock, leaving earlier replacements in place.
func ReplaceModules(m *Model, f func(mod Module) (Module, error)) error {
	err := replaceIn(m.root, f)
	refreshParams(m)
	return err
}

func replaceIn(mod Module, f func(Module) (Module, error)) error {
	switch c := mod.(type) {
	case *Sequential:
		for i, ch := range c.mods {
			nm, err := f(ch)
			if err != nil {
				return err
			}
			if nm != nil && nm != ch {
				c.mods[i] = nm
				continue
			}
			if err := replaceIn(ch, f); err != nil {
				return err
			}
		}
		return nil
	case *Block:
		for _, slot := range []*Module{&c.Conv1, &c.Conv2, &c.Downsample} {
			if *slot == nil {
				continue
			}
			nm, err := f(*slot)
			if err != nil {
				return err
			}
			if nm != nil && nm != *slot {
				*slot = nm
				continue
			}
			if err := replaceIn(*slot, f); err != nil {
				return err
			}
		}
		return nil
	case *BasicBlock:
		for _, ch := range c.Children() {
			nm, err := f(ch)
			if err != nil {
				return err
			}
			if nm != nil && nm != ch {
				return fmt.Errorf("%w: cannot replace %s inside residual block %s", ErrQuant, ch.Info().Name, c.name)
			}
			if err := replaceIn(ch, f); err != nil {
				return err
			}
		}
	}
	return nil
}

// refreshParams rebuilds m's parameter and buffer lists from its module tree.
func refreshParams(m *Model) {
	m.params, m.buffers = nil, nil
	m.byName = map[string]*Param{}
	walk(m.root, func(mod Module) {
		for _, p := range mod.Params() {
			m.params = append(m.params, p)
			m.byName[p.Name] = p
		}
		m.buffers = append(m.buffers, mod.Buffers()...)
	})
}

// Tap wraps a layer and reports its input and output after every Forward, for
// calibration. It is transparent otherwise: Backward, Info and the parameters are the
// inner layer's (the inner layer is its only child).
type Tap struct {
	// Inner is the observed layer.
	Inner Module
	// Observe receives the layer's name, its input and its output (read-only, valid
	// until the next Forward).
	Observe func(layer string, in, out *tensor.Dense)
}

// Forward implements [Module].
func (t *Tap) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	y := t.Inner.Forward(x, train)
	t.Observe(t.Inner.Info().Name, x, y)
	return y
}

// Backward implements [Module].
func (t *Tap) Backward(dy *tensor.Dense) *tensor.Dense { return t.Inner.Backward(dy) }

// Info implements [Module]: the inner layer's, typed "Tap".
func (t *Tap) Info() LayerInfo {
	li := t.Inner.Info()
	li.Type = "Tap"
	return li
}

// Children implements [Module]: the inner layer.
func (t *Tap) Children() []Module { return []Module{t.Inner} }

// Params implements [Module]: none of its own.
func (t *Tap) Params() []*Param { return nil }

// Buffers implements [Module]: none of its own.
func (t *Tap) Buffers() []*Buffer { return nil }

// QuantParams are the range-linear parameters of one quantized tensor, Distiller's
// convention: q = clamp(round(Scale·x − ZeroPoint), Min, Max) and x̂ = (q + ZeroPoint)/Scale,
// with round-half-to-even as torch.round. Scale and ZeroPoint hold one value for a
// per-tensor quantization or one per output channel (dim 0) of a per-channel weight.
type QuantParams struct {
	// Scale holds positive scales; ZeroPoint the matching integer-valued zero points.
	Scale, ZeroPoint []float32
	// Min and Max bound q.
	Min, Max int32
}

// Check reports whether the parameters are usable for n channels (1 for per-tensor).
func (qp *QuantParams) Check(what string, n int) error {
	if len(qp.Scale) != len(qp.ZeroPoint) || (len(qp.Scale) != 1 && len(qp.Scale) != n) {
		return fmt.Errorf("%w: %s: %d scales and %d zero points for %d channels", ErrQuant, what, len(qp.Scale), len(qp.ZeroPoint), n)
	}
	for i, s := range qp.Scale {
		if !(s > 0) || math.IsInf(float64(s), 0) || qp.ZeroPoint[i] != float32(math.Round(float64(qp.ZeroPoint[i]))) {
			return fmt.Errorf("%w: %s: scale %v, zero point %v", ErrQuant, what, s, qp.ZeroPoint[i])
		}
	}
	if qp.Min >= qp.Max {
		return fmt.Errorf("%w: %s: empty integer range [%d, %d]", ErrQuant, what, qp.Min, qp.Max)
	}
	return nil
}

// at returns channel c's scale and zero point.
func (qp *QuantParams) at(c int) (float32, float32) {
	if len(qp.Scale) == 1 {
		return qp.Scale[0], qp.ZeroPoint[0]
	}
	return qp.Scale[c], qp.ZeroPoint[c]
}

// QuantizeValue returns q = clamp(round(s·x − zp), lo, hi) as a float32 (an integer).
func QuantizeValue(x, s, zp float32, lo, hi int32) float32 {
	if lo < -1<<22 || hi > 1<<22 {
		q := float32(math.RoundToEven(float64(s*x - zp)))
		return min(max(q, float32(lo)), float32(hi))
	}
	// Clamping to integer bounds commutes with rounding.
	t := s*x - zp
	if t < float32(lo) {
		t = float32(lo)
	} else if t > float32(hi) {
		t = float32(hi)
	}
	return roundEven32(t)
}

// roundEven32 rounds v to the nearest integer, ties to even, for |v| ≤ 2²²: adding and
// subtracting 1.5·2²³ leaves no fraction bits, and float32 addition rounds to even.
func roundEven32(v float32) float32 {
	const magic = 12582912
	return (v + magic) - magic
}

// RangeLinear is a post-training quantized Conv2d or Linear layer (Distiller's
// RangeLinearQuantParamLayerWrapper). With v = q + zero point for inputs and weights,
//
//	acc[o] = Σ v_x·v_w[o] + BiasQ[o]             (integers; ReLU here when fused)
//	y[o]   = acc[o]·Mult[o]                       (no output quantization)
//	y[o]   = (clamp(round(acc[o]·Mult[o] − zp_y)) + zp_y)/s_y   (with Out)
//
// where Mult[o] = s_y/(s_x·s_w[o]) with Out and 1/(s_x·s_w[o]) without. It is
// inference-only: Backward panics (a programming error: PTQ models are not trained).
// Create it with [NewRangeLinear].
type RangeLinear struct {
	base
	// Layer is the float layer it replaces (*Conv2d or *Linear); its geometry and fused
	// ReLU are used, its parameters are not.
	Layer Module
	// In, W and Out are the input, weight and output quantization; Out may be nil.
	In, W QuantParams
	Out   *QuantParams
	// Q holds the weight's integers q_w, in the weight's shape (Shape).
	Q     []int8
	Shape []int
	// BiasQ holds the bias in the accumulator scale s_x·s_w[o] (zero point 0), or nil.
	BiasQ []int32
	// Mult is the per-output-channel requantization multiplier (see the type comment).
	Mult []float32

	conv   *ops.Conv2d
	lin    ops.Linear
	wv, bv *tensor.Dense
	xv, y  ops.Buffer
	relu   bool
	stride [2]int
	pad    [2]int
	// int8 path scratch
	ox       int32
	bconstOx int32
	bconst   []int64
	zw       []int64
	// bconst32 and zw32 are bconst and zw for the fused epilogue, valid when
	// fits32 (every accumulator provably fits in an int32).
	bconst32, zw32 []int32
	fits32         bool
	// packedQ is Q packed for the Linear GEMM, built once; rows finishes the GEMM's
	// rows as they complete.
	packedQ *kernels.PackedS8
	rows    int8Rows
	// cv is a convolution's int8 state (quant_conv.go).
	cv      int8Conv
	a8      []int8
	acc     []int32
	colSums []int32
	maxAcc  float64
	int8    bool
	// dynamic ranges
	dynIn, dynOut DynamicRange
	biasF         []float32
	accLo, accHi  int32
}

// DynamicRange returns the quantization parameters for a batch of n samples of
// activations x (one value for the whole tensor); [RangeLinear.SetDynamic] uses it.
type DynamicRange func(x []float32, n int) QuantParams

// NewRangeLinear returns the quantized form of layer (a *Conv2d or *Linear): q holds
// the weight's integers in its shape, biasQ the quantized bias (nil when the layer has
// none). It checks the parameters and returns an error wrapping [ErrQuant] when they do
// not fit the layer.
func NewRangeLinear(layer Module, in, w QuantParams, out *QuantParams, q []int8, biasQ []int32) (*RangeLinear, error) {
	rl := &RangeLinear{Layer: layer, In: in, W: w, Out: out, Q: q, BiasQ: biasQ}
	var cout int
	switch l := layer.(type) {
	case *Conv2d:
		rl.name, rl.Shape, rl.relu = l.name, l.Weight.Shape(), l.op.Relu
		rl.stride = [2]int{l.op.StrideH, l.op.StrideW}
		rl.pad = [2]int{l.op.PadH, l.op.PadW}
		rl.conv = &ops.Conv2d{StrideH: l.op.StrideH, StrideW: l.op.StrideW, PadH: l.op.PadH, PadW: l.op.PadW, Relu: l.op.Relu, NoInputGrad: true}
	case *Linear:
		rl.name, rl.Shape, rl.relu = l.name, l.Weight.Shape(), l.op.Relu
		rl.lin = ops.Linear{Relu: l.op.Relu, NoInputGrad: true}
	default:
		return nil, fmt.Errorf("%w: %s is a %s, not Conv2d or Linear", ErrQuant, layer.Info().Name, layer.Info().Type)
	}
	cout = rl.Shape[0]
	if err := in.Check(rl.name+" input", 1); err != nil {
		return nil, err
	}
	if err := w.Check(rl.name+" weight", cout); err != nil {
		return nil, err
	}
	if out != nil {
		if err := out.Check(rl.name+" output", 1); err != nil {
			return nil, err
		}
	}
	size := 1
	for _, d := range rl.Shape {
		size *= d
	}
	if len(q) != size || (biasQ != nil && len(biasQ) != cout) {
		return nil, fmt.Errorf("%w: %s: %d weight integers and %d biases for shape %v", ErrQuant, rl.name, len(q), len(biasQ), rl.Shape)
	}
	// Integer-valued float weights v_w = q_w + zp_w[o] and bias for the float path.
	wv := make([]float32, size)
	per := size / cout
	for o := 0; o < cout; o++ {
		_, zp := w.at(o)
		for i := o * per; i < (o+1)*per; i++ {
			wv[i] = float32(q[i]) + zp
		}
	}
	rl.wv = ops.FromSlice(wv, rl.Shape...)
	if biasQ != nil {
		bv := make([]float32, cout)
		for o, b := range biasQ {
			bv[o] = float32(b)
		}
		rl.bv = ops.FromSlice(bv, cout)
	}
	rl.Mult = make([]float32, cout)
	sx, _ := in.at(0)
	for o := range rl.Mult {
		sw, _ := w.at(o)
		if out != nil {
			sy, _ := out.at(0)
			rl.Mult[o] = float32(float64(sy) / (float64(sx) * float64(sw)))
		} else {
			rl.Mult[o] = float32(1 / (float64(sx) * float64(sw)))
		}
	}
	return rl, nil
}

// SetMult replaces the requantization multipliers (for an integer multiplier and
// shift approximation); mult must hold one positive value per output channel.
func (rl *RangeLinear) SetMult(mult []float32) error {
	if len(mult) != len(rl.Mult) {
		return fmt.Errorf("%w: %s: %d multipliers for %d channels", ErrQuant, rl.name, len(mult), len(rl.Mult))
	}
	copy(rl.Mult, mult)
	return nil
}

// SetDynamic makes the layer quantize each batch's input, and its output when out is
// not nil, with parameters computed from that batch (Distiller's post-training
// quantization without calibration statistics); biases are then re-quantized to each
// batch's accumulator scale from bias (the float bias, nil without one), clamped to
// [accLo, accHi]. A dynamic layer runs on the float path only; it returns an error
// wrapping [ErrQuant] for an int8 layer or a bias of the wrong length.
func (rl *RangeLinear) SetDynamic(in, out DynamicRange, bias []float32, accLo, accHi int32) error {
	if rl.int8 {
		return fmt.Errorf("%w: %s: dynamic ranges need the float path", ErrQuant, rl.name)
	}
	if in == nil || (bias != nil && len(bias) != rl.Shape[0]) || (bias == nil) != (rl.BiasQ == nil) {
		return fmt.Errorf("%w: %s: dynamic ranges need an input range function and one bias per output channel", ErrQuant, rl.name)
	}
	rl.dynIn, rl.dynOut, rl.biasF, rl.accLo, rl.accHi = in, out, append([]float32(nil), bias...), accLo, accHi
	if out == nil {
		rl.Out = nil
	}
	return nil
}

// Dynamic reports whether the layer computes its ranges from each batch.
func (rl *RangeLinear) Dynamic() bool { return rl.dynIn != nil }

// dynamicInput sets the input parameters, bias and multipliers for batch x.
func (rl *RangeLinear) dynamicInput(x *tensor.Dense) {
	rl.In = rl.dynIn(ops.F32(x), x.Shape()[0])
	sx, _ := rl.In.at(0)
	for o := range rl.Mult {
		sw, _ := rl.W.at(o)
		acc := float64(sx) * float64(sw)
		rl.Mult[o] = float32(1 / acc)
		if rl.biasF != nil {
			q := math.RoundToEven(float64(rl.biasF[o]) * acc)
			q = math.Min(math.Max(q, float64(rl.accLo)), float64(rl.accHi))
			rl.BiasQ[o] = int32(q)
			ops.F32(rl.bv)[o] = float32(q)
		}
	}
}

// dynamicOutput quantizes y (already scaled to float) with parameters from y itself.
func (rl *RangeLinear) dynamicOutput(y *tensor.Dense) {
	yd := ops.F32(y)
	out := rl.dynOut(yd, y.Shape()[0])
	rl.Out = &out
	sy, zpy := out.at(0)
	for i, v := range yd {
		yd[i] = (QuantizeValue(v, sy, zpy, out.Min, out.Max) + zpy) / sy
	}
}

// SetInt8 selects the int8 GEMM (on) or float32 GEMMs over integer values (off). The
// int8 path needs inputs of at most 8 bits (Max − Min ≤ 255) and int8 weights; it
// returns an error wrapping [ErrQuant] otherwise.
func (rl *RangeLinear) SetInt8(on bool) error {
	if on && rl.dynIn != nil {
		return fmt.Errorf("%w: %s: a layer with dynamic ranges runs on the float path", ErrQuant, rl.name)
	}
	if on && int64(rl.In.Max)-int64(rl.In.Min) > 255 {
		return fmt.Errorf("%w: %s: the int8 path needs inputs of at most 8 bits, range [%d, %d]", ErrQuant, rl.name, rl.In.Min, rl.In.Max)
	}
	rl.int8 = on
	return nil
}

// MaxAbsAccumulator returns the largest |acc| seen by the float path since the layer
// was built; the float path is exact while it stays below 2²⁴ (16,777,216).
func (rl *RangeLinear) MaxAbsAccumulator() float64 { return rl.maxAcc }

// quantizeInput writes v = q + zp of x into the layer's input buffer.
func (rl *RangeLinear) quantizeInput(x *tensor.Dense) *tensor.Dense {
	xv := rl.xv.Get(x.Shape()...)
	s, zp := rl.In.at(0)
	src, dst := ops.F32(x), ops.F32(xv)
	for i, v := range src {
		dst[i] = QuantizeValue(v, s, zp, rl.In.Min, rl.In.Max) + zp
	}
	return xv
}

// Forward implements [Module].
func (rl *RangeLinear) Forward(x *tensor.Dense, _ bool) *tensor.Dense {
	if rl.int8 {
		return rl.forwardInt8(x) // records the shapes
	}
	if rl.dynIn != nil {
		rl.dynamicInput(x)
	}
	xv := rl.quantizeInput(x)
	var y *tensor.Dense
	switch {
	case rl.conv != nil:
		y = rl.conv.Forward(xv, rl.wv, rl.bv)
	default:
		y = rl.lin.Forward(xv, rl.wv, rl.bv)
	}
	if rl.dynIn != nil {
		saved := rl.Out
		rl.Out = nil
		rl.requantize(y) // to float
		rl.Out = saved
		if rl.dynOut != nil {
			rl.dynamicOutput(y)
		}
	} else {
		rl.requantize(y)
	}
	rl.record(x, y)
	return y
}

// requantize turns accumulators into outputs in place.
func (rl *RangeLinear) requantize(y *tensor.Dense) {
	s := y.Shape()
	cout := rl.Shape[0]
	inner := 1
	for _, d := range s[2:] {
		inner *= d
	}
	yd := ops.F32(y)
	var sy, zpy, lo, hi float32
	if rl.Out != nil {
		sy, zpy = rl.Out.at(0)
		lo, hi = float32(rl.Out.Min), float32(rl.Out.Max)
	}
	wide := rl.Out != nil && (rl.Out.Min < -1<<22 || rl.Out.Max > 1<<22)
	var mx float32
	for i := 0; i < len(yd); i += cout * inner {
		for o := 0; o < cout; o++ {
			mult := rl.Mult[o]
			row := yd[i+o*inner : i+(o+1)*inner]
			for _, a := range row {
				if a > mx {
					mx = a
				} else if -a > mx {
					mx = -a
				}
			}
			switch {
			case rl.Out == nil:
				for j, a := range row {
					row[j] = a * mult
				}
			case wide:
				for j, a := range row {
					q := float32(math.RoundToEven(float64(a*mult - zpy)))
					row[j] = (min(max(q, lo), hi) + zpy) / sy
				}
			default:
				for j, a := range row {
					t := a*mult - zpy
					if t < lo {
						t = lo
					} else if t > hi {
						t = hi
					}
					row[j] = (roundEven32(t) + zpy) / sy
				}
			}
		}
	}
	rl.maxAcc = max(rl.maxAcc, float64(mx))
}

// forwardInt8 runs the layer on the int8 GEMM. Inputs are quantized straight to the
// GEMM's bytes a = v − ox (v = q + zero point), with their row sums; the accumulators
// are finished by the fused epilogue ([kernels.RequantizeS32] and
// [kernels.RequantizeS32Chan]) when prepareInt8 proved them to fit in an int32 and the
// output range is narrow, and otherwise by finish and requantize. Both give the float
// path's outputs bit for bit.
func (rl *RangeLinear) forwardInt8(x *tensor.Dense) *tensor.Dense {
	_, zpx := rl.In.at(0)
	lo, hi := rl.In.Min+int32(zpx), rl.In.Max+int32(zpx)
	rl.ox = 0
	if lo < -128 || hi > 127 {
		rl.ox = lo + 128
	}
	cout := rl.Shape[0]
	k := len(rl.Q) / cout
	rl.prepareInt8(k)
	rq, fused := rl.requant()
	var mx uint32
	xd := ops.F32(x)
	if rl.conv == nil {
		n := len(xd) / k
		y := rl.y.Get(n, cout)
		rl.a8 = qGrowI8(rl.a8, n*k)
		rl.colSums = qGrowI32(rl.colSums, n)
		for i := 0; i < n; i++ {
			rl.colSums[i] = rl.quantizeS8(rl.a8[i*k:(i+1)*k], xd[i*k:(i+1)*k])
		}
		rl.acc = qGrowI32(rl.acc, n*cout)
		r := &rl.rows
		r.y, r.rq, r.fused = ops.F32(y), rq, fused
		r.rowMax = qGrowU32(r.rowMax, n)
		if r.done == nil {
			r.rl, r.done = rl, r.finish
		}
		kernels.GemmS8S8S32PackedFunc(n, rl.a8, k, rl.packedQ, rl.acc, cout, r.done)
		for _, m := range r.rowMax {
			mx = max(mx, m)
		}
		rl.finishInt8(y, fused, mx)
		rl.record(x, y)
		return y
	}
	return rl.forwardConvInt8(x, rq, fused)
}

// int8Rows finishes the rows of a Linear layer's int8 product as the GEMM completes
// them ([kernels.GemmS8S8S32PackedFunc] calls done, possibly concurrently for disjoint
// rows): y, rq and fused are the call's, and rowMax[i] receives row i's largest |acc|.
type int8Rows struct {
	rl     *RangeLinear
	y      []float32
	rq     kernels.Requant
	fused  bool
	rowMax []uint32
	done   func(i0, i1 int) // finish, bound once
}

// finish writes rows i0 ≤ i < i1 of the outputs: finished by the fused epilogue, or the
// accumulators of finish for requantize.
func (r *int8Rows) finish(i0, i1 int) {
	rl := r.rl
	cout := rl.Shape[0]
	for i := i0; i < i1; i++ {
		acc, dst := rl.acc[i*cout:(i+1)*cout], r.y[i*cout:(i+1)*cout]
		if r.fused {
			r.rowMax[i] = kernels.RequantizeS32(dst, acc, rl.bconst32, rl.zw32, rl.colSums[i], rl.Mult, r.rq)
			continue
		}
		r.rowMax[i] = 0
		for o := range dst {
			dst[o] = rl.finish(acc[o], o, int64(rl.colSums[i]))
		}
	}
}

// finishInt8 completes the int8 path: after the fused epilogue it records the largest
// |acc| (float32(max|acc|) is the largest float32(|acc|), what requantize records);
// otherwise y holds the accumulators and requantize turns them into outputs.
func (rl *RangeLinear) finishInt8(y *tensor.Dense, fused bool, mx uint32) {
	if fused {
		rl.maxAcc = max(rl.maxAcc, float64(float32(mx)))
		return
	}
	rl.requantize(y)
}

// requant returns the output stage of the fused epilogue and whether it applies: the
// accumulators fit in an int32 (prepareInt8) and the output range, if any, is narrow
// enough for requantize's rounding.
func (rl *RangeLinear) requant() (kernels.Requant, bool) {
	rq := kernels.Requant{ReLU: rl.relu}
	if rl.Out != nil {
		if rl.Out.Min < -1<<22 || rl.Out.Max > 1<<22 {
			return rq, false
		}
		rq.Out = true
		rq.Scale, rq.ZeroPoint = rl.Out.at(0)
		rq.Lo, rq.Hi = float32(rl.Out.Min), float32(rl.Out.Max)
	}
	return rq, rl.fits32
}

// quantizeS8 writes the GEMM bytes a = v − ox of the inputs src into dst, v = q + zp
// being quantizeInput's values, and returns Σ a. With a narrow input range (the usual
// case) it runs [kernels.QuantizeS8], which computes QuantizeValue's q with the same
// float32 steps: then v = q + zp is exact and int8(int32(v) − ox) = int8(q + (zp − ox)).
func (rl *RangeLinear) quantizeS8(dst []int8, src []float32) int32 {
	s, zp := rl.In.at(0)
	const narrow = 1 << 22
	if rl.In.Min >= -narrow && rl.In.Max <= narrow && zp >= -narrow && zp <= narrow {
		return kernels.QuantizeS8(dst, src, s, zp, float32(rl.In.Min), float32(rl.In.Max), int32(zp)-rl.ox)
	}
	var sum int32
	for i, v := range src {
		a := int8(int32(QuantizeValue(v, s, zp, rl.In.Min, rl.In.Max)+zp) - rl.ox)
		dst[i] = a
		sum += int32(a)
	}
	return sum
}

// prepareInt8 packs a Linear layer's weights for the GEMM (once: Q does not change)
// and computes, once per input offset, the per-output-channel constants of
// [RangeLinear.finish]: Σ (a+ox)(q_w+zp_w) + b = Σ a·q_w + zp_w·Σa + (ox·Σq_w + k·ox·zp_w + b).
//
// It also decides whether the fused epilogue may run them in int32 arithmetic: when
// every true accumulator |Σ v_x·v_w + b| ≤ k·max|v_x|·max|v_w| + |b| fits in an int32
// (and the GEMM's Σ a·q_w does), the int32 sum dot + bconst + zw·Σa is exact even where
// its terms wrap, since it agrees with the true value modulo 2³².
func (rl *RangeLinear) prepareInt8(k int) {
	cout := rl.Shape[0]
	if rl.conv == nil && rl.packedQ == nil {
		rl.packedQ = kernels.PackS8(rl.Q, cout, k, k)
	}
	if rl.bconst != nil && rl.bconstOx == rl.ox {
		return
	}
	rl.bconst, rl.zw, rl.bconstOx = make([]int64, cout), make([]int64, cout), rl.ox
	rl.bconst32, rl.zw32 = make([]int32, cout), make([]int32, cout)
	_, zpx := rl.In.at(0)
	vx := math.Max(math.Abs(float64(rl.In.Min)+float64(zpx)), math.Abs(float64(rl.In.Max)+float64(zpx)))
	const limit = math.MaxInt32
	rl.fits32 = float64(k)*128*128 <= limit
	for o := 0; o < cout; o++ {
		var rowSum int64
		_, zpw := rl.W.at(o)
		var vw float64
		for _, q := range rl.Q[o*k : (o+1)*k] {
			rowSum += int64(q)
			vw = math.Max(vw, math.Abs(float64(q)+float64(zpw)))
		}
		z := int64(zpw)
		rl.zw[o] = z
		rl.bconst[o] = int64(rl.ox)*rowSum + int64(k)*int64(rl.ox)*z
		bound := float64(k) * vx * vw
		if rl.BiasQ != nil {
			rl.bconst[o] += int64(rl.BiasQ[o])
			bound += math.Abs(float64(rl.BiasQ[o]))
		}
		rl.fits32 = rl.fits32 && bound <= limit && math.Abs(float64(zpw)) <= limit
		rl.bconst32[o], rl.zw32[o] = int32(rl.bconst[o]), int32(z)
	}
}

// finish turns Σ a·q_w of output channel o into the accumulator: the zero-point and
// bias terms of prepareInt8, then a fused ReLU.
func (rl *RangeLinear) finish(dot int32, o int, colSum int64) float32 {
	acc := int64(dot) + rl.bconst[o] + rl.zw[o]*colSum
	if rl.relu && acc < 0 {
		acc = 0
	}
	return float32(acc)
}

func qGrowI8(s []int8, n int) []int8 {
	if cap(s) < n {
		return make([]int8, n)
	}
	return s[:n]
}

func qGrowI32(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

func qGrowU32(s []uint32, n int) []uint32 {
	if cap(s) < n {
		return make([]uint32, n)
	}
	return s[:n]
}

func qGrowF32(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// Backward implements [Module]; it panics, as a RangeLinear is inference-only.
func (rl *RangeLinear) Backward(*tensor.Dense) *tensor.Dense {
	panic("nn: RangeLinear " + rl.name + " is inference-only (post-training quantization)")
}

// Info implements [Module]: the replaced layer's description, with this layer's shapes.
func (rl *RangeLinear) Info() LayerInfo {
	li := rl.Layer.Info()
	li.InShape, li.OutShape = clone(rl.in), clone(rl.out)
	return li
}

// ActQuantizer is a quantized activation function with a straight-through backward,
// used by [ActQuant]. Implementations live in stdlib (DoReFa, PACT, WRPN, linear QAT).
type ActQuantizer interface {
	// Forward writes the quantized activation of x into dst (same length); train tells
	// whether statistics (an EMA range) may be updated.
	Forward(dst, x []float32, train bool)
	// Backward writes into dx the gradient with respect to x given dy and the x of the
	// last Forward, and adds to the gradients of its own parameters.
	Backward(dx, dy, x []float32)
	// Params returns the quantizer's learned parameters (PACT's α), possibly none.
	Params() []*Param
}

// ActQuant replaces a ReLU with a quantized activation: the ReLU runs first (it may be
// fused into the previous layer), then Quant. Its parameters are Quant's.
type ActQuant struct {
	base
	// ReLU is the replaced module; Quant the activation quantizer.
	ReLU  *ReLU
	Quant ActQuantizer

	x     []float32
	y, dx ops.Buffer
}

// NewActQuant returns q applied after r, under r's name.
func NewActQuant(r *ReLU, q ActQuantizer) *ActQuant {
	return &ActQuant{base: base{name: r.name}, ReLU: r, Quant: q}
}

// Forward implements [Module].
func (a *ActQuant) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	h := a.ReLU.Forward(x, train)
	a.x = qGrowF32(a.x, h.Shape().TotalSize())
	copy(a.x, ops.F32(h))
	y := a.y.Get(h.Shape()...)
	a.Quant.Forward(ops.F32(y), a.x, train)
	a.record(x, y)
	return y
}

// Backward implements [Module].
func (a *ActQuant) Backward(dy *tensor.Dense) *tensor.Dense {
	dx := a.dx.Get(dy.Shape()...)
	a.Quant.Backward(ops.F32(dx), ops.F32(dy), a.x)
	return a.ReLU.Backward(dx)
}

// Info implements [Module]: typed "QuantReLU".
func (a *ActQuant) Info() LayerInfo { return a.info("QuantReLU") }

// Params implements [Module]: the quantizer's parameters.
func (a *ActQuant) Params() []*Param { return a.Quant.Params() }

// Groups runs several optimizers, each over its own parameters, as one (PyTorch's
// parameter groups). LR and SetLR act on all of them; the state of every group is
// merged by parameter name. It must hold at least one optimizer (LR and StateNames read
// the first and panic on an empty Groups, a programming error).
type Groups []Optimizer

// Step implements [Optimizer].
func (g Groups) Step() {
	for _, o := range g {
		o.Step()
	}
}

// LR implements [Optimizer]: the first group's rate.
func (g Groups) LR() float64 { return g[0].LR() }

// SetLR implements [Optimizer].
func (g Groups) SetLR(lr float64) {
	for _, o := range g {
		o.SetLR(lr)
	}
}

// StateNames implements [Optimizer]: the first group's slots.
func (g Groups) StateNames() []string { return g[0].StateNames() }

// State implements [Optimizer].
func (g Groups) State() map[string][]*tensor.Dense {
	st := map[string][]*tensor.Dense{}
	for _, o := range g {
		for k, v := range o.State() {
			st[k] = v
		}
	}
	return st
}

// SetState implements [Optimizer]: each group takes the entries of its parameters.
func (g Groups) SetState(state map[string][]*tensor.Dense) error {
	for _, o := range g {
		own := map[string][]*tensor.Dense{}
		mine := o.State()
		for k, v := range state {
			if _, ok := mine[k]; ok {
				own[k] = v
			}
		}
		if err := o.SetState(own); err != nil {
			return err
		}
	}
	return nil
}

// InputQuant quantizes the input of a layer before running it (linear QAT's
// quantize_inputs on a model's first layer). Backward runs the layer's backward and then
// the quantizer's straight-through gradient, when the layer returns an input gradient.
type InputQuant struct {
	// Inner is the wrapped layer; Quant quantizes its input.
	Inner Module
	Quant ActQuantizer

	x     []float32
	q, dx ops.Buffer
}

// Forward implements [Module].
func (iq *InputQuant) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	iq.x = qGrowF32(iq.x, x.Shape().TotalSize())
	copy(iq.x, ops.F32(x))
	q := iq.q.Get(x.Shape()...)
	iq.Quant.Forward(ops.F32(q), iq.x, train)
	return iq.Inner.Forward(q, train)
}

// Backward implements [Module].
func (iq *InputQuant) Backward(dy *tensor.Dense) *tensor.Dense {
	g := iq.Inner.Backward(dy)
	if g == nil {
		return nil
	}
	dx := iq.dx.Get(g.Shape()...)
	iq.Quant.Backward(ops.F32(dx), ops.F32(g), iq.x)
	return dx
}

// Info implements [Module]: the inner layer's.
func (iq *InputQuant) Info() LayerInfo { return iq.Inner.Info() }

// Children implements [Module]: the inner layer.
func (iq *InputQuant) Children() []Module { return []Module{iq.Inner} }

// Params implements [Module]: the quantizer's (the inner layer's are its own).
func (iq *InputQuant) Params() []*Param { return iq.Quant.Params() }

// Buffers implements [Module]: none of its own.
func (iq *InputQuant) Buffers() []*Buffer { return nil }

// FoldBatchNorms folds every BatchNorm2d that directly follows a Conv2d into that
// convolution, as Distiller's prepare_model does before post-training quantization:
// W' = W·γ/√(σ² + ε) per output channel and b' = (b − μ)·γ/√(σ² + ε) + β, with the
// running statistics. In a Sequential the batch norm is removed (and a ReLU right after
// it is fused into the convolution); a BasicBlock becomes a [Block] of the folded
// convolutions. The folded model computes what the original computes in evaluation
// mode (up to float rounding). It is meant for inference and post-training
// quantization: training the folded model no longer normalises batches.
func FoldBatchNorms(m *Model) error {
	if err := foldIn(m.root); err != nil {
		return err
	}
	refreshParams(m)
	return nil
}

func foldIn(mod Module) error {
	s, ok := mod.(*Sequential)
	if !ok {
		return nil
	}
	var out []Module
	for i := 0; i < len(s.mods); i++ {
		switch c := s.mods[i].(type) {
		case *Conv2d:
			if i+1 < len(s.mods) {
				if bn, ok := s.mods[i+1].(*BatchNorm2d); ok {
					fc := foldConv(c, bn)
					out = append(out, fc)
					i++
					if i+1 < len(s.mods) {
						if r, ok := s.mods[i+1].(*ReLU); ok {
							fc.op.Relu, r.fused = true, true
						}
					}
					continue
				}
			}
			out = append(out, c)
		case *BasicBlock:
			out = append(out, foldBlock(c))
		default:
			if err := foldIn(c); err != nil {
				return err
			}
			out = append(out, c)
		}
	}
	s.mods = out
	return nil
}

// FoldedWeight returns the weight p of a convolution of m scaled per output channel by
// the BatchNorm2d that follows it, w·γ/√(σ² + ε) with the running variance: the values
// Distiller's fold_bn ranks or thresholds instead of the weight's own. The follower is
// the next module of a Sequential, or bn1 and bn2 after conv1 and conv2 in a residual
// block. It is an error when p is no convolution's weight or no batch normalisation
// follows it.
func FoldedWeight(m *Model, p *Param) ([]float32, error) {
	var conv *Conv2d
	var bn *BatchNorm2d
	walk(m.root, func(mod Module) {
		switch l := mod.(type) {
		case *Sequential:
			for i, c := range l.mods[:max(len(l.mods)-1, 0)] {
				if c, ok := c.(*Conv2d); ok && c.Weight == p {
					conv = c
					bn, _ = l.mods[i+1].(*BatchNorm2d)
				}
			}
		case *BasicBlock:
			switch p {
			case l.Conv1.Weight:
				conv, bn = l.Conv1, l.BN1
			case l.Conv2.Weight:
				conv, bn = l.Conv2, l.BN2
			}
		case *Conv2d:
			if l.Weight == p && conv == nil {
				conv = l
			}
		}
	})
	switch {
	case conv == nil:
		return nil, fmt.Errorf("nn: fold_bn: %s is not the weight of a Conv2d", p.Name)
	case bn == nil:
		return nil, fmt.Errorf("nn: fold_bn: no BatchNorm2d follows the convolution of %s", p.Name)
	}
	w := make([]float32, conv.Weight.Len())
	foldInto(w, make([]float32, conv.Weight.Shape()[0]), conv, bn) // the folded bias is not needed
	return w, nil
}

// foldConv returns a new convolution computing bn(c(x)) in evaluation mode.
func foldConv(c *Conv2d, bn *BatchNorm2d) *Conv2d {
	ws := c.Weight.Shape()
	f := NewConv2d(c.name, ws[1], ws[0], ws[2], c.op.StrideH, c.op.PadH, true)
	f.op.StrideW, f.op.PadW, f.op.NoInputGrad = c.op.StrideW, c.op.PadW, c.op.NoInputGrad
	foldInto(f.Weight.Data(), f.Bias.Data(), c, bn)
	return f
}

// foldInto sets w and b (the shapes of c's weight and of one bias per output channel)
// to the weight and bias of the convolution computing bn(c(x)) in evaluation mode.
func foldInto(w, b []float32, c *Conv2d, bn *BatchNorm2d) {
	out := c.Weight.Shape()[0]
	per := c.Weight.Len() / out
	rm, rv := ops.F32(bn.RunningMean.Value), ops.F32(bn.RunningVar.Value)
	g, be := bn.Weight.Data(), bn.Bias.Data()
	for o := 0; o < out; o++ {
		k := float64(g[o]) / math.Sqrt(float64(rv[o])+bn.op.Eps)
		for i := o * per; i < (o+1)*per; i++ {
			w[i] = float32(float64(c.Weight.Data()[i]) * k)
		}
		var cb float64
		if c.Bias != nil {
			cb = float64(c.Bias.Data()[o])
		}
		b[o] = float32((cb-float64(rm[o]))*k + float64(be[o]))
	}
}

func foldBlock(b *BasicBlock) *Block {
	fb := &Block{base: base{name: b.name}, Relu1: b.Relu1, Relu2: b.Relu2}
	c1 := foldConv(b.Conv1, b.BN1)
	c1.op.Relu, b.Relu1.fused = true, true
	fb.Conv1, fb.Conv2 = c1, foldConv(b.Conv2, b.BN2)
	if b.Downsample != nil {
		ds := b.Downsample.mods
		fb.Downsample = NewSequential(b.Downsample.name, foldConv(ds[0].(*Conv2d), ds[1].(*BatchNorm2d)))
	}
	return fb
}

// Block is a residual block whose layers are any modules (a [BasicBlock] after
// [FoldBatchNorms], whose convolutions post-training quantization may replace):
// relu2(Conv2(relu1(Conv1(x))) + shortcut), the shortcut being x or Downsample(x).
type Block struct {
	base
	// Conv1 and Conv2 are the block's layers (Conv2d or their quantized forms); Relu1
	// is fused into Conv1 when it is a Conv2d.
	Conv1, Conv2 Module
	Relu1, Relu2 *ReLU
	// Downsample is the shortcut's layer, or nil for an identity shortcut.
	Downsample Module
	res        residual
}

// Forward implements [Module].
func (b *Block) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	run := func(m Module, x *tensor.Dense) *tensor.Dense { return m.Forward(x, train) }
	y := b.res.forward(x, run, []Module{b.Conv1, b.Relu1, b.Conv2}, b.Downsample, b.Relu2)
	b.record(x, y)
	return y
}

// Backward implements [Module].
func (b *Block) Backward(dy *tensor.Dense) *tensor.Dense {
	return b.res.backward(dy, []Module{b.Conv1, b.Relu1, b.Conv2}, b.Downsample, b.Relu2)
}

// Info implements [Module].
func (b *Block) Info() LayerInfo { return b.info("Block") }

// Children implements [Module].
func (b *Block) Children() []Module {
	ch := []Module{b.Conv1, b.Relu1, b.Conv2, b.Relu2}
	if b.Downsample != nil {
		ch = append(ch, b.Downsample)
	}
	return ch
}
