package kernels

import "math"

// MaxPool2d max-pools one C×H×W image into dst (C×outH×outW, outH and outW
// from [ConvOutSize]). Padding counts as -Inf, as in PyTorch. argmax[i]
// receives the index into src of dst[i]'s maximum (the first one on ties),
// or -1 if the window lies entirely in the padding, in which case dst[i] is
// -Inf. A NaN in a window wins, so NaNs propagate:
//
//	for ch, oy, ox {
//		best, arg := -Inf, -1
//		for ki < kh, kj < kw {
//			iy, ix := oy*strideH-padH+ki, ox*strideW-padW+kj
//			if inside && (src[j] > best || isNaN(src[j])) { best, arg = src[j], j }
//		}
//		dst[i], argmax[i] = best, arg
//	}
//
// It panics on invalid geometry, if len(src) != c·h·w, if len(dst) or
// len(argmax) differs from c·outH·outW, or if c·h·w exceeds the int32
// range of argmax.
func MaxPool2d(dst []float32, argmax []int32, src []float32, c, h, w, kh, kw, padH, padW, strideH, strideW int) {
	outH, outW := checkWindow("MaxPool2d", c, h, w, kh, kw, padH, padW, strideH, strideW)
	checkLen("MaxPool2d", len(src), c*h*w)
	checkLen("MaxPool2d", len(dst), c*outH*outW)
	checkLen("MaxPool2d", len(argmax), c*outH*outW)
	if c*h*w > math.MaxInt32 {
		panic("kernels: MaxPool2d: image too large for int32 argmax")
	}
	if kh == 2 && kw == 2 && strideH == 2 && strideW == 2 && padH == 0 && padW == 0 {
		maxPool2x2(dst, argmax, src, c, h, w, outH, outW)
		return
	}
	negInf := float32(math.Inf(-1))
	i := 0
	for ch := 0; ch < c; ch++ {
		base := ch * h * w
		for oy := 0; oy < outH; oy++ {
			y0 := oy*strideH - padH
			ya, yb := max(y0, 0), min(y0+kh, h)
			for ox := 0; ox < outW; ox++ {
				x0 := ox*strideW - padW
				xa, xb := max(x0, 0), min(x0+kw, w)
				best, arg := negInf, -1
			window:
				for iy := ya; iy < yb; iy++ {
					row := base + iy*w
					for ix := xa; ix < xb; ix++ {
						v := src[row+ix]
						if v > best || arg < 0 {
							best, arg = v, row+ix
						}
						if v != v {
							best, arg = v, row+ix
							break window
						}
					}
				}
				dst[i] = best
				argmax[i] = int32(arg)
				i++
			}
		}
	}
}

// maxPool2x2 is MaxPool2d for 2×2 windows with stride 2 and no padding,
// the pooling of LeNet-style networks.
func maxPool2x2(dst []float32, argmax []int32, src []float32, c, h, w, outH, outW int) {
	i := 0
	for ch := 0; ch < c; ch++ {
		for oy := 0; oy < outH; oy++ {
			r0 := (ch*h + 2*oy) * w
			row0 := src[r0 : r0+2*outW]
			row1 := src[r0+w : r0+w+2*outW]
			d := dst[i : i+outW]
			am := argmax[i : i+outW]
			i += outW
			for ox := range d {
				x := 2 * ox
				best, arg := row0[x], r0+x
				best, arg = maxStep(best, arg, row0[x+1], r0+x+1)
				best, arg = maxStep(best, arg, row1[x], r0+w+x)
				best, arg = maxStep(best, arg, row1[x+1], r0+w+x+1)
				d[ox] = best
				am[ox] = int32(arg)
			}
		}
	}
}

// MaxPool2x2Bias is the inference form of a convolution's bias, optional
// ReLU and 2×2 max pooling (stride 2, no padding), without the argmax that
// training keeps. It pools n planes of h×w, plane i read from src[i*lds:]
// and written as (h/2)×(w/2) to dst[i*ldd:]:
//
//	oh, ow := h/2, w/2
//	for i < n, oy < oh, ox < ow {
//		s := src[i*lds + 2*oy*w + 2*ox:]
//		v := max(s[0], s[1], s[w], s[w+1]) + bias
//		if relu {
//			v = max(v, 0)
//		}
//		dst[i*ldd + oy*ow + ox] = v
//	}
//
// max is Go's: a NaN in a window gives NaN. Adding the bias and the ReLU
// are monotonic, so the result equals pooling the biased, rectified values.
// Planes may overlap in neither src nor dst. It panics if a size is
// negative, if ldd < (h/2)·(w/2) or lds < h·w when n > 1, or if src or dst
// is too short.
func MaxPool2x2Bias(dst []float32, ldd int, src []float32, lds, n, h, w int, bias float32, relu bool) {
	if checkPool2x2("MaxPool2x2Bias", len(dst), ldd, len(src), lds, n, h, w) {
		maxPool2x2Bias(dst, ldd, src, lds, n, h, w, bias, relu)
	}
}

