package nn

// The int8 path of a quantized convolution ([RangeLinear] replacing a Conv2d).
//
// A chunk of images is quantized straight to the GEMM's bytes in channels-last order
// (one float transpose per image first, when it has several channels), and
// [kernels.PackedConvS8] convolves it with the weights packed once: an implicit GEMM
// whose output rows are the channels at every output position of the chunk, plus one
// row of patch sums for the zero-point terms. The fused epilogue
// ([kernels.RequantizeS32Chan]) finishes each channel's row where prepareInt8 allows
// it (finish and requantize otherwise). When the replaced convolution also pooled (its model
// fused the following 2×2 max pooling into it), the requantized outputs are pooled
// right away ([kernels.MaxPool2x2Bias] without bias or ReLU), and the ReLU and
// MaxPool2d modules pass the pooled output through as they do for the float Conv2d.
// The pooling runs on the final float outputs, so its values are those the MaxPool2d
// module would compute.

import (
	"runtime"

	"github.com/dst-dev/dst/kernels"
	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// int8Conv is the int8 convolution's state: the packed weights and the scratch
// buffers of each worker.
type int8Conv struct {
	packed *kernels.PackedConvS8
	bufs   []int8ConvBuf
	job    int8ConvJob // the convolution being run
	full   ops.Buffer
}

// int8ConvBuf is one worker's scratch: the chunks of images are shared among up to
// GOMAXPROCS workers, as for the float convolution.
type int8ConvBuf struct {
	hwc    []float32 // one image, channels last
	img8   []int8    // a chunk of images as GEMM bytes, channels last
	acc    []int32   // (cout+1) rows of the chunk's positions
	tmp    []float32 // requantized, unpooled outputs of a chunk, channel-major
	pooled []int32   // one channel's pooled accumulators of a chunk (poolsFirst)
	mx     uint32    // the largest output magnitude of the worker's chunks
}

// convAccTarget is the number of accumulators per chunk of images (256 KiB).
const convAccTarget = 1 << 16

// forwardConvInt8 is forwardInt8 for a convolution; rq and fused are the epilogue's
// (see requant). It records the layer's shapes, the convolution's own output shape
// when it pools.
func (rl *RangeLinear) forwardConvInt8(x *tensor.Dense, rq kernels.Requant, fused bool) *tensor.Dense {
	s := x.Shape()
	n, c, h, w := s[0], s[1], s[2], s[3]
	cout, kh, kw := rl.Shape[0], rl.Shape[2], rl.Shape[3]
	oh := kernels.ConvOutSize(h, kh, rl.pad[0], rl.stride[0])
	ow := kernels.ConvOutSize(w, kw, rl.pad[1], rl.stride[1])
	p := oh * ow
	cv := &rl.cv
	if cv.packed == nil {
		cv.packed = kernels.PackConvS8(rl.Q, cout, c, kh, kw)
	}
	layer, _ := rl.Layer.(*Conv2d)
	pool := layer != nil && layer.op.Pool2x2 && oh >= 2 && ow >= 2
	q := p // values per output plane
	var y, full *tensor.Dense
	if pool {
		q = (oh / 2) * (ow / 2)
		y = rl.y.Get(n, cout, oh/2, ow/2)
		if !fused {
			full = cv.full.Get(n, cout, oh, ow)
		}
	} else {
		y = rl.y.Get(n, cout, oh, ow)
		if !fused {
			full = y
		}
	}
	xd, yd := ops.F32(x), ops.F32(y)
	chunk := max(1, min(n, convAccTarget/((cout+1)*p)))
	poolFirst := pool && fused && rl.poolsFirst(rq, oh, ow)
	pad := int8(-rl.ox)
	var fd []float32
	if !fused {
		fd = ops.F32(full)
	}
	chunks := (n + chunk - 1) / chunk
	workers := min(runtime.GOMAXPROCS(0), chunks)
	for len(cv.bufs) < workers {
		cv.bufs = append(cv.bufs, int8ConvBuf{})
	}
	cv.job = int8ConvJob{rl: rl, rq: rq, fused: fused, pool: pool, poolFirst: poolFirst,
		xd: xd, yd: yd, fd: fd, n: n, c: c, h: h, w: w, cout: cout, oh: oh, ow: ow, p: p, q: q,
		chunk: chunk, pad: pad}
	shareChunks(chunks, workers, cv)
	var mx uint32
	for _, b := range cv.bufs[:workers] {
		mx = max(mx, b.mx)
	}
	if fused {
		rl.finishInt8(y, true, mx)
	} else {
		rl.requantize(full)
		if pool {
			kernels.MaxPool2x2Bias(yd, q, ops.F32(full), p, n*cout, oh, ow, 0, false)
		}
	}
	if !pool {
		rl.record(x, y)
		return y
	}
	// The ReLU and MaxPool2d modules fused into the replaced convolution pass y
	// through, as they do for the convolution's own pooled output.
	layer.lastOut = y
	layer.outShape = [4]int{n, cout, oh, ow}
	rl.recordShapes(s, layer.outShape[:])
	return y
}

// poolsFirst reports whether the fused epilogue of a pooling convolution may
// pool the accumulators Σ a·q_w + bias before requantizing them, a quarter
// as many: the requantization, ReLU included, is monotonic (positive
// multipliers and output scale), so it commutes with the maximum, and
// without weight zero points a channel's accumulator is the product plus a
// constant (the product does not wrap: prepareInt8's fits32 bounds it). The
// largest |acc| it records is then the largest pooled one, the same value
// when the ReLU floors the accumulators at 0 and the planes have no row or
// column that the pooling drops.
func (rl *RangeLinear) poolsFirst(rq kernels.Requant, oh, ow int) bool {
	if !rq.ReLU || oh%2 != 0 || ow%2 != 0 || (rq.Out && !(rq.Scale > 0)) {
		return false
	}
	for o, z := range rl.zw32 {
		if z != 0 || !(rl.Mult[o] > 0) {
			return false
		}
	}
	return true
}

// int8ConvJob is the convolution an int8Conv's workers share: the layer, its epilogue,
// its input and output, and their geometry.
type int8ConvJob struct {
	rl                          *RangeLinear
	rq                          kernels.Requant
	fused, pool, poolFirst      bool
	xd, yd, fd                  []float32
	n, c, h, w, cout, oh, ow, p int
	q, chunk                    int
	pad                         int8
}

// runChunks convolves chunks c0 ≤ k < c1 of cv.job with worker wk's buffers, and keeps
// the largest output magnitude of the fused epilogue in the worker's mx.
func (cv *int8Conv) runChunks(wk, c0, c1 int) {
	jb := &cv.job
	rl, rq, fused, pool, poolFirst := jb.rl, jb.rq, jb.fused, jb.pool, jb.poolFirst
	xd, yd, fd := jb.xd, jb.yd, jb.fd
	n, c, h, w, cout, oh, ow, p, q, chunk, pad := jb.n, jb.c, jb.h, jb.w, jb.cout, jb.oh, jb.ow, jb.p, jb.q, jb.chunk, jb.pad
	img := c * h * w
	b := &cv.bufs[wk]
	b.img8 = qGrowI8(b.img8, chunk*img)
	b.acc = qGrowI32(b.acc, (cout+1)*chunk*p)
	if c > 1 {
		b.hwc = qGrowF32(b.hwc, img)
	}
	switch {
	case poolFirst:
		b.pooled = qGrowI32(b.pooled, chunk*q)
	case pool && fused:
		b.tmp = qGrowF32(b.tmp, cout*chunk*p)
	}
	var mx uint32
	for s0 := c0 * chunk; s0 < min(n, c1*chunk); s0 += chunk {
		cn := min(chunk, n-s0)
		for i := 0; i < cn; i++ {
			src := xd[(s0+i)*img : (s0+i+1)*img]
			if c > 1 {
				kernels.Transpose(b.hwc, src, c, h*w)
				src = b.hwc
			}
			rl.quantizeS8(b.img8[i*img:(i+1)*img], src)
		}
		l := cn * p
		acc := b.acc[:(cout+1)*l]
		cv.packed.Conv(acc, l, b.img8[:cn*img], cn, h, w, rl.stride[0], rl.stride[1], rl.pad[0], rl.pad[1], pad)
		sums := acc[cout*l:]
		for o := 0; o < cout; o++ {
			row := acc[o*l : (o+1)*l]
			if !fused {
				for i := 0; i < cn; i++ {
					dst := fd[((s0+i)*cout+o)*p : ((s0+i)*cout+o+1)*p]
					for j := range dst {
						dst[j] = rl.finish(row[i*p+j], o, int64(sums[i*p+j]))
					}
				}
				continue
			}
			if poolFirst {
				pooled := b.pooled[:cn*q]
				kernels.MaxPool2x2S32(pooled, q, row, p, cn, oh, ow)
				for i := 0; i < cn; i++ {
					dst := yd[((s0+i)*cout+o)*q : ((s0+i)*cout+o+1)*q]
					a := pooled[i*q : (i+1)*q]
					// zw is 0: a stands in for the sums it multiplies.
					mx = max(mx, kernels.RequantizeS32Chan(dst, a, a, rl.bconst32[o], 0, rl.Mult[o], rq))
				}
				continue
			}
			if pool {
				t := b.tmp[o*l : (o+1)*l]
				mx = max(mx, kernels.RequantizeS32Chan(t, row, sums, rl.bconst32[o], rl.zw32[o], rl.Mult[o], rq))
				kernels.MaxPool2x2Bias(yd[(s0*cout+o)*q:], cout*q, t, p, cn, oh, ow, 0, false)
				continue
			}
			for i := 0; i < cn; i++ {
				dst := yd[((s0+i)*cout+o)*p : ((s0+i)*cout+o+1)*p]
				mx = max(mx, kernels.RequantizeS32Chan(dst, row[i*p:(i+1)*p], sums[i*p:(i+1)*p], rl.bconst32[o], rl.zw32[o], rl.Mult[o], rq))
			}
		}
	}
	b.mx = mx
}
