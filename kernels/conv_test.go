package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

type windowCase struct {
	c, h, w, kh, kw, padH, padW, strideH, strideW int
}

var windowCases = []windowCase{
	{1, 1, 1, 1, 1, 0, 0, 1, 1},
	{1, 5, 5, 3, 3, 0, 0, 1, 1},
	{2, 5, 7, 3, 3, 1, 1, 1, 1},
	{3, 7, 6, 3, 2, 1, 0, 2, 1},
	{1, 28, 28, 5, 5, 0, 0, 1, 1},
	{6, 12, 12, 5, 5, 2, 2, 1, 1},
	{2, 9, 9, 3, 3, 1, 1, 2, 2},
	{4, 8, 8, 2, 2, 0, 0, 2, 2},
	{1, 4, 4, 5, 5, 2, 2, 1, 1},
	{2, 3, 4, 3, 3, 2, 2, 3, 2},
	{1, 2, 2, 3, 3, 0, 0, 1, 1}, // kernel larger than image: empty output
	{0, 4, 4, 2, 2, 0, 0, 1, 1},
	{3, 11, 13, 4, 3, 3, 1, 3, 2},
	// Unpadded stride-1 windows take Im2col's vector path: widths that reach every
	// vector tail.
	{1, 3, 17, 1, 1, 0, 0, 1, 1},
	{2, 6, 20, 3, 3, 0, 0, 1, 1},
	{1, 5, 37, 2, 5, 0, 0, 1, 1},
	{3, 12, 12, 5, 5, 0, 0, 1, 1},
	{1, 4, 50, 4, 2, 0, 0, 1, 1},
	{2, 7, 6, 2, 3, 0, 0, 1, 1},
	{1, 9, 10, 3, 2, 0, 0, 1, 1},
	{2, 9, 8, 2, 1, 0, 0, 1, 1},
}

func (wc windowCase) name() string {
	return sizeName(wc.c, wc.h, wc.w) + "_k" + sizeName(wc.kh, wc.kw) + "_p" + sizeName(wc.padH, wc.padW) + "_s" + sizeName(wc.strideH, wc.strideW)
}

func (wc windowCase) out() (int, int) {
	return ConvOutSize(wc.h, wc.kh, wc.padH, wc.strideH), ConvOutSize(wc.w, wc.kw, wc.padW, wc.strideW)
}

// forWindow calls f(outIndex, srcIndex or -1, ch, ki, kj) for every element
// of every window, in Im2col's row order.
func (wc windowCase) forIm2col(f func(row, col, src int)) {
	outH, outW := wc.out()
	for ch := 0; ch < wc.c; ch++ {
		for ki := 0; ki < wc.kh; ki++ {
			for kj := 0; kj < wc.kw; kj++ {
				row := (ch*wc.kh+ki)*wc.kw + kj
				for oy := 0; oy < outH; oy++ {
					for ox := 0; ox < outW; ox++ {
						iy, ix := oy*wc.strideH-wc.padH+ki, ox*wc.strideW-wc.padW+kj
						s := -1
						if iy >= 0 && iy < wc.h && ix >= 0 && ix < wc.w {
							s = (ch*wc.h+iy)*wc.w + ix
						}
						f(row, oy*outW+ox, s)
					}
				}
			}
		}
	}
}

func TestConvOutSize(t *testing.T) {
	for _, c := range []struct{ in, k, p, s, want int }{
		{28, 5, 0, 1, 24}, {24, 2, 0, 2, 12}, {5, 3, 1, 2, 3}, {2, 3, 0, 1, 0}, {0, 1, 0, 1, 0}, {7, 3, 1, 3, 3},
	} {
		if got := ConvOutSize(c.in, c.k, c.p, c.s); got != c.want {
			t.Errorf("ConvOutSize(%d,%d,%d,%d) = %d, want %d", c.in, c.k, c.p, c.s, got, c.want)
		}
	}
	mustPanic(t, "stride 0", func() { ConvOutSize(4, 2, 0, 0) })
	mustPanic(t, "kernel 0", func() { ConvOutSize(4, 0, 0, 1) })
	mustPanic(t, "negative pad", func() { ConvOutSize(4, 2, -1, 1) })
}

