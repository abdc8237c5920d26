package kernels

import (
	"runtime"
	"sync"
	"unsafe"
)

// Direct convolution
//
// A convolution with few taps per output (C·kh·kw small, such as the first
// layer of an image network: one input channel, 5×5) is a poor GEMM: k is
// the tap count, so each tile of C is loaded and stored for a handful of
// multiply-adds, and im2col writes the input kh·kw times over first.
// ConvDirect instead reads the image in place. Its unit of work is a tile
// of four filters (eight for 17 to 24 columns, which fit three vectors) ×
// two output rows × up to 32 output columns: for each tap
// (channel, ki, kj) it loads the input under the tile (one vector per 16
// columns and row), and multiplies it by the four filters' weights for that
// tap, broadcast from a panel packed tap-major. The tile's accumulators stay
// in registers for the whole window, and its epilogue adds the bias, pools
// the two rows 2×2 and applies the ReLU before anything is stored, so the
// unpooled output never reaches memory.
//
// A window of many taps on a narrow output (up to eight columns, such as
// the second layer of a LeNet: 20 channels × 5×5 on 8×8) is a GEMM with a
// long k whose B would be im2col's output. There the tile turns around:
// thirteen (or twelve) filters × four rows of the output, the two rows of
// each pair in one vector (lanes 0-7 and 8-15), so the tap loop is a 13×32
// GEMM micro-kernel that reads its B rows from the image in place, without
// the im2col pass.
//
// Images are independent: a large batch is split into ranges of images
// across goroutines.
//
// Padding is handled by copying each image into a zero-bordered buffer, so
// that every tap is a fixed element offset from the tile's first output:
// offset (ch·Hp + ki)·Wp + kj for a padded image of Hp×Wp. A stride moves
// the rows (row B is strideH padded rows further on) and spaces the columns;
// the AVX-512 tiles read consecutive columns, so strideW > 1 runs the Go
// tile.

// ConvDirect computes a 2-D convolution of n C×H×W images (src, back to
// back) with cout filters (weight, cout×C×kh×kw) and a bias (cout values, or
// nil for none), optionally followed by a ReLU and, when pool is set, a 2×2
// max pooling with stride 2 (floor mode). Without pooling dst is
// n×cout×outH×outW, with it n×cout×(outH/2)×(outW/2), outH and outW from
// [ConvOutSize]. The reference loop is:
//
//	for i < n, f < cout, oy < outH, ox < outW {
//		s := Σ_{ch<c, ki<kh, kj<kw} weight[((f*c+ch)*kh+ki)*kw+kj] * x(i, ch, oy*strideH-padH+ki, ox*strideW-padW+kj)
//		conv[i][f][oy][ox] = s            // x is 0 outside the image
//	}
//	without pool: v := conv[i][f][oy][ox] + bias[f]
//	with pool:    v := max(conv[i][f][2py][2px], conv[i][f][2py][2px+1], conv[i][f][2py+1][2px], conv[i][f][2py+1][2px+1]) + bias[f]
//	if relu { v = max(v, 0) }
//
// max is Go's, so a NaN propagates; pooling before adding the bias equals
// pooling the biased values, as addition is monotonic. The summation order
// over the taps is unspecified. [ConvDirectFaster] tells whether
// ConvDirect beats [Im2colBatch] and [Sgemm] for a geometry: windows of a
// few dozen taps, or narrow outputs (up to eight columns) with many
// filters, with a unit column stride, on a CPU with the assembly tiles.
//
// It panics on invalid geometry, if n or cout is negative, or if a slice's
// length does not match the shapes.
func ConvDirect(dst, src, weight, bias []float32, n, c, h, w, cout, kh, kw, padH, padW, strideH, strideW int, relu, pool bool) {
	checkWindow("ConvDirect", c, h, w, kh, kw, padH, padW, strideH, strideW)
	if cout < 0 {
		panic("kernels: ConvDirect: invalid geometry")
	}
	checkLen("ConvDirect", len(weight), cout*c*kh*kw)
	if bias != nil {
		checkLen("ConvDirect", len(bias), cout)
	}
	p := PackedConv{cout: cout, c: c, kh: kh, kw: kw}
	buf := getBuf(p.size())
	defer putBuf(buf)
	p.pack(*buf, weight, bias)
	p.conv("ConvDirect", dst, src, n, h, w, padH, padW, strideH, strideW, relu, pool)
}

// PackedConv is a convolution's weights and biases packed for
// [PackedConv.Conv], which is [ConvDirect] without packing them on every
// call. It is immutable and safe for concurrent use; its zero value is not
// usable.
type PackedConv struct {
	cout, c, kh, kw int
	w4, b4          []float32 // blocks of 4 filters, for convTile
	w8, b8          []float32 // blocks of 8 filters, for convTile8
	// wr and br hold blocks of 13 filters for convRows, n13 of them, then
	// blocks of 12 (50 filters as 13+13+12+12: none computed in vain).
	wr, br []float32
	n13    int
}

