package nn

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/dst-dev/dst/kernels"
	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// Dense convolution for inference.
//
// Training's convolution (ops.Conv2d) keeps what Backward needs: the argmax of every
// pooled window, and a reorder pass per output plane. Inference needs neither, so
// [Inference] runs each dense Conv2d with its own path: a chunk of images is unrolled
// with kernels.Im2colBatch into one (C·kh·kw)×(chunk·outH·outW) matrix, one GEMM
// multiplies it by the weight, and the bias, the fused ReLU and the fused 2×2 max
// pooling are applied in a single pass (kernels.MaxPool2x2Bias) that writes the
// N×Cout×outH/2×outW/2 output directly. The values equal the model's own Forward up to
// the GEMM's summation order. The MaxPool2d and ReLU modules fused into the convolution
// then pass their input through.
//
// Where kernels.ConvDirectFaster says so (on AVX-512: windows of a few dozen taps, such
// as a first layer on one input channel, and narrow outputs with many filters, such as
// simplenet's conv2 on 8×8), the convolution skips im2col and the GEMM: kernels.ConvDirect
// reads the images in place, keeps each output tile in registers for the whole window
// and fuses the same bias, ReLU and pooling.

// denseConv is a Conv2d running on the dense inference path.
type denseConv struct {
	c *Conv2d
	convParams
	bufs []convBuf // one per worker
	job  convJob   // the convolution being run
	out  ops.Buffer
	// packed holds the weights for kernels.ConvDirect, packed on the first direct
	// forward pass (an Inference is rebuilt when the weights change).
	packed *kernels.PackedConv
}

// convColTarget is the number of im2col values per chunk of images (256 KiB), as in
// ops.Conv2d: the unrolled chunk stays in L2 while the GEMM reads it.
const convColTarget = 1 << 16

func (d *denseConv) forward(x *tensor.Dense) *tensor.Dense {
	cv := d.c.op
	sh := x.Shape()
	ws := d.c.Weight.Value.Shape()
	if len(sh) != 4 || sh[1] != ws[1] {
		panic(fmt.Sprintf("nn: %s: input %v does not fit weight %v", d.c.name, sh, ws))
	}
	n, c, h, w := sh[0], sh[1], sh[2], sh[3]
	cout, kh, kw := ws[0], ws[2], ws[3]
	oh, ow := cv.OutSize(h, w, kh, kw)
	if oh == 0 || ow == 0 {
		panic(fmt.Sprintf("nn: %s: kernel %d×%d larger than padded input %v", d.c.name, kh, kw, sh))
	}
	k, p := c*kh*kw, oh*ow
	if kernels.ConvDirectFaster(c, kh, kw, cout, oh, ow, cv.StrideW) {
		return d.direct(x, n, c, h, w, cout, kh, kw, oh, ow)
	}
	chunk := max(1, min(n, convColTarget/(k*p)))
	q := p // values per output plane
	var y *tensor.Dense
	if cv.Pool2x2 {
		q = (oh / 2) * (ow / 2)
		y = d.out.Get(n, cout, oh/2, ow/2)
	} else {
		y = d.out.Get(n, cout, oh, ow)
	}
	// The chunks of images are shared among up to GOMAXPROCS workers, each with its
	// own unrolled chunk: the GEMM of one chunk alone is too small to keep two cores
	// busy, and the unrolling and the bias pass would run on one.
	chunks := (n + chunk - 1) / chunk
	workers := min(runtime.GOMAXPROCS(0), chunks)
	for len(d.bufs) < workers {
		d.bufs = append(d.bufs, convBuf{})
	}
	d.job = convJob{xs: ops.F32(x), ys: ops.F32(y), n: n, c: c, h: h, w: w, kh: kh, kw: kw,
		cout: cout, oh: oh, ow: ow, k: k, p: p, q: q, chunk: chunk}
	shareChunks(chunks, workers, d)
	return y
}

