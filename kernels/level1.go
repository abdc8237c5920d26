package kernels

// checkLen panics with a kernels-prefixed message when two lengths differ.
func checkLen(name string, got, want int) {
	if got != want {
		panic("kernels: " + name + ": length mismatch")
	}
}

// Axpy adds alpha·x to dst:
//
//	for i, v := range x {
//		dst[i] += alpha * v
//	}
//
// As in BLAS, alpha == 0 leaves dst unchanged without reading x. It panics
// if len(dst) != len(x).
func Axpy(dst []float32, alpha float32, x []float32) {
	checkLen("Axpy", len(dst), len(x))
	if alpha == 0 || len(x) == 0 {
		return
	}
	axpyUnitary(dst, alpha, x)
}

// Scale multiplies dst by alpha in place:
//
//	for i := range dst {
//		dst[i] *= alpha
//	}
func Scale(dst []float32, alpha float32) {
	scaleUnitary(dst, alpha)
}

// Add stores the elementwise sum of a and b in dst:
//
//	for i := range dst {
//		dst[i] = a[i] + b[i]
//	}
//
// dst may be a or b. It panics if the three lengths differ.
func Add(dst, a, b []float32) {
	checkLen("Add", len(a), len(dst))
	checkLen("Add", len(b), len(dst))
	addUnitary(dst, a, b)
}

// AddTo adds x to dst:
//
//	for i, v := range x {
//		dst[i] += v
//	}
//
// It panics if len(dst) != len(x).
func AddTo(dst, x []float32) {
	checkLen("AddTo", len(dst), len(x))
	if len(x) == 0 {
		return
	}
	axpyUnitary(dst, 1, x)
}

// Mul stores the elementwise product of a and b in dst:
//
//	for i := range dst {
//		dst[i] = a[i] * b[i]
//	}
//
// dst may be a or b. It panics if the three lengths differ.
func Mul(dst, a, b []float32) {
	checkLen("Mul", len(a), len(dst))
	checkLen("Mul", len(b), len(dst))
	mulUnitary(dst, a, b)
}

// Relu stores the rectified input in dst:
//
//	for i, v := range src {
//		dst[i] = max(v, 0)
//	}
//
// NaN inputs produce 0. dst may be src. It panics if len(dst) != len(src).
func Relu(dst, src []float32) {
	checkLen("Relu", len(dst), len(src))
	reluUnitary(dst, src)
}

// AddBiasRelu adds the scalar bias to src into dst, clamped at 0 when relu is
// set (a convolution's output plane, finished):
//
//	for i, v := range src {
//		dst[i] = v + bias
//		if relu {
//			dst[i] = max(dst[i], 0) // a NaN stays NaN
//		}
//	}
//
// dst may be src. It panics if len(dst) != len(src).
func AddBiasRelu(dst, src []float32, bias float32, relu bool) {
	checkLen("AddBiasRelu", len(dst), len(src))
	addBiasReluUnitary(dst, src, bias, relu)
}

// ReluBackward passes the gradient dy through where the forward output y
// was positive:
//
//	for i := range dx {
//		if y[i] > 0 {
//			dx[i] = dy[i]
//		} else {
//			dx[i] = 0
//		}
//	}
//
// dx may be dy. It panics if the three lengths differ.
func ReluBackward(dx, dy, y []float32) {
	checkLen("ReluBackward", len(dy), len(dx))
	checkLen("ReluBackward", len(y), len(dx))
	reluBackwardUnitary(dx, dy, y)
}

// AddRowVector adds the vector v to every row of the rows×cols matrix dst:
//
//	for r := 0; r < rows; r++ {
//		for c := 0; c < cols; c++ {
//			dst[r*cols+c] += v[c]
//		}
//	}
//
// It panics if rows or cols is negative, len(dst) != rows·cols or
// len(v) != cols.
func AddRowVector(dst []float32, rows, cols int, v []float32) {
	if rows < 0 || cols < 0 {
		panic("kernels: AddRowVector: negative dimension")
	}
	checkLen("AddRowVector", len(dst), rows*cols)
	checkLen("AddRowVector", len(v), cols)
	if cols == 0 {
		return
	}
	for r := 0; r < rows; r++ {
		axpyUnitary(dst[r*cols:(r+1)*cols], 1, v)
	}
}

