package kernels

import (
	"math"
	"runtime"
	"slices"
	"sync"
)

// CSR is a sparse matrix in compressed sparse row form, the layout dst's
// pruned Linear layers run on. The zero value is an empty 0×0 matrix.
//
// A CSR is read-only for the kernels and safe for concurrent use by them.
type CSR struct {
	// Rows and Cols are the matrix shape.
	Rows, Cols int
	// RowPtr has Rows+1 entries; the stored entries of row i are
	// RowPtr[i] ≤ e < RowPtr[i+1], and RowPtr[Rows] is the number stored.
	RowPtr []int32
	// ColIdx holds the column of each stored entry, in [0, Cols).
	// CSRFromDense writes them in increasing order within a row; the
	// kernels do not rely on it.
	ColIdx []int32
	// Val holds the value of each stored entry.
	Val []float32
}

// NNZ returns the number of stored entries.
func (a *CSR) NNZ() int { return len(a.Val) }

// CSRFromDense returns the CSR form of the rows×cols row-major matrix
// dense, storing every entry that is not zero (NaNs are stored). It panics
// if rows or cols is negative, len(dense) != rows·cols, or the matrix is
// too large for int32 indices.
func CSRFromDense(dense []float32, rows, cols int) *CSR {
	if rows < 0 || cols < 0 {
		panic("kernels: CSRFromDense: negative dimension")
	}
	checkLen("CSRFromDense", len(dense), rows*cols)
	if cols > math.MaxInt32 {
		panic("kernels: CSRFromDense: too many columns for int32 indices")
	}
	nnz := 0
	for _, v := range dense {
		if v != 0 {
			nnz++
		}
	}
	if nnz > math.MaxInt32 {
		panic("kernels: CSRFromDense: too many non-zeros for int32 indices")
	}
	a := &CSR{
		Rows:   rows,
		Cols:   cols,
		RowPtr: make([]int32, rows+1),
		ColIdx: make([]int32, 0, nnz),
		Val:    make([]float32, 0, nnz),
	}
	for i := 0; i < rows; i++ {
		for j, v := range dense[i*cols : (i+1)*cols] {
			if v != 0 {
				a.ColIdx = append(a.ColIdx, int32(j))
				a.Val = append(a.Val, v)
			}
		}
		a.RowPtr[i+1] = int32(len(a.Val))
	}
	return a
}

// check panics unless a is structurally valid: RowPtr non-decreasing from 0
// to len(Val) == len(ColIdx).
func (a *CSR) check(fn string) {
	if a.Rows < 0 || a.Cols < 0 || len(a.RowPtr) != a.Rows+1 || len(a.ColIdx) != len(a.Val) {
		panic("kernels: " + fn + ": malformed CSR")
	}
	if a.RowPtr[0] != 0 || int(a.RowPtr[a.Rows]) != len(a.Val) {
		panic("kernels: " + fn + ": malformed CSR row pointers")
	}
	for i := 0; i < a.Rows; i++ {
		if a.RowPtr[i] > a.RowPtr[i+1] {
			panic("kernels: " + fn + ": malformed CSR row pointers")
		}
	}
}

// checkCols panics unless every column index of a is in [0, a.Cols). It
// folds the indices, as unsigned values, into four running maxima, which
// compile to branch-free independent chains.
func (a *CSR) checkCols(fn string) {
	c := a.ColIdx
	var m0, m1, m2, m3 uint32
	i := 0
	for ; i+4 <= len(c); i += 4 {
		m0 = max(m0, uint32(c[i]))
		m1 = max(m1, uint32(c[i+1]))
		m2 = max(m2, uint32(c[i+2]))
		m3 = max(m3, uint32(c[i+3]))
	}
	for ; i < len(c); i++ {
		m0 = max(m0, uint32(c[i]))
	}
	if len(c) > 0 && max(m0, m1, m2, m3) >= uint32(a.Cols) {
		panic("kernels: " + fn + ": CSR column index out of range")
	}
}

// SpMM computes the sparse × dense product dst = a·b, where b is an
// a.Cols×n row-major matrix and dst an a.Rows×n one; dst is overwritten:
//
//	for i := 0; i < a.Rows; i++ {
//		for j := 0; j < n; j++ {
//			var s float32
//			for e := a.RowPtr[i]; e < a.RowPtr[i+1]; e++ {
//				s += a.Val[e] * b[int(a.ColIdx[e])*n+j]
//			}
//			dst[i*n+j] = s
//		}
//	}
//
// A Linear layer with a pruned weight W (out×in, in CSR form) computes
// yᵀ = W·xᵀ with b = xᵀ (in×batch); at batch 1, b is just x.
//
// Large products are split by rows across up to runtime.GOMAXPROCS(0)
// goroutines. It panics if a is malformed (see [CSR]), n is negative,
// len(b) != a.Cols·n or len(dst) != a.Rows·n.
func SpMM(dst []float32, a *CSR, b []float32, n int) {
	if n < 0 {
		panic("kernels: SpMM: negative dimension")
	}
	a.check("SpMM")
	checkLen("SpMM", len(b), a.Cols*n)
	checkLen("SpMM", len(dst), a.Rows*n)
	if n == 0 {
		return
	}
	if n == 1 {
		// spmvRow checks the column indices as it goes (b has exactly
		// a.Cols elements).
		for i := 0; i < a.Rows; i++ {
			lo, hi := a.RowPtr[i], a.RowPtr[i+1]
			dst[i] = spmvRow(a.Val[lo:hi], a.ColIdx[lo:hi], b)
		}
		return
	}
	a.checkCols("SpMM")
	workers := min(runtime.GOMAXPROCS(0), a.Rows, a.NNZ()*n/parallelMinWork)
	if workers <= 1 {
		spmmRows(dst, a, b, n, 0, a.Rows)
		return
	}
	// Split the rows so that every goroutine gets about the same number of
	// non-zeros; the first share runs on this goroutine.
	var wg sync.WaitGroup
	prev, firstEnd := 0, 0
	for w := 1; w <= workers; w++ {
		end := a.Rows
		if w < workers {
			r, _ := slices.BinarySearch(a.RowPtr, int32(a.NNZ()*w/workers))
			end = max(prev, min(r, a.Rows))
		}
		if w == 1 {
			firstEnd = end
		} else {
			r0, r1 := prev, end
			wg.Go(func() { spmmRows(dst, a, b, n, r0, r1) })
		}
		prev = end
	}
	spmmRows(dst, a, b, n, 0, firstEnd)
	wg.Wait()
}