// maxPool2x2BiasGo is MaxPool2x2Bias after the checks.
func maxPool2x2BiasGo(dst []float32, ldd int, src []float32, lds, n, h, w int, bias float32, relu bool) {
	maxPool2x2Go(dst, ldd, src, lds, n, h, w)
	for i := 0; i < n; i++ {
		d := dst[i*ldd : i*ldd+(h/2)*(w/2)]
		for j, v := range d {
			v += bias
			if relu {
				v = max(v, 0)
			}
			d[j] = v
		}
	}
}

// maxStep folds v (at index j) into the running maximum; the first NaN
// wins and stays.
func maxStep(best float32, arg int, v float32, j int) (float32, int) {
	if best != best {
		return best, arg
	}
	if v > best || v != v {
		return v, j
	}
	return best, arg
}

// MaxPool2dBackward routes the pooled gradient back to the maxima:
//
//	for i, g := range dy {
//		if argmax[i] >= 0 {
//			dx[argmax[i]] += g
//		}
//	}
//
// It panics if len(dy) != len(argmax) or an index is out of range for dx.
func MaxPool2dBackward(dx, dy []float32, argmax []int32) {
	checkLen("MaxPool2dBackward", len(argmax), len(dy))
	for i, g := range dy {
		if j := argmax[i]; j >= 0 {
			dx[j] += g
		}
	}
}

// AvgPool2d average-pools one C×H×W image into dst (C×outH×outW). Padding
// counts as zeros and is included in the divisor (PyTorch's default
// count_include_pad=true), so every window divides by kh·kw:
//
//	for ch, oy, ox {
//		var s float32
//		for ki < kh, kj < kw {
//			if inside { s += src[(ch*h+iy)*w+ix] }
//		}
//		dst[(ch*outH+oy)*outW+ox] = s / (kh*kw)
//	}
//
// It panics on invalid geometry, if len(src) != c·h·w or if
// len(dst) != c·outH·outW.
func AvgPool2d(dst, src []float32, c, h, w, kh, kw, padH, padW, strideH, strideW int) {
	outH, outW := checkWindow("AvgPool2d", c, h, w, kh, kw, padH, padW, strideH, strideW)
	checkLen("AvgPool2d", len(src), c*h*w)
	checkLen("AvgPool2d", len(dst), c*outH*outW)
	inv := 1 / float32(kh*kw)
	if kh == 2 && kw == 2 && strideH == 2 && strideW == 2 && padH == 0 && padW == 0 {
		avgPool2x2(dst, src, c, h, w, outH, outW)
		return
	}
	i := 0
	for ch := 0; ch < c; ch++ {
		base := ch * h * w
		for oy := 0; oy < outH; oy++ {
			y0 := oy*strideH - padH
			ya, yb := max(y0, 0), min(y0+kh, h)
			for ox := 0; ox < outW; ox++ {
				x0 := ox*strideW - padW
				xa, xb := max(x0, 0), min(x0+kw, w)
				var s float32
				for iy := ya; iy < yb; iy++ {
					row := src[base+iy*w : base+iy*w+w]
					for ix := xa; ix < xb; ix++ {
						s += row[ix]
					}
				}
				dst[i] = s * inv
				i++
			}
		}
	}
}

// avgPool2x2 is AvgPool2d for 2×2 windows with stride 2 and no padding.
func avgPool2x2(dst, src []float32, c, h, w, outH, outW int) {
	i := 0
	for ch := 0; ch < c; ch++ {
		for oy := 0; oy < outH; oy++ {
			r0 := (ch*h + 2*oy) * w
			row0 := src[r0 : r0+2*outW]
			row1 := src[r0+w : r0+w+2*outW]
			d := dst[i : i+outW]
			i += outW
			for ox := range d {
				x := 2 * ox
				d[ox] = ((row0[x] + row0[x+1]) + (row1[x] + row1[x+1])) * 0.25
			}
		}
	}
}

