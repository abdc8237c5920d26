//go:build amd64 && !purego

package kernels

// The AVX2 level-1 loops process n elements, n a multiple of 8; the
// wrappers below finish the tails in Go. They run whenever the CPU has
// AVX2 and FMA, which includes the avx512 path.

//go:noescape
func axpyAVX2(dst *float32, alpha float32, x *float32, n int)

//go:noescape
func scaleAVX2(dst *float32, alpha float32, n int)

//go:noescape
func addConstAVX2(dst *float32, c float32, n int)

//go:noescape
func addAVX2(dst, a, b *float32, n int)

//go:noescape
func mulAVX2(dst, a, b *float32, n int)

//go:noescape
func reluAVX2(dst, src *float32, n int)

//go:noescape
func reluBackwardAVX2(dx, dy, y *float32, n int)

//go:noescape
func addBiasAVX2(dst, src *float32, bias float32, n int)

//go:noescape
func addBiasReluAVX2(dst, src *float32, bias float32, n int)

//go:noescape
func sumAVX2(x *float32, n int) float32

//go:noescape
func dotAVX2(x, y *float32, n int) float32

//go:noescape
func sumAbsAVX2(x *float32, n int) float32

//go:noescape
func maxAbsAVX2(x *float32, n int) float32

// useAVX2 is set once at initialisation.
var useAVX2, _ = cpuFeatures()

// vecLen returns the prefix of n handled by the AVX2 loops.
func vecLen(n int) int {
	if !useAVX2 {
		return 0
	}
	return n &^ 7
}

func axpyUnitary(dst []float32, alpha float32, x []float32) {
	dst = dst[:len(x)]
	v := vecLen(len(x))
	if v > 0 {
		axpyAVX2(&dst[0], alpha, &x[0], v)
	}
	axpyGo(dst[v:], alpha, x[v:])
}

func scaleUnitary(dst []float32, alpha float32) {
	v := vecLen(len(dst))
	if v > 0 {
		scaleAVX2(&dst[0], alpha, v)
	}
	scaleGo(dst[v:], alpha)
}

func addConstUnitary(dst []float32, c float32) {
	v := vecLen(len(dst))
	if v > 0 {
		addConstAVX2(&dst[0], c, v)
	}
	addConstGo(dst[v:], c)
}

func addUnitary(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	v := vecLen(len(dst))
	if v > 0 {
		addAVX2(&dst[0], &a[0], &b[0], v)
	}
	addGo(dst[v:], a[v:], b[v:])
}

func mulUnitary(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	v := vecLen(len(dst))
	if v > 0 {
		mulAVX2(&dst[0], &a[0], &b[0], v)
	}
	mulGo(dst[v:], a[v:], b[v:])
}

func reluUnitary(dst, src []float32) {
	dst = dst[:len(src)]
	v := vecLen(len(src))
	if v > 0 {
		reluAVX2(&dst[0], &src[0], v)
	}
	reluGo(dst[v:], src[v:])
}

func addBiasReluUnitary(dst, src []float32, bias float32, relu bool) {
	dst = dst[:len(src)]
	v := vecLen(len(src))
	if v > 0 {
		if relu {
			addBiasReluAVX2(&dst[0], &src[0], bias, v)
		} else {
			addBiasAVX2(&dst[0], &src[0], bias, v)
		}
	}
	addBiasReluGo(dst[v:], src[v:], bias, relu)
}

func reluBackwardUnitary(dx, dy, y []float32) {
	dy, y = dy[:len(dx)], y[:len(dx)]
	v := vecLen(len(dx))
	if v > 0 {
		reluBackwardAVX2(&dx[0], &dy[0], &y[0], v)
	}
	reluBackwardGo(dx[v:], dy[v:], y[v:])
}

func sumUnitary(x []float32) float32 {
	v := vecLen(len(x))
	var s float32
	if v > 0 {
		s = sumAVX2(&x[0], v)
	}
	return s + sumGo(x[v:])
}

func dotUnitary(x, y []float32) float32 {
	y = y[:len(x)]
	v := vecLen(len(x))
	var s float32
	if v > 0 {
		s = dotAVX2(&x[0], &y[0], v)
	}
	return s + dotGo(x[v:], y[v:])
}

