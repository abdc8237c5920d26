//go:build !amd64 || purego

package kernels

func axpyUnitary(dst []float32, alpha float32, x []float32) { axpyGo(dst, alpha, x) }
func scaleUnitary(dst []float32, alpha float32)             { scaleGo(dst, alpha) }
func addUnitary(dst, a, b []float32)                        { addGo(dst, a, b) }
func mulUnitary(dst, a, b []float32)                        { mulGo(dst, a, b) }
func reluUnitary(dst, src []float32)                        { reluGo(dst, src) }
func reluBackwardUnitary(dx, dy, y []float32)               { reluBackwardGo(dx, dy, y) }
func addBiasReluUnitary(dst, src []float32, bias float32, relu bool) {
	addBiasReluGo(dst, src, bias, relu)
}
func addConstUnitary(dst []float32, c float32) { addConstGo(dst, c) }
func sumUnitary(x []float32) float32           { return sumGo(x) }
func dotUnitary(x, y []float32) float32        { return dotGo(x, y) }
func sumAbsUnitary(x []float32) float32        { return sumAbsGo(x) }

// copyRows sets dst[r*ldd+j] = src[r*lds+j] for r < rows, j < cols.
func copyRows(dst, src []float32, rows, cols, ldd, lds int) {
	copyRowsGo(dst, src, rows, cols, ldd, lds)
}

// addRows adds src[r*lds+j] to dst[r*ldd+j] for r < rows, j < cols.
func addRows(dst, src []float32, rows, cols, ldd, lds int) {
	addRowsGo(dst, src, rows, cols, ldd, lds)
}

func maxAbsUnitary(x []float32) float32 { return maxAbsGo(x) }

// sumS8 returns Σ x[i].
func sumS8(x []int8) int32 {
	var s int32
	for _, e := range x {
		s += int32(e)
	}
	return s
}

// dot4 sets dst[r] = Σ_p x[p]·y[r*ldy+p] for r < 4.
func dot4(dst *[4]float32, x, y []float32, ldy int) {
	for r := range dst {
		dst[r] = dotGo(x, y[r*ldy:r*ldy+len(x)])
	}
}

// hasDot4x4 reports whether dot4x4 runs a SIMD kernel.
const hasDot4x4 = false

// dot4x4 sets dst[4i+j] = Σ_p a[i*lda+p]·b[j*ldb+p] for i, j < 4 and
// p < k.
func dot4x4(dst *[16]float32, a []float32, lda int, b []float32, ldb, k int) {
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			dst[4*i+j] = dotGo(a[i*lda:i*lda+k], b[j*ldb:j*ldb+k])
		}
	}
}
