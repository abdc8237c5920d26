//go:build amd64 && !purego

package kernels

// convS8KernelVNNI12, convS8KernelVNNI8 and convS8KernelVNNI4 are the
// micro-kernels of the int8 convolution's blocked path (see blockedPanels),
// computing the first 12, 8 or 4 rows of an A panel: like
// gemmS8KernelVNNI, with B's 32 columns read as four runs of eight words
// from e + seg[s] + off[q] for group q.
//
//go:noescape
func convS8KernelVNNI12(kq int, a *int8, e *uint8, seg *[4]int, off *int32, c *int32, ldc int, corr *int32, rows, nr int)

//go:noescape
func convS8KernelVNNI8(kq int, a *int8, e *uint8, seg *[4]int, off *int32, c *int32, ldc int, corr *int32, rows, nr int)

//go:noescape
func convS8KernelVNNI4(kq int, a *int8, e *uint8, seg *[4]int, off *int32, c *int32, ldc int, corr *int32, rows, nr int)

// haveConvS8 reports whether the blocked path's kernels run (VNNI).
var haveConvS8 = hasVNNI()

// convS8Kernel runs the smallest kernel that computes rows ≤ 12 rows. The
// calls are direct, so that seg stays on the caller's stack.
func convS8Kernel(rows, kq int, a *int8, e *uint8, seg *[4]int, off *int32, c *int32, ldc int, corr *int32, nr int) {
	switch {
	case rows <= 4:
		convS8KernelVNNI4(kq, a, e, seg, off, c, ldc, corr, rows, nr)
	case rows <= 8:
		convS8KernelVNNI8(kq, a, e, seg, off, c, ldc, corr, rows, nr)
	default:
		convS8KernelVNNI12(kq, a, e, seg, off, c, ldc, corr, rows, nr)
	}
}

// maxPool2x2S32AVX512 is maxPool2x2S32Go with n, oh, ow ≥ 1.
//
//go:noescape
func maxPool2x2S32AVX512(dst *int32, ldd int, src *int32, lds, n, oh, ow, w int)

func maxPool2x2S32(dst []int32, ldd int, src []int32, lds, n, h, w int) {
	oh, ow := h/2, w/2
	if !useAVX512 {
		maxPool2x2S32Go(dst, ldd, src, lds, n, h, w)
		return
	}
	_ = dst[(n-1)*ldd+oh*ow-1]
	_ = src[(n-1)*lds+(2*oh-1)*w+2*ow-1]
	maxPool2x2S32AVX512(&dst[0], ldd, &src[0], lds, n, oh, ow, w)
}
