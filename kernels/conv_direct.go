package kernels

import "unsafe"

// Direct convolution
//
// A convolution with few taps per output (C·kh·kw small, such as the first
// layer of an image network: one input channel, 5×5) is a poor GEMM: k is
// the tap count, so each tile of C is loaded and stored for a handful of
// multiply-adds, and im2col writes the input kh·kw times over first.
// ConvDirect instead reads the image in place. Its unit of work is a tile
// of four filters × two output rows × up to 32 output columns: for each tap
// (channel, ki, kj) it loads the input under the tile (one vector per 16
// columns and row), and multiplies it by the four filters' weights for that
// tap, broadcast from a panel packed tap-major. The tile's accumulators stay
// in registers for the whole window, and its epilogue adds the bias, pools
// the two rows 2×2 and applies the ReLU before anything is stored, so the
// unpooled output never reaches memory.
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
// over the taps is unspecified. ConvDirect is meant for small C·kh·kw
// (tens of taps); larger windows are faster through [Im2colBatch] and
// [Sgemm].
//
// It panics on invalid geometry, if n or cout is negative, or if a slice's
// length does not match the shapes.
func ConvDirect(dst, src, weight, bias []float32, n, c, h, w, cout, kh, kw, padH, padW, strideH, strideW int, relu, pool bool) {
	outH, outW := checkWindow("ConvDirect", c, h, w, kh, kw, padH, padW, strideH, strideW)
	if n < 0 || cout < 0 {
		panic("kernels: ConvDirect: invalid geometry")
	}
	dh, dw := outH, outW
	if pool {
		dh, dw = outH/2, outW/2
	}
	checkLen("ConvDirect", len(src), n*c*h*w)
	checkLen("ConvDirect", len(weight), cout*c*kh*kw)
	if bias != nil {
		checkLen("ConvDirect", len(bias), cout)
	}
	checkLen("ConvDirect", len(dst), n*cout*dh*dw)
	if len(dst) == 0 {
		return
	}
	taps := c * kh * kw
	if taps == 0 {
		// No taps: every output is the bias (pooled or not).
		for i := 0; i < n*cout; i++ {
			var b float32
			if bias != nil {
				b = bias[i%cout]
			}
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
		panic("kernels: ConvDirect: image too large")
	}
	nb := (cout + 3) / 4

	// Scratch: the packed weights and biases, the tap offsets and, with
	// padding, one padded image.
	need := nb*taps*4 + nb*4 + taps
	padded := padH > 0 || padW > 0
	if padded {
		need += c * hp * wp
	}
	buf := getBuf(need)
	defer putBuf(buf)
	rest := *buf
	wpk, rest := rest[:nb*taps*4], rest[nb*taps*4:]
	bpk, rest := rest[:nb*4], rest[nb*4:]
	offF, rest := rest[:taps], rest[taps:]
	// The offsets are int32s kept in the float32 scratch (same size).
	off := f32AsI32(offF)
	var xp []float32
	if padded {
		xp = rest[:c*hp*wp]
		clear(xp)
	}
	clear(wpk)
	clear(bpk)
	for f := 0; f < cout; f++ {
		blk := wpk[(f/4)*taps*4:]
		for t := 0; t < taps; t++ {
			blk[t*4+f%4] = weight[f*taps+t]
		}
		if bias != nil {
			bpk[f] = bias[f]
		}
	}
	t := 0
	for ch := 0; ch < c; ch++ {
		for ki := 0; ki < kh; ki++ {
			for kj := 0; kj < kw; kj++ {
				off[t] = int32((ch*hp+ki)*wp + kj)
				t++
			}
		}
	}

	rowsEnd := outH
	if pool {
		rowsEnd = 2 * dh
	}
	flags := 0
	if pool {
		flags |= convPool
	}
	if relu {
		flags |= convRelu
	}
	img := c * h * w
	for i := 0; i < n; i++ {
		x := src[i*img : (i+1)*img]
		if padded {
			for ch := 0; ch < c; ch++ {
				for y := 0; y < h; y++ {
					copy(xp[(ch*hp+y+padH)*wp+padW:], x[(ch*h+y)*w:(ch*h+y+1)*w])
				}
			}
			x = xp
		}
		out := dst[i*cout*dh*dw : (i+1)*cout*dh*dw]
		for oy := 0; oy < rowsEnd; oy += 2 {
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
				convTile(out[d:], x[xrow+c0*strideW:], off, wpk, bpk, cout, dh*dw, rowB, dw, cols, strideW, fl)
			}
		}
	}
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
