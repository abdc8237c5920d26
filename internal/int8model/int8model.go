// Package int8model writes and reads dst's integer model files: a model whose Conv2d
// and Linear layers were quantized after training ([nn.RangeLinear] layers, built by
// stdlib.PTQ) saved as safetensors with int8 weights, and loaded back into a model that
// runs those layers on the int8 GEMM.
//
// # Format
//
// For every quantized layer L (a Conv2d or Linear layer name such as "conv2"):
//
//	L.weight             I8   weight integers q_w, in the weight's shape
//	L.weight.scale       F32  s_w, one value or one per output channel
//	L.weight.zero_point  I32  zp_w, as many as scales
//	L.weight.range       I32  [q_min, q_max] of q_w
//	L.bias               I32  bias in the accumulator scale s_in·s_w[o], zero point 0 (absent without bias)
//	L.input.scale        F32  [s_in];  L.input.zero_point I32 [zp_in];  L.input.range I32 [min, max]
//	L.output.scale       F32  [s_out]; L.output.zero_point I32; L.output.range I32 (absent: outputs not quantized)
//	L.requant            F32  per output channel multiplier M[o] as applied
//
// Every other parameter and buffer (a layer left in floating point, batch norms) is
// stored F32 under its own name, as in a checkpoint. The metadata holds "format" =
// "dst-int8", "dst.model" (the zoo name), "dst.int8.layers" (the quantized layers,
// comma-separated), "dst.folded_bn" = "true" when batch norms were folded into the
// convolutions, and "dst.int8.dequantize", the formulas in words:
//
//	x̂ = (q + zero_point)/scale for inputs, weights and outputs;
//	acc[o] = Σ (q_in + zp_in)(q_w + zp_w[o]) + bias[o] (ReLU here when the layer has one);
//	y[o] = acc[o]·requant[o] without output quantization, else
//	y[o] = (clamp(round(acc[o]·requant[o] − zp_out), range) + zp_out)/s_out.
package int8model

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/dst-dev/dst/internal/safetensors"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// Format is the metadata "format" value of an int8 model file.
const Format = "dst-int8"

// Dequantize is the "dst.int8.dequantize" metadata text.
const Dequantize = "x = (q + zero_point) / scale for inputs, weights and outputs (weights per output channel when scale has one value per channel); " +
	"acc[o] = sum (q_in + zp_in)(q_w + zp_w[o]) + bias[o] with bias in the accumulator scale scale_in*scale_w[o] and zero point 0, ReLU applied here for layers with a fused ReLU; " +
	"y[o] = acc[o]*requant[o] without output quantization, else y[o] = (clamp(round_half_even(acc[o]*requant[o] - zp_out), range) + zp_out) / scale_out"

// FoldedKey is the metadata key that says the model's batch norms were folded into the
// convolutions before quantization ([nn.FoldBatchNorms]); [Save] sets it when the model
// holds a folded residual block or when meta sets it, and [Load] folds the fresh model
// before filling it.
const FoldedKey = "dst.folded_bn"

// ErrFormat is wrapped by errors about files that are not valid int8 models.
var ErrFormat = errors.New("int8model: not a valid int8 model file")

// Save writes m, whose quantized layers are [nn.RangeLinear] values, to path
// atomically. meta (may be nil) is added to the metadata. It fails when m has no
// quantized layer.
func Save(path string, m *nn.Model, meta map[string]string) error {
	f := &safetensors.File{Metadata: map[string]string{}}
	for k, v := range meta {
		f.Metadata[k] = v
	}
	f.Metadata["format"] = Format
	f.Metadata["dst.model"] = m.Name
	f.Metadata["dst.int8.dequantize"] = Dequantize
	var names []string
	var dynamic string
	m.Walk(func(mod nn.Module) {
		if _, ok := mod.(*nn.Block); ok {
			f.Metadata[FoldedKey] = "true"
		}
		rl, ok := mod.(*nn.RangeLinear)
		if !ok {
			return
		}
		if rl.Dynamic() {
			dynamic = rl.Info().Name
			return
		}
		name := rl.Info().Name
		names = append(names, name)
		f.Tensors = append(f.Tensors, safetensors.Tensor{Name: name + ".weight", DType: safetensors.I8, Shape: append([]int(nil), rl.Shape...), Data: i8bytes(rl.Q)})
		f.Tensors = append(f.Tensors, quantTensors(name+".weight", &rl.W)...)
		if rl.BiasQ != nil {
			f.Tensors = append(f.Tensors, i32tensor(name+".bias", rl.BiasQ))
		}
		f.Tensors = append(f.Tensors, quantTensors(name+".input", &rl.In)...)
		if rl.Out != nil {
			f.Tensors = append(f.Tensors, quantTensors(name+".output", rl.Out)...)
		}
		f.Tensors = append(f.Tensors, safetensors.FromFloat32(name+".requant", []int{len(rl.Mult)}, rl.Mult))
	})
	if dynamic != "" {
		return fmt.Errorf("int8model: save %s: layer %s computes its ranges from each batch; calibrate to export", path, dynamic)
	}
	if len(names) == 0 {
		return fmt.Errorf("int8model: save %s: model %s has no quantized layer", path, m.Name)
	}
	f.Metadata["dst.int8.layers"] = strings.Join(names, ",")
	for _, p := range m.Params() {
		f.Tensors = append(f.Tensors, safetensors.FromFloat32(p.Name, p.Shape(), p.Data()))
	}
	for _, b := range m.Buffers() {
		f.Tensors = append(f.Tensors, safetensors.FromFloat32(b.Name, b.Value.Shape(), ops.F32(b.Value)))
	}
	if err := safetensors.WriteFile(path, f); err != nil {
		return fmt.Errorf("int8model: save %s: %w", path, err)
	}
	return nil
}