// spmmRows computes rows r0 ≤ i < r1 of SpMM.
func spmmRows(dst []float32, a *CSR, b []float32, n, r0, r1 int) {
	for i := r0; i < r1; i++ {
		lo, hi := a.RowPtr[i], a.RowPtr[i+1]
		spmmRow(dst[i*n:(i+1)*n], a.Val[lo:hi], a.ColIdx[lo:hi], b, n)
	}
}

// spmmRowGo sets drow[j] = Σ_e vals[e]·b[cols[e]*n+j].
func spmmRowGo(drow, vals []float32, cols []int32, b []float32, n int) {
	clear(drow)
	spmmRowAccGo(drow, vals, cols, b, n)
}

// spmmRowAccGo adds Σ_e vals[e]·b[cols[e]*n+j] to drow[j].
func spmmRowAccGo(drow, vals []float32, cols []int32, b []float32, n int) {
	for e, c := range cols {
		axpyUnitary(drow, vals[e], b[int(c)*n:int(c)*n+n])
	}
}

// spmvRowGo returns Σ_e vals[e]·x[cols[e]].
func spmvRowGo(vals []float32, cols []int32, x []float32) float32 {
	vals = vals[:len(cols)]
	var s0, s1 float32
	e := 0
	for ; e+2 <= len(cols); e += 2 {
		s0 += vals[e] * x[cols[e]]
		s1 += vals[e+1] * x[cols[e+1]]
	}
	if e < len(cols) {
		s0 += vals[e] * x[cols[e]]
	}
	return s0 + s1
}

// SpMMT computes dst = x·aᵀ, where x is an n×a.Cols row-major matrix and
// dst an n×a.Rows one; dst is overwritten. It is a Linear layer's forward
// pass y = x·Wᵀ with the pruned weight W (out×in) in CSR form and a batch
// of n inputs in rows:
//
//	for i := 0; i < n; i++ {
//		for r := 0; r < a.Rows; r++ {
//			var s float32
//			for e := a.RowPtr[r]; e < a.RowPtr[r+1]; e++ {
//				s += a.Val[e] * x[i*a.Cols+int(a.ColIdx[e])]
//			}
//			dst[i*a.Rows+r] = s
//		}
//	}
//
// It runs [SpMM] on transposed copies (pooled buffers), so it panics in
// the same cases, with len(x) != n·a.Cols or len(dst) != n·a.Rows.
func SpMMT(dst []float32, a *CSR, x []float32, n int) {
	if n < 0 {
		panic("kernels: SpMMT: negative dimension")
	}
	a.check("SpMMT")
	checkLen("SpMMT", len(x), n*a.Cols)
	checkLen("SpMMT", len(dst), n*a.Rows)
	if n <= 1 {
		SpMM(dst, a, x, n)
		return
	}
	xt := getBuf(len(x))
	defer putBuf(xt)
	yt := getBuf(len(dst))
	defer putBuf(yt)
	transposeMatrix(*xt, x, n, a.Cols)
	SpMM(*yt, a, *xt, n)
	transposeMatrix(dst, *yt, a.Rows, n)
}

// transposeMatrix stores the transpose of the rows×cols matrix src in dst
// (cols×rows).
func transposeMatrix(dst, src []float32, rows, cols int) {
	for r0 := 0; r0 < rows; r0 += 16 {
		transposeInto(dst[r0:], rows, src[r0*cols:], cols, min(16, rows-r0), cols)
	}
}

// Transpose stores the cols×rows transpose of the rows×cols row-major
// matrix src in dst:
//
//	for r := 0; r < rows; r++ {
//		for c := 0; c < cols; c++ {
//			dst[c*rows+r] = src[r*cols+c]
//		}
//	}
//
// It is how a chain of sparse layers enters and leaves the features ×
// batch layout [SpMM] works in. dst and src must not overlap. It panics if
// rows or cols is negative, len(src) != rows·cols or len(dst) != rows·cols.
func Transpose(dst, src []float32, rows, cols int) {
	if rows < 0 || cols < 0 {
		panic("kernels: Transpose: negative dimension")
	}
	checkLen("Transpose", len(src), rows*cols)
	checkLen("Transpose", len(dst), rows*cols)
	if rows == 0 || cols == 0 {
		return
	}
	transposeMatrix(dst, src, rows, cols)
}
