package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSelect(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	gens := []struct {
		name string
		gen  func(n int) []float32
	}{
		{"random", func(n int) []float32 {
			x := make([]float32, n)
			fillRand(rnd, x)
			return x
		}},
		{"sorted", func(n int) []float32 {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(i)
			}
			return x
		}},
		{"reversed", func(n int) []float32 {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(n - i)
			}
			return x
		}},
		{"fewdistinct", func(n int) []float32 {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rnd.IntN(3))
			}
			return x
		}},
		{"constant", func(n int) []float32 {
			x := make([]float32, n)
			for i := range x {
				x[i] = 7
			}
			return x
		}},
		{"withNaN", func(n int) []float32 {
			x := make([]float32, n)
			fillRand(rnd, x)
			for i := 0; i < n; i += 5 {
				x[i] = nan32
			}
			return x
		}},
		{"organpipe", func(n int) []float32 {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(min(i, n-i))
			}
			return x
		}},
	}
	for _, g := range gens {
		for _, n := range []int{1, 2, 3, 7, 16, 33, 257, 601, 1000, 5000, 20011} {
			t.Run(g.name+"/"+sizeName(n), func(t *testing.T) {
				orig := g.gen(n)
				sorted := slices.Clone(orig)
				slices.Sort(sorted)
				for _, k := range []int{0, n / 3, n / 2, n - 1, rnd.IntN(n)} {
					x := slices.Clone(orig)
					got := Select(x, k)
					want := sorted[k]
					if !(got == want || (math.IsNaN(float64(got)) && math.IsNaN(float64(want)))) {
						t.Fatalf("Select(k=%d) = %v, want %v", k, got, want)
					}
					// x must be a permutation partitioned around k.
					xs := slices.Clone(x)
					slices.Sort(xs)
					if !slices.EqualFunc(xs, sorted, func(a, b float32) bool { return a == b || (a != a && b != b) }) {
						t.Fatalf("Select(k=%d) did not permute x", k)
					}
					if got == got {
						for i := 0; i < k; i++ {
							if x[i] > got {
								t.Fatalf("x[%d] = %v > x[k] = %v", i, x[i], got)
							}
						}
						for i := k + 1; i < n; i++ {
							if x[i] < got || x[i] != x[i] {
								t.Fatalf("x[%d] = %v < x[k] = %v", i, x[i], got)
							}
						}
					}
				}
			})
		}
	}
	mustPanic(t, "k < 0", func() { Select([]float32{1}, -1) })
	mustPanic(t, "k == len", func() { Select([]float32{1}, 1) })
	mustPanic(t, "empty", func() { Select(nil, 0) })
}