// convJob is the convolution a denseConv's workers share: its input and output, and
// their geometry.
type convJob struct {
	xs, ys                   []float32
	n, c, h, w, kh, kw, cout int
	oh, ow, k, p, q, chunk   int
}

// runChunks convolves chunks c0 ≤ k < c1 of d.job with worker wk's buffers.
func (d *denseConv) runChunks(wk, c0, c1 int) {
	j, cv := &d.job, d.c.op
	b := &d.bufs[wk]
	b.col = growF32(b.col, j.k*j.chunk*j.p)
	b.tmp = growF32(b.tmp, j.cout*j.chunk*j.p)
	img := j.c * j.h * j.w
	for s0 := c0 * j.chunk; s0 < min(j.n, c1*j.chunk); s0 += j.chunk {
		cn := min(j.chunk, j.n-s0)
		l := cn * j.p
		col, tmp := b.col[:j.k*l], b.tmp[:j.cout*l]
		kernels.Im2colBatch(col, j.xs[s0*img:(s0+cn)*img], cn, j.c, j.h, j.w, j.kh, j.kw, cv.PadH, cv.PadW, cv.StrideH, cv.StrideW)
		kernels.Sgemm(false, false, j.cout, l, j.k, 1, d.w, j.k, col, l, 0, tmp, l)
		d.epilogue(j.ys[s0*j.cout*j.q:], tmp, cn, j.cout, j.q, j.p, j.oh, j.ow)
	}
}

// chunkRunner is a convolution whose chunks of images workers share (see shareChunks).
type chunkRunner interface {
	// runChunks convolves chunks c0 ≤ k < c1 with worker wk's buffers.
	runChunks(wk, c0, c1 int)
}

// shareChunks runs r.runChunks(wk, c0, c1) for workers wk < workers, which share the
// chunks c0 ≤ k < c1 in contiguous runs: worker 0 on this goroutine, the others on
// their own. r is an interface rather than a closure so that one worker, the usual
// case at batch 1, allocates nothing.
func shareChunks(chunks, workers int, r chunkRunner) {
	if workers <= 1 {
		r.runChunks(0, 0, chunks)
		return
	}
	var wg sync.WaitGroup
	for wk := 1; wk < workers; wk++ {
		wg.Go(func() { r.runChunks(wk, chunks*wk/workers, chunks*(wk+1)/workers) })
	}
	r.runChunks(0, 0, chunks/workers)
	wg.Wait()
}

// convBuf is one worker's unrolled chunk of images and its GEMM output.
type convBuf struct{ col, tmp []float32 }

// epilogue writes the GEMM output tmp (cout rows of cn·p values: the output planes of
// cn images) to ys (cn images of cout planes of q values) with the bias, the fused ReLU
// and the fused 2×2 max pooling.
func (d *denseConv) epilogue(ys, tmp []float32, cn, cout, q, p, oh, ow int) {
	l := cn * p
	for o := 0; o < cout; o++ {
		var b float32
		if d.bias != nil {
			b = d.bias[o]
		}
		src := tmp[o*l : (o+1)*l]
		dst := ys[o*q:]
		if d.c.op.Pool2x2 {
			kernels.MaxPool2x2Bias(dst, cout*q, src, p, cn, oh, ow, b, d.relu)
			continue
		}
		for i := 0; i < cn; i++ {
			kernels.AddBiasRelu(dst[i*cout*q:i*cout*q+p], src[i*p:(i+1)*p], b, d.relu)
		}
	}
}

// direct runs the convolution with kernels.PackedConv (kernels.ConvDirect), which fuses
// the bias, the ReLU and the pooling.
func (d *denseConv) direct(x *tensor.Dense, n, c, h, w, cout, kh, kw, oh, ow int) *tensor.Dense {
	cv := d.c.op
	var y *tensor.Dense
	if cv.Pool2x2 {
		y = d.out.Get(n, cout, oh/2, ow/2)
	} else {
		y = d.out.Get(n, cout, oh, ow)
	}
	if d.packed == nil {
		d.packed = kernels.PackConv(d.w, d.bias, cout, c, kh, kw)
	}
	d.packed.Conv(ops.F32(y), ops.F32(x), n, h, w, cv.PadH, cv.PadW, cv.StrideH, cv.StrideW, d.relu, cv.Pool2x2)
	return y
}

