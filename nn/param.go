package nn

import (
	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// Kind classifies a parameter by the role it plays in its layer. Schedules use it to
// decide what a layer name stands for: a bare layer name selects its weight, never its bias.
type Kind int

const (
	// KindWeight is the weight of a Linear, Conv2d or LSTM layer.
	KindWeight Kind = iota
	// KindBias is the bias of a Linear, Conv2d or LSTM layer.
	KindBias
	// KindNormWeight is the scale (gamma) of a BatchNorm layer.
	KindNormWeight
	// KindNormBias is the shift (beta) of a BatchNorm layer.
	KindNormBias
	// KindOther is any other learned tensor (for example a PACT clipping value).
	KindOther
)

// String returns the kind's lower-case name.
func (k Kind) String() string {
	switch k {
	case KindWeight:
		return "weight"
	case KindBias:
		return "bias"
	case KindNormWeight:
		return "norm_weight"
	case KindNormBias:
		return "norm_bias"
	}
	return "other"
}

// Param is one learned tensor of a model, named exactly as PyTorch and Distiller name it
// (for example "conv1.weight" or "layer1.0.conv2.weight").
//
// Value and Grad always have the same shape. Backward passes accumulate into Grad (+=);
// the training loop zeroes Grad before every forward pass, so hooks may add terms (for
// example a regularizer's gradient) before or after backward.
//
// Mask is nil for a dense parameter. When set, it has Value's shape and holds only 0 and 1;
// [Param.ApplyMask] multiplies Value by it, and optimizers also mask their state (momentum,
// Adam moments) so no pruned weight is revived.
type Param struct {
	// Name is the dotted PyTorch name, unique within a model.
	Name string
	// Layer is the dotted name of the module that owns the parameter ("conv1", "layer1.0.conv2").
	Layer string
	// Kind says what role the parameter plays in its layer.
	Kind Kind
	// Value holds the parameter's float32 values.
	Value *tensor.Dense
	// Grad holds the gradient of the loss with respect to Value.
	Grad *tensor.Dense
	// Mask is nil (dense) or a 0/1 tensor of Value's shape.
	Mask *tensor.Dense
}

// NewParam returns a parameter with zeroed value and gradient of the given shape.
func NewParam(name, layer string, kind Kind, shape ...int) *Param {
	return &Param{
		Name:  name,
		Layer: layer,
		Kind:  kind,
		Value: tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32)),
		Grad:  tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32)),
	}
}

// Data returns the parameter's values as a flat slice aliasing Value. It does not
// allocate.
func (p *Param) Data() []float32 { return ops.F32(p.Value) }

// GradData returns the gradient as a flat slice aliasing Grad. It does not allocate.
func (p *Param) GradData() []float32 { return ops.F32(p.Grad) }

// MaskData returns the mask as a flat slice aliasing Mask, or nil for a dense parameter.
func (p *Param) MaskData() []float32 {
	if p.Mask == nil {
		return nil
	}
	return ops.F32(p.Mask)
}

// Shape returns a copy of the parameter's shape.
func (p *Param) Shape() []int { return append([]int(nil), p.Value.Shape()...) }

// Len returns the number of elements.
func (p *Param) Len() int { return p.Value.Shape().TotalSize() }

// SetMask installs mask (a flat 0/1 slice of Len elements, copied) and applies it.
// It panics if the length does not match; that is a programming error.
func (p *Param) SetMask(mask []float32) {
	if len(mask) != p.Len() {
		panic("nn: SetMask: mask length does not match parameter " + p.Name)
	}
	if p.Mask == nil {
		p.Mask = tensor.New(tensor.WithShape(p.Value.Shape()...), tensor.Of(tensor.Float32))
	}
	copy(p.MaskData(), mask)
	p.ApplyMask()
}

// ClearMask removes the mask; the parameter becomes dense again (zeroed values stay zero
// until training changes them).
func (p *Param) ClearMask() { p.Mask = nil }

// ApplyMask multiplies the values by the mask; it does nothing for a dense parameter.
func (p *Param) ApplyMask() {
	m := p.MaskData()
	if m == nil {
		return
	}
	v := p.Data()
	for i, k := range m {
		if k == 0 {
			v[i] = 0
		}
	}
}

// NNZ returns the number of non-zero values.
func (p *Param) NNZ() int {
	n := 0
	for _, v := range p.Data() {
		if v != 0 {
			n++
		}
	}
	return n
}