func sumAbsUnitary(x []float32) float32 {
	v := vecLen(len(x))
	var s float32
	if v > 0 {
		s = sumAbsAVX2(&x[0], v)
	}
	return s + sumAbsGo(x[v:])
}

//go:noescape
func copyRowsAVX2(dst, src *float32, rows, cols, ldd, lds int)

//go:noescape
func addRowsAVX2(dst, src *float32, rows, cols, ldd, lds int)

// copyRows sets dst[r*ldd+j] = src[r*lds+j] for r < rows, j < cols.
func copyRows(dst, src []float32, rows, cols, ldd, lds int) {
	if rows == 0 || cols == 0 {
		return
	}
	_ = dst[(rows-1)*ldd+cols-1]
	_ = src[(rows-1)*lds+cols-1]
	if !useAVX2 {
		copyRowsGo(dst, src, rows, cols, ldd, lds)
		return
	}
	copyRowsAVX2(&dst[0], &src[0], rows, cols, ldd, lds)
}

// addRows adds src[r*lds+j] to dst[r*ldd+j] for r < rows, j < cols.
func addRows(dst, src []float32, rows, cols, ldd, lds int) {
	if rows == 0 || cols == 0 {
		return
	}
	_ = dst[(rows-1)*ldd+cols-1]
	_ = src[(rows-1)*lds+cols-1]
	if !useAVX2 {
		addRowsGo(dst, src, rows, cols, ldd, lds)
		return
	}
	addRowsAVX2(&dst[0], &src[0], rows, cols, ldd, lds)
}

func maxAbsUnitary(x []float32) float32 {
	v := vecLen(len(x))
	var m float32
	if v > 0 {
		m = maxAbsAVX2(&x[0], v)
		if m != m {
			return m
		}
	}
	t := maxAbsGo(x[v:])
	if t != t || t > m {
		return t
	}
	return m
}

//go:noescape
func sumS8AVX2(x *int8, n int) int64

// sumS8 returns Σ x[i].
func sumS8(x []int8) int32 {
	v := 0
	var s int64
	if useAVX2 {
		v = len(x) &^ 31
		if v > 0 {
			s = sumS8AVX2(&x[0], v)
		}
	}
	for _, e := range x[v:] {
		s += int64(e)
	}
	return int32(s)
}

// dot4AVX512 sets dst[r] = Σ_{p<n} x[p]·y[r*ldy+p] for r < 4.
//
//go:noescape
func dot4AVX512(dst *float32, x, y *float32, ldy, n int)

// useAVX512Dot is set once at initialisation.
var _, useAVX512Dot = cpuFeatures()

// dot4 sets dst[r] = Σ_p x[p]·y[r*ldy+p] for r < 4: four dot products
// sharing x, the inner step of matrix-vector products.
func dot4(dst *[4]float32, x, y []float32, ldy int) {
	if len(x) == 0 {
		*dst = [4]float32{}
		return
	}
	_ = y[3*ldy+len(x)-1]
	if useAVX512Dot {
		dot4AVX512(&dst[0], &x[0], &y[0], ldy, len(x))
		return
	}
	for r := range dst {
		dst[r] = dotUnitary(x, y[r*ldy:r*ldy+len(x)])
	}
}

// dot4x4AVX512 sets dst[4i+j] = Σ_{p<n} a[i*lda+p]·b[j*ldb+p] for i, j < 4.
//
//go:noescape
func dot4x4AVX512(dst *float32, a *float32, lda int, b *float32, ldb, n int)

// hasDot4x4 reports whether dot4x4 runs a SIMD kernel (else it loops in Go,
// and callers prefer other algorithms).
var hasDot4x4 = useAVX512Dot

// dot4x4 sets dst[4i+j] = Σ_p a[i*lda+p]·b[j*ldb+p] for i, j < 4 and
// p < k: a 4×4 block of A·Bᵀ.
func dot4x4(dst *[16]float32, a []float32, lda int, b []float32, ldb, k int) {
	if k == 0 {
		*dst = [16]float32{}
		return
	}
	_ = a[3*lda+k-1]
	_ = b[3*ldb+k-1]
	if useAVX512Dot {
		dot4x4AVX512(&dst[0], &a[0], lda, &b[0], ldb, k)
		return
	}
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			dst[4*i+j] = dotUnitary(a[i*lda:i*lda+k], b[j*ldb:j*ldb+k])
		}
	}
}
