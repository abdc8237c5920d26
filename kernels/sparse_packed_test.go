package kernels

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

func TestSpMMPacked(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 3))
	for _, c := range []struct {
		rows, cols, n, packN int
		sparsity             float64
	}{
		{1, 1, 1, 1, 0}, {5, 7, 3, 3, 0.5}, {17, 33, 16, 16, 0.9}, {30, 40, 64, 64, 0.9},
		{300, 784, 64, 64, 0.9}, {300, 784, 64, 64, 0.5}, {100, 300, 64, 64, 0.9}, {10, 100, 64, 64, 0.8},
		{300, 784, 1, 1, 0.9}, {40, 600, 130, 130, 0.7}, {40, 600, 5, 64, 0.7}, {40, 600, 64, 5, 0.7},
		{8, 8, 8, 8, 1}, {20, 2000, 70, 70, 0.95}, {3, 0, 4, 4, 0}, {0, 5, 4, 4, 0.5},
	} {
		t.Run(sizeName(c.rows, c.cols, c.n), func(t *testing.T) {
			d := sparseDense(rnd, c.rows, c.cols, c.sparsity)
			a := PackCSR(CSRFromDense(d, c.rows, c.cols), c.packN)
			if a.Rows() != c.rows || a.Cols() != c.cols {
				t.Fatalf("packed %dx%d, want %dx%d", a.Rows(), a.Cols(), c.rows, c.cols)
			}
			b, ball := guardedRand(rnd, c.cols*c.n)
			dst, dall := guardedRand(rnd, c.rows*c.n)
			want := make([]float32, c.rows*c.n)
			naiveSgemm(false, false, c.rows, c.n, c.cols, 1, d, max(1, c.cols), b, max(1, c.n), 0, want, max(1, c.n))
			SpMMPacked(dst, a, b, c.n)
			checkClose(t, "SpMMPacked", dst, want, 1e-5)
			checkGuards(t, "dst", dall)
			checkGuards(t, "b", ball)
			// The same product from b's transpose, the samples as rows.
			x, xall := guardedRand(rnd, c.cols*c.n)
			transposeRef(x, b, c.cols, c.n)
			dst, dall = guardedRand(rnd, c.rows*c.n)
			SpMMPackedRows(dst, a, x, c.n, nil, false)
			checkClose(t, "SpMMPackedRows", dst, want, 1e-5)
			checkGuards(t, "SpMMPackedRows dst", dall)
			checkGuards(t, "x", xall)
		})
	}
	bad := &CSR{Rows: 1, Cols: 2, RowPtr: []int32{0, 1}, ColIdx: []int32{2}, Val: []float32{1}}
	mustPanic(t, "PackCSR column out of range", func() { PackCSR(bad, 4) })
	ok := PackCSR(CSRFromDense([]float32{1, 0, 0, 1}, 2, 2), 2)
	mustPanic(t, "SpMMPacked short b", func() { SpMMPacked(make([]float32, 4), ok, make([]float32, 3), 2) })
	mustPanic(t, "SpMMPacked short dst", func() { SpMMPacked(make([]float32, 3), ok, make([]float32, 4), 2) })
}

// TestSpMMPackedParallel runs a product large enough to be split among
// goroutines.
func TestSpMMPackedParallel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	rnd := rand.New(rand.NewPCG(2, 3))
	const rows, cols, n = 500, 784, 128
	d := sparseDense(rnd, rows, cols, 0.7)
	a := PackCSR(CSRFromDense(d, rows, cols), n)
	b, _ := guardedRand(rnd, cols*n)
	dst, dall := guardedRand(rnd, rows*n)
	want := make([]float32, rows*n)
	naiveSgemm(false, false, rows, n, cols, 1, d, cols, b, n, 0, want, n)
	SpMMPacked(dst, a, b, n)
	checkClose(t, "SpMMPacked", dst, want, 1e-5)
	checkGuards(t, "dst", dall)
	x := make([]float32, cols*n)
	transposeRef(x, b, cols, n)
	dst, dall = guardedRand(rnd, rows*n)
	SpMMPackedRows(dst, a, x, n, nil, false)
	checkClose(t, "SpMMPackedRows", dst, want, 1e-5)
	checkGuards(t, "SpMMPackedRows dst", dall)
}

