package kernels

import (
	"math"
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
	mustPanic(t, "SpMVBias short bias", func() { SpMVBias(make([]float32, 2), ok, make([]float32, 2), make([]float32, 1), false) })
	mustPanic(t, "SpMVLanes short dst", func() { SpMVLanes(make([]float32, 2), ok, make([]float32, 2), nil, false) })
}

// TestSpMVRandom checks SpMV, SpMVBias and SpMVLanes against the dense
// product on random shapes: rows and columns off the multiples of 16 and 32,
// empty and full rows and columns, and the layout's own invariants.
func TestSpMVRandom(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 5))
	for i := range 300 {
		rows, cols := 1+rnd.IntN(70), rnd.IntN(150)
		if i%10 == 0 {
			rows, cols = 16*(1+rnd.IntN(4)), 32*rnd.IntN(5)
		}
		sparsity := []float64{0, 0.5, 0.9, 0.97, 1}[rnd.IntN(5)]
		d := sparseDense(rnd, rows, cols, sparsity)
		switch rnd.IntN(4) {
		case 0: // an empty row and an empty column
			clear(d[rnd.IntN(rows)*cols:][:cols])
			if cols > 0 {
				for r, j := 0, rnd.IntN(cols); r < rows; r++ {
					d[r*cols+j] = 0
				}
			}
		case 1: // a full row
			for j := range cols {
				d[rnd.IntN(rows)*cols+j] = rnd.Float32() + 0.5
			}
		}
		a := SliceCSR(CSRFromDense(d, rows, cols))
		checkSliced(t, a)
		x, _ := guardedRand(rnd, cols)
		bias := make([]float32, rows)
		fillRand(rnd, bias)
		want := make([]float32, rows)
		naiveSgemm(false, false, rows, 1, cols, 1, d, max(1, cols), x, 1, 0, want, 1)
		name := sizeName(rows, cols)
		got, gall := guardedRand(rnd, rows)
		SpMV(got, a, x)
		checkClose(t, name+" SpMV", got, want, 1e-4)
		checkGuards(t, name+" SpMV dst", gall)
		for _, relu := range []bool{false, true} {
			wb := make([]float32, rows)
			for r := range wb {
				wb[r] = want[r] + bias[r]
				if relu && !(wb[r] > 0) {
					wb[r] = 0
				}
			}
			SpMVBias(got, a, x, bias, relu)
			checkClose(t, name+" SpMVBias", got, wb, 1e-4)
			lb := make([]float32, a.Width())
			for r, v := range bias {
				lb[a.Lane(r)] = v
			}
			lanes, lall := guardedRand(rnd, a.Width())
			SpMVLanes(lanes, a, x, lb, relu)
			checkGuards(t, name+" SpMVLanes dst", lall)
			for r := range got {
				got[r] = lanes[a.Lane(r)]
			}
			checkClose(t, name+" SpMVLanes", got, wb, 1e-4)
		}
	}
}

// checkSliced checks the layout's invariants: every row has a lane of its
// own, windows start at a multiple of 16 or at Cols-32 and fit in x, slices
// have whole groups, and the stored entries are the matrix's.
func checkSliced(t *testing.T, a *SlicedCSR) {
	t.Helper()
	seen := make(map[int32]bool)
	for _, l := range a.lane {
		if l < 0 || int(l) >= a.Width() || seen[l] {
			t.Fatalf("%dx%d: lane %d reused or out of range", a.rows, a.cols, l)
		}
		seen[l] = true
	}
	groups, w := 0, 0
	for s := 0; s < a.slices; s++ {
		same, rest := int(a.counts[2*s]), int(a.counts[2*s+1])
		if same < 0 || rest < 0 {
			t.Fatalf("%dx%d: slice %d has %d + %d groups", a.rows, a.cols, s, same, rest)
		}
		for g := 0; g < same; g++ {
			if a.off[w+2*g] != a.off[w+2*g+1] {
				t.Fatalf("%dx%d: slice %d group %d: windows at %d and %d, want one column", a.rows, a.cols, s, g, a.off[w+2*g], a.off[w+2*g+1])
			}
		}
		groups += same + rest
		w += 2 * (same + rest)
	}
	if len(a.off) != 2*groups || len(a.val) != 64*groups {
		t.Fatalf("%dx%d: %d groups, %d windows, %d val", a.rows, a.cols, groups, len(a.off), len(a.val))
	}
	for _, w := range a.off {
		if w < 0 || (w%16 != 0 && int(w) != a.cols-window) || int(w)+window > max(a.cols, window) {
			t.Fatalf("%dx%d: window at %d", a.rows, a.cols, w)
		}
	}
	nz := 0
	for _, v := range a.val {
		if v != 0 {
			nz++
		}
	}
	if nz != a.nnz {
		t.Fatalf("%dx%d: %d non-zero lanes, %d entries", a.rows, a.cols, nz, a.nnz)
	}
}

