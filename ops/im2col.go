package ops

// The convolution lowers several samples at once to one matrix product. im2colBatch
// writes the im2col matrices of a run of samples side by side, a K×(n·outH·outW) matrix
// (K = C·kh·kw) that is the right-hand operand of a single GEMM; col2imBatch is its
// adjoint. kernels.Im2col writes a contiguous matrix per image, which would need an
// extra copy into the batched layout.

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

// im2colBatch writes the im2col matrix of the cn c×h×w images src[s0·img:] side by
// side into the (c·kh·kw)×(cn·oh·ow) row-major matrix dst (img = c·h·w):
//
//	dst[((ch*kh+ki)*kw+kj)*l + i*oh*ow + oy*ow + ox] = src[(s0+i)*img + (ch*h+iy)*w + ix]
//
// with l = cn·oh·ow, iy = oy·sh−ph+ki, ix = ox·sw−pw+kj, and 0 where (iy, ix) falls in
// the padding. Each row of dst is written from start to end, sample after sample.
func im2colBatch(dst, src []float32, s0, cn, c, h, w, kh, kw, ph, pw, sh, sw, oh, ow int) {
	p := oh * ow
	l := cn * p
	img, hw := c*h*w, h*w
	if sh == 1 && sw == 1 && ph == 0 && pw == 0 {
		// Stride 1 without padding: every window row is a plain run of ow values.
		for ch := 0; ch < c; ch++ {
			for ki := 0; ki < kh; ki++ {
				for kj := 0; kj < kw; kj++ {
					row := dst[((ch*kh+ki)*kw+kj)*l:][:l]
					for i := 0; i < cn; i++ {
						win := src[(s0+i)*img+ch*hw+ki*w+kj:]
						rs := row[i*p:][:p]
						if ow == 8 {
							// The rows of MNIST's second convolution: moved inline,
							// element by element (a call to memmove, or an [8]float32
							// assignment, which becomes one, costs more than the move).
							for oy, si := 0, 0; oy < oh; oy, si = oy+1, si+w {
								d, s := rs[oy*8:oy*8+8:oy*8+8], win[si:si+8:si+8]
								d[0], d[1], d[2], d[3] = s[0], s[1], s[2], s[3]
								d[4], d[5], d[6], d[7] = s[4], s[5], s[6], s[7]
							}
							continue
						}
						if ow >= 64 {
							for oy := 0; oy < oh; oy++ {
								copy(rs[oy*ow:][:ow], win[oy*w:][:ow])
							}
							continue
						}
						// Shorter rows: eight values at a time, inline (a call to
						// memmove per row costs more than the move).
						for oy, si := 0, 0; oy < oh; oy, si = oy+1, si+w {
							d, s := rs[oy*ow:oy*ow+ow:oy*ow+ow], win[si:si+ow:si+ow]
							for len(d) >= 8 {
								dd, ss := (*[8]float32)(d), (*[8]float32)(s)
								dd[0], dd[1], dd[2], dd[3] = ss[0], ss[1], ss[2], ss[3]
								dd[4], dd[5], dd[6], dd[7] = ss[4], ss[5], ss[6], ss[7]
								d, s = d[8:], s[8:]
							}
							for t := range d {
								d[t] = s[t]
							}
						}
					}
				}
			}
		}
		return
	}
	for ch := 0; ch < c; ch++ {
		for ki := 0; ki < kh; ki++ {
			for kj := 0; kj < kw; kj++ {
				row := dst[((ch*kh+ki)*kw+kj)*l:][:l]
				lo, hi := validRange(ow, w, kj-pw, sw)
				for i := 0; i < cn; i++ {
					plane := src[(s0+i)*img+ch*hw:][:hw]
					rs := row[i*p : (i+1)*p]
					for oy := 0; oy < oh; oy++ {
						r := rs[oy*ow : (oy+1)*ow]
						iy := oy*sh - ph + ki
						if iy < 0 || iy >= h {
							zero(r)
							continue
						}
						zero(r[:lo])
						zero(r[hi:])
						in := plane[iy*w : (iy+1)*w]
						if sw == 1 {
							copyRow(r[lo:hi], in[lo+kj-pw:hi+kj-pw])
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
}

// col2imBatch is the adjoint of im2colBatch: it adds the (c·kh·kw)×(cn·oh·ow) matrix
// src back into the cn images dst[s0·img:].
func col2imBatch(dst, src []float32, s0, cn, c, h, w, kh, kw, ph, pw, sh, sw, oh, ow int) {
	p := oh * ow
	l := cn * p
	img, hw := c*h*w, h*w
	if sh == 1 && sw == 1 && ph == 0 && pw == 0 {
		for ch := 0; ch < c; ch++ {
			for ki := 0; ki < kh; ki++ {
				for kj := 0; kj < kw; kj++ {
					row := src[((ch*kh+ki)*kw+kj)*l:][:l]
					for i := 0; i < cn; i++ {
						win := dst[(s0+i)*img+ch*hw+ki*w+kj:]
						rs := row[i*p:][:p]
						if ow == 8 {
							for oy, di := 0, 0; oy < oh; oy, di = oy+1, di+w {
								d, s := win[di:di+8:di+8], rs[oy*8:oy*8+8:oy*8+8]
								d[0] += s[0]
								d[1] += s[1]
								d[2] += s[2]
								d[3] += s[3]
								d[4] += s[4]
								d[5] += s[5]
								d[6] += s[6]
								d[7] += s[7]
							}
							continue
						}
						for oy := 0; oy < oh; oy++ {
							addRow(win[oy*w:][:ow], rs[oy*ow:][:ow])
						}
					}
				}
			}
		}
		return
	}
	for ch := 0; ch < c; ch++ {
		for ki := 0; ki < kh; ki++ {
			for kj := 0; kj < kw; kj++ {
				row := src[((ch*kh+ki)*kw+kj)*l:][:l]
				lo, hi := validRange(ow, w, kj-pw, sw)
				if lo >= hi {
					continue
				}
				for i := 0; i < cn; i++ {
					plane := dst[(s0+i)*img+ch*hw:][:hw]
					rs := row[i*p : (i+1)*p]
					for oy := 0; oy < oh; oy++ {
						iy := oy*sh - ph + ki
						if iy < 0 || iy >= h {
							continue
						}
						r := rs[oy*ow : (oy+1)*ow]
						in := plane[iy*w : (iy+1)*w]
						if sw == 1 {
							addRow(in[lo+kj-pw:hi+kj-pw], r[lo:hi])
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
}

// zero clears a short slice. The loop is written so that the compiler does not turn it
// into a call to memclr, which costs more than the stores for the few values of a
// padding border.
func zero(s []float32) {
	for i := 0; i < len(s); i++ {
		s[i] = 0
	}
}

// copyRow is copy(dst, src) for len(src) ≥ len(dst), tuned for the short rows of small
// images, where a call to memmove costs more than the move: runs of 8 values move
// element by element without bounds checks, long rows go to copy.
func copyRow(dst, src []float32) {
	if len(dst) >= 16 {
		copy(dst, src)
		return
	}
	src = src[:len(dst)]
	for len(dst) >= 8 {
		// Explicit element moves: an [8]float32 array assignment compiles to a call to
		// memmove.
		d, s := (*[8]float32)(dst), (*[8]float32)(src)
		d[0], d[1], d[2], d[3] = s[0], s[1], s[2], s[3]
		d[4], d[5], d[6], d[7] = s[4], s[5], s[6], s[7]
		dst, src = dst[8:], src[8:]
	}
	for i := range dst {
		dst[i] = src[i]
	}
}

// addRow adds src[:len(dst)] to dst, eight values per step.
func addRow(dst, src []float32) {
	src = src[:len(dst)]
	for len(dst) >= 8 {
		d, s := (*[8]float32)(dst), (*[8]float32)(src)
		d[0] += s[0]
		d[1] += s[1]
		d[2] += s[2]
		d[3] += s[3]
		d[4] += s[4]
		d[5] += s[5]
		d[6] += s[6]
		d[7] += s[7]
		dst, src = dst[8:], src[8:]
	}
	for i := range dst {
		dst[i] += src[i]
	}
}
