package ops

// The convolution lowers a whole minibatch to one matrix product. im2colAt writes the
// im2col matrix of one sample into a band of columns of a K×ld matrix (K = C·kh·kw,
// ld = N·outH·outW), so that the N samples side by side form the right-hand operand of
// a single GEMM; col2imAt is its adjoint. kernels.Im2col writes a contiguous matrix per
// image, which would need an extra copy into the batched layout.

// validRange returns the output positions o in [lo, hi) for which o·stride+off lies in
// [0, in), clamped to [0, out).
func validRange(out, in, off, stride int) (lo, hi int) {
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	if in-off <= 0 {
		return out, out
	}
	hi = (in - off + stride - 1) / stride
	hi = min(hi, out)
	lo = min(lo, hi)
	return lo, hi
}

// im2colAt writes the im2col matrix of the c×h×w image src into columns
// [off, off+oh·ow) of the (c·kh·kw)×ld row-major matrix dst:
//
//	dst[((ch*kh+ki)*kw+kj)*ld + off + oy*ow + ox] = src[(ch*h+iy)*w+ix]
//
// with iy = oy·sh−ph+ki, ix = ox·sw−pw+kj, and 0 where (iy, ix) falls in the padding.
func im2colAt(dst []float32, ld, off int, src []float32, c, h, w, kh, kw, ph, pw, sh, sw, oh, ow int) {
	for ch := 0; ch < c; ch++ {
		plane := src[ch*h*w : (ch+1)*h*w]
		for ki := 0; ki < kh; ki++ {
			for kj := 0; kj < kw; kj++ {
				row := dst[((ch*kh+ki)*kw+kj)*ld+off:][:oh*ow]
				lo, hi := validRange(ow, w, kj-pw, sw)
				for oy := 0; oy < oh; oy++ {
					r := row[oy*ow : (oy+1)*ow]
					iy := oy*sh - ph + ki
					if iy < 0 || iy >= h {
						clear(r)
						continue
					}
					clear(r[:lo])
					clear(r[hi:])
					in := plane[iy*w : (iy+1)*w]
					if sw == 1 {
						copy(r[lo:hi], in[lo+kj-pw:])
						continue
					}
					for ox := lo; ox < hi; ox++ {
						r[ox] = in[ox*sw+kj-pw]
					}
				}
			}
		}
	}
}

// col2imAt is the adjoint of im2colAt: it adds columns [off, off+oh·ow) of the
// (c·kh·kw)×ld matrix src back into the c×h×w image dst.
func col2imAt(dst []float32, src []float32, ld, off int, c, h, w, kh, kw, ph, pw, sh, sw, oh, ow int) {
	for ch := 0; ch < c; ch++ {
		plane := dst[ch*h*w : (ch+1)*h*w]
		for ki := 0; ki < kh; ki++ {
			for kj := 0; kj < kw; kj++ {
				row := src[((ch*kh+ki)*kw+kj)*ld+off:][:oh*ow]
				lo, hi := validRange(ow, w, kj-pw, sw)
				if lo >= hi {
					continue
				}
				for oy := 0; oy < oh; oy++ {
					iy := oy*sh - ph + ki
					if iy < 0 || iy >= h {
						continue
					}
					r := row[oy*ow : (oy+1)*ow]
					in := plane[iy*w : (iy+1)*w]
					if sw == 1 {
						o := in[lo+kj-pw : hi+kj-pw]
						for i, v := range r[lo:hi] {
							o[i] += v
						}
						continue
					}
					for ox := lo; ox < hi; ox++ {
						in[ox*sw+kj-pw] += r[ox]
					}
				}
			}
		}
	}
}
