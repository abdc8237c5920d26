package kernels

// ConvOutSize returns the output length of a convolution or pooling window
// sliding over in elements with the given kernel size, zero padding on both
// sides and stride:
//
//	(in + 2·pad - kernel) / stride + 1
//
// It returns 0 when the padded input is shorter than the kernel. It panics
// if in or pad is negative or kernel or stride is not positive.
func ConvOutSize(in, kernel, pad, stride int) int {
	if in < 0 || pad < 0 || kernel < 1 || stride < 1 {
		panic("kernels: ConvOutSize: invalid geometry")
	}
	if in+2*pad < kernel {
		return 0
	}
	return (in+2*pad-kernel)/stride + 1
}

// checkWindow validates a c×h×w image and a kh×kw window geometry and
// returns the output size.
func checkWindow(name string, c, h, w, kh, kw, padH, padW, strideH, strideW int) (outH, outW int) {
	if c < 0 || h < 0 || w < 0 || kh < 1 || kw < 1 || padH < 0 || padW < 0 || strideH < 1 || strideW < 1 {
		panic("kernels: " + name + ": invalid geometry")
	}
	return ConvOutSize(h, kh, padH, strideH), ConvOutSize(w, kw, padW, strideW)
}

// Im2col unrolls one C×H×W image into dst, a (C·kh·kw) × (outH·outW)
// row-major matrix, with zero padding; outH and outW are given by
// [ConvOutSize]:
//
//	for ch := 0; ch < c; ch++ {
//		for ki := 0; ki < kh; ki++ {
//			for kj := 0; kj < kw; kj++ {
//				row := (ch*kh+ki)*kw + kj
//				for oy := 0; oy < outH; oy++ {
//					for ox := 0; ox < outW; ox++ {
//						iy, ix := oy*strideH-padH+ki, ox*strideW-padW+kj
//						v := float32(0)
//						if 0 <= iy && iy < h && 0 <= ix && ix < w {
//							v = src[(ch*h+iy)*w+ix]
//						}
//						dst[row*outH*outW+oy*outW+ox] = v
//					}
//				}
//			}
//		}
//	}
//
// It panics on invalid geometry (negative sizes or padding, non-positive
// kernel or stride), if len(src) != c·h·w or if
// len(dst) != c·kh·kw·outH·outW.
func Im2col(dst, src []float32, c, h, w, kh, kw, padH, padW, strideH, strideW int) {
	outH, outW := checkWindow("Im2col", c, h, w, kh, kw, padH, padW, strideH, strideW)
	checkLen("Im2col", len(src), c*h*w)
	checkLen("Im2col", len(dst), c*kh*kw*outH*outW)
	im2colInto(dst, outH*outW, src, c, h, w, kh, kw, padH, padW, strideH, strideW, outH, outW)
}

// Im2colBatch unrolls n C×H×W images (src holds them back to back) into
// dst, a (C·kh·kw) × (n·outH·outW) row-major matrix whose column block i is
// [Im2col] of image i, so that one GEMM convolves the whole batch:
//
//	dst[row*(n*outH*outW) + i*outH*outW + col] = Im2col(image i)[row*outH*outW + col]
//
// It panics on invalid geometry, if n is negative, if len(src) != n·c·h·w
// or if len(dst) != c·kh·kw·n·outH·outW.
func Im2colBatch(dst, src []float32, n, c, h, w, kh, kw, padH, padW, strideH, strideW int) {
	outH, outW := checkWindow("Im2colBatch", c, h, w, kh, kw, padH, padW, strideH, strideW)
	if n < 0 {
		panic("kernels: Im2colBatch: negative batch")
	}
	checkLen("Im2colBatch", len(src), n*c*h*w)
	checkLen("Im2colBatch", len(dst), c*kh*kw*n*outH*outW)
	if len(dst) == 0 {
		return
	}
	p := outH * outW
	for i := 0; i < n; i++ {
		im2colInto(dst[i*p:], n*p, src[i*c*h*w:(i+1)*c*h*w], c, h, w, kh, kw, padH, padW, strideH, strideW, outH, outW)
	}
}