// PackConv packs the cout×c×kh×kw weight and the cout biases (nil for
// none) for [PackedConv.Conv]. It panics if a dimension is negative or a
// length does not match.
func PackConv(weight, bias []float32, cout, c, kh, kw int) *PackedConv {
	if cout < 0 || c < 0 || kh < 0 || kw < 0 {
		panic("kernels: PackConv: negative dimension")
	}
	checkLen("PackConv", len(weight), cout*c*kh*kw)
	if bias != nil {
		checkLen("PackConv", len(bias), cout)
	}
	p := &PackedConv{cout: cout, c: c, kh: kh, kw: kw}
	p.pack(make([]float32, p.size()), weight, bias)
	return p
}

// size returns the number of floats the packed weights take.
func (p *PackedConv) size() int {
	taps := p.c * p.kh * p.kw
	n := (p.cout + 3) / 4 * 4 * (taps + 1)
	if haveConvTile8 {
		n += (p.cout + 7) / 8 * 8 * (taps + 1)
	}
	if haveConvRows {
		n += (p.cout + 12) * (taps + 1) // at most 12 padding filters
	}
	return n
}

// pack carves p's panels from buf (p.size() floats) and fills them.
func (p *PackedConv) pack(buf, weight, bias []float32) {
	taps := p.c * p.kh * p.kw
	carve := func(n int) []float32 {
		s := buf[:n:n]
		buf = buf[n:]
		return s
	}
	n4 := (p.cout + 3) / 4 * 4
	p.w4, p.b4 = carve(n4*taps), carve(n4)
	packConvWeights(p.w4, p.b4, weight, bias, p.cout, taps, 4)
	if haveConvTile8 {
		n8 := (p.cout + 7) / 8 * 8
		p.w8, p.b8 = carve(n8*taps), carve(n8)
		packConvWeights(p.w8, p.b8, weight, bias, p.cout, taps, 8)
	}
	if haveConvRows {
		nb := (p.cout + 12) / 13
		p.n13 = min(max(p.cout-12*nb, 0), nb)
		f13 := min(13*p.n13, p.cout)
		n12 := (p.cout - f13 + 11) / 12 * 12
		p.wr, p.br = carve(13*p.n13*taps+n12*taps), carve(13*p.n13+n12)
		packConvWeights(p.wr[:13*p.n13*taps], p.br[:13*p.n13], weight, bias, f13, taps, 13)
		packConvWeights(p.wr[13*p.n13*taps:], p.br[13*p.n13:], weight[f13*taps:], biasFrom(bias, f13), p.cout-f13, taps, 12)
	}
}

// Conv is [ConvDirect] with the packed weights: it convolves n C×H×W
// images (src) into dst, adding the bias and optionally applying the ReLU
// and the 2×2 max pooling. It panics on invalid geometry or if a slice's
// length does not match the shapes.
func (p *PackedConv) Conv(dst, src []float32, n, h, w, padH, padW, strideH, strideW int, relu, pool bool) {
	p.conv("PackedConv.Conv", dst, src, n, h, w, padH, padW, strideH, strideW, relu, pool)
}

func (p *PackedConv) conv(name string, dst, src []float32, n, h, w, padH, padW, strideH, strideW int, relu, pool bool) {
	c, cout, kh, kw := p.c, p.cout, p.kh, p.kw
	outH, outW := checkWindow(name, c, h, w, kh, kw, padH, padW, strideH, strideW)
	if n < 0 {
		panic("kernels: " + name + ": invalid geometry")
	}
	dh, dw := outH, outW
	if pool {
		dh, dw = outH/2, outW/2
	}
	checkLen(name, len(src), n*c*h*w)
	checkLen(name, len(dst), n*cout*dh*dw)
	if len(dst) == 0 {
		return
	}
	taps := c * kh * kw
	if taps == 0 {
		// No taps: every output is the bias (pooled or not).
		for i := 0; i < n*cout; i++ {
			b := p.b4[i%cout]
			if relu {
				b = max(b, 0)
			}
			d := dst[i*dh*dw : (i+1)*dh*dw]
			for j := range d {
				d[j] = b
			}
		}
		return
	}
	hp, wp := h+2*padH, w+2*padW
	if c*hp*wp > 1<<30 {
		panic("kernels: " + name + ": image too large")
	}
	// Narrow outputs with many filters run four rows at a time through
	// convRows (13 filters a block, the rows of a pair in one vector);
	// the rows left over, and everything else, through convTile.
	rowsEnd := outH
	if pool {
		rowsEnd = 2 * dh
	}
	quadEnd := 0
	if haveConvRows && outW <= 8 && strideW == 1 && cout > 4 {
		quadEnd = rowsEnd &^ 3
	}

	// The tap offsets, int32s kept in float32 scratch (same size).
	obuf := getBuf(taps)
	defer putBuf(obuf)
	off := f32AsI32(*obuf)
	t := 0
	for ch := 0; ch < c; ch++ {
		for ki := 0; ki < kh; ki++ {
			for kj := 0; kj < kw; kj++ {
				off[t] = int32((ch*hp+ki)*wp + kj)
				t++
			}
		}
	}

	flags := 0
	if pool {
		flags |= convPool
	}
	if relu {
		flags |= convRelu
	}
	r := convRun{p: *p, dst: dst, src: src, off: off, h: h, w: w, padH: padH, padW: padW, strideH: strideH, strideW: strideW,
		outW: outW, dh: dh, dw: dw, quadEnd: quadEnd, rowsEnd: rowsEnd, flags: flags}
	// Large batches split into ranges of images across goroutines, as
	// Sgemm splits large products.
	workers := min(runtime.GOMAXPROCS(0), n, n*cout*taps*outH*outW/parallelMinWork)
	if workers <= 1 {
		r.images(0, n)
		return
	}
	var wg sync.WaitGroup
	for k := 1; k < workers; k++ {
		rk := r // a copy, so that r itself does not escape
		wg.Go(func() { rk.images(n*k/workers, n*(k+1)/workers) })
	}
	r.images(0, n/workers)
	wg.Wait()
}

