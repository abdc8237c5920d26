package ops

import (
	"fmt"
	"math"

	"github.com/dst-dev/dst/kernels"
	"gorgonia.org/tensor"
)

// Conv2d is a 2-D convolution (cross-correlation, as in PyTorch) of an N×C×H×W input
// with a Cout×C×kh×kw weight and an optional bias of Cout values, with zero padding and
// a stride.
//
// The minibatch is lowered to matrix products in chunks of samples: the im2col
// matrices of a chunk sit side by side in a (C·kh·kw)×(chunk·outH·outW) matrix, so each
// of forward, weight gradient and input gradient is one GEMM per chunk, and the bias
// (and the optional fused ReLU) is applied in the pass that reorders the product into
// N×Cout×outH×outW. The chunk is sized so that the im2col matrix (about 256 KiB) stays
// in the core's cache while the GEMM reads it; Backward rebuilds it rather than keeping
// the whole batch's matrix from Forward, which is both smaller and faster.
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
	// Pool2x2 fuses a 2×2, stride-2 max pooling after the bias and the optional ReLU:
	// Forward returns the pooled N×Cout×⌊outH/2⌋×⌊outW/2⌋ tensor, computed straight
	// from the GEMM's output, and Backward takes the gradient with respect to it. The
	// values equal those of the separate ops; a window whose maxima differ only by
	// rounding after the bias is added may route its gradient to another of them.
	Pool2x2 bool

	x            *tensor.Dense
	n, c, h, w   int
	cout, kh, kw int
	oh, ow       int
	chunk        int
	argmax       []int32 // with Pool2x2: each pooled value's offset in its outH×outW plane
	colTarget    int     // values per im2col chunk; 0 means defaultColTarget
	col, tmp     []float32
	colChunk     int // first sample of the chunk whose im2col matrix col holds, or -1
	y, dx        Buffer
}

// defaultColTarget is the number of im2col values per chunk (256 KiB). On the MNIST
// models, chunks of 64 to 512 KiB train equally fast; 1 MiB and more, and whole
// batches, are slower.
const defaultColTarget = 1 << 16

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

// im2col fills cv.col with the im2col matrix of samples [s0, s0+cn) of x.
func (cv *Conv2d) im2col(xd []float32, s0, cn int) {
	if cv.colChunk == s0 {
		return
	}
	img := cv.c * cv.h * cv.w
	kernels.Im2colBatch(cv.col[:cv.c*cv.kh*cv.kw*cn*cv.oh*cv.ow], xd[s0*img:(s0+cn)*img], cn, cv.c, cv.h, cv.w, cv.kh, cv.kw, cv.PadH, cv.PadW, cv.StrideH, cv.StrideW)
	cv.colChunk = s0
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
	target := cv.colTarget
	if target <= 0 {
		target = defaultColTarget
	}
	cv.chunk = max(1, min(n, target/(k*p)))
	cv.col = grow(cv.col, k*cv.chunk*p)
	cv.tmp = grow(cv.tmp, cout*cv.chunk*p)
	cv.colChunk = -1
	var y *tensor.Dense
	q := p // values per output plane
	if cv.Pool2x2 {
		y = cv.y.Get(n, cout, oh/2, ow/2)
		q = (oh / 2) * (ow / 2)
		cv.argmax = growInt32(cv.argmax, n*cout*q)
	} else {
		y = cv.y.Get(n, cout, oh, ow)
	}
	yd := F32(y)
	for s0 := 0; s0 < n; s0 += cv.chunk {
		cn := min(cv.chunk, n-s0)
		l := cn * p
		cv.im2col(xd, s0, cn)
		kernels.Sgemm(false, false, cout, l, k, 1, wdat, k, cv.col, l, 0, cv.tmp, l)
		for o := 0; o < cout; o++ {
			var bv float32
			if bd != nil {
				bv = bd[o]
			}
			src := cv.tmp[o*l : (o+1)*l]
			for i := 0; i < cn; i++ {
				off := ((s0+i)*cout + o) * q
				if cv.Pool2x2 {
					out := yd[off : off+q]
					// Max first, then bias and ReLU: both are monotonic, so this is
					// the maximum of the biased, rectified values.
					maxPool2x2(out, cv.argmax[off:off+q], src[i*p:(i+1)*p], 1, oh, ow)
					kernels.AddBiasRelu(out, out, bv, cv.Relu)
					continue
				}
				kernels.AddBiasRelu(yd[off:off+p], src[i*p:(i+1)*p], bv, cv.Relu)
			}
		}
	}
	return y
}