// TestEmbed checks how a lane's column is stored in its value: the low five
// bits are the column, the value moves by at most 2⁻¹⁹ of itself (half of
// 32 units in the last place) and keeps its sign, finite values stay finite
// and non-zero, and non-finite ones become NaN.
func TestEmbed(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 6))
	vals := []float32{1, -1, 0.1, -3.5e-3, 1e-30, math.MaxFloat32, -math.MaxFloat32,
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, 1e-44, 3e-39, 1.0000001, 65504}
	for range 2000 {
		vals = append(vals, math.Float32frombits(rnd.Uint32()&0x7f7fffff|rnd.Uint32()&(1<<31)))
	}
	for _, v := range vals {
		for col := int32(0); col < 32; col++ {
			e := embed(v, col)
			b := math.Float32bits(e)
			switch {
			case b&31 != uint32(col):
				t.Fatalf("embed(%g, %d) = %g: low bits %d", v, col, e, b&31)
			case math.IsInf(float64(e), 0) || math.IsNaN(float64(e)) || e == 0:
				t.Fatalf("embed(%g, %d) = %g", v, col, e)
			case math.Signbit(float64(e)) != math.Signbit(float64(v)):
				t.Fatalf("embed(%g, %d) = %g: sign changed", v, col, e)
			}
			// Subnormals have fewer significant bits: there the bound is 16 units
			// of the smallest subnormal.
			d := math.Abs(float64(e) - float64(v))
			if bound := math.Max(math.Abs(float64(v))*0x1p-19, 32*math.SmallestNonzeroFloat32); d > bound {
				t.Fatalf("embed(%g, %d) = %g: moved by %g > %g", v, col, e, d, bound)
			}
		}
	}
	for _, v := range []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())} {
		for col := int32(0); col < 32; col++ {
			if e := embed(v, col); !math.IsNaN(float64(e)) || math.Float32bits(e)&31 != uint32(col) {
				t.Fatalf("embed(%g, %d) = %g", v, col, e)
			}
		}
	}
	if e := embed(0, 5); e != 0 {
		t.Fatalf("embed(0, 5) = %g", e)
	}
}

// TestSpMVNonFinite checks that a NaN or infinite weight makes its row NaN and
// leaves the other rows alone, and that stored zeros are dropped.
func TestSpMVNonFinite(t *testing.T) {
	for _, bad := range []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())} {
		d := make([]float32, 20*40)
		for i := range d {
			d[i] = float32(i%7) - 3
		}
		d[3*40+17] = bad
		a := SliceCSR(CSRFromDense(d, 20, 40))
		x := make([]float32, 40)
		for i := range x {
			x[i] = 1
		}
		y := make([]float32, 20)
		SpMV(y, a, x)
		for r, v := range y {
			if nan := math.IsNaN(float64(v)); nan != (r == 3) {
				t.Fatalf("weight %g: row %d = %g", bad, r, v)
			}
		}
	}
	c := &CSR{Rows: 1, Cols: 2, RowPtr: []int32{0, 2}, ColIdx: []int32{0, 1}, Val: []float32{0, 2}}
	if a := SliceCSR(c); a.NNZ() != 1 {
		t.Fatalf("stored zero kept: %d entries", a.NNZ())
	}
}

// BenchmarkSpMV784x300Sparsity90 compares, for a 90%-sparse 784→300 Linear
// layer at batch 1, the sliced product (SpMV, and SpMVLanes without the pass
// that puts the rows back in order), the CSR gather kernel (SpMM with n = 1)
// and the dense GEMV, side by side.
func BenchmarkSpMV784x300Sparsity90(b *testing.B) {
	const out, in = 300, 784
	rnd := rand.New(rand.NewPCG(1, 1))
	w := sparseDense(rnd, out, in, 0.9)
	a := CSRFromDense(w, out, in)
	s := SliceCSR(a)
	x := make([]float32, in)
	fillRand(rnd, x)
	y := make([]float32, out)
	yl := make([]float32, s.Width())
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"Sliced", func() { SpMV(y, s, x) }},
		{"SlicedLanes", func() { SpMVLanes(yl, s, x, nil, false) }},
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

// BenchmarkSliceCSR784x300Sparsity90 measures building the sliced layout of a
// 90%-sparse 784→300 weight (nn.NewInference builds one per Linear layer).
func BenchmarkSliceCSR784x300Sparsity90(b *testing.B) {
	rnd := rand.New(rand.NewPCG(1, 1))
	a := CSRFromDense(sparseDense(rnd, 300, 784, 0.9), 300, 784)
	b.ReportAllocs()
	for b.Loop() {
		SliceCSR(a)
	}
}
