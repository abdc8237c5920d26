package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// poolCase is a 2×2 pooling of n h×w planes lds apart into planes ldd apart
// (0: packed).
type poolCase struct{ n, h, w, ldd, lds int }

// pool2x2Cases are the geometries the 2×2 pooling kernels are tested on:
// every width up to 36 (the kernels' vector tails), LeNet's planes, odd
// sizes, gaps between planes, and empty ones.
func pool2x2Cases() []poolCase {
	var cases []poolCase
	for w := 2; w <= 36; w++ {
		cases = append(cases, poolCase{1, 2, w, 0, 0})
	}
	return append(cases,
		poolCase{3, 24, 24, 0, 0}, poolCase{5, 8, 8, 20, 70}, poolCase{2, 7, 9, 0, 0}, poolCase{4, 5, 33, 300, 200},
		poolCase{1, 1, 8, 0, 0}, poolCase{0, 4, 4, 0, 0})
}

func TestMaxPool2x2Bias(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	cases := pool2x2Cases()
	for _, c := range cases {
		oh, ow := c.h/2, c.w/2
		ldd, lds := max(c.ldd, oh*ow), max(c.lds, c.h*c.w)
		for _, relu := range []bool{false, true} {
			t.Run(sizeName(c.n, c.h, c.w, ldd, lds)+map[bool]string{false: "", true: "_relu"}[relu], func(t *testing.T) {
				ns, nd := 0, 0
				if c.n > 0 {
					ns, nd = (c.n-1)*lds+c.h*c.w, (c.n-1)*ldd+oh*ow
				}
				src, sall := guardedRand(rnd, ns)
				// Special values: NaN, ±Inf and ±0 in a few windows.
				for k, v := range []float32{nan32, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), 0} {
					if ns > 0 {
						src[rnd.IntN(ns)] = v
						_ = k
					}
				}
				dst, dall := guarded(nd)
				want := append([]float32(nil), dst...)
				maxPool2x2BiasGo(want, ldd, src, lds, c.n, c.h, c.w, 0.25, relu)
				MaxPool2x2Bias(dst, ldd, src, lds, c.n, c.h, c.w, 0.25, relu)
				for i := range dst {
					g, w := dst[i], want[i]
					if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
						t.Fatalf("dst[%d] = %v, want %v", i, g, w)
					}
				}
				// The reference loop of the doc comment, on the planes' values.
				for i := 0; i < c.n; i++ {
					for oy := 0; oy < oh; oy++ {
						for ox := 0; ox < ow; ox++ {
							s := src[i*lds+2*oy*c.w+2*ox:]
							v := max(s[0], s[1], s[c.w], s[c.w+1]) + 0.25
							if relu {
								v = max(v, 0)
							}
							if g := dst[i*ldd+oy*ow+ox]; g != v && !(g != g && v != v) {
								t.Fatalf("plane %d (%d,%d) = %v, want %v", i, oy, ox, g, v)
							}
						}
					}
				}
				checkGuards(t, "MaxPool2x2Bias dst", dall)
				checkGuards(t, "MaxPool2x2Bias src", sall)
			})
		}
	}
	mustPanic(t, "short dst", func() { MaxPool2x2Bias(make([]float32, 3), 4, make([]float32, 16), 16, 1, 4, 4, 0, false) })
	mustPanic(t, "overlapping planes", func() { MaxPool2x2Bias(make([]float32, 8), 2, make([]float32, 32), 16, 2, 4, 4, 0, false) })
}

// BenchmarkMaxPool2x2Bias pools simplenet's conv1 output (20 planes of 24×24) per image,
// against the training path's pooling with argmax.
func BenchmarkMaxPool2x2Bias(b *testing.B) {
	const n, h, w = 20, 24, 24
	src := make([]float32, n*h*w)
	fillRand(rand.New(rand.NewPCG(1, 1)), src)
	dst := make([]float32, n*h*w/4)
	arg := make([]int32, len(dst))
	b.Run("Fused", func(b *testing.B) {
		b.SetBytes(int64(4 * (len(src) + len(dst))))
		for b.Loop() {
			MaxPool2x2Bias(dst, h*w/4, src, h*w, n, h, w, 0.5, true)
		}
	})
	b.Run("Argmax", func(b *testing.B) {
		b.SetBytes(int64(4 * (len(src) + len(dst))))
		for b.Loop() {
			MaxPool2d(dst, arg, src, n, h, w, 2, 2, 0, 0, 2, 2)
		}
	})
}
