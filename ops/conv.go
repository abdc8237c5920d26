package ops

import (
	"fmt"
	"math"

	"github.com/dst-dev/dst/kernels"
	"gorgonia.org/tensor"
)

// Conv2d is a 2-D convolution (cross-correlation, as in PyTorch) of an N×C×H×W input
// with a Cout×C×kh×kw weight and an optional bias of Cout values, with zero padding and
// a stride. The whole minibatch is lowered to one matrix product: the im2col matrices of
// the N samples sit side by side in a (C·kh·kw)×(N·outH·outW) matrix, so forward,
// weight gradient and input gradient are one GEMM each, and the bias (and the optional
// fused ReLU) is applied in the pass that reorders the product into N×Cout×outH×outW.
//
// Create it with [NewConv2d]; the fields may be changed between calls.
type Conv2d struct {
	// StrideH and StrideW are the window strides (at least 1).
	StrideH, StrideW int
	// PadH and PadW are the zero paddings added on both sides of each spatial axis.
	PadH, PadW int
	// Relu fuses a ReLU after the bias: Forward returns max(conv+bias, 0) and Backward
	// takes the gradient with respect to that.
	Relu bool
	// NoInputGrad makes Backward skip the input gradient and return nil (for a first
	// layer, whose input needs no gradient).
	NoInputGrad bool

	x              *tensor.Dense
	n, c, h, w     int
	cout, kh, kw   int
	oh, ow         int
	col, tmp       []float32
	y, dx          Buffer
	colHoldsDeltas bool
}

// NewConv2d returns a convolution with the given stride and padding on both axes.
// It panics if stride < 1 or pad < 0.
func NewConv2d(stride, pad int) *Conv2d {
	if stride < 1 || pad < 0 {
		panic(fmt.Sprintf("ops: NewConv2d: stride %d, pad %d", stride, pad))
	}
	return &Conv2d{StrideH: stride, StrideW: stride, PadH: pad, PadW: pad}
}

// OutSize returns the output height and width for an h×w input and a kh×kw kernel.
func (cv *Conv2d) OutSize(h, w, kh, kw int) (oh, ow int) {
	return kernels.ConvOutSize(h, kh, cv.PadH, cv.StrideH), kernels.ConvOutSize(w, kw, cv.PadW, cv.StrideW)
}

// Forward returns the N×Cout×outH×outW convolution of x by weight w plus bias b (nil for
// none). It panics if the shapes do not fit together.
func (cv *Conv2d) Forward(x, w, b *tensor.Dense) *tensor.Dense {
	n, c, h, wd := dims4("Conv2d", x)
	ws := w.Shape()
	if len(ws) != 4 || ws[1] != c {
		panic(fmt.Sprintf("ops: Conv2d: weight shape %v does not fit input %v", ws, x.Shape()))
	}
	cout, kh, kw := ws[0], ws[2], ws[3]
	oh, ow := cv.OutSize(h, wd, kh, kw)
	if oh == 0 || ow == 0 {
		panic(fmt.Sprintf("ops: Conv2d: kernel %d×%d larger than padded input %v", kh, kw, x.Shape()))
	}
	var bd []float32
	if b != nil {
		bd = checkSize("Conv2d", "bias", b, cout)
	}
	cv.x, cv.n, cv.c, cv.h, cv.w = x, n, c, h, wd
	cv.cout, cv.kh, cv.kw, cv.oh, cv.ow = cout, kh, kw, oh, ow
	xd, wdat := F32(x), F32(w)
	k, p := c*kh*kw, oh*ow
	l := n * p
	cv.col = grow(cv.col, k*l)
	img := c * h * wd
	for i := 0; i < n; i++ {
		im2colAt(cv.col, l, i*p, xd[i*img:(i+1)*img], c, h, wd, kh, kw, cv.PadH, cv.PadW, cv.StrideH, cv.StrideW, oh, ow)
	}
	cv.colHoldsDeltas = false
	cv.tmp = grow(cv.tmp, cout*l)
	kernels.Sgemm(false, false, cout, l, k, 1, wdat, k, cv.col, l, 0, cv.tmp, l)
	y := cv.y.Get(n, cout, oh, ow)
	yd := F32(y)
	for o := 0; o < cout; o++ {
		var bv float32
		if bd != nil {
			bv = bd[o]
		}
		src := cv.tmp[o*l : (o+1)*l]
		for i := 0; i < n; i++ {
			biasAct(yd[(i*cout+o)*p:(i*cout+o+1)*p], src[i*p:(i+1)*p], bv, cv.Relu)
		}
	}
	return y
}