// transposeRef sets x (cols×rows) to the transpose of the rows×cols b.
func transposeRef(x, b []float32, rows, cols int) {
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			x[c*rows+r] = b[r*cols+c]
		}
	}
}

func TestSpMMPackedBias(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 3))
	for _, c := range []struct{ rows, cols, n int }{{300, 784, 64}, {100, 300, 64}, {10, 100, 64}, {17, 40, 130}, {5, 7, 3}, {4, 0, 5}} {
		for _, relu := range []bool{false, true} {
			d := sparseDense(rnd, c.rows, c.cols, 0.8)
			a := PackCSR(CSRFromDense(d, c.rows, c.cols), c.n)
			b, _ := guardedRand(rnd, c.cols*c.n)
			bias, _ := guardedRand(rnd, c.rows)
			dst, dall := guardedRand(rnd, c.rows*c.n)
			want := make([]float32, c.rows*c.n)
			naiveSgemm(false, false, c.rows, c.n, c.cols, 1, d, max(1, c.cols), b, c.n, 0, want, c.n)
			negative := false
			for i := range want {
				want[i] += bias[i/c.n]
				if relu && want[i] < 0 {
					want[i], negative = 0, true
				}
			}
			SpMMPackedBias(dst, a, b, c.n, bias, relu)
			checkClose(t, sizeName(c.rows, c.cols, c.n)+" SpMMPackedBias", dst, want, 1e-5)
			checkGuards(t, "dst", dall)
			x := make([]float32, c.cols*c.n)
			transposeRef(x, b, c.cols, c.n)
			dst, dall = guardedRand(rnd, c.rows*c.n)
			SpMMPackedRows(dst, a, x, c.n, bias, relu)
			checkClose(t, sizeName(c.rows, c.cols, c.n)+" SpMMPackedRows", dst, want, 1e-5)
			checkGuards(t, "SpMMPackedRows dst", dall)
			if relu && !negative {
				t.Fatalf("%v: no output was clamped; the case does not test the ReLU", c)
			}
		}
	}
	ok := PackCSR(CSRFromDense([]float32{1, 0, 0, 1}, 2, 2), 2)
	mustPanic(t, "SpMMPackedBias short bias", func() { SpMMPackedBias(make([]float32, 4), ok, make([]float32, 4), 2, make([]float32, 1), false) })
	mustPanic(t, "SpMMPackedRows short bias", func() { SpMMPackedRows(make([]float32, 4), ok, make([]float32, 4), 2, make([]float32, 1), false) })
	mustPanic(t, "SpMMPackedRows short x", func() { SpMMPackedRows(make([]float32, 4), ok, make([]float32, 3), 2, nil, false) })
}

// TestSparseNoAllocs checks that the packed and sliced products do not
// allocate once their pooled buffers exist: a sparse inference pass relies
// on it.
func TestSparseNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	a := CSRFromDense(sparseDense(rand.New(rand.NewPCG(1, 1)), 300, 784, 0.9), 300, 784)
	p, s := PackCSR(a, 64), SliceCSR(a)
	x, y, bias := make([]float32, 784*64), make([]float32, 300*64), make([]float32, 300)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"SpMMPacked", func() { SpMMPacked(y, p, x, 64) }},
		{"SpMMPackedBias", func() { SpMMPackedBias(y, p, x, 64, bias, true) }},
		{"SpMMPackedRows", func() { SpMMPackedRows(y, p, x, 64, bias, true) }},
		{"SpMV", func() { SpMV(y[:300], s, x[:784]) }},
		{"Transpose", func() { Transpose(y, x[:300*64], 64, 300) }},
	} {
		if n := testing.AllocsPerRun(20, c.f); n != 0 {
			t.Errorf("%s: %v allocations per call", c.name, n)
		}
	}
}