func TestIm2colCol2im(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	for _, wc := range windowCases {
		t.Run(wc.name(), func(t *testing.T) {
			outH, outW := wc.out()
			n := outH * outW
			rows := wc.c * wc.kh * wc.kw
			src, sall := guardedRand(rnd, wc.c*wc.h*wc.w)
			dst, dall := guarded(rows * n)
			want := make([]float32, rows*n)
			wc.forIm2col(func(row, col, s int) {
				if s >= 0 {
					want[row*n+col] = src[s]
				}
			})
			Im2col(dst, src, wc.c, wc.h, wc.w, wc.kh, wc.kw, wc.padH, wc.padW, wc.strideH, wc.strideW)
			checkClose(t, "Im2col", dst, want, 0)
			checkGuards(t, "Im2col dst", dall)
			checkGuards(t, "Im2col src", sall)

			// Col2im adds into an image that already holds values.
			img, iall := guardedRand(rnd, wc.c*wc.h*wc.w)
			wantImg := make([]float64, len(img))
			for i, v := range img {
				wantImg[i] = float64(v)
			}
			cols, call := guardedRand(rnd, rows*n)
			wc.forIm2col(func(row, col, s int) {
				if s >= 0 {
					wantImg[s] += float64(cols[row*n+col])
				}
			})
			Col2im(img, cols, wc.c, wc.h, wc.w, wc.kh, wc.kw, wc.padH, wc.padW, wc.strideH, wc.strideW)
			for i := range img {
				if !close32(img[i], float32(wantImg[i]), 1e-5) {
					t.Fatalf("Col2im[%d] = %v, want %v", i, img[i], wantImg[i])
				}
			}
			checkGuards(t, "Col2im dst", iall)
			checkGuards(t, "Col2im src", call)
		})
	}
}