// im2colInto writes Im2col of one image into the rows of dst, row r
// starting at dst[r*ldd].
func im2colInto(dst []float32, ldd int, src []float32, c, h, w, kh, kw, padH, padW, strideH, strideW, outH, outW int) {
	n := outH * outW
	if c*kh*kw*n == 0 {
		return
	}
	if padH == 0 && padW == 0 && strideH == 1 && strideW == 1 {
		// Every window lies inside the image: the kw rows of one
		// (channel, kernel row) are plain copies of image rows.
		for ch := 0; ch < c; ch++ {
			img := src[ch*h*w : (ch+1)*h*w]
			for ki := 0; ki < kh; ki++ {
				row := ch*kh*kw + ki*kw
				im2colRows(dst[row*ldd:], ldd, img[ki*w:], w, kw, outH, outW)
			}
		}
		return
	}
	row := 0
	for ch := 0; ch < c; ch++ {
		img := src[ch*h*w : (ch+1)*h*w]
		for ki := 0; ki < kh; ki++ {
			for kj := 0; kj < kw; kj++ {
				d := dst[row*ldd : row*ldd+n]
				row++
				// Output columns whose input x is inside the image:
				// 0 <= ox*strideW-padW+kj < w.
				x0, x1 := validRange(outW, w, kj-padW, strideW)
				if strideW == 1 {
					// The in-image part of the output is one strided
					// block of the image; the rest is zero padding.
					y0, y1 := validRange(outH, h, ki-padH, strideH)
					clear(d[:y0*outW])
					clear(d[y1*outW:])
					if y0 >= y1 {
						continue
					}
					if x0 < x1 {
						copyRows(d[y0*outW+x0:], img[(y0*strideH-padH+ki)*w+x0+kj-padW:], y1-y0, x1-x0, outW, strideH*w)
					}
					if x0 > 0 || x1 < outW {
						// The margins are a padding column or two: plain
						// stores beat clear's call.
						for oy := y0; oy < y1; oy++ {
							drow := d[oy*outW : (oy+1)*outW]
							for x := range drow[:x0] {
								drow[x] = 0
							}
							for x := x1; x < len(drow); x++ {
								drow[x] = 0
							}
						}
					}
					continue
				}
				for oy := 0; oy < outH; oy++ {
					drow := d[oy*outW : (oy+1)*outW]
					iy := oy*strideH - padH + ki
					if iy < 0 || iy >= h {
						clear(drow)
						continue
					}
					srow := img[iy*w : (iy+1)*w]
					clear(drow[:x0])
					if strideW == 1 {
						off := kj - padW
						copy(drow[x0:x1], srow[x0+off:x1+off])
					} else {
						ix := x0*strideW - padW + kj
						for ox := x0; ox < x1; ox++ {
							drow[ox] = srow[ix]
							ix += strideW
						}
					}
					clear(drow[x1:])
				}
			}
		}
	}
}

// im2colRowsGo writes the kw im2col rows of one (channel, kernel row) of an
// unpadded, stride-1 convolution, row kj starting at dst[kj*ldd]:
//
//	for kj < kw, oy < outH, ox < outW {
//		dst[kj*ldd + oy*outW + ox] = src[oy*w + kj + ox]
//	}
func im2colRowsGo(dst []float32, ldd int, src []float32, w, kw, outH, outW int) {
	for kj := 0; kj < kw; kj++ {
		copyRows(dst[kj*ldd:], src[kj:], outH, outW, outW, w)
	}
}

// validRange returns the half-open range [lo, hi) of output positions o in
// [0, out) for which the input position o*stride+off lies in [0, in).
func validRange(out, in, off, stride int) (lo, hi int) {
	// o*stride+off >= 0  <=>  o >= ceil(-off/stride)
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	// o*stride+off <= in-1  <=>  o <= floor((in-1-off)/stride)
	if in-1-off < 0 {
		hi = 0
	} else {
		hi = (in-1-off)/stride + 1
	}
	lo = min(lo, out)
	hi = min(max(hi, lo), out)
	return lo, hi
}