// AvgPool2dBackward is the adjoint of [AvgPool2d]: it adds dy[i]/(kh·kw) to
// every in-image element of window i of dx:
//
//	for ch, oy, ox {
//		g := dy[(ch*outH+oy)*outW+ox] / (kh*kw)
//		for ki < kh, kj < kw {
//			if inside { dx[(ch*h+iy)*w+ix] += g }
//		}
//	}
//
// It panics on invalid geometry, if len(dx) != c·h·w or if
// len(dy) != c·outH·outW.
func AvgPool2dBackward(dx, dy []float32, c, h, w, kh, kw, padH, padW, strideH, strideW int) {
	outH, outW := checkWindow("AvgPool2dBackward", c, h, w, kh, kw, padH, padW, strideH, strideW)
	checkLen("AvgPool2dBackward", len(dx), c*h*w)
	checkLen("AvgPool2dBackward", len(dy), c*outH*outW)
	inv := 1 / float32(kh*kw)
	i := 0
	for ch := 0; ch < c; ch++ {
		base := ch * h * w
		for oy := 0; oy < outH; oy++ {
			y0 := oy*strideH - padH
			ya, yb := max(y0, 0), min(y0+kh, h)
			for ox := 0; ox < outW; ox++ {
				x0 := ox*strideW - padW
				xa, xb := max(x0, 0), min(x0+kw, w)
				g := dy[i] * inv
				i++
				for iy := ya; iy < yb; iy++ {
					row := dx[base+iy*w : base+iy*w+w]
					for ix := xa; ix < xb; ix++ {
						row[ix] += g
					}
				}
			}
		}
	}
}

// MaxPool2x2S32 is [MaxPool2x2Bias] for int32 planes, without bias or ReLU:
// it pools n planes of h×w, plane i read from src[i*lds:] and written as
// (h/2)×(w/2) to dst[i*ldd:]:
//
//	for i < n, oy < h/2, ox < w/2 {
//		s := src[i*lds + 2*oy*w + 2*ox:]
//		dst[i*ldd + oy*(w/2) + ox] = max(s[0], s[1], s[w], s[w+1])
//	}
//
// An int8 convolution pools its accumulators with it before requantizing
// them, four times fewer, when the requantization is monotonic. It panics
// if a size is negative, if ldd < (h/2)·(w/2) or lds < h·w when n > 1, or
// if src or dst is too short.
func MaxPool2x2S32(dst []int32, ldd int, src []int32, lds, n, h, w int) {
	if checkPool2x2("MaxPool2x2S32", len(dst), ldd, len(src), lds, n, h, w) {
		maxPool2x2S32(dst, ldd, src, lds, n, h, w)
	}
}

// maxPool2x2S32Go is MaxPool2x2S32 after the checks.
func maxPool2x2S32Go(dst []int32, ldd int, src []int32, lds, n, h, w int) {
	maxPool2x2Go(dst, ldd, src, lds, n, h, w)
}

// maxPool2x2Go sets every output of the 2×2 max pooling of n h×w planes, lds
// apart, to the largest of its window (Go's max: a NaN wins); the output
// planes are ldd apart.
func maxPool2x2Go[T float32 | int32](dst []T, ldd int, src []T, lds, n, h, w int) {
	oh, ow := h/2, w/2
	for i := 0; i < n; i++ {
		s := src[i*lds : i*lds+h*w]
		d := dst[i*ldd : i*ldd+oh*ow]
		for oy := 0; oy < oh; oy++ {
			r0 := s[2*oy*w : 2*oy*w+2*ow]
			r1 := s[(2*oy+1)*w : (2*oy+1)*w+2*ow]
			dr := d[oy*ow : (oy+1)*ow]
			for ox := range dr {
				dr[ox] = max(r0[2*ox], r0[2*ox+1], r1[2*ox], r1[2*ox+1])
			}
		}
	}
}

// checkPool2x2 checks the geometry of fn, a 2×2 pooling of n h×w planes
// lds apart into planes ldd apart, against the lengths of its slices: it
// panics if a size is negative, if the planes overlap, or if a slice is too
// short, and reports whether there is anything to pool.
func checkPool2x2(fn string, dstLen, ldd, srcLen, lds, n, h, w int) bool {
	if n < 0 || h < 0 || w < 0 || (n > 1 && (ldd < (h/2)*(w/2) || lds < h*w)) {
		panic("kernels: " + fn + ": invalid geometry")
	}
	oh, ow := h/2, w/2
	if n == 0 || oh == 0 || ow == 0 {
		return false
	}
	if dstLen < (n-1)*ldd+oh*ow || srcLen < (n-1)*lds+h*w {
		panic("kernels: " + fn + ": slice too short")
	}
	return true
}