func TestPool(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	for _, wc := range windowCases {
		t.Run(wc.name(), func(t *testing.T) {
			outH, outW := wc.out()
			nOut := wc.c * outH * outW
			src, sall := guardedRand(rnd, wc.c*wc.h*wc.w)
			if len(src) > 3 {
				src[len(src)/2] = src[len(src)/2-1] // a tie
			}
			// Reference max and average pooling.
			wantMax := make([]float32, nOut)
			wantArg := make([]int32, nOut)
			wantAvg := make([]float32, nOut)
			for i := range wantMax {
				wantMax[i] = float32(math.Inf(-1))
				wantArg[i] = -1
			}
			for ch := 0; ch < wc.c; ch++ {
				for oy := 0; oy < outH; oy++ {
					for ox := 0; ox < outW; ox++ {
						o := (ch*outH+oy)*outW + ox
						var s float32
						for ki := 0; ki < wc.kh; ki++ {
							for kj := 0; kj < wc.kw; kj++ {
								iy, ix := oy*wc.strideH-wc.padH+ki, ox*wc.strideW-wc.padW+kj
								if iy < 0 || iy >= wc.h || ix < 0 || ix >= wc.w {
									continue
								}
								j := (ch*wc.h+iy)*wc.w + ix
								s += src[j]
								if src[j] > wantMax[o] || wantArg[o] < 0 || (src[j] == wantMax[o] && int32(j) < wantArg[o]) {
									wantMax[o], wantArg[o] = src[j], int32(j)
								}
							}
						}
						wantAvg[o] = s / float32(wc.kh*wc.kw)
					}
				}
			}
			dst, dall := guarded(nOut)
			arg := make([]int32, nOut)
			MaxPool2d(dst, arg, src, wc.c, wc.h, wc.w, wc.kh, wc.kw, wc.padH, wc.padW, wc.strideH, wc.strideW)
			checkClose(t, "MaxPool2d", dst, wantMax, 0)
			for i := range arg {
				if arg[i] != wantArg[i] {
					t.Errorf("argmax[%d] = %d, want %d", i, arg[i], wantArg[i])
				}
			}
			checkGuards(t, "MaxPool2d dst", dall)
			checkGuards(t, "MaxPool2d src", sall)

			dy, _ := guardedRand(rnd, nOut)
			dx, xall := guardedRand(rnd, len(src))
			wantDx := append([]float32(nil), dx...)
			for i, j := range wantArg {
				if j >= 0 {
					wantDx[j] += dy[i]
				}
			}
			MaxPool2dBackward(dx, dy, arg)
			checkClose(t, "MaxPool2dBackward", dx, wantDx, 1e-6)
			checkGuards(t, "MaxPool2dBackward dx", xall)

			AvgPool2d(dst, src, wc.c, wc.h, wc.w, wc.kh, wc.kw, wc.padH, wc.padW, wc.strideH, wc.strideW)
			checkClose(t, "AvgPool2d", dst, wantAvg, 1e-5)
			checkGuards(t, "AvgPool2d dst", dall)

			// AvgPool2dBackward is the adjoint: <AvgPool(x), dy> == <x, AvgPoolBackward(dy)>.
			dxa, aall := guarded(len(src))
			clear(dxa)
			AvgPool2dBackward(dxa, dy, wc.c, wc.h, wc.w, wc.kh, wc.kw, wc.padH, wc.padW, wc.strideH, wc.strideW)
			var lhs, rhs float64
			for i := range dst {
				lhs += float64(dst[i]) * float64(dy[i])
			}
			for i := range src {
				rhs += float64(src[i]) * float64(dxa[i])
			}
			if math.Abs(lhs-rhs) > 1e-4*math.Max(1, math.Abs(lhs)) {
				t.Errorf("AvgPool2dBackward not adjoint: %v vs %v", lhs, rhs)
			}
			checkGuards(t, "AvgPool2dBackward dx", aall)
		})
	}
}

func TestMaxPoolNaN(t *testing.T) {
	src := []float32{1, nan32, 3, 4}
	dst := make([]float32, 1)
	arg := make([]int32, 1)
	MaxPool2d(dst, arg, src, 1, 2, 2, 2, 2, 0, 0, 2, 2)
	if !math.IsNaN(float64(dst[0])) || arg[0] != 1 {
		t.Errorf("MaxPool2d with NaN = %v at %d, want NaN at 1", dst[0], arg[0])
	}
	// The first NaN in scan order wins, on the 2×2 fast path and the
	// general path (3×3 window) alike.
	for _, tc := range []struct {
		src    []float32
		h, k   int
		wantAt int32
	}{
		{[]float32{1, 2, nan32, nan32}, 2, 2, 2},
		{[]float32{5, 1, 2, 3, nan32, 4, nan32, 0, 9}, 3, 3, 4},
	} {
		MaxPool2d(dst, arg, tc.src, 1, tc.h, tc.h, tc.k, tc.k, 0, 0, tc.k, tc.k)
		if !math.IsNaN(float64(dst[0])) || arg[0] != tc.wantAt {
			t.Errorf("MaxPool2d(%v) = %v at %d, want NaN at %d", tc.src, dst[0], arg[0], tc.wantAt)
		}
	}
}

