package kernels

import (
	"math/rand/v2"
	"testing"
)

// sparseDense returns a rows×cols matrix with roughly the given fraction of
// zeros.
func sparseDense(rnd *rand.Rand, rows, cols int, sparsity float64) []float32 {
	d := make([]float32, rows*cols)
	for i := range d {
		if rnd.Float64() >= sparsity {
			d[i] = 2*rnd.Float32() - 1
		}
	}
	return d
}

func TestCSRFromDense(t *testing.T) {
	d := []float32{0, 1, 0, 2, 0, 0, 3, 0, nan32}
	a := CSRFromDense(d, 3, 3)
	if a.NNZ() != 4 || a.Rows != 3 || a.Cols != 3 {
		t.Fatalf("CSR shape %dx%d nnz %d, want 3x3 nnz 4", a.Rows, a.Cols, a.NNZ())
	}
	wantPtr := []int32{0, 1, 2, 4}
	wantCol := []int32{1, 0, 0, 2}
	for i, v := range wantPtr {
		if a.RowPtr[i] != v {
			t.Errorf("RowPtr[%d] = %d, want %d", i, a.RowPtr[i], v)
		}
	}
	for i, v := range wantCol {
		if a.ColIdx[i] != v {
			t.Errorf("ColIdx[%d] = %d, want %d", i, a.ColIdx[i], v)
		}
	}
	if a.Val[3] == a.Val[3] {
		t.Errorf("NaN not stored: %v", a.Val)
	}
	mustPanic(t, "CSRFromDense length", func() { CSRFromDense(d, 2, 2) })
}

func TestSpMM(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct {
		rows, cols, n int
		sparsity      float64
	}{
		{0, 0, 3, 0.5}, {3, 4, 0, 0.5}, {1, 1, 1, 0}, {5, 7, 1, 0.5}, {5, 7, 3, 0.5}, {17, 33, 16, 0.9},
		{17, 33, 17, 0.3}, {30, 40, 64, 0.9}, {30, 40, 65, 0.8}, {9, 20, 130, 0.5}, {8, 8, 8, 1}, {300, 784, 1, 0.9}, {4, 0, 5, 0.5}, {300, 784, 64, 0.5}, {50, 100, 200, 0}, {600, 300, 96, 0.7},
	} {
		t.Run(sizeName(c.rows, c.cols, c.n), func(t *testing.T) {
			d := sparseDense(rnd, c.rows, c.cols, c.sparsity)
			a := CSRFromDense(d, c.rows, c.cols)
			b, ball := guardedRand(rnd, c.cols*c.n)
			dst, dall := guardedRand(rnd, c.rows*c.n)
			want := make([]float32, c.rows*c.n)
			naiveSgemm(false, false, c.rows, c.n, c.cols, 1, d, max(1, c.cols), b, max(1, c.n), 0, want, max(1, c.n))
			SpMM(dst, a, b, c.n)
			checkClose(t, "SpMM", dst, want, 1e-5)
			checkGuards(t, "dst", dall)
			checkGuards(t, "b", ball)

			// SpMMT with x = bᵀ gives dst = (a·b)ᵀ.
			x, xall := guarded(c.n * c.cols)
			for i := 0; i < c.cols; i++ {
				for j := 0; j < c.n; j++ {
					x[j*c.cols+i] = b[i*c.n+j]
				}
			}
			yt, yall := guardedRand(rnd, c.n*c.rows)
			SpMMT(yt, a, x, c.n)
			wantT := make([]float32, len(want))
			for i := 0; i < c.rows; i++ {
				for j := 0; j < c.n; j++ {
					wantT[j*c.rows+i] = want[i*c.n+j]
				}
			}
			checkClose(t, "SpMMT", yt, wantT, 1e-5)
			checkGuards(t, "SpMMT dst", yall)
			checkGuards(t, "SpMMT x", xall)
		})
	}
	bad := &CSR{Rows: 1, Cols: 2, RowPtr: []int32{0, 1}, ColIdx: []int32{2}, Val: []float32{1}}
	mustPanic(t, "column out of range", func() { SpMM(make([]float32, 4), bad, make([]float32, 4), 2) })
	long := &CSR{Rows: 1, Cols: 40, RowPtr: []int32{0, 20}, ColIdx: make([]int32, 20), Val: make([]float32, 20)}
	long.ColIdx[17] = 40
	mustPanic(t, "column out of range, batch 1", func() { SpMM(make([]float32, 1), long, make([]float32, 40), 1) })
	long.ColIdx[17] = -1
	mustPanic(t, "negative column, batch 1", func() { SpMM(make([]float32, 1), long, make([]float32, 40), 1) })
	long.ColIdx = long.ColIdx[:3]
	long.Val = long.Val[:3]
	long.RowPtr[1] = 3
	long.ColIdx[2] = 41
	mustPanic(t, "column out of range, short row", func() { SpMM(make([]float32, 1), long, make([]float32, 40), 1) })
	bad = &CSR{Rows: 1, Cols: 2, RowPtr: []int32{0, 2}, ColIdx: []int32{0}, Val: []float32{1}}
	mustPanic(t, "short ColIdx", func() { SpMM(make([]float32, 2), bad, make([]float32, 4), 2) })
	ok := CSRFromDense([]float32{1, 2}, 1, 2)
	mustPanic(t, "short b", func() { SpMM(make([]float32, 2), ok, make([]float32, 3), 2) })
	mustPanic(t, "SpMMT short x", func() { SpMMT(make([]float32, 2), ok, make([]float32, 3), 2) })
	mustPanic(t, "SpMMT short dst", func() { SpMMT(make([]float32, 1), ok, make([]float32, 4), 2) })
}

