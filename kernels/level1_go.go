package kernels

import "math"

// The *Go functions are the portable bodies behind the exported level-1
// kernels. Callers have already checked lengths; the reslicing below only
// lets the compiler drop bounds checks.

func axpyGo(dst []float32, alpha float32, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] += alpha * v
	}
}

func scaleGo(dst []float32, alpha float32) {
	for i := range dst {
		dst[i] *= alpha
	}
}

func addGo(dst, a, b []float32) {
	a = a[:len(dst)]
	b = b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

func mulGo(dst, a, b []float32) {
	a = a[:len(dst)]
	b = b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}

func addBiasReluGo(dst, src []float32, bias float32, relu bool) {
	dst = dst[:len(src)]
	if relu {
		for i, v := range src {
			dst[i] = max(v+bias, 0)
		}
		return
	}
	for i, v := range src {
		dst[i] = v + bias
	}
}

func reluGo(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		if v > 0 {
			dst[i] = v
		} else {
			dst[i] = 0
		}
	}
}

func reluBackwardGo(dx, dy, y []float32) {
	dy = dy[:len(dx)]
	y = y[:len(dx)]
	for i := range dx {
		if y[i] > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

func addConstGo(dst []float32, c float32) {
	for i := range dst {
		dst[i] += c
	}
}

func sumGo(x []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i]
		s1 += x[i+1]
		s2 += x[i+2]
		s3 += x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func dotGo(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func sumAbsGo(x []float32) float32 {
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(x); i += 2 {
		s0 += float32(math.Abs(float64(x[i])))
		s1 += float32(math.Abs(float64(x[i+1])))
	}
	for ; i < len(x); i++ {
		s0 += float32(math.Abs(float64(x[i])))
	}
	return s0 + s1
}

func copyRowsGo(dst, src []float32, rows, cols, ldd, lds int) {
	for r := 0; r < rows; r++ {
		copy(dst[r*ldd:r*ldd+cols], src[r*lds:r*lds+cols])
	}
}

func addRowsGo(dst, src []float32, rows, cols, ldd, lds int) {
	for r := 0; r < rows; r++ {
		axpyGo(dst[r*ldd:r*ldd+cols], 1, src[r*lds:r*lds+cols])
	}
}

func maxAbsGo(x []float32) float32 {
	var m float32
	for _, v := range x {
		a := float32(math.Abs(float64(v)))
		if a > m {
			m = a
		} else if v != v {
			return v
		}
	}
	return m
}
