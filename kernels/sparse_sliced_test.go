package kernels

import (
	"math/rand/v2"
	"testing"
)

func TestSpMV(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 4))
	for _, c := range []struct {
		rows, cols int
		sparsity   float64
	}{
		{1, 1, 0}, {1, 32, 0}, {16, 32, 0}, {17, 33, 0.5}, {5, 7, 0.5}, {300, 784, 0.9}, {100, 300, 0.9},
		{10, 100, 0.9}, {300, 784, 0}, {8, 8, 1}, {3, 0, 0}, {0, 5, 0.5}, {40, 64, 0.3}, {33, 95, 0.97},
	} {
		t.Run(sizeName(c.rows, c.cols), func(t *testing.T) {
			d := sparseDense(rnd, c.rows, c.cols, c.sparsity)
			a := SliceCSR(CSRFromDense(d, c.rows, c.cols))
			if a.Rows() != c.rows || a.Cols() != c.cols || a.Lanes() < a.NNZ() {
				t.Fatalf("sliced %dx%d, %d lanes for %d entries", a.Rows(), a.Cols(), a.Lanes(), a.NNZ())
			}
			for _, zero := range []bool{false, true} {
				x, xall := guardedRand(rnd, c.cols)
				if zero {
					// Whole zero chunks (the first, the third, the tail) are skipped.
					for j := range x {
						if j < 32 || (j >= 64 && j < 96) || j >= 32*(c.cols/32) {
							x[j] = 0
						}
					}
				}
				dst, dall := guardedRand(rnd, c.rows)
				want := make([]float32, c.rows)
				naiveSgemm(false, false, c.rows, 1, c.cols, 1, d, max(1, c.cols), x, 1, 0, want, 1)
				SpMV(dst, a, x)
				checkClose(t, "SpMV", dst, want, 1e-4) // 784-term sums in another order
				checkGuards(t, "dst", dall)
				checkGuards(t, "x", xall)
			}
		})
	}
	bad := &CSR{Rows: 1, Cols: 2, RowPtr: []int32{0, 1}, ColIdx: []int32{-1}, Val: []float32{1}}
	mustPanic(t, "SliceCSR negative column", func() { SliceCSR(bad) })
	ok := SliceCSR(CSRFromDense([]float32{1, 0, 0, 1}, 2, 2))
	mustPanic(t, "SpMV short x", func() { SpMV(make([]float32, 2), ok, make([]float32, 1)) })
	mustPanic(t, "SpMV short dst", func() { SpMV(make([]float32, 1), ok, make([]float32, 2)) })
}

// BenchmarkSpMV784x300Sparsity90 compares, for a 90%-sparse 784→300 Linear
// layer at batch 1, the sliced product (SpMV), the CSR gather kernel (SpMM
// with n = 1) and the dense GEMV, side by side.
func BenchmarkSpMV784x300Sparsity90(b *testing.B) {
	const out, in = 300, 784
	rnd := rand.New(rand.NewPCG(1, 1))
	w := sparseDense(rnd, out, in, 0.9)
	a := CSRFromDense(w, out, in)
	s := SliceCSR(a)
	x := make([]float32, in)
	fillRand(rnd, x)
	y := make([]float32, out)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"Sliced", func() { SpMV(y, s, x) }},
		{"CSR", func() { SpMM(y, a, x, 1) }},
		{"Dense", func() { Sgemm(false, false, out, 1, in, 1, w, in, x, 1, 0, y, 1) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.f()
			}
			b.ReportMetric(float64(s.NNZ())/float64(s.Lanes()), "lane-use")
		})
	}
}
