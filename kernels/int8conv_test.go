package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// convS8Naive is PackedConvS8.Conv's reference loop.
func convS8Naive(dst []int32, ldd int, wt []int8, cout, c, kh, kw int, img []int8, n, h, w, sh, sw, ph, pw int, pad int8) {
	oh, ow := ConvOutSize(h, kh, ph, sh), ConvOutSize(w, kw, pw, sw)
	for o := 0; o <= cout; o++ {
		for i := 0; i < n; i++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s int32
					for ch := 0; ch < c; ch++ {
						for ki := 0; ki < kh; ki++ {
							for kj := 0; kj < kw; kj++ {
								iy, ix := oy*sh-ph+ki, ox*sw-pw+kj
								v := pad
								if iy >= 0 && iy < h && ix >= 0 && ix < w {
									v = img[((i*h+iy)*w+ix)*c+ch]
								}
								x := int8(1)
								if o < cout {
									x = wt[((o*c+ch)*kh+ki)*kw+kj]
								}
								s += int32(v) * int32(x)
							}
						}
					}
					dst[o*ldd+(i*oh+oy)*ow+ox] = s
				}
			}
		}
	}
}

func TestPackedConvS8(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		cout, c, kh, kw, sh, sw, ph, pw, n, h, w int
	}{
		{20, 1, 5, 5, 1, 1, 0, 0, 2, 28, 28},   // simplenet conv1
		{50, 20, 5, 5, 1, 1, 0, 0, 3, 12, 12},  // simplenet conv2
		{50, 20, 5, 5, 1, 1, 0, 0, 16, 12, 12}, // large enough to run in parallel
		{6, 3, 3, 3, 1, 1, 1, 1, 2, 7, 6},      // padded
		{17, 2, 3, 3, 2, 2, 0, 0, 2, 9, 11},    // strided
		{11, 5, 3, 2, 2, 1, 1, 2, 1, 8, 9},     // runs of 10 bytes, padded to 12
		{4, 7, 1, 1, 1, 1, 0, 0, 5, 3, 4},      // 1×1, tail groups
		{12, 3, 4, 4, 3, 3, 2, 2, 2, 5, 5},     // mostly padding
		{1, 1, 2, 2, 1, 1, 0, 0, 1, 2, 2},      // one position
		{33, 4, 3, 3, 1, 1, 0, 0, 1, 2, 2},     // no position
		{23, 9, 3, 3, 1, 1, 1, 1, 3, 10, 13},   // panels that end mid-image
		{13, 16, 2, 2, 2, 2, 0, 0, 4, 6, 6},    // word-aligned runs
		{3, 1, 7, 7, 1, 1, 3, 3, 1, 7, 7},      // wider than the image
		{5, 2, 3, 3, 1, 1, 0, 0, 1, 3, 3},      // last patch ends at the image end
		{7, 3, 3, 3, 1, 1, 0, 1, 2, 4, 5},      // last patch reads past the image
		{9, 1, 5, 5, 1, 1, 2, 1, 3, 11, 13},    // blocked, one channel, padded
		{5, 1, 3, 3, 1, 1, 0, 0, 2, 3, 7},      // blocked, one channel, words past the row
		{4, 1, 9, 2, 1, 1, 4, 0, 2, 6, 5},      // blocked, one channel, one word per row
		{14, 8, 3, 3, 1, 1, 1, 1, 3, 5, 41},    // blocked, rows longer than a panel
		{26, 12, 3, 5, 1, 1, 1, 2, 2, 7, 6},    // blocked, three planes, padded
		{25, 20, 5, 5, 1, 1, 0, 0, 5, 12, 12},  // blocked, thinned simplenet conv2
	} {
		name := fmt.Sprintf("cout%d_c%d_k%dx%d_s%dx%d_p%dx%d_n%d_%dx%d", tc.cout, tc.c, tc.kh, tc.kw, tc.sh, tc.sw, tc.ph, tc.pw, tc.n, tc.h, tc.w)
		t.Run(name, func(t *testing.T) {
			wt := make([]int8, tc.cout*tc.c*tc.kh*tc.kw)
			fillS8(rnd, wt)
			img := make([]int8, tc.n*tc.h*tc.w*tc.c)
			fillS8(rnd, img)
			pad := int8(rnd.IntN(256) - 128)
			oh, ow := ConvOutSize(tc.h, tc.kh, tc.ph, tc.sh), ConvOutSize(tc.w, tc.kw, tc.pw, tc.sw)
			l := tc.n * oh * ow
			ldd := l + 3
			const guard = -0x5a5a5a5b
			want := make([]int32, (tc.cout+1)*ldd+5)
			for i := range want {
				want[i] = guard
			}
			got := append([]int32(nil), want...)
			convS8Naive(want, ldd, wt, tc.cout, tc.c, tc.kh, tc.kw, img, tc.n, tc.h, tc.w, tc.sh, tc.sw, tc.ph, tc.pw, pad)
			p := PackConvS8(wt, tc.cout, tc.c, tc.kh, tc.kw)
			for rep := 0; rep < 2; rep++ {
				p.Conv(got, ldd, img, tc.n, tc.h, tc.w, tc.sh, tc.sw, tc.ph, tc.pw, pad)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("dst[%d] (row %d, column %d) = %d, want %d", i, i/ldd, i%ldd, got[i], want[i])
					}
				}
			}
		})
	}
}

func TestPackedConvS8Panics(t *testing.T) {
	p := PackConvS8(make([]int8, 2*3*3*3), 2, 3, 3, 3)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"short weight", func() { PackConvS8(make([]int8, 5), 2, 3, 3, 3) }},
		{"zero channels", func() { PackConvS8(nil, 0, 3, 3, 3) }},
		{"short image", func() { p.Conv(make([]int32, 100), 16, make([]int8, 10), 1, 4, 4, 1, 1, 0, 0, 0) }},
		{"short dst", func() { p.Conv(make([]int32, 10), 4, make([]int8, 48), 1, 4, 4, 1, 1, 0, 0, 0) }},
		{"zero stride", func() { p.Conv(make([]int32, 100), 4, make([]int8, 48), 1, 4, 4, 0, 1, 0, 0, 0) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tc.f()
		})
	}
}