// Col2im is the adjoint of [Im2col]: it adds the (C·kh·kw) × (outH·outW)
// column matrix src back into the C×H×W image dst, dropping entries that
// fall in the padding:
//
//	for ch, ki, kj, oy, ox as in Im2col {
//		if 0 <= iy && iy < h && 0 <= ix && ix < w {
//			dst[(ch*h+iy)*w+ix] += src[row*outH*outW+oy*outW+ox]
//		}
//	}
//
// It panics on invalid geometry, if len(dst) != c·h·w or if
// len(src) != c·kh·kw·outH·outW.
func Col2im(dst, src []float32, c, h, w, kh, kw, padH, padW, strideH, strideW int) {
	outH, outW := checkWindow("Col2im", c, h, w, kh, kw, padH, padW, strideH, strideW)
	checkLen("Col2im", len(dst), c*h*w)
	checkLen("Col2im", len(src), c*kh*kw*outH*outW)
	col2imFrom(dst, src, outH*outW, c, h, w, kh, kw, padH, padW, strideH, strideW, outH, outW)
}

// Col2imBatch is the adjoint of [Im2colBatch]: it adds column block i of
// the (C·kh·kw) × (n·outH·outW) matrix src back into image i of dst (n
// C×H×W images back to back), as [Col2im] does for one image.
//
// It panics on invalid geometry, if n is negative, if len(dst) != n·c·h·w
// or if len(src) != c·kh·kw·n·outH·outW.
func Col2imBatch(dst, src []float32, n, c, h, w, kh, kw, padH, padW, strideH, strideW int) {
	outH, outW := checkWindow("Col2imBatch", c, h, w, kh, kw, padH, padW, strideH, strideW)
	if n < 0 {
		panic("kernels: Col2imBatch: negative batch")
	}
	checkLen("Col2imBatch", len(dst), n*c*h*w)
	checkLen("Col2imBatch", len(src), c*kh*kw*n*outH*outW)
	if len(src) == 0 {
		return
	}
	p := outH * outW
	for i := 0; i < n; i++ {
		col2imFrom(dst[i*c*h*w:(i+1)*c*h*w], src[i*p:], n*p, c, h, w, kh, kw, padH, padW, strideH, strideW, outH, outW)
	}
}

// col2imFrom adds the column matrix whose row r starts at src[r*lds] into
// the image dst.
func col2imFrom(dst, src []float32, lds int, c, h, w, kh, kw, padH, padW, strideH, strideW, outH, outW int) {
	n := outH * outW
	if c*kh*kw*n == 0 {
		return
	}
	row := 0
	for ch := 0; ch < c; ch++ {
		img := dst[ch*h*w : (ch+1)*h*w]
		for ki := 0; ki < kh; ki++ {
			for kj := 0; kj < kw; kj++ {
				s := src[row*lds : row*lds+n]
				row++
				x0, x1 := validRange(outW, w, kj-padW, strideW)
				if x0 >= x1 {
					continue
				}
				if strideW == 1 {
					y0, y1 := validRange(outH, h, ki-padH, strideH)
					if y0 < y1 {
						addRows(img[(y0*strideH-padH+ki)*w+x0+kj-padW:], s[y0*outW+x0:], y1-y0, x1-x0, strideH*w, outW)
					}
					continue
				}
				for oy := 0; oy < outH; oy++ {
					iy := oy*strideH - padH + ki
					if iy < 0 || iy >= h {
						continue
					}
					srow := s[oy*outW : (oy+1)*outW]
					drow := img[iy*w : (iy+1)*w]
					if strideW == 1 {
						off := kj - padW
						axpyUnitary(drow[x0+off:x1+off], 1, srow[x0:x1])
					} else {
						ix := x0*strideW - padW + kj
						for ox := x0; ox < x1; ox++ {
							drow[ix] += srow[ox]
							ix += strideW
						}
					}
				}
			}
		}
	}
}