// biasAct writes dst[j] = src[j] + b, clamped at 0 when relu is set (NaN stays NaN).
func biasAct(dst, src []float32, b float32, relu bool) {
	dst = dst[:len(src)]
	if relu {
		for j, v := range src {
			dst[j] = max(v+b, 0)
		}
		return
	}
	for j, v := range src {
		dst[j] = v + b
	}
}

// Backward takes dy, the gradient with respect to the last Forward's output, adds the
// weight gradient to dw and the bias gradient to db (nil for none), and returns the
// gradient with respect to the input (nil when NoInputGrad is set). It must follow a
// Forward with the same w, once. It panics if dy does not have the output's size.
func (cv *Conv2d) Backward(dy, w, dw, db *tensor.Dense) *tensor.Dense {
	if cv.x == nil || cv.colHoldsDeltas {
		panic("ops: Conv2d: Backward without a matching Forward")
	}
	n, cout, p := cv.n, cv.cout, cv.oh*cv.ow
	l := n * p
	k := cv.c * cv.kh * cv.kw
	dyd := checkSize("Conv2d", "output gradient", dy, n*cout*p)
	wdat := F32(w)
	if len(wdat) != cout*k {
		panic(fmt.Sprintf("ops: Conv2d: weight shape %v changed since Forward", w.Shape()))
	}
	var dbd []float32
	if db != nil {
		dbd = checkSize("Conv2d", "bias gradient", db, cout)
	}
	var yd []float32
	if cv.Relu {
		yd = F32(cv.y.t)
	}
	// Reorder dy (N×Cout×P) into tmp (Cout×N·P), applying the ReLU mask and summing
	// the bias gradient on the way.
	cv.tmp = grow(cv.tmp, cout*l)
	for o := 0; o < cout; o++ {
		var s float32
		dst := cv.tmp[o*l : (o+1)*l]
		for i := 0; i < n; i++ {
			off := (i*cout + o) * p
			g := dyd[off : off+p]
			d := dst[i*p : (i+1)*p]
			if yd != nil {
				yy := yd[off : off+p]
				for j, v := range g {
					v = math.Float32frombits(math.Float32bits(v) & positiveMask(yy[j]))
					d[j] = v
					s += v
				}
			} else {
				for j, v := range g {
					d[j] = v
					s += v
				}
			}
		}
		if dbd != nil {
			dbd[o] += s
		}
	}
	dwd := checkSize("Conv2d", "weight gradient", dw, cout*k)
	kernels.Sgemm(false, true, cout, k, l, 1, cv.tmp, l, cv.col, l, 1, dwd, k)
	if cv.NoInputGrad {
		return nil
	}
	// The im2col matrix is no longer needed: reuse it for the column gradient.
	kernels.Sgemm(true, false, k, l, cout, 1, wdat, k, cv.tmp, l, 0, cv.col, l)
	cv.colHoldsDeltas = true
	dx := cv.dx.Get(n, cv.c, cv.h, cv.w)
	dxd := F32(dx)
	clear(dxd)
	img := cv.c * cv.h * cv.w
	for i := 0; i < n; i++ {
		col2imAt(dxd[i*img:(i+1)*img], cv.col, l, i*p, cv.c, cv.h, cv.w, cv.kh, cv.kw, cv.PadH, cv.PadW, cv.StrideH, cv.StrideW, cv.oh, cv.ow)
	}
	return dx
}
