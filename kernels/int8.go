package kernels

import (
	"runtime"
	"sync"
	"unsafe"
)

// GemmS8S8S32 computes the int8 product C = A·Bᵀ with int32 results, the
// form a quantized Linear or convolution layer needs (rows of A are
// inputs, rows of B are output channels):
//
//	for i := 0; i < m; i++ {
//		for j := 0; j < n; j++ {
//			var s int32
//			for p := 0; p < k; p++ {
//				s += int32(a[i*lda+p]) * int32(b[j*ldb+p])
//			}
//			c[i*ldc+j] = s
//		}
//	}
//
// A is m×k, B is n×k and C is m×n, all row-major with strides lda, ldb and
// ldc. C is overwritten. The result is exact whenever every true sum fits
// in an int32 (always when k ≤ 131072); otherwise it wraps as int32
// arithmetic does.
//
// On CPUs with AVX-512 VNNI it runs VPDPBUSD, which multiplies unsigned by
// signed bytes: B is packed as b+128 and 128·Σ_p a[i][p] is subtracted
// from row i afterwards. With AVX2 only, it widens to int16 and runs
// VPMADDWD (exact, no saturation). Elsewhere it runs portable Go loops.
//
// It panics if m, n or k is negative, a stride is smaller than k (or n
// for ldc), or a slice is too short for its matrix.
func GemmS8S8S32(m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic("kernels: GemmS8S8S32: negative dimension")
	}
	if lda < max(1, k) || ldb < max(1, k) || ldc < max(1, n) {
		panic("kernels: GemmS8S8S32: stride smaller than row width")
	}
	if (m > 0 && k > 0 && !fits(len(a), m, k, lda)) || (n > 0 && k > 0 && !fits(len(b), n, k, ldb)) ||
		(m > 0 && n > 0 && !fits(len(c), m, n, ldc)) {
		panic("kernels: GemmS8S8S32: slice too short for its shape")
	}
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		for i := 0; i < m; i++ {
			clear(c[i*ldc : i*ldc+n])
		}
		return
	}
	gemmS8Impl(m, n, k, a, lda, b, ldb, c, ldc)
}

// gemmS8Func is the signature of the GemmS8S8S32 bodies (arguments
// checked, m, n, k ≥ 1).
type gemmS8Func func(m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int)

// gemmS8Go is the portable int8 product.
func gemmS8Go(m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
	for i := 0; i < m; i++ {
		ar := a[i*lda : i*lda+k]
		cr := c[i*ldc : i*ldc+n]
		for j := range cr {
			br := b[j*ldb : j*ldb+k]
			br = br[:len(ar)]
			var s0, s1, s2, s3 int32
			p := 0
			for ; p+4 <= len(ar); p += 4 {
				s0 += int32(ar[p]) * int32(br[p])
				s1 += int32(ar[p+1]) * int32(br[p+1])
				s2 += int32(ar[p+2]) * int32(br[p+2])
				s3 += int32(ar[p+3]) * int32(br[p+3])
			}
			for ; p < len(ar); p++ {
				s0 += int32(ar[p]) * int32(br[p])
			}
			cr[j] = s0 + s1 + s2 + s3
		}
	}
}

// int8MicroKernel computes one mr×nr tile of C from packed panels; see
// gemmS8KernelVNNI.
type int8MicroKernel func(kq int, a *int8, b *uint8, c *int32, ldc int, corr *int32, mr, nr int)

// Tile sizes of the int8 micro-kernel. Panels of at most s8RowMax rows run
// through s8RowKernel, a row at a time, where there is one.
const (
	int8MR   = 12
	int8NR   = 32
	s8RowMax = 3
)

// gemmS8Packed packs B (once, shared) and A (per row panel) into the
// VNNI layouts and runs the micro-kernel, in parallel over row panels
// when the product is large.
func gemmS8Packed(kern int8MicroKernel, m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
	kq := (k + 3) / 4
	np := roundUp(n, int8NR)
	bbuf := getBytes(np * kq * 4)
	defer putBytes(bbuf)
	bp := *bbuf
	packS8Words(bp, int8NR, b, ldb, n, k, 0x80)

	panels := (m + int8MR - 1) / int8MR
	workers := min(runtime.GOMAXPROCS(0), panels, max(1, m*n*k/(4*parallelMinWork)))
	if workers == 1 {
		gemmS8Panels(kern, 0, panels, m, n, k, a, lda, bp, c, ldc)
		return
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		lo, hi := panels*w/workers, panels*(w+1)/workers
		wg.Go(func() { gemmS8Panels(kern, lo, hi, m, n, k, a, lda, bp, c, ldc) })
	}
	gemmS8Panels(kern, 0, panels/workers, m, n, k, a, lda, bp, c, ldc)
	wg.Wait()
}