// convRun is one call of [PackedConv.Conv] after its checks: the operands,
// the tap offsets and the geometry.
type convRun struct {
	p                                                                         PackedConv // a copy: ConvDirect's stays on its stack
	dst, src                                                                  []float32
	off                                                                       []int32
	h, w, padH, padW, strideH, strideW, outW, dh, dw, quadEnd, rowsEnd, flags int
}

// images convolves images [i0, i1), each in turn, through a padded copy of
// its own when there is padding.
func (r *convRun) images(i0, i1 int) {
	c, cout := r.p.c, r.p.cout
	hp, wp := r.h+2*r.padH, r.w+2*r.padW
	var xp []float32
	if r.padH > 0 || r.padW > 0 {
		pbuf := getBuf(c * hp * wp)
		defer putBuf(pbuf)
		xp = *pbuf
		clear(xp)
	}
	img, plane := c*r.h*r.w, cout*r.dh*r.dw
	for i := i0; i < i1; i++ {
		r.image(r.dst[i*plane:(i+1)*plane], r.src[i*img:(i+1)*img], xp)
	}
}

// image convolves one image x into out (cout planes of dh×dw), copying it
// into xp first if xp is not nil (padding): rows of four through convRows
// up to quadEnd, then pairs of rows through the column tiles.
func (r *convRun) image(out, x, xp []float32) {
	p, off := &r.p, r.off
	h, w, padH, padW, strideH, strideW := r.h, r.w, r.padH, r.padW, r.strideH, r.strideW
	outW, dh, dw, quadEnd, rowsEnd, flags := r.outW, r.dh, r.dw, r.quadEnd, r.rowsEnd, r.flags
	c, cout, taps := p.c, p.cout, len(off)
	hp, wp := h+2*padH, w+2*padW
	pool := flags&convPool != 0
	if xp != nil {
		for ch := 0; ch < c; ch++ {
			for y := 0; y < h; y++ {
				copy(xp[(ch*hp+y+padH)*wp+padW:], x[(ch*h+y)*w:(ch*h+y+1)*w])
			}
		}
		x = xp
	}
	for oy := 0; oy < quadEnd; oy += 4 {
		d := oy * dw
		if pool {
			d = (oy / 2) * dw
		}
		xq := x[oy*strideH*wp:]
		f13 := min(13*p.n13, cout)
		if f13 > 0 {
			convRows(out[d:], xq, off, p.wr, p.br, f13, 13, dh*dw, strideH*wp, dw, outW, flags)
		}
		if f13 < cout {
			convRows(out[f13*dh*dw+d:], xq, off, p.wr[f13*taps:], p.br[f13:], cout-f13, 12, dh*dw, strideH*wp, dw, outW, flags)
		}
	}
	for oy := quadEnd; oy < rowsEnd; oy += 2 {
		rows := min(2, rowsEnd-oy)
		xrow := oy * strideH * wp
		rowB, fl := 0, flags
		if rows == 2 {
			rowB = strideH * wp
			fl |= convRowB
		}
		for c0 := 0; c0 < outW; c0 += 32 {
			cols := min(32, outW-c0)
			var d int
			if pool {
				if cols < 2 {
					break
				}
				d = (oy/2)*dw + c0/2
			} else {
				d = oy*dw + c0
			}
			xt := x[xrow+c0*strideW:]
			f8 := 0
			if haveConvTile8 && strideW == 1 && cols > 16 && cols <= 24 {
				// Whole blocks of eight filters first, the rest by four.
				f8 = cout &^ 7
				if f8 > 0 {
					convTile8(out[d:], xt, off, p.w8, p.b8, f8, dh*dw, rowB, dw, cols, fl)
				}
			}
			if f8 < cout {
				convTile(out[f8*dh*dw+d:], xt, off, p.w4[f8*taps:], p.b4[f8:], cout-f8, dh*dw, rowB, dw, cols, strideW, fl)
			}
		}
	}
}

