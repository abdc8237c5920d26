package kernels

import (
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// naiveSgemm is the reference loop of Sgemm's doc comment, accumulating in
// float64.
func naiveSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * float32(s)
			} else {
				c[i*ldc+j] = alpha*float32(s) + beta*c[i*ldc+j]
			}
		}
	}
}

type gemmCase struct {
	m, n, k     int
	alpha, beta float32
	pad         int // extra stride beyond the row width
}

func gemmCases(short bool) []gemmCase {
	dims := []int{0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 47, 64, 65}
	var cs []gemmCase
	for _, m := range dims {
		for _, n := range dims {
			for _, k := range []int{0, 1, 7, 16, 33} {
				cs = append(cs, gemmCase{m, n, k, 1, 0, 0})
			}
		}
	}
	// alpha/beta/stride variants and larger shapes that cross block sizes.
	cs = append(cs,
		gemmCase{17, 33, 15, 0.5, 1, 3},
		gemmCase{17, 33, 15, -2, 0.25, 1},
		gemmCase{17, 33, 15, 0, 0.5, 0},
		gemmCase{17, 33, 15, 0, 0, 2},
		gemmCase{50, 64, 500, 1, 0, 0},
		gemmCase{25, 128, 500, 1, 0, 0},  // 13+12 rows
		gemmCase{26, 40, 300, 0.5, 1, 2}, // 13+13 rows
		gemmCase{37, 33, 200, 1, 0.5, 0}, // 13+12+12 rows
		gemmCase{20, 576, 25, 1, 1, 0},
		gemmCase{64, 50, 500, 1, 1, 5},
		gemmCase{100, 37, 300, 1.5, -1, 7},
		gemmCase{64, 400, 300, 0.5, -0.75, 1}, // NT computed through the transpose
		gemmCase{3, 100, 50, 1, 1, 2},
		gemmCase{10, 27, 700, 1, 0, 0},   // NT by dot products
		gemmCase{9, 30, 600, -1, 0.5, 3}, // NT by dot products, accumulating
		gemmCase{8, 300, 800, 1, 0, 1},
		gemmCase{64, 10, 500, 1, 0.5, 1}, // narrow C
	)
	if !short {
		cs = append(cs,
			gemmCase{257, 129, 260, 1, 0.5, 3},
			gemmCase{64, 500, 800, 1, 0, 0},
			gemmCase{300, 300, 300, 1, 1, 0},
			gemmCase{513, 31, 517, 1, 0, 1},
			gemmCase{9, 1100, 70, 1, 1, 0},
			gemmCase{13, 2100, 9, 1, 0.5, 2},
		)
	}
	return cs
}

func TestSgemm(t *testing.T) {
	kernels := availableKernels()
	for _, name := range slices.Sorted(maps.Keys(kernels)) {
		kern := kernels[name]
		t.Run(name, func(t *testing.T) {
			testSgemm(t, func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
				poisonPackPool()
				if name == Path() {
					Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
					return
				}
				if m == 0 || n == 0 || k == 0 || alpha == 0 {
					Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
					return
				}
				sgemm(kern, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			})
		})
	}
}

type sgemmFunc func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