func TestTranspose(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	for _, s := range [][2]int{{1, 1}, {1, 17}, {17, 1}, {15, 33}, {64, 784}, {300, 64}, {10, 64}, {33, 16}} {
		rows, cols := s[0], s[1]
		src := sparseDense(rnd, rows, cols, 0)
		all := make([]float32, rows*cols+2)
		for i := range all {
			all[i] = nan32
		}
		dst := all[1 : rows*cols+1]
		Transpose(dst, src, rows, cols)
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				if dst[c*rows+r] != src[r*cols+c] {
					t.Fatalf("%dx%d: dst[%d,%d] = %v, want %v", rows, cols, c, r, dst[c*rows+r], src[r*cols+c])
				}
			}
		}
		if all[0] == all[0] || all[len(all)-1] == all[len(all)-1] {
			t.Fatalf("%dx%d: wrote outside dst", rows, cols)
		}
	}
	mustPanic(t, "Transpose short dst", func() { Transpose(make([]float32, 5), make([]float32, 6), 2, 3) })
}

// TestSpMMUnsortedColumns runs the column-blocked product on rows whose
// column indices are not in increasing order: every entry must still count
// once.
func TestSpMMUnsortedColumns(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	const rows, cols, n = 40, 500, 64
	d := sparseDense(rnd, rows, cols, 0.6)
	a := CSRFromDense(d, rows, cols)
	for i := 0; i < rows; i++ {
		lo, hi := int(a.RowPtr[i]), int(a.RowPtr[i+1])
		rnd.Shuffle(hi-lo, func(x, y int) {
			a.ColIdx[lo+x], a.ColIdx[lo+y] = a.ColIdx[lo+y], a.ColIdx[lo+x]
			a.Val[lo+x], a.Val[lo+y] = a.Val[lo+y], a.Val[lo+x]
		})
	}
	b, _ := guardedRand(rnd, cols*n)
	dst, dall := guardedRand(rnd, rows*n)
	want := make([]float32, rows*n)
	naiveSgemm(false, false, rows, n, cols, 1, d, cols, b, n, 0, want, n)
	SpMM(dst, a, b, n)
	checkClose(t, "SpMM", dst, want, 1e-5)
	checkGuards(t, "dst", dall)
}
