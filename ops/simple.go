package ops

import (
	"fmt"
	"math/rand/v2"

	"github.com/dst-dev/dst/kernels"
	"gorgonia.org/tensor"
)

// ReLU is the rectifier y = max(x, 0) (NaN stays NaN, as in PyTorch). The zero value is ready to use.
type ReLU struct {
	y, dx Buffer
}

// Forward returns max(x, 0), shaped like x.
func (r *ReLU) Forward(x *tensor.Dense) *tensor.Dense {
	y := r.y.Get(x.Shape()...)
	reluTo(F32(y), F32(x))
	return y
}

// Backward returns dy where the output was positive and 0 elsewhere.
func (r *ReLU) Backward(dy *tensor.Dense) *tensor.Dense {
	if r.y.t == nil {
		panic("ops: ReLU: Backward without Forward")
	}
	dx := r.dx.Get(r.y.t.Shape()...)
	reluGradTo(F32(dx), checkSize("ReLU", "output gradient", dy, len(F32(dx))), F32(r.y.t))
	return dx
}

// Flatten reshapes an N×… tensor to N×(product of the rest) without copying; the
// output shares the input's storage, and the input gradient shares dy's. The zero
// value is ready to use.
type Flatten struct {
	in       []int
	fwd, bwd View
}

// Forward returns x viewed as a matrix with one row per sample.
func (f *Flatten) Forward(x *tensor.Dense) *tensor.Dense {
	n, rest := rows(x)
	if !shapeIs(x.Shape(), f.in) {
		f.in = append(f.in[:0], x.Shape()...)
	}
	return f.fwd.Of(x, n, rest)
}

// Backward returns dy viewed with the shape of the last Forward's input.
func (f *Flatten) Backward(dy *tensor.Dense) *tensor.Dense {
	if f.in == nil {
		panic("ops: Flatten: Backward without Forward")
	}
	return f.bwd.Of(dy, f.in...)
}

// Dropout zeroes each element with probability P during training and scales the
// others by 1/(1−P), as PyTorch's nn.Dropout; in evaluation it is the identity (the
// input tensor itself is returned). The mask is drawn from Rand.
type Dropout struct {
	// P is the probability of zeroing an element, in [0, 1).
	P float64
	// Rand is the source of the masks.
	Rand *rand.Rand

	mask  []float32
	train bool
	y, dx Buffer
}

// NewDropout returns dropout with probability p drawing its masks from PCG(seed, 0).
// It panics if p is outside [0, 1).
func NewDropout(p float64, seed uint64) *Dropout {
	if !(p >= 0 && p < 1) {
		panic(fmt.Sprintf("ops: NewDropout: probability %v outside [0, 1)", p))
	}
	return &Dropout{P: p, Rand: rand.New(rand.NewPCG(seed, 0))}
}

// Forward applies a fresh random mask when train is set and returns x otherwise.
func (d *Dropout) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	d.train = train && d.P > 0
	if !d.train {
		return x
	}
	xd := F32(x)
	d.mask = grow(d.mask, len(xd))
	scale := float32(1 / (1 - d.P))
	y := d.y.Get(x.Shape()...)
	yd := F32(y)
	for i, v := range xd {
		m := scale
		if d.Rand.Float64() < d.P {
			m = 0
		}
		d.mask[i] = m
		yd[i] = v * m
	}
	return y
}

// Backward returns dy times the last mask (dy itself in evaluation mode).
func (d *Dropout) Backward(dy *tensor.Dense) *tensor.Dense {
	if !d.train {
		return dy
	}
	g := checkSize("Dropout", "output gradient", dy, len(d.mask))
	dx := d.dx.Get(dy.Shape()...)
	kernels.Mul(F32(dx), g, d.mask)
	return dx
}

// Add is the element-wise sum of two tensors of one shape (the residual connection of
// a ResNet block). The zero value is ready to use.
type Add struct {
	y Buffer
}

// Forward returns a + b. It panics if the sizes differ.
func (a *Add) Forward(x, y *tensor.Dense) *tensor.Dense {
	xd := F32(x)
	yd := checkSize("Add", "second operand", y, len(xd))
	out := a.y.Get(x.Shape()...)
	kernels.Add(F32(out), xd, yd)
	return out
}

// Backward returns the gradients with respect to both operands, which are both dy
// itself (not copies).
func (a *Add) Backward(dy *tensor.Dense) (dx, dy2 *tensor.Dense) { return dy, dy }