func TestWindowPanics(t *testing.T) {
	s := make([]float32, 100)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"Im2col short dst", func() { Im2col(s[:8], s[:16], 1, 4, 4, 3, 3, 0, 0, 1, 1) }},
		{"Im2col short src", func() { Im2col(s[:36], s[:15], 1, 4, 4, 3, 3, 0, 0, 1, 1) }},
		{"Im2col zero stride", func() { Im2col(s[:36], s[:16], 1, 4, 4, 3, 3, 0, 0, 0, 1) }},
		{"Col2im short", func() { Col2im(s[:16], s[:35], 1, 4, 4, 3, 3, 0, 0, 1, 1) }},
		{"MaxPool2d argmax", func() { MaxPool2d(s[:4], make([]int32, 3), s[:16], 1, 4, 4, 2, 2, 0, 0, 2, 2) }},
		{"MaxPool2dBackward", func() { MaxPool2dBackward(s, s[:4], make([]int32, 3)) }},
		{"AvgPool2d", func() { AvgPool2d(s[:5], s[:16], 1, 4, 4, 2, 2, 0, 0, 2, 2) }},
		{"AvgPool2dBackward", func() { AvgPool2dBackward(s[:15], s[:4], 1, 4, 4, 2, 2, 0, 0, 2, 2) }},
		{"negative pad", func() { AvgPool2d(s[:4], s[:16], 1, 4, 4, 2, 2, -1, 0, 2, 2) }},
	} {
		mustPanic(t, c.name, c.f)
	}
}

func TestIm2colBatch(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	for _, wc := range windowCases {
		for _, n := range []int{0, 1, 3} {
			t.Run(wc.name()+"/n"+sizeName(n), func(t *testing.T) {
				outH, outW := wc.out()
				p := outH * outW
				rows := wc.c * wc.kh * wc.kw
				img := wc.c * wc.h * wc.w
				src, sall := guardedRand(rnd, n*img)
				dst, dall := guarded(rows * n * p)
				Im2colBatch(dst, src, n, wc.c, wc.h, wc.w, wc.kh, wc.kw, wc.padH, wc.padW, wc.strideH, wc.strideW)
				one := make([]float32, rows*p)
				for i := 0; i < n; i++ {
					Im2col(one, src[i*img:(i+1)*img], wc.c, wc.h, wc.w, wc.kh, wc.kw, wc.padH, wc.padW, wc.strideH, wc.strideW)
					for r := 0; r < rows; r++ {
						checkClose(t, "Im2colBatch", dst[r*n*p+i*p:r*n*p+(i+1)*p], one[r*p:(r+1)*p], 0)
					}
				}
				checkGuards(t, "Im2colBatch dst", dall)
				checkGuards(t, "Im2colBatch src", sall)

				imgs, iall := guardedRand(rnd, n*img)
				want := append([]float32(nil), imgs...)
				cols, call := guardedRand(rnd, rows*n*p)
				for i := 0; i < n; i++ {
					for r := 0; r < rows; r++ {
						copy(one[r*p:(r+1)*p], cols[r*n*p+i*p:])
					}
					Col2im(want[i*img:(i+1)*img], one, wc.c, wc.h, wc.w, wc.kh, wc.kw, wc.padH, wc.padW, wc.strideH, wc.strideW)
				}
				Col2imBatch(imgs, cols, n, wc.c, wc.h, wc.w, wc.kh, wc.kw, wc.padH, wc.padW, wc.strideH, wc.strideW)
				checkClose(t, "Col2imBatch", imgs, want, 1e-6)
				checkGuards(t, "Col2imBatch dst", iall)
				checkGuards(t, "Col2imBatch src", call)
			})
		}
	}
	s := make([]float32, 100)
	mustPanic(t, "Im2colBatch short", func() { Im2colBatch(s[:71], s[:32], 2, 1, 4, 4, 3, 3, 0, 0, 1, 1) })
	mustPanic(t, "Col2imBatch short", func() { Col2imBatch(s[:31], s[:72], 2, 1, 4, 4, 3, 3, 0, 0, 1, 1) })
	mustPanic(t, "Im2colBatch negative", func() { Im2colBatch(nil, nil, -1, 1, 4, 4, 3, 3, 0, 0, 1, 1) })
}
