package kernels

import (
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestGemmS8S8S32(t *testing.T) {
	impls := availableS8()
	for _, name := range slices.Sorted(maps.Keys(impls)) {
		f := impls[name]
		t.Run(name, func(t *testing.T) {
			testGemmS8(t, func(m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
				if m == 0 || n == 0 || k == 0 {
					GemmS8S8S32(m, n, k, a, lda, b, ldb, c, ldc)
					return
				}
				f(m, n, k, a, lda, b, ldb, c, ldc)
			})
		})
	}
	mustPanic(t, "short c", func() { GemmS8S8S32(2, 2, 2, make([]int8, 4), 2, make([]int8, 4), 2, make([]int32, 3), 2) })
	mustPanic(t, "short lda", func() { GemmS8S8S32(2, 2, 2, make([]int8, 4), 1, make([]int8, 4), 2, make([]int32, 4), 2) })
}

func testGemmS8(t *testing.T, gemm gemmS8Func) {
	t.Helper()
	rnd := rand.New(rand.NewPCG(1, 1))
	const guard = math.MinInt32
	cases := [][3]int{
		{0, 5, 3}, {5, 0, 3}, {3, 5, 0}, {1, 1, 1}, {1, 1, 4}, {2, 3, 5}, {12, 32, 16}, {13, 33, 17},
		{7, 15, 63}, {25, 70, 129}, {64, 10, 500}, {50, 64, 101}, {1, 300, 784}, {30, 17, 2}, {3, 40, 37}, {15, 33, 9}, {2, 100, 300},
	}
	if !testing.Short() {
		cases = append(cases, [3]int{100, 200, 300}) // parallel
	}
	for _, sz := range cases {
		for _, pad := range []int{0, 3} {
			m, n, k := sz[0], sz[1], sz[2]
			t.Run(sizeName(m, n, k)+"/pad"+sizeName(pad), func(t *testing.T) {
				lda, ldb, ldc := max(1, k+pad), max(1, k+2*pad), max(1, n+pad)
				a := make([]int8, matLen(m, k, lda))
				b := make([]int8, matLen(n, k, ldb))
				fillS8(rnd, a)
				fillS8(rnd, b)
				if len(a) > 0 && len(b) > 0 {
					a[0], b[len(b)-1] = -128, -128 // extremes
				}
				all := make([]int32, matLen(m, n, ldc)+2*guardLen)
				for i := range all {
					all[i] = guard
				}
				c := all[guardLen : len(all)-guardLen]
				gemm(m, n, k, a, lda, b, ldb, c, ldc)
				for i := range all {
					inC := i >= guardLen && i < len(all)-guardLen
					if inC && (i-guardLen)%ldc < n {
						continue
					}
					if all[i] != guard {
						t.Fatalf("element %d outside C was written: %d", i-guardLen, all[i])
					}
				}
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						var want int32
						for p := 0; p < k; p++ {
							want += int32(a[i*lda+p]) * int32(b[j*ldb+p])
						}
						if got := c[i*ldc+j]; got != want {
							t.Fatalf("c[%d,%d] = %d, want %d", i, j, got, want)
						}
					}
				}
			})
		}
	}
}

func TestSumS8(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{0, 1, 31, 32, 33, 64, 100, 1000} {
		for _, fill := range []string{"random", "min", "max"} {
			x := make([]int8, n)
			var want int32
			for i := range x {
				switch fill {
				case "random":
					x[i] = int8(rnd.IntN(256) - 128)
				case "min":
					x[i] = -128
				case "max":
					x[i] = 127
				}
				want += int32(x[i])
			}
			if got := sumS8(x); got != want {
				t.Errorf("sumS8(%s, n=%d) = %d, want %d", fill, n, got, want)
			}
		}
	}
}
