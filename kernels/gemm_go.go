package kernels

import "unsafe"

// goKernel is the portable 4×4 micro-kernel used by the purego path.
var goKernel = microKernel{mr: 4, nr: 4, masked: true, fn: sgemmKernelGo}

// at returns p[i] for a float32 pointer p; the caller guarantees that the
// element exists.
func at(p *float32, i int) float32 {
	return *(*float32)(unsafe.Add(unsafe.Pointer(p), i*4))
}

// sgemmKernelGo is the pure-Go micro-kernel; see microKernel.
func sgemmKernelGo(k int, a *float32, rsA, csA int, b *float32, csB int, c *float32, ldc int, alpha, beta float32, mr, nr int, accumulate bool) {
	var acc [4][4]float32
	if nr == 4 {
		var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float32
		ai, bi := 0, 0
		for p := 0; p < k; p++ {
			a0, a1, a2, a3 := at(a, ai), at(a, ai+rsA), at(a, ai+2*rsA), at(a, ai+3*rsA)
			b0, b1, b2, b3 := at(b, bi), at(b, bi+1), at(b, bi+2), at(b, bi+3)
			ai += csA
			bi += csB
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			c03 += a0 * b3
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
			c13 += a1 * b3
			c20 += a2 * b0
			c21 += a2 * b1
			c22 += a2 * b2
			c23 += a2 * b3
			c30 += a3 * b0
			c31 += a3 * b1
			c32 += a3 * b2
			c33 += a3 * b3
		}
		acc = [4][4]float32{
			{c00, c01, c02, c03},
			{c10, c11, c12, c13},
			{c20, c21, c22, c23},
			{c30, c31, c32, c33},
		}
	} else {
		for p := 0; p < k; p++ {
			for r := 0; r < 4; r++ {
				av := at(a, r*rsA+p*csA)
				for j := 0; j < nr; j++ {
					acc[r][j] += av * at(b, p*csB+j)
				}
			}
		}
	}
	cs := unsafe.Slice(c, (mr-1)*ldc+nr)
	for r := 0; r < mr; r++ {
		row := cs[r*ldc : r*ldc+nr]
		for j := range row {
			if accumulate {
				row[j] = alpha*acc[r][j] + beta*row[j]
			} else {
				row[j] = alpha * acc[r][j]
			}
		}
	}
}
