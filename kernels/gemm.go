package kernels

// Sgemm computes C = alpha·op(A)·op(B) + beta·C on row-major matrices,
// where op(X) is X or Xᵀ as transA and transB say. op(A) is m×k, op(B) is
// k×n and C is m×n; lda, ldb and ldc are the row strides of the matrices
// as stored (A is stored m×k, or k×m when transA). The reference loop is:
//
//	for i := 0; i < m; i++ {
//		for j := 0; j < n; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += opA(i, p) * opB(p, j)
//			}
//			if beta == 0 {
//				c[i*ldc+j] = alpha * s
//			} else {
//				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
//			}
//		}
//	}
//
// with opA(i, p) = a[i*lda+p] (or a[p*lda+i] when transA) and
// opB(p, j) = b[p*ldb+j] (or b[j*ldb+p] when transB). When beta is 0, C is
// overwritten and NaNs already in C are ignored; when alpha is 0, A and B
// are not read. The summation order is unspecified.
//
// Sgemm panics if m, n or k is negative, a stride is smaller than the
// stored row width (or < 1), or a slice is too short for its matrix.
// c must not overlap a or b. Large products run on up to
// runtime.GOMAXPROCS(0) goroutines.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic("kernels: Sgemm: negative dimension")
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("Sgemm", "a", ar, ac, a, lda)
	checkMatrix("Sgemm", "b", br, bc, b, ldb)
	checkMatrix("Sgemm", "c", m, n, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	sgemm(gemmKern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// checkMatrix panics unless s can hold a rows×cols matrix with stride ld.
func checkMatrix(fn, name string, rows, cols int, s []float32, ld int) {
	if ld < max(1, cols) {
		panic("kernels: " + fn + ": stride of " + name + " smaller than its row width")
	}
	if rows > 0 && cols > 0 && !fits(len(s), rows, cols, ld) {
		panic("kernels: " + fn + ": " + name + " too short for its shape")
	}
}

// fits reports whether a slice of length n holds a rows×cols matrix with
// row stride ld (rows, cols ≥ 1, ld ≥ cols), without overflowing int.
func fits(n, rows, cols, ld int) bool {
	return rows-1 <= (n-cols)/ld && (rows-1)*ld+cols <= n
}

// scaleC sets C = beta·C, overwriting (not multiplying) when beta is 0.
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			scaleUnitary(row, beta)
		}
	}
}
