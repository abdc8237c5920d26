package kernels

// sgemmSimple is a straightforward, cache-friendly-enough Sgemm body used for
// tiny products. Arguments have been checked; m, n, k > 0 and alpha != 0.
func sgemmSimple(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	scaleC(m, n, beta, c, ldc)
	for i := 0; i < m; i++ {
		crow := c[i*ldc : i*ldc+n]
		if !transB {
			for p := 0; p < k; p++ {
				var av float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				axpyUnitary(crow, alpha*av, b[p*ldb:p*ldb+n])
			}
			continue
		}
		j := 0
		if !transA {
			// Four dot products at a time share the row of A.
			var s4 [4]float32
			for ; j+4 <= n; j += 4 {
				dot4(&s4, a[i*lda:i*lda+k], b[j*ldb:], ldb)
				for r, s := range s4 {
					crow[j+r] += alpha * s
				}
			}
		}
		for ; j < n; j++ {
			brow := b[j*ldb : j*ldb+k]
			var s float32
			if transA {
				for p, bv := range brow {
					s += a[p*lda+i] * bv
				}
			} else {
				s = dotUnitary(a[i*lda:i*lda+k], brow)
			}
			crow[j] += alpha * s
		}
	}
}

// sgemv is Sgemm with n == 1 and contiguous x (the column of op(B)) and y
// (the column of C): y = alpha·op(A)·x + beta·y.
func sgemv(transA bool, m, k int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	if !transA {
		var s4 [4]float32
		for i := 0; i < len(y); i++ {
			var s float32
			if i%4 == 0 && i+4 <= len(y) {
				dot4(&s4, x, a[i*lda:], lda)
			}
			if i < len(y)&^3 {
				s = alpha * s4[i%4]
			} else {
				s = alpha * dotUnitary(a[i*lda:i*lda+k], x)
			}
			if beta == 0 {
				y[i] = s
			} else {
				y[i] = s + beta*y[i]
			}
		}
		return
	}
	switch beta {
	case 0:
		clear(y)
	case 1:
	default:
		scaleUnitary(y, beta)
	}
	for p, xv := range x {
		axpyUnitary(y, alpha*xv, a[p*lda:p*lda+m])
	}
}