// Info is what an int8 model file's metadata says.
type Info struct {
	// Model is the zoo name; Layers the quantized layers in model order.
	Model  string
	Layers []string
	// Meta holds every metadata pair.
	Meta map[string]string
}

// Load reads an int8 model file and returns the model, whose quantized layers run on
// the int8 GEMM. newModel builds an empty model of the zoo name the file names (nn.New
// with any seed). Every tensor of the file must be used and every parameter and buffer
// of the model present.
func Load(path string, newModel func(name string) (*nn.Model, error)) (*nn.Model, *Info, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("int8model: %w", err)
	}
	if f.Metadata["format"] != Format {
		return nil, nil, fmt.Errorf("int8model: %s: format %q, want %q: %w", path, f.Metadata["format"], Format, ErrFormat)
	}
	info := &Info{Model: f.Metadata["dst.model"], Meta: f.Metadata}
	if s := f.Metadata["dst.int8.layers"]; s != "" {
		info.Layers = strings.Split(s, ",")
	}
	m, err := newModel(info.Model)
	if err != nil {
		return nil, nil, fmt.Errorf("int8model: %s: %w", path, err)
	}
	if f.Metadata[FoldedKey] == "true" {
		if err := nn.FoldBatchNorms(m); err != nil {
			return nil, nil, fmt.Errorf("int8model: %s: %w", path, err)
		}
	}
	quant := map[string]bool{}
	for _, l := range info.Layers {
		quant[l] = true
	}
	used := map[string]bool{}
	rd := &reader{f: f, used: used, path: path}
	err = nn.ReplaceModules(m, func(mod nn.Module) (nn.Module, error) {
		li := mod.Info()
		if !quant[li.Name] {
			return nil, nil
		}
		var w *nn.Param
		switch l := mod.(type) {
		case *nn.Conv2d:
			w = l.Weight
		case *nn.Linear:
			w = l.Weight
		default:
			return nil, fmt.Errorf("int8model: %s: layer %s is a %s: %w", path, li.Name, li.Type, ErrFormat)
		}
		delete(quant, li.Name)
		return rd.layer(mod, w, li.Name)
	})
	if err != nil {
		return nil, nil, err
	}
	if len(quant) > 0 {
		return nil, nil, fmt.Errorf("int8model: %s: quantized layers %v are not layers of %s: %w", path, keys(quant), m.Name, ErrFormat)
	}
	for _, p := range m.Params() {
		if err := rd.float(p.Name, &p.Value); err != nil {
			return nil, nil, err
		}
		p.Grad = ops.New(p.Shape()...)
	}
	for _, b := range m.Buffers() {
		if err := rd.float(b.Name, &b.Value); err != nil {
			return nil, nil, err
		}
	}
	for _, t := range f.Tensors {
		if !used[t.Name] {
			return nil, nil, fmt.Errorf("int8model: %s: tensor %q belongs to no layer of %s: %w", path, t.Name, m.Name, ErrFormat)
		}
	}
	return m, info, nil
}

type reader struct {
	f    *safetensors.File
	used map[string]bool
	path string
}