// packConvWeights packs the cout×taps weights into blocks of f filters,
// tap-major (dst[(i/f)*taps*f + t*f + i%f] = weight[i*taps+t]), and the
// biases (or zeros) into blocks alike; the padding filters of the last
// block get zeros. dst and bdst may be empty (nothing to pack).
func packConvWeights(dst, bdst, weight, bias []float32, cout, taps, f int) {
	if len(dst) == 0 {
		return
	}
	clear(dst)
	clear(bdst)
	for i := 0; i < cout; i++ {
		blk := dst[(i/f)*taps*f:]
		for t := 0; t < taps; t++ {
			blk[t*f+i%f] = weight[i*taps+t]
		}
		if bias != nil {
			bdst[i] = bias[i]
		}
	}
}

// ConvDirectFaster reports whether [ConvDirect] is expected to run faster
// than im2col and a GEMM for c input channels, a kh×kw window, cout filters
// and an outH×outW output with the given column stride: on AVX-512, with
// strideW 1, for at most 64 taps (c·kh·kw), or for outputs of at most
// eight columns and four rows or more with more than four filters.
// Elsewhere ConvDirect runs its Go tiles, which are correct but slow.
func ConvDirectFaster(c, kh, kw, cout, outH, outW, strideW int) bool {
	if !convDirectAsm || strideW != 1 {
		return false
	}
	return c*kh*kw <= 64 || outW <= 8 && outH >= 4 && cout > 4
}

// biasFrom returns bias[i:], or nil for no bias.
func biasFrom(bias []float32, i int) []float32 {
	if bias == nil {
		return nil
	}
	return bias[i:]
}

// The flags of a convolution tile.
const (
	convPool = 1 << iota // pool the two rows 2×2
	convRelu             // apply the ReLU
	convRowB             // row B exists (stored when not pooling)
)

// convTileGo computes one tile of [ConvDirect]: filters f < nf, in blocks
// of four (weights w[(f/4)*taps*4 + t*4 + f%4] for tap t, biases bias[f];
// both padded to whole blocks), output rows A and B (row B is the
// input rowB elements further on, and exists if flags has convRowB) and
// cols output columns, column j reading the input strideW·j elements
// further on:
//
//	for f < nf, r < 2, j < cols {
//		s[r][j] = Σ_t w[(f/4)*taps*4 + t*4 + f%4] * x[off[t] + r*rowB + j*strideW]
//	}
//
// Pooled, dst[f*ldd + p] (p < cols/2) receives max(s[0][2p], s[0][2p+1],
// s[1][2p], s[1][2p+1]) + bias[f], then the ReLU; otherwise dst[f*ldd + j]
// receives s[0][j] + bias[f] and, if row B exists, dst[f*ldd + dstB + j]
// receives s[1][j] + bias[f], each then the ReLU.
func convTileGo(dst, x []float32, off []int32, w, bias []float32, nf, ldd, rowB, dstB, cols, strideW, flags int) {
	var s [2][32]float32
	for f := 0; f < nf; f++ {
		for r := 0; r < 2; r++ {
			row := s[r][:cols]
			clear(row)
			for t, o := range off {
				wt := w[(f/4)*len(off)*4+t*4+f%4]
				xr := x[int(o)+r*rowB:]
				for j := range row {
					row[j] += wt * xr[j*strideW]
				}
			}
		}
		b := bias[f]
		d := dst[f*ldd:]
		if flags&convPool != 0 {
			for p := 0; p < cols/2; p++ {
				v := max(s[0][2*p], s[0][2*p+1], s[1][2*p], s[1][2*p+1]) + b
				if flags&convRelu != 0 {
					v = max(v, 0)
				}
				d[p] = v
			}
			continue
		}
		rows := 1
		if flags&convRowB != 0 {
			rows = 2
		}
		for r := 0; r < rows; r++ {
			dr := d[r*dstB : r*dstB+cols]
			for j := range dr {
				v := s[r][j] + b
				if flags&convRelu != 0 {
					v = max(v, 0)
				}
				dr[j] = v
			}
		}
	}
}

// f32AsI32 reinterprets float32 scratch as int32s of the same length.
func f32AsI32(s []float32) []int32 {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}
