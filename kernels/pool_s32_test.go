package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestMaxPool2x2S32(t *testing.T) {
	rnd := rand.New(rand.NewPCG(2, 2))
	cases := pool2x2Cases()
	const guard = -0x5a5a5a5b
	for _, c := range cases {
		oh, ow := c.h/2, c.w/2
		ldd, lds := max(c.ldd, oh*ow), max(c.lds, c.h*c.w)
		t.Run(sizeName(c.n, c.h, c.w, ldd, lds), func(t *testing.T) {
			ns, nd := 0, 0
			if c.n > 0 {
				ns, nd = (c.n-1)*lds+c.h*c.w, (c.n-1)*ldd+oh*ow
			}
			src := make([]int32, ns)
			for i := range src {
				src[i] = int32(rnd.Uint32())
			}
			for _, v := range []int32{math.MinInt32, math.MaxInt32, 0, -1} {
				if ns > 0 {
					src[rnd.IntN(ns)] = v
				}
			}
			dst := make([]int32, nd+3) // guards past the end, and in the gaps
			for i := range dst {
				dst[i] = guard
			}
			want := append([]int32(nil), dst...)
			for i := 0; i < c.n; i++ {
				for oy := 0; oy < oh; oy++ {
					for ox := 0; ox < ow; ox++ {
						s := src[i*lds+2*oy*c.w+2*ox:]
						want[i*ldd+oy*ow+ox] = max(s[0], s[1], s[c.w], s[c.w+1])
					}
				}
			}
			for name, f := range map[string]func([]int32, int, []int32, int, int, int, int){
				"MaxPool2x2S32": MaxPool2x2S32, "maxPool2x2S32Go": maxPool2x2S32Go,
			} {
				got := append([]int32(nil), dst...)
				f(got, ldd, src, lds, c.n, c.h, c.w)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%s: dst[%d] = %d, want %d", name, i, got[i], want[i])
					}
				}
			}
		})
	}
	mustPanic(t, "short dst", func() { MaxPool2x2S32(make([]int32, 3), 4, make([]int32, 16), 16, 1, 4, 4) })
	mustPanic(t, "overlapping planes", func() { MaxPool2x2S32(make([]int32, 8), 2, make([]int32, 32), 16, 2, 4, 4) })
}