// convParams are the weight, the bias (nil for none) and the ReLU an inference
// convolution applies: its layer's own, or those of the layer with the batch
// normalisation after it folded in, and the ReLU after that.
type convParams struct {
	w, bias []float32
	relu    bool
}

// bnFold is a BatchNorm2d that directly follows a Conv2d, which inference folds into the
// convolution's weight and bias (the arithmetic of FoldBatchNorms), and the ReLU right
// after it, if any, which the convolution then applies.
type bnFold struct {
	bn   *BatchNorm2d
	relu *ReLU
}

// foldsOf returns the batch normalisations of root that inference folds, by the
// convolution before them: a BatchNorm2d right after a Conv2d in a Sequential (with
// the ReLU right after it, if any), and in a BasicBlock bn1 (with relu1) and bn2. It
// looks only inside the Sequentials and BasicBlocks that [Inference] runs module by
// module, not inside layers that run their children themselves, where a folded batch
// normalisation would be applied twice. A convolution that already applies a fused
// ReLU or pooling keeps its own.
func foldsOf(root Module) map[*Conv2d]bnFold {
	folds := map[*Conv2d]bnFold{}
	add := func(c *Conv2d, f bnFold) {
		if !c.op.Relu && !c.op.Pool2x2 {
			folds[c] = f
		}
	}
	var visit func(Module)
	visit = func(mod Module) {
		switch l := mod.(type) {
		case *Sequential:
			for i, m := range l.mods {
				visit(m)
				c, ok := m.(*Conv2d)
				if !ok || i+1 == len(l.mods) {
					continue
				}
				if bn, ok := l.mods[i+1].(*BatchNorm2d); ok {
					f := bnFold{bn: bn}
					if i+2 < len(l.mods) {
						f.relu, _ = l.mods[i+2].(*ReLU)
					}
					add(c, f)
				}
			}
		case *BasicBlock:
			add(l.Conv1, bnFold{bn: l.BN1, relu: l.Relu1})
			add(l.Conv2, bnFold{bn: l.BN2})
			if l.Downsample != nil {
				visit(l.Downsample)
			}
		}
	}
	visit(root)
	return folds
}

// paramsOf returns the parameters inference runs c with, folding f's batch
// normalisation in when f is not nil.
func paramsOf(c *Conv2d, f *bnFold) convParams {
	if f == nil {
		p := convParams{w: c.Weight.Data(), relu: c.op.Relu}
		if c.Bias != nil {
			p.bias = c.Bias.Data()
		}
		return p
	}
	p := convParams{w: make([]float32, c.Weight.Len()), bias: make([]float32, c.Weight.Shape()[0]), relu: f.relu != nil}
	foldInto(p.w, p.bias, c, f.bn)
	return p
}

// denseLinear is a Linear layer on the dense inference path: the GEMM, then the bias
// and the fused ReLU as vector passes over the whole batch (the training op adds them
// one element at a time).
type denseLinear struct {
	l   *Linear
	out ops.Buffer
}

func (d *denseLinear) forward(x *tensor.Dense) *tensor.Dense {
	s := d.l.Weight.Value.Shape()
	outF, in := s[0], s[1]
	xs := ops.F32(x)
	n := x.Shape()[0]
	if len(xs) != n*in {
		panic(fmt.Sprintf("nn: %s: input %v, want %d features", d.l.name, x.Shape(), in))
	}
	y := d.out.Get(n, outF)
	ys := ops.F32(y)
	kernels.Sgemm(false, true, n, outF, in, 1, xs, in, d.l.Weight.Data(), in, 0, ys, outF)
	if d.l.Bias != nil {
		kernels.AddRowVector(ys, n, outF, d.l.Bias.Data())
	}
	if d.l.op.Relu {
		kernels.Relu(ys, ys)
	}
	return y
}
