package ops

import (
	"fmt"
	"math"

	"github.com/dst-dev/dst/kernels"

	"gorgonia.org/tensor"
)

// BatchNorm2d normalises each channel of an N×C×H×W tensor, as PyTorch's
// nn.BatchNorm2d: y = (x − μ)/√(σ² + ε)·γ + β.
//
// In training mode μ and σ² are the batch's per-channel mean and biased variance, and
// the running statistics move towards them: running_mean ← (1−m)·running_mean + m·μ,
// running_var ← (1−m)·running_var + m·σ²·M/(M−1) (unbiased, M = N·H·W). In evaluation
// mode the running statistics are used and not changed. Sums run in float32 within an
// H×W plane (vectorised) and in float64 across planes.
type BatchNorm2d struct {
	// Eps is added to the variance (PyTorch: 1e-5).
	Eps float64
	// Momentum is the running-statistics update rate m (PyTorch: 0.1).
	Momentum float64

	x        *tensor.Dense
	train    bool
	n, c, hw int
	xhat     []float32
	invstd   []float64
	y, dx    Buffer
}

// NewBatchNorm2d returns batch normalisation with PyTorch's defaults (ε 1e-5, momentum
// 0.1).
func NewBatchNorm2d() *BatchNorm2d { return &BatchNorm2d{Eps: 1e-5, Momentum: 0.1} }

// Forward normalises x with batch statistics (train) or the running ones, then scales
// by gamma and shifts by beta (C values each). In training mode it updates runMean and
// runVar (C values each). It panics if the sizes do not fit.
func (bn *BatchNorm2d) Forward(x, gamma, beta, runMean, runVar *tensor.Dense, train bool) *tensor.Dense {
	n, c, h, w := dims4("BatchNorm2d", x)
	hw := h * w
	g := checkSize("BatchNorm2d", "weight", gamma, c)
	b := checkSize("BatchNorm2d", "bias", beta, c)
	rm := checkSize("BatchNorm2d", "running_mean", runMean, c)
	rv := checkSize("BatchNorm2d", "running_var", runVar, c)
	if train && n*hw < 2 {
		panic(fmt.Sprintf("ops: BatchNorm2d: training needs more than one value per channel, got input %v", x.Shape()))
	}
	bn.x, bn.train, bn.n, bn.c, bn.hw = x, train, n, c, hw
	xd := F32(x)
	bn.xhat = grow(bn.xhat, len(xd))
	if cap(bn.invstd) < c {
		bn.invstd = make([]float64, c)
	}
	bn.invstd = bn.invstd[:c]
	y := bn.y.Get(n, c, h, w)
	yd := F32(y)
	m := float64(n * hw)
	for ch := 0; ch < c; ch++ {
		var mean, variance float64
		if train {
			// Sums run per H×W plane in float32 (vectorised kernels) and across planes
			// in float64.
			var s float64
			for i := 0; i < n; i++ {
				s += float64(kernels.Sum(xd[(i*c+ch)*hw : (i*c+ch+1)*hw]))
			}
			mean = s / m
			var q float64
			mf := float32(mean)
			for i := 0; i < n; i++ {
				off := (i*c + ch) * hw
				t := bn.xhat[off : off+hw]
				for j, v := range xd[off : off+hw] {
					t[j] = v - mf
				}
				q += float64(kernels.Dot(t, t))
			}
			variance = q / m
			mom := bn.Momentum
			rm[ch] = float32((1-mom)*float64(rm[ch]) + mom*mean)
			rv[ch] = float32((1-mom)*float64(rv[ch]) + mom*variance*m/(m-1))
		} else {
			mean, variance = float64(rm[ch]), float64(rv[ch])
		}
		inv := 1 / math.Sqrt(variance+bn.Eps)
		bn.invstd[ch] = inv
		mf, invf, gf, bf := float32(mean), float32(inv), g[ch], b[ch]
		for i := 0; i < n; i++ {
			off := (i*c + ch) * hw
			xs, xh, ys := xd[off:off+hw], bn.xhat[off:off+hw], yd[off:off+hw]
			for j, v := range xs {
				t := (v - mf) * invf
				xh[j] = t
				ys[j] = t*gf + bf
			}
		}
	}
	return y
}

// Backward adds the gradients with respect to gamma and beta to dgamma and dbeta (nil
// to skip either) and returns the input gradient. In training mode the gradient flows
// through the batch statistics:
//
//	dx = γ/(M·√(σ²+ε)) · (M·dy − Σdy − x̂·Σ(dy·x̂))
//
// It panics if the sizes do not fit the last Forward.
func (bn *BatchNorm2d) Backward(dy, gamma, dgamma, dbeta *tensor.Dense) *tensor.Dense {
	if bn.x == nil {
		panic("ops: BatchNorm2d: Backward without Forward")
	}
	n, c, hw := bn.n, bn.c, bn.hw
	gd := checkSize("BatchNorm2d", "output gradient", dy, n*c*hw)
	g := checkSize("BatchNorm2d", "weight", gamma, c)
	var dg, db []float32
	if dgamma != nil {
		dg = checkSize("BatchNorm2d", "weight gradient", dgamma, c)
	}
	if dbeta != nil {
		db = checkSize("BatchNorm2d", "bias gradient", dbeta, c)
	}
	dx := bn.dx.Get(bn.x.Shape()...)
	dxd := F32(dx)
	m := float64(n * hw)
	for ch := 0; ch < c; ch++ {
		var sdy, sdyx float64
		for i := 0; i < n; i++ {
			off := (i*c + ch) * hw
			g := gd[off : off+hw]
			sdy += float64(kernels.Sum(g))
			sdyx += float64(kernels.Dot(g, bn.xhat[off:off+hw]))
		}
		if dg != nil {
			dg[ch] += float32(sdyx)
		}
		if db != nil {
			db[ch] += float32(sdy)
		}
		if !bn.train {
			k := g[ch] * float32(bn.invstd[ch])
			for i := 0; i < n; i++ {
				off := (i*c + ch) * hw
				for j, v := range gd[off : off+hw] {
					dxd[off+j] = v * k
				}
			}
			continue
		}
		k := float32(float64(g[ch]) * bn.invstd[ch])
		a, bb := float32(sdy/m), float32(sdyx/m)
		for i := 0; i < n; i++ {
			off := (i*c + ch) * hw
			xh := bn.xhat[off : off+hw]
			for j, v := range gd[off : off+hw] {
				dxd[off+j] = k * (v - a - xh[j]*bb)
			}
		}
	}
	return dx
}