// gemmS8Panels computes the row panels lo ≤ pi < hi of C from the packed
// B panels bp, packing each A panel and its row-sum correction.
func gemmS8Panels(kern int8MicroKernel, lo, hi, m, n, k int, a []int8, lda int, bp []uint8, c []int32, ldc int) {
	kq := (k + 3) / 4
	// The A panel and, after it, the row corrections share one pooled
	// buffer (a local array would escape through the kernel call).
	abuf := getBytes(int8MR*kq*4 + 4*int8MR)
	defer putBytes(abuf)
	ap := (*abuf)[:int8MR*kq*4]
	corr := unsafe.Slice((*int32)(unsafe.Pointer(&(*abuf)[int8MR*kq*4])), int8MR)
	for pi := lo; pi < hi; pi++ {
		i0 := pi * int8MR
		rows := min(int8MR, m-i0)
		packS8Words(ap, int8MR, a[i0*lda:], lda, rows, k, 0)
		for r := range corr {
			corr[r] = 0
			if r < rows {
				corr[r] = 128 * sumS8(a[(i0+r)*lda:(i0+r)*lda+k])
			}
		}
		if rows <= s8RowMax && s8RowKernel != nil {
			for j0 := 0; j0 < n; j0 += int8NR {
				for r := 0; r < rows; r++ {
					s8RowKernel(kq, (*int8)(unsafe.Pointer(&ap[4*r])), &bp[j0*kq*4], &c[(i0+r)*ldc+j0], ldc, &corr[r], 1, min(int8NR, n-j0))
				}
			}
			continue
		}
		for j0 := 0; j0 < n; j0 += int8NR {
			kern(kq, (*int8)(unsafe.Pointer(&ap[0])), &bp[j0*kq*4], &c[i0*ldc+j0], ldc, &corr[0], rows, min(int8NR, n-j0))
		}
	}
}

// bytePools are floatPools for the int8 paths.
var bytePools [64]sync.Pool

// getBytes returns a pooled buffer of n bytes whose start is 8-byte aligned
// (the capacity is a power of two of at least 8, which Go allocates at
// such addresses); give it back with putBytes.
func getBytes(n int) *[]uint8 {
	c := max(sizeClass(n), 3)
	if p, ok := bytePools[c].Get().(*[]uint8); ok {
		*p = (*p)[:n]
		return p
	}
	s := make([]uint8, n, 1<<c)
	return &s
}

// putBytes returns a buffer obtained from getBytes.
func putBytes(p *[]uint8) { bytePools[max(sizeClass(cap(*p)), 3)].Put(p) }

// packS8Words packs the rows×k int8 matrix src (stride lds) into panels of
// width panel rows: for the panel starting at row j0, group q and row j,
// dst[j0*kq*4 + q*panel*4 + j*4 + t] = uint8(src[(j0+j)*lds + 4q+t]) ^ flip.
// Bytes past k and rows past the end hold flip (that is, a zero value).
func packS8Words(dst []uint8, panel int, src []int8, lds, rows, k int, flip uint8) {
	kq := (k + 3) / 4
	full := k / 4 // whole 4-byte groups, transposed as 32-bit words
	words := func(s []uint8) []float32 {
		return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s)/4)
	}
	for j0 := 0; j0 < rows; j0 += panel {
		pan := dst[j0*kq*4 : (j0+panel)*kq*4]
		cnt := min(panel, rows-j0)
		if cnt < panel || full < kq {
			clear(pan)
		}
		if lds%4 == 0 && full > 0 && uintptr(unsafe.Pointer(&src[j0*lds]))%4 == 0 {
			sw := unsafe.Slice((*float32)(unsafe.Pointer(&src[j0*lds])), ((cnt-1)*lds+k)/4)
			for jb := 0; jb < cnt; jb += 16 {
				transposeInto(words(pan)[jb:], panel, sw[jb*lds/4:], lds/4, min(16, cnt-jb), full)
			}
		} else {
			for j := 0; j < cnt; j++ {
				row := src[(j0+j)*lds : (j0+j)*lds+4*full]
				for q := 0; q < full; q++ {
					copy(unsafe.Slice((*int8)(unsafe.Pointer(&pan[q*panel*4+j*4])), 4), row[4*q:4*q+4])
				}
			}
		}
		for j := 0; j < cnt; j++ {
			for p := 4 * full; p < k; p++ {
				pan[full*panel*4+j*4+p-4*full] = uint8(src[(j0+j)*lds+p])
			}
		}
		if flip != 0 {
			pw := unsafe.Slice((*uint64)(unsafe.Pointer(&pan[0])), len(pan)/8)
			f := uint64(flip) * 0x0101010101010101
			for i := range pw {
				pw[i] ^= f
			}
		}
	}
}