func testSgemm(t *testing.T, sgemmUnderTest sgemmFunc) {
	t.Helper()
	rnd := rand.New(rand.NewPCG(1, 1))
	for _, tc := range gemmCases(testing.Short()) {
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			tA, tB := tr[0], tr[1]
			name := sizeName(tc.m, tc.n, tc.k)
			if tA {
				name += "/TA"
			}
			if tB {
				name += "/TB"
			}
			t.Run(name, func(t *testing.T) {
				t.Helper()
				ar, ac := tc.m, tc.k
				if tA {
					ar, ac = tc.k, tc.m
				}
				br, bc := tc.k, tc.n
				if tB {
					br, bc = tc.n, tc.k
				}
				lda, ldb, ldc := max(1, ac+tc.pad), max(1, bc+2*tc.pad), max(1, tc.n+tc.pad)
				a, aall := guardedRand(rnd, matLen(ar, ac, lda))
				b, ball := guardedRand(rnd, matLen(br, bc, ldb))
				c, call := guardedRand(rnd, matLen(tc.m, tc.n, ldc))
				if tc.beta == 0 {
					// NaNs in C must be ignored when beta == 0.
					for i := range c {
						if i%3 == 0 {
							c[i] = nan32
						}
					}
				}
				want := append([]float32(nil), c...)
				naiveSgemm(tA, tB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
				sgemmUnderTest(tA, tB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
				// Compare only the matrix entries; the stride gaps must be
				// untouched.
				for i := range c {
					inside := i%ldc < tc.n
					if inside && !close32(c[i], want[i], 1e-4*float32(max(1, tc.k/64))) {
						t.Fatalf("c[%d,%d] = %v, want %v", i/ldc, i%ldc, c[i], want[i])
					}
					if !inside && !(c[i] == want[i] || (c[i] != c[i] && want[i] != want[i])) {
						t.Fatalf("stride gap c[%d] changed: %v, want %v", i, c[i], want[i])
					}
				}
				checkGuards(t, "a", aall)
				checkGuards(t, "b", ball)
				checkGuards(t, "c", call)
			})
		}
	}
}

func matLen(rows, cols, ld int) int {
	if rows == 0 || cols == 0 {
		return 0
	}
	return (rows-1)*ld + cols
}

func TestSgemmPanics(t *testing.T) {
	s := make([]float32, 100)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"negative m", func() { Sgemm(false, false, -1, 2, 2, 1, s, 2, s, 2, 0, s, 2) }},
		{"short lda", func() { Sgemm(false, false, 2, 2, 3, 1, s, 2, s, 2, 0, s, 2) }},
		{"short lda transposed", func() { Sgemm(true, false, 3, 2, 2, 1, s, 2, s, 2, 0, s, 2) }},
		{"short ldb", func() { Sgemm(false, true, 2, 2, 3, 1, s, 3, s, 2, 0, s, 2) }},
		{"short ldc", func() { Sgemm(false, false, 2, 3, 2, 1, s, 2, s, 3, 0, s, 2) }},
		{"short a", func() { Sgemm(false, false, 20, 2, 10, 1, s, 10, s, 2, 0, s, 2) }},
		{"short c", func() { Sgemm(false, false, 2, 60, 2, 1, s, 2, s, 60, 0, s, 60) }},
		{"overflowing stride", func() { Sgemm(false, false, 3, 2, 2, 1, s, math.MaxInt/2, s, 2, 0, s, 2) }},
		{"huge m", func() { Sgemm(false, false, math.MaxInt/8, 2, 2, 1, s, 1<<20, s, 2, 0, s, 2) }},
	} {
		mustPanic(t, c.name, c.f)
	}
}

func TestTransposeInto(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	for _, rows := range []int{1, 3, 12, 15, 16} {
		for _, cols := range []int{1, 15, 16, 17, 33, 48, 100} {
			t.Run(sizeName(rows, cols), func(t *testing.T) {
				lds, ldd := cols+3, rows+5
				src, sall := guardedRand(rnd, (rows-1)*lds+cols)
				dst, dall := guarded((cols-1)*ldd + rows)
				transposeInto(dst, ldd, src, lds, rows, cols)
				for p := 0; p < cols; p++ {
					for r := 0; r < ldd && p*ldd+r < len(dst); r++ {
						got := dst[p*ldd+r]
						if r >= rows {
							if got == got {
								t.Fatalf("dst[%d,%d] outside the rows was written: %v", p, r, got)
							}
							continue
						}
						if want := src[r*lds+p]; got != want {
							t.Fatalf("dst[%d,%d] = %v, want %v", p, r, got, want)
						}
					}
				}
				checkGuards(t, "src", sall)
				checkGuards(t, "dst", dall)
			})
		}
	}
}

// poisonPackPool puts NaN-filled buffers (large enough for the packing of
// most test cases) into the packing pools, so that a GEMM that let pack
// padding reach C would fail the comparison.
func poisonPackPool() {
	for c := 10; c <= 16; c += 2 {
		p := getBuf(1 << c)
		for j := range *p {
			(*p)[j] = nan32
		}
		putBuf(p)
	}
}

func TestDot4x4(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	for _, k := range []int{0, 1, 15, 16, 17, 33, 100, 576} {
		lda, ldb := k+3, k+1
		a, aall := guardedRand(rnd, 3*lda+k)
		b, ball := guardedRand(rnd, 3*ldb+k)
		var got [16]float32
		dot4x4(&got, a, lda, b, ldb, k)
		for i := 0; i < 4; i++ {
			for j := 0; j < 4; j++ {
				var want float64
				for p := 0; p < k; p++ {
					want += float64(a[i*lda+p]) * float64(b[j*ldb+p])
				}
				if !close32(got[4*i+j], float32(want), 1e-5*float32(max(1, k/64))) {
					t.Errorf("k=%d [%d,%d] = %v, want %v", k, i, j, got[4*i+j], want)
				}
			}
		}
		checkGuards(t, "a", aall)
		checkGuards(t, "b", ball)
	}
}