// Backward takes dy, the gradient with respect to the last Forward's output, adds the
// weight gradient to dw and the bias gradient to db (nil for none), and returns the
// gradient with respect to the input (nil when NoInputGrad is set). It must follow a
// Forward with the same x and w. It panics if dy does not have the output's size.
func (cv *Conv2d) Backward(dy, w, dw, db *tensor.Dense) *tensor.Dense {
	if cv.x == nil {
		panic("ops: Conv2d: Backward without Forward")
	}
	n, cout, p := cv.n, cv.cout, cv.oh*cv.ow
	k := cv.c * cv.kh * cv.kw
	q := p // values per output plane
	if cv.Pool2x2 {
		q = (cv.oh / 2) * (cv.ow / 2)
	}
	dyd := checkSize("Conv2d", "output gradient", dy, n*cout*q)
	wdat := F32(w)
	if len(wdat) != cout*k {
		panic(fmt.Sprintf("ops: Conv2d: weight shape %v changed since Forward", w.Shape()))
	}
	dwd := checkSize("Conv2d", "weight gradient", dw, cout*k)
	var dbd []float32
	if db != nil {
		dbd = checkSize("Conv2d", "bias gradient", db, cout)
	}
	var yd []float32
	if cv.Relu {
		yd = F32(cv.y.t)
	}
	xd := F32(cv.x)
	var dxd []float32
	var dx *tensor.Dense
	if !cv.NoInputGrad {
		dx = cv.dx.Get(n, cv.c, cv.h, cv.w)
		dxd = F32(dx)
		clear(dxd)
	}
	// Walk the chunks backwards: the last chunk's im2col matrix is still in col.
	last := (n - 1) / cv.chunk * cv.chunk
	for s0 := last; s0 >= 0; s0 -= cv.chunk {
		cn := min(cv.chunk, n-s0)
		l := cn * p
		// Reorder dy (chunk×Cout×P) into tmp (Cout×chunk·P), applying the ReLU mask
		// and summing the bias gradient on the way.
		for o := 0; o < cout; o++ {
			var s float32
			dst := cv.tmp[o*l : (o+1)*l]
			if cv.Pool2x2 {
				// Each pooled gradient goes to its window's maximum; the rest of the
				// plane gets none.
				clear(dst)
				for i := 0; i < cn; i++ {
					off := ((s0+i)*cout + o) * q
					d := dst[i*p : (i+1)*p]
					g, am := dyd[off:off+q], cv.argmax[off:off+q]
					if yd != nil {
						yy := yd[off : off+q]
						for j, v := range g {
							v = math.Float32frombits(math.Float32bits(v) & positiveMask(yy[j]))
							d[am[j]] = v
							s += v
						}
					} else {
						for j, v := range g {
							d[am[j]] = v
							s += v
						}
					}
				}
				if dbd != nil {
					dbd[o] += s
				}
				continue
			}
			for i := 0; i < cn; i++ {
				off := ((s0+i)*cout + o) * p
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
		cv.im2col(xd, s0, cn)
		kernels.Sgemm(false, true, cout, k, l, 1, cv.tmp, l, cv.col, l, 1, dwd, k)
		if dxd == nil {
			continue
		}
		// The chunk's im2col matrix is no longer needed: reuse it for the column
		// gradient.
		kernels.Sgemm(true, false, k, l, cout, 1, wdat, k, cv.tmp, l, 0, cv.col, l)
		cv.colChunk = -1
		img := cv.c * cv.h * cv.w
		kernels.Col2imBatch(dxd[s0*img:(s0+cn)*img], cv.col[:cv.c*cv.kh*cv.kw*cn*cv.oh*cv.ow], cn, cv.c, cv.h, cv.w, cv.kh, cv.kw, cv.PadH, cv.PadW, cv.StrideH, cv.StrideW)
	}
	return dx
}