// Tile sizes of the int16 (AVX2) micro-kernel.
const (
	int16MR = 6
	int16NR = 16
)

// int16MicroKernel computes mr rows of a 6×16 int32 tile of C from int16
// panels; see gemmS16KernelAVX2.
type int16MicroKernel func(kp int, a, b *int16, c *int32, ldc int, mr int)

// gemmS8Wide runs the int8 product through an int16 micro-kernel: A and B
// are sign-extended into pair-interleaved panels (B once, A per row panel),
// column tails go through a scratch tile. Large products run in parallel
// over row panels.
func gemmS8Wide(kern int16MicroKernel, m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
	kp := (k + 1) / 2
	np := roundUp(n, int16NR)
	bbuf := getBytes(np * kp * 4)
	defer putBytes(bbuf)
	bp := unsafe.Slice((*int16)(unsafe.Pointer(&(*bbuf)[0])), np*kp*2)
	packS16Pairs(bp, int16NR, b, ldb, n, k)

	panels := (m + int16MR - 1) / int16MR
	workers := min(runtime.GOMAXPROCS(0), panels, max(1, m*n*k/(4*parallelMinWork)))
	if workers == 1 {
		gemmS16Panels(kern, 0, panels, m, n, k, a, lda, bp, c, ldc)
		return
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		lo, hi := panels*w/workers, panels*(w+1)/workers
		wg.Go(func() { gemmS16Panels(kern, lo, hi, m, n, k, a, lda, bp, c, ldc) })
	}
	gemmS16Panels(kern, 0, panels/workers, m, n, k, a, lda, bp, c, ldc)
	wg.Wait()
}

// gemmS16Panels computes the row panels lo ≤ pi < hi of C from the packed
// int16 B panels bp.
func gemmS16Panels(kern int16MicroKernel, lo, hi, m, n, k int, a []int8, lda int, bp []int16, c []int32, ldc int) {
	kp := (k + 1) / 2
	// The A panel and a scratch tile share one pooled buffer.
	abuf := getBytes(int16MR*kp*4 + 4*int16MR*int16NR)
	defer putBytes(abuf)
	ap := unsafe.Slice((*int16)(unsafe.Pointer(&(*abuf)[0])), int16MR*kp*2)
	tile := unsafe.Slice((*int32)(unsafe.Pointer(&(*abuf)[int16MR*kp*4])), int16MR*int16NR)
	for pi := lo; pi < hi; pi++ {
		i0 := pi * int16MR
		rows := min(int16MR, m-i0)
		packS16Pairs(ap, int16MR, a[i0*lda:], lda, rows, k)
		for j0 := 0; j0 < n; j0 += int16NR {
			cols := min(int16NR, n-j0)
			if cols == int16NR {
				kern(kp, &ap[0], &bp[j0*kp*2], &c[i0*ldc+j0], ldc, rows)
				continue
			}
			kern(kp, &ap[0], &bp[j0*kp*2], &tile[0], int16NR, rows)
			for r := 0; r < rows; r++ {
				copy(c[(i0+r)*ldc+j0:(i0+r)*ldc+j0+cols], tile[r*int16NR:])
			}
		}
	}
}

// packS16Pairs packs the rows×k int8 matrix src (stride lds) into panels of
// width panel rows, sign-extended and pair-interleaved: for the panel
// starting at row j0, pair q and row j,
// dst[(j0*kp + q*panel + j)*2 + t] = int16(src[(j0+j)*lds + 2q+t]), with
// zeros past k and past the last row.
func packS16Pairs(dst []int16, panel int, src []int8, lds, rows, k int) {
	kp := (k + 1) / 2
	for j0 := 0; j0 < rows; j0 += panel {
		pan := dst[j0*kp*2 : (j0+panel)*kp*2]
		cnt := min(panel, rows-j0)
		if cnt < panel || k%2 != 0 {
			clear(pan)
		}
		for j := 0; j < cnt; j++ {
			row := src[(j0+j)*lds : (j0+j)*lds+k]
			q := 0
			for ; 2*q+1 < len(row); q++ {
				d := pan[(q*panel+j)*2 : (q*panel+j)*2+2]
				d[0], d[1] = int16(row[2*q]), int16(row[2*q+1])
			}
			if 2*q < len(row) {
				pan[(q*panel+j)*2] = int16(row[2*q])
			}
		}
	}
}
