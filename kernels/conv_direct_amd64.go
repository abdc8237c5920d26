//go:build amd64 && !purego

package kernels

// The AVX-512 tiles of ConvDirect, written by internal/asmgen into
// convdirect_amd64.s: convTileGo for strideW = 1 with two full vectors per
// row (up to 32 columns), one (up to 16), one and a merged one (17 to 24:
// the columns past 16 of both rows share a vector), or a merged one alone
// (up to 8); the same with eight filters for 17 to 24 columns (convTile8);
// and the rows of four with 13 or 12 filters (convRows).

//go:noescape
func convTile2AVX512(dst, x *float32, off *int32, taps int, w, bias *float32, nf, ldd, rowB, dstB int, masks uint64, flags int)

//go:noescape
func convTile1AVX512(dst, x *float32, off *int32, taps int, w, bias *float32, nf, ldd, rowB, dstB int, masks uint64, flags int)

//go:noescape
func convTile1MAVX512(dst, x *float32, off *int32, taps int, w, bias *float32, nf, ldd, rowB, dstB int, masks uint64, flags int)

//go:noescape
func convTileMAVX512(dst, x *float32, off *int32, taps int, w, bias *float32, nf, ldd, rowB, dstB int, masks uint64, flags int)

// convTile is convTileGo, on AVX-512 when strideW is 1. The caller has
// checked the geometry; the bounds checks here guard the assembly's reach.
func convTile(dst, x []float32, off []int32, w, bias []float32, nf, ldd, rowB, dstB, cols, strideW, flags int) {
	if !useAVX512 || strideW != 1 || len(off) == 0 {
		convTileGo(dst, x, off, w, bias, nf, ldd, rowB, dstB, cols, strideW, flags)
		return
	}
	maxOff := off[len(off)-1] // the offsets increase with the tap
	_ = x[int(maxOff)+rowB+cols-1]
	nb := (nf + 3) / 4
	_ = w[nb*len(off)*4-1]
	_ = bias[nb*4-1]
	checkTileDst(dst, nf, ldd, dstB, cols, flags)
	low := func(n int) uint64 { return 1<<n - 1 }
	var fn func(dst, x *float32, off *int32, taps int, w, bias *float32, nf, ldd, rowB, dstB int, masks uint64, flags int)
	// K1: the last full vector's columns; K4, K5: the merged vector's
	// columns of row A (lanes 0-7) and row B (lanes 8-15); K6, K7: the
	// pooled outputs of the last full and the merged vector.
	var k1, k4, k5, k6, k7 uint64
	switch {
	case cols > 24:
		fn = convTile2AVX512
		k1, k6 = low(cols-16), low((cols-16)/2)
	case cols > 16:
		fn = convTile1MAVX512
		k1, k6 = low(16), low(8)
		k4, k7 = low(cols-16), low((cols-16)/2)
	case cols > 8:
		fn = convTile1AVX512
		k1, k6 = low(cols), low(cols/2)
	default:
		fn = convTileMAVX512
		k4, k7 = low(cols), low(cols/2)
	}
	k5 = k4 << 8
	fn(&dst[0], &x[0], &off[0], len(off), &w[0], &bias[0], nf, ldd, rowB, dstB,
		k1|k4<<16|k5<<32|k6<<48, flags|int(k7)<<16)
}

//go:noescape
func convRows13AVX512(dst, x *float32, off *int32, taps int, w, bias *float32, nf, ldd, rowB, dstB int, masks uint64, flags int)

//go:noescape
func convRows12AVX512(dst, x *float32, off *int32, taps int, w, bias *float32, nf, ldd, rowB, dstB int, masks uint64, flags int)

// haveConvRows reports whether convRows exists on this CPU, and
// convDirectAsm whether convTile runs in assembly (for strideW 1).
var haveConvRows, convDirectAsm = useAVX512, useAVX512

// convRows computes four output rows of cols ≤ 8 columns (two pooled rows
// when pooling) for nf filters in blocks of f = 12 or 13 (weights
// w[(i/f)*taps*f + t*f + i%f], biases padded alike), row r reading the
// input r·rowB elements on; output rows (or pooled rows) are dstB apart,
// filters ldd. See convRows512 in internal/asmgen.
func convRows(dst, x []float32, off []int32, w, bias []float32, nf, f, ldd, rowB, dstB, cols, flags int) {
	_ = x[int(off[len(off)-1])+3*rowB+cols-1]
	nb := (nf + f - 1) / f
	_ = w[nb*len(off)*f-1]
	_ = bias[nb*f-1]
	if flags&convPool != 0 {
		_ = dst[(nf-1)*ldd+dstB+cols/2-1]
	} else {
		_ = dst[(nf-1)*ldd+3*dstB+cols-1]
	}
	k4, k7 := uint64(1)<<cols-1, uint64(1)<<(cols/2)-1
	fn := convRows12AVX512
	if f == 13 {
		fn = convRows13AVX512
	}
	fn(&dst[0], &x[0], &off[0], len(off), &w[0], &bias[0], nf, ldd, rowB, dstB,
		k4<<16|k4<<40, flags|int(k7)<<16)
}

//go:noescape
func convTile1M8AVX512(dst, x *float32, off *int32, taps int, w, bias *float32, nf, ldd, rowB, dstB int, masks uint64, flags int)

// haveConvTile8 reports whether convTile8 exists on this CPU.
var haveConvTile8 = useAVX512

// convTile8 is convTile for 17 to 24 columns at strideW 1 with blocks of
// eight filters (w[(f/8)*taps*8 + t*8 + f%8], biases alike): twice the
// multiply-adds per input load of convTile's four.
func convTile8(dst, x []float32, off []int32, w, bias []float32, nf, ldd, rowB, dstB, cols, flags int) {
	if cols <= 16 || cols > 24 {
		panic("kernels: convTile8: columns out of range")
	}
	_ = x[int(off[len(off)-1])+rowB+cols-1]
	nb := (nf + 7) / 8
	_ = w[nb*len(off)*8-1]
	_ = bias[nb*8-1]
	checkTileDst(dst, nf, ldd, dstB, cols, flags)
	k1, k6 := uint64(1)<<16-1, uint64(1)<<8-1
	k4, k7 := uint64(1)<<(cols-16)-1, uint64(1)<<((cols-16)/2)-1
	convTile1M8AVX512(&dst[0], &x[0], &off[0], len(off), &w[0], &bias[0], nf, ldd, rowB, dstB,
		k1|k4<<16|k4<<40|k6<<48, flags|int(k7)<<16)
}

// checkTileDst panics unless dst holds the outputs a tile of nf filters and
// cols columns writes: pooled (half the columns), at dstB when the second
// row has its own offset, or plain.
func checkTileDst(dst []float32, nf, ldd, dstB, cols, flags int) {
	switch {
	case flags&convPool != 0:
		_ = dst[(nf-1)*ldd+cols/2-1]
	case flags&convRowB != 0:
		_ = dst[(nf-1)*ldd+dstB+cols-1]
	default:
		_ = dst[(nf-1)*ldd+cols-1]
	}
}