func (rd *reader) tensor(name string, dt safetensors.DType, n int) (*safetensors.Tensor, error) {
	t := rd.f.Tensor(name)
	if t == nil {
		return nil, fmt.Errorf("int8model: %s: tensor %q is missing: %w", rd.path, name, ErrFormat)
	}
	if t.DType != dt || (n >= 0 && t.Len() != n) || len(t.Data) != t.Len()*dt.Size() {
		return nil, fmt.Errorf("int8model: %s: tensor %q is %s%v, want %s with %d values: %w", rd.path, name, t.DType, t.Shape, dt, n, ErrFormat)
	}
	rd.used[name] = true
	return t, nil
}

func (rd *reader) float(name string, dst **tensor.Dense) error {
	t, err := rd.tensor(name, safetensors.F32, -1)
	if err != nil {
		return err
	}
	*dst = ops.New(t.Shape...)
	return t.Float32s(ops.F32(*dst))
}

func (rd *reader) f32s(name string, n int) ([]float32, error) {
	t, err := rd.tensor(name, safetensors.F32, n)
	if err != nil {
		return nil, err
	}
	out := make([]float32, t.Len())
	return out, t.Float32s(out)
}

func (rd *reader) i32s(name string, n int) ([]int32, error) {
	t, err := rd.tensor(name, safetensors.I32, n)
	if err != nil {
		return nil, err
	}
	out := make([]int32, t.Len())
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out, nil
}

// quant reads prefix.scale, .zero_point and .range; n is the number of scales or -1.
func (rd *reader) quant(prefix string, n int) (nn.QuantParams, error) {
	var qp nn.QuantParams
	s, err := rd.f32s(prefix+".scale", n)
	if err != nil {
		return qp, err
	}
	zp, err := rd.i32s(prefix+".zero_point", len(s))
	if err != nil {
		return qp, err
	}
	r, err := rd.i32s(prefix+".range", 2)
	if err != nil {
		return qp, err
	}
	qp.Scale, qp.Min, qp.Max = s, r[0], r[1]
	for _, z := range zp {
		qp.ZeroPoint = append(qp.ZeroPoint, float32(z))
	}
	return qp, nil
}

// layer builds the int8 layer name from the file; w is the float layer's weight, which
// takes the saved shape (a thinned model).
func (rd *reader) layer(mod nn.Module, w *nn.Param, name string) (nn.Module, error) {
	t, err := rd.tensor(name+".weight", safetensors.I8, -1)
	if err != nil {
		return nil, err
	}
	if len(t.Shape) != len(w.Shape()) {
		return nil, fmt.Errorf("int8model: %s: %s.weight has shape %v, the layer %v: %w", rd.path, name, t.Shape, w.Shape(), ErrFormat)
	}
	w.Value, w.Grad = ops.New(t.Shape...), ops.New(t.Shape...)
	q := make([]int8, t.Len())
	for i, b := range t.Data {
		q[i] = int8(b)
	}
	cout := t.Shape[0]
	wq, err := rd.quant(name+".weight", -1)
	if err != nil {
		return nil, err
	}
	in, err := rd.quant(name+".input", 1)
	if err != nil {
		return nil, err
	}
	var out *nn.QuantParams
	if rd.f.Tensor(name+".output.scale") != nil {
		o, err := rd.quant(name+".output", 1)
		if err != nil {
			return nil, err
		}
		out = &o
	}
	var bias []int32
	if rd.f.Tensor(name+".bias") != nil {
		if bias, err = rd.i32s(name+".bias", cout); err != nil {
			return nil, err
		}
	}
	mult, err := rd.f32s(name+".requant", cout)
	if err != nil {
		return nil, err
	}
	rl, err := nn.NewRangeLinear(mod, in, wq, out, q, bias)
	if err != nil {
		return nil, fmt.Errorf("int8model: %s: %w", rd.path, err)
	}
	if err := rl.SetMult(mult); err != nil {
		return nil, err
	}
	if err := rl.SetInt8(true); err != nil {
		return nil, err
	}
	return rl, nil
}

func quantTensors(prefix string, qp *nn.QuantParams) []safetensors.Tensor {
	zp := make([]int32, len(qp.ZeroPoint))
	for i, z := range qp.ZeroPoint {
		zp[i] = int32(math.Round(float64(z)))
	}
	return []safetensors.Tensor{
		safetensors.FromFloat32(prefix+".scale", []int{len(qp.Scale)}, qp.Scale),
		i32tensor(prefix+".zero_point", zp),
		i32tensor(prefix+".range", []int32{qp.Min, qp.Max}),
	}
}

func i32tensor(name string, v []int32) safetensors.Tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	return safetensors.Tensor{Name: name, DType: safetensors.I32, Shape: []int{len(v)}, Data: b}
}

func i8bytes(q []int8) []byte {
	b := make([]byte, len(q))
	for i, v := range q {
		b[i] = byte(v)
	}
	return b
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
