//go:build !amd64 || purego

package kernels

// Without assembly PackedConvS8.Conv never takes the blocked path: it
// builds B panels for the VNNI kernel or, without one, an unrolled patch
// matrix.
const haveConvS8 = false

func convS8Kernel(rows, kq int, a *int8, e *uint8, seg *[4]int, off *int32, c *int32, ldc int, corr *int32, nr int) {
	panic("kernels: convS8Kernel without assembly")
}

func maxPool2x2S32(dst []int32, ldd int, src []int32, lds, n, h, w int) {
	maxPool2x2S32Go(dst, ldd, src, lds, n, h, w)
}