// AddChannelBias adds bias[ch] to every element of channel ch of a c×hw
// activation:
//
//	for ch := 0; ch < c; ch++ {
//		for i := 0; i < hw; i++ {
//			dst[ch*hw+i] += bias[ch]
//		}
//	}
//
// It panics if c or hw is negative, len(dst) != c·hw or len(bias) != c.
func AddChannelBias(dst []float32, c, hw int, bias []float32) {
	if c < 0 || hw < 0 {
		panic("kernels: AddChannelBias: negative dimension")
	}
	checkLen("AddChannelBias", len(dst), c*hw)
	checkLen("AddChannelBias", len(bias), c)
	for ch, bv := range bias {
		addConstUnitary(dst[ch*hw:(ch+1)*hw], bv)
	}
}

// SumRowsTo adds the column sums of the rows×cols matrix src to dst:
//
//	for r := 0; r < rows; r++ {
//		for c := 0; c < cols; c++ {
//			dst[c] += src[r*cols+c]
//		}
//	}
//
// It panics if rows or cols is negative, len(src) != rows·cols or
// len(dst) != cols.
func SumRowsTo(dst []float32, src []float32, rows, cols int) {
	if rows < 0 || cols < 0 {
		panic("kernels: SumRowsTo: negative dimension")
	}
	checkLen("SumRowsTo", len(src), rows*cols)
	checkLen("SumRowsTo", len(dst), cols)
	if cols == 0 {
		return
	}
	for r := 0; r < rows; r++ {
		axpyUnitary(dst, 1, src[r*cols:(r+1)*cols])
	}
}

// SumChannelsTo adds the per-channel sums of the c×hw activation src to dst:
//
//	for ch := 0; ch < c; ch++ {
//		for i := 0; i < hw; i++ {
//			dst[ch] += src[ch*hw+i]
//		}
//	}
//
// It panics if c or hw is negative, len(src) != c·hw or len(dst) != c.
func SumChannelsTo(dst []float32, src []float32, c, hw int) {
	if c < 0 || hw < 0 {
		panic("kernels: SumChannelsTo: negative dimension")
	}
	checkLen("SumChannelsTo", len(src), c*hw)
	checkLen("SumChannelsTo", len(dst), c)
	for ch := range dst {
		dst[ch] += sumUnitary(src[ch*hw : (ch+1)*hw])
	}
}

// Sum returns the sum of the elements of x:
//
//	var s float32
//	for _, v := range x {
//		s += v
//	}
//	return s
//
// The accumulation order is unspecified (vectorised partial sums).
func Sum(x []float32) float32 {
	return sumUnitary(x)
}

// Dot returns the inner product of x and y:
//
//	var s float32
//	for i := range x {
//		s += x[i] * y[i]
//	}
//	return s
//
// The accumulation order is unspecified. It panics if len(x) != len(y).
func Dot(x, y []float32) float32 {
	checkLen("Dot", len(x), len(y))
	return dotUnitary(x, y)
}

// SumAbs returns the L1 norm of x, Σ|x[i]|. The accumulation order is
// unspecified.
func SumAbs(x []float32) float32 {
	return sumAbsUnitary(x)
}

// SumSq returns the squared L2 norm of x, Σx[i]². The accumulation order is
// unspecified.
func SumSq(x []float32) float32 {
	return dotUnitary(x, x)
}

// MaxAbs returns max |x[i]|, or 0 for an empty x. If x contains a NaN the
// result is NaN.
func MaxAbs(x []float32) float32 {
	return maxAbsUnitary(x)
}
