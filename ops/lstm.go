package ops

import (
	"fmt"
	"math"

	"github.com/dst-dev/dst/kernels"
	"gorgonia.org/tensor"
)

// LSTM is one layer of PyTorch's nn.LSTM over a T×N×I sequence (time first), with
// weights W_ih (4H×I), W_hh (4H×H) and biases b_ih, b_hh (4H each, or nil), gates in
// PyTorch's order i, f, g, o:
//
//	gates = x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh
//	i, f, o = σ(gates_i), σ(gates_f), σ(gates_o);  g = tanh(gates_g)
//	c_t = f⊙c_{t−1} + i⊙g;  h_t = o⊙tanh(c_t)
//
// The input projections of all T steps are one GEMM, and so are the weight gradients;
// only the recurrent product runs step by step. The zero value is ready to use.
type LSTM struct {
	x         *tensor.Dense
	t, n, in  int
	hid       int
	act       []float32 // T×N×4H gate activations i, f, g, o
	hs, cs    []float32 // (T+1)×N×H hidden and cell states; step 0 is the initial state
	tanhC     []float32 // T×N×H tanh(c_t)
	dgates    []float32 // T×N×4H
	dh, dc    []float32 // N×H running gradients
	y, hT, cT Buffer
	dx, dh0   Buffer
	dc0       Buffer
}

// Forward runs the layer over x (T×N×I) from the initial state h0, c0 (N×H each, or nil
// for zeros) and returns the outputs y (T×N×H) and the final state hT, cT (N×H). It
// panics if the shapes do not fit together.
func (l *LSTM) Forward(x, h0, c0, wih, whh, bih, bhh *tensor.Dense) (y, hT, cT *tensor.Dense) {
	xs := x.Shape()
	if len(xs) != 3 {
		panic(fmt.Sprintf("ops: LSTM: input shape %v, want T×N×I", xs))
	}
	t, n, in := xs[0], xs[1], xs[2]
	ws := wih.Shape()
	if len(ws) != 2 || ws[1] != in || ws[0]%4 != 0 {
		panic(fmt.Sprintf("ops: LSTM: weight_ih shape %v does not fit input %v", ws, xs))
	}
	hid := ws[0] / 4
	g4 := 4 * hid
	whd := checkSize("LSTM", "weight_hh", whh, g4*hid)
	l.x, l.t, l.n, l.in, l.hid = x, t, n, in, hid
	l.act = grow(l.act, t*n*g4)
	l.hs = grow(l.hs, (t+1)*n*hid)
	l.cs = grow(l.cs, (t+1)*n*hid)
	l.tanhC = grow(l.tanhC, t*n*hid)
	if h0 != nil {
		copy(l.hs[:n*hid], checkSize("LSTM", "h0", h0, n*hid))
	} else {
		clear(l.hs[:n*hid])
	}
	if c0 != nil {
		copy(l.cs[:n*hid], checkSize("LSTM", "c0", c0, n*hid))
	} else {
		clear(l.cs[:n*hid])
	}
	// Input projections of every step at once, plus both biases.
	kernels.Sgemm(false, true, t*n, g4, in, 1, F32(x), in, F32(wih), in, 0, l.act, g4)
	for _, b := range []*tensor.Dense{bih, bhh} {
		if b != nil {
			kernels.AddRowVector(l.act, t*n, g4, checkSize("LSTM", "bias", b, g4))
		}
	}
	for s := 0; s < t; s++ {
		a := l.act[s*n*g4 : (s+1)*n*g4]
		hp := l.hs[s*n*hid : (s+1)*n*hid]
		kernels.Sgemm(false, true, n, g4, hid, 1, hp, hid, whd, hid, 1, a, g4)
		cp := l.cs[s*n*hid : (s+1)*n*hid]
		cn := l.cs[(s+1)*n*hid : (s+2)*n*hid]
		hn := l.hs[(s+1)*n*hid : (s+2)*n*hid]
		tc := l.tanhC[s*n*hid : (s+1)*n*hid]
		for r := 0; r < n; r++ {
			ar := a[r*g4 : (r+1)*g4]
			for j := 0; j < hid; j++ {
				ig := sigmoid(ar[j])
				fg := sigmoid(ar[hid+j])
				gg := float32(math.Tanh(float64(ar[2*hid+j])))
				og := sigmoid(ar[3*hid+j])
				ar[j], ar[hid+j], ar[2*hid+j], ar[3*hid+j] = ig, fg, gg, og
				k := r*hid + j
				c := fg*cp[k] + ig*gg
				cn[k] = c
				th := float32(math.Tanh(float64(c)))
				tc[k] = th
				hn[k] = og * th
			}
		}
	}
	y = l.y.Get(t, n, hid)
	copy(F32(y), l.hs[n*hid:])
	hT = l.hT.Get(n, hid)
	copy(F32(hT), l.hs[t*n*hid:])
	cT = l.cT.Get(n, hid)
	copy(F32(cT), l.cs[t*n*hid:])
	return y, hT, cT
}

func sigmoid(v float32) float32 { return float32(1 / (1 + math.Exp(-float64(v)))) }

