package ops

import (
	"fmt"

	"github.com/dst-dev/dst/kernels"
	"gorgonia.org/tensor"
)

// Pool2d is the window geometry shared by [MaxPool2d] and [AvgPool2d].
type Pool2d struct {
	// KH and KW are the window size.
	KH, KW int
	// StrideH and StrideW are the window strides (PyTorch's default is the window size).
	StrideH, StrideW int
	// PadH and PadW are the implicit paddings on both sides (-Inf for max, 0 for average).
	PadH, PadW int
}

func (g *Pool2d) check(op string) {
	if g.KH < 1 || g.KW < 1 || g.StrideH < 1 || g.StrideW < 1 || g.PadH < 0 || g.PadW < 0 {
		panic(fmt.Sprintf("ops: %s: invalid window %+v", op, *g))
	}
}

// OutSize returns the output height and width for an h×w input.
func (g *Pool2d) OutSize(h, w int) (oh, ow int) {
	return kernels.ConvOutSize(h, g.KH, g.PadH, g.StrideH), kernels.ConvOutSize(w, g.KW, g.PadW, g.StrideW)
}

// MaxPool2d is max pooling over N×C×H×W tensors, as PyTorch's nn.MaxPool2d (padding
// counts as -Inf; the gradient goes to the first maximum of each window).
type MaxPool2d struct {
	Pool2d

	x      *tensor.Dense
	argmax []int32
	y, dx  Buffer
}

// NewMaxPool2d returns max pooling with a k×k window, the given stride and padding.
func NewMaxPool2d(k, stride, pad int) *MaxPool2d {
	return &MaxPool2d{Pool2d: Pool2d{KH: k, KW: k, StrideH: stride, StrideW: stride, PadH: pad, PadW: pad}}
}

// Forward returns the pooled N×C×outH×outW tensor.
func (mp *MaxPool2d) Forward(x *tensor.Dense) *tensor.Dense {
	mp.check("MaxPool2d")
	n, c, h, w := dims4("MaxPool2d", x)
	oh, ow := mp.OutSize(h, w)
	y := mp.y.Get(n, c, oh, ow)
	mp.x = x
	mp.argmax = growInt32(mp.argmax, n*c*oh*ow)
	if mp.KH == 2 && mp.KW == 2 && mp.StrideH == 2 && mp.StrideW == 2 && mp.PadH == 0 && mp.PadW == 0 {
		maxPool2x2(F32(y), mp.argmax, F32(x), n*c, h, w)
	} else {
		kernels.MaxPool2d(F32(y), mp.argmax, F32(x), n*c, h, w, mp.KH, mp.KW, mp.PadH, mp.PadW, mp.StrideH, mp.StrideW)
	}
	return y
}

// Backward returns the input gradient: each output gradient goes to its window's
// maximum.
func (mp *MaxPool2d) Backward(dy *tensor.Dense) *tensor.Dense {
	if mp.x == nil {
		panic("ops: MaxPool2d: Backward without Forward")
	}
	g := checkSize("MaxPool2d", "output gradient", dy, len(mp.argmax))
	dx := mp.dx.Get(mp.x.Shape()...)
	dxd := F32(dx)
	clear(dxd)
	kernels.MaxPool2dBackward(dxd, g, mp.argmax)
	return dx
}

// AvgPool2d is average pooling over N×C×H×W tensors, as PyTorch's nn.AvgPool2d with
// count_include_pad=True (every window divides by KH·KW).
type AvgPool2d struct {
	Pool2d

	x     *tensor.Dense
	y, dx Buffer
}

// NewAvgPool2d returns average pooling with a k×k window, the given stride and padding.
func NewAvgPool2d(k, stride, pad int) *AvgPool2d {
	return &AvgPool2d{Pool2d: Pool2d{KH: k, KW: k, StrideH: stride, StrideW: stride, PadH: pad, PadW: pad}}
}

// Forward returns the pooled N×C×outH×outW tensor.
func (ap *AvgPool2d) Forward(x *tensor.Dense) *tensor.Dense {
	ap.check("AvgPool2d")
	n, c, h, w := dims4("AvgPool2d", x)
	oh, ow := ap.OutSize(h, w)
	y := ap.y.Get(n, c, oh, ow)
	ap.x = x
	kernels.AvgPool2d(F32(y), F32(x), n*c, h, w, ap.KH, ap.KW, ap.PadH, ap.PadW, ap.StrideH, ap.StrideW)
	return y
}

// Backward returns the input gradient: each output gradient is spread evenly over its
// window.
func (ap *AvgPool2d) Backward(dy *tensor.Dense) *tensor.Dense {
	if ap.x == nil {
		panic("ops: AvgPool2d: Backward without Forward")
	}
	n, c, h, w := dims4("AvgPool2d", ap.x)
	oh, ow := ap.OutSize(h, w)
	g := checkSize("AvgPool2d", "output gradient", dy, n*c*oh*ow)
	dx := ap.dx.Get(n, c, h, w)
	dxd := F32(dx)
	clear(dxd)
	kernels.AvgPool2dBackward(dxd, g, n*c, h, w, ap.KH, ap.KW, ap.PadH, ap.PadW, ap.StrideH, ap.StrideW)
	return dx
}