// Backward back-propagates through time from dy (T×N×H) and the gradients of the final
// state dhT, dcT (N×H each, or nil for zero). It adds the weight and bias gradients to
// dwih, dwhh, dbih, dbhh (nil to skip a bias) and returns the gradients of the input
// and of the initial state. It must follow a Forward with the same weights.
func (l *LSTM) Backward(dy, dhT, dcT, wih, whh, dwih, dwhh, dbih, dbhh *tensor.Dense) (dx, dh0, dc0 *tensor.Dense) {
	if l.x == nil {
		panic("ops: LSTM: Backward without Forward")
	}
	t, n, in, hid := l.t, l.n, l.in, l.hid
	g4 := 4 * hid
	dyd := checkSize("LSTM", "output gradient", dy, t*n*hid)
	whd := checkSize("LSTM", "weight_hh", whh, g4*hid)
	wid := checkSize("LSTM", "weight_ih", wih, g4*in)
	l.dgates = grow(l.dgates, t*n*g4)
	l.dh = grow(l.dh, n*hid)
	l.dc = grow(l.dc, n*hid)
	if dhT != nil {
		copy(l.dh, checkSize("LSTM", "final hidden gradient", dhT, n*hid))
	} else {
		clear(l.dh)
	}
	if dcT != nil {
		copy(l.dc, checkSize("LSTM", "final cell gradient", dcT, n*hid))
	} else {
		clear(l.dc)
	}
	for s := t - 1; s >= 0; s-- {
		a := l.act[s*n*g4 : (s+1)*n*g4]
		dg := l.dgates[s*n*g4 : (s+1)*n*g4]
		cp := l.cs[s*n*hid : (s+1)*n*hid]
		tc := l.tanhC[s*n*hid : (s+1)*n*hid]
		ys := dyd[s*n*hid : (s+1)*n*hid]
		for r := 0; r < n; r++ {
			ar, dr := a[r*g4:(r+1)*g4], dg[r*g4:(r+1)*g4]
			for j := 0; j < hid; j++ {
				k := r*hid + j
				ig, fg, gg, og := ar[j], ar[hid+j], ar[2*hid+j], ar[3*hid+j]
				dh := ys[k] + l.dh[k]
				th := tc[k]
				dc := l.dc[k] + dh*og*(1-th*th)
				dr[j] = dc * gg * ig * (1 - ig)
				dr[hid+j] = dc * cp[k] * fg * (1 - fg)
				dr[2*hid+j] = dc * ig * (1 - gg*gg)
				dr[3*hid+j] = dh * th * og * (1 - og)
				l.dc[k] = dc * fg
			}
		}
		// dh_{t−1} = dgates · W_hh
		kernels.Sgemm(false, false, n, hid, g4, 1, dg, g4, whd, hid, 0, l.dh, hid)
	}
	// Weight gradients over all steps at once.
	kernels.Sgemm(true, false, g4, in, t*n, 1, l.dgates, g4, F32(l.x), in, 1, checkSize("LSTM", "weight_ih gradient", dwih, g4*in), in)
	kernels.Sgemm(true, false, g4, hid, t*n, 1, l.dgates, g4, l.hs[:t*n*hid], hid, 1, checkSize("LSTM", "weight_hh gradient", dwhh, g4*hid), hid)
	for _, db := range []*tensor.Dense{dbih, dbhh} {
		if db != nil {
			kernels.SumRowsTo(checkSize("LSTM", "bias gradient", db, g4), l.dgates, t*n, g4)
		}
	}
	dx = l.dx.Get(t, n, in)
	kernels.Sgemm(false, false, t*n, in, g4, 1, l.dgates, g4, wid, in, 0, F32(dx), in)
	dh0 = l.dh0.Get(n, hid)
	copy(F32(dh0), l.dh)
	dc0 = l.dc0.Get(n, hid)
	copy(F32(dc0), l.dc)
	return dx, dh0, dc0
}

// Embedding looks up rows of an V×E table for integer indices (PyTorch's nn.Embedding).
// The zero value is ready to use.
type Embedding struct {
	idx []int32
	y   Buffer
}

// Forward returns the len(idx)×E rows of table for the indices, shaped shape×E (shape's
// sizes must multiply to len(idx)). It panics if an index is out of range.
func (e *Embedding) Forward(idx []int32, table *tensor.Dense, shape ...int) *tensor.Dense {
	ts := table.Shape()
	if len(ts) != 2 {
		panic(fmt.Sprintf("ops: Embedding: table shape %v, want V×E", ts))
	}
	v, dim := ts[0], ts[1]
	if volume(shape) != len(idx) {
		panic(fmt.Sprintf("ops: Embedding: %d indices for shape %v", len(idx), append([]int(nil), shape...)))
	}
	e.idx = idx
	var full [4]int
	if len(shape) > 3 {
		panic("ops: Embedding: at most 3 index dimensions")
	}
	s := append(append(full[:0], shape...), dim)
	y := e.y.Get(s...)
	yd, td := F32(y), F32(table)
	for i, k := range idx {
		if k < 0 || int(k) >= v {
			panic(fmt.Sprintf("ops: Embedding: index %d outside [0, %d)", k, v))
		}
		copy(yd[i*dim:(i+1)*dim], td[int(k)*dim:(int(k)+1)*dim])
	}
	return y
}

// Backward adds each row of dy to the gradient row of its index in dtable.
func (e *Embedding) Backward(dy, dtable *tensor.Dense) {
	dim := dtable.Shape()[1]
	g := checkSize("Embedding", "output gradient", dy, len(e.idx)*dim)
	dt := F32(dtable)
	for i, k := range e.idx {
		kernels.AddTo(dt[int(k)*dim:(int(k)+1)*dim], g[i*dim:(i+1)*dim])
	}
}
