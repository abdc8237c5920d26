package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// convDirectNaive is the reference loop of ConvDirect's doc comment.
func convDirectNaive(src, weight, bias []float32, n, c, h, w, cout, kh, kw, padH, padW, strideH, strideW int, relu, pool bool) []float32 {
	outH, outW := ConvOutSize(h, kh, padH, strideH), ConvOutSize(w, kw, padW, strideW)
	conv := make([]float32, n*cout*outH*outW)
	for i := 0; i < n; i++ {
		for f := 0; f < cout; f++ {
			for oy := 0; oy < outH; oy++ {
				for ox := 0; ox < outW; ox++ {
					var s float32
					for ch := 0; ch < c; ch++ {
						for ki := 0; ki < kh; ki++ {
							for kj := 0; kj < kw; kj++ {
								iy, ix := oy*strideH-padH+ki, ox*strideW-padW+kj
								if iy < 0 || iy >= h || ix < 0 || ix >= w {
									continue
								}
								s += weight[((f*c+ch)*kh+ki)*kw+kj] * src[((i*c+ch)*h+iy)*w+ix]
							}
						}
					}
					conv[((i*cout+f)*outH+oy)*outW+ox] = s
				}
			}
		}
	}
	dh, dw := outH, outW
	if pool {
		dh, dw = outH/2, outW/2
	}
	out := make([]float32, n*cout*dh*dw)
	for p := 0; p < n*cout; p++ {
		var b float32
		if bias != nil {
			b = bias[p%cout]
		}
		cv := conv[p*outH*outW:]
		for y := 0; y < dh; y++ {
			for x := 0; x < dw; x++ {
				v := cv[y*outW+x]
				if pool {
					v = max(cv[2*y*outW+2*x], cv[2*y*outW+2*x+1], cv[(2*y+1)*outW+2*x], cv[(2*y+1)*outW+2*x+1])
				}
				v += b
				if relu {
					v = max(v, 0)
				}
				out[(p*dh+y)*dw+x] = v
			}
		}
	}
	return out
}

func TestConvDirect(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	type tc struct {
		n, c, h, w, cout, kh, kw, padH, padW, strideH, strideW int
	}
	cases := []tc{
		{2, 1, 28, 28, 20, 5, 5, 0, 0, 1, 1},  // simplenet conv1: 24 columns
		{1, 1, 12, 12, 7, 5, 5, 0, 0, 1, 1},   // 8 columns: one merged vector
		{1, 3, 9, 9, 5, 3, 3, 1, 1, 1, 1},     // padded, 3 channels
		{2, 2, 11, 13, 6, 3, 2, 0, 1, 1, 1},   // odd sizes, uneven padding
		{1, 1, 7, 7, 1, 7, 7, 0, 0, 1, 1},     // one output
		{1, 2, 15, 20, 3, 2, 3, 2, 0, 2, 1},   // strideH 2
		{1, 1, 13, 17, 4, 3, 3, 1, 1, 2, 2},   // strided: the Go tile
		{1, 1, 6, 40, 5, 1, 1, 0, 0, 1, 1},    // 1×1 window
		{0, 1, 8, 8, 4, 3, 3, 0, 0, 1, 1},     // empty batch
		{1, 1, 5, 4, 9, 5, 5, 0, 0, 1, 1},     // window wider than the image: no output
		{2, 20, 12, 12, 50, 5, 5, 0, 0, 1, 1}, // simplenet conv2: rows of four, 13 filters a block
		{1, 20, 12, 12, 25, 5, 5, 0, 0, 1, 1}, // thinned conv2
		{1, 3, 11, 7, 14, 3, 3, 1, 0, 1, 1},   // 11 rows of 5: rows of four, then pairs
		{1, 2, 14, 9, 27, 2, 3, 0, 0, 2, 1},   // strideH 2, 7 columns
		{1, 4, 6, 6, 5, 1, 1, 0, 0, 1, 1},     // 1×1 window, 5 filters
		{1, 2, 7, 21, 8, 3, 3, 0, 0, 1, 1},    // 19 columns: one block of eight filters
		{1, 1, 9, 24, 13, 2, 2, 0, 0, 1, 1},   // 23 columns: eight filters, then four and one
		{5, 3, 20, 20, 16, 5, 5, 2, 2, 1, 1},  // padded, large enough to split the images across goroutines
	}
	// Every width from 1 to 70 reaches each tile layout and its masks.
	for w := 3; w <= 72; w += 1 + w/24 {
		cases = append(cases, tc{1, 2, 5, w, 5, 3, 3, 0, 0, 1, 1})
	}
	for _, c := range cases {
		for _, mode := range []struct {
			relu, pool, bias bool
		}{{false, false, true}, {true, false, true}, {false, true, true}, {true, true, true}, {true, true, false}} {
			name := sizeName(c.n, c.c, c.h, c.w, c.cout, c.kh, c.kw, c.padH, c.padW, c.strideH, c.strideW) +
				fmt.Sprintf("_relu%v_pool%v_bias%v", mode.relu, mode.pool, mode.bias)
			t.Run(name, func(t *testing.T) {
				src, sall := guardedRand(rnd, c.n*c.c*c.h*c.w)
				if len(src) > 40 && mode.relu {
					src[len(src)/2] = nan32 // propagates through its windows
				}
				weight, wall := guardedRand(rnd, c.cout*c.c*c.kh*c.kw)
				var bias []float32
				if mode.bias {
					bias = make([]float32, c.cout)
					fillRand(rnd, bias)
				}
				want := convDirectNaive(src, weight, bias, c.n, c.c, c.h, c.w, c.cout, c.kh, c.kw, c.padH, c.padW, c.strideH, c.strideW, mode.relu, mode.pool)
				dst, dall := guarded(len(want))
				ConvDirect(dst, src, weight, bias, c.n, c.c, c.h, c.w, c.cout, c.kh, c.kw, c.padH, c.padW, c.strideH, c.strideW, mode.relu, mode.pool)
				checkClose(t, "ConvDirect", dst, want, 1e-5)
				// The packed weights give the same values, bit for bit.
				pc := PackConv(weight, bias, c.cout, c.c, c.kh, c.kw)
				got, gall := guarded(len(want))
				pc.Conv(got, src, c.n, c.h, c.w, c.padH, c.padW, c.strideH, c.strideW, mode.relu, mode.pool)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(dst[i]) {
						t.Fatalf("PackedConv.Conv: [%d] = %v, ConvDirect gave %v", i, got[i], dst[i])
					}
				}
				checkGuards(t, "PackedConv.Conv dst", gall)
				checkGuards(t, "ConvDirect dst", dall)
				checkGuards(t, "ConvDirect src", sall)
				checkGuards(t, "ConvDirect weight", wall)
			})
		}
	}
	mustPanic(t, "short dst", func() {
		ConvDirect(make([]float32, 3), make([]float32, 16), make([]float32, 4), nil, 1, 1, 4, 4, 1, 2, 2, 0, 0, 1, 1, false, false)
	})
	mustPanic(t, "short bias", func() {
		ConvDirect(make([]float32, 18), make([]float32, 16), make([]float32, 8), make([]float32, 1), 1, 1, 4, 4, 2, 2, 2, 0, 0, 1, 1, false, false)
	})
	mustPanic(t, "PackConv short weight", func() { PackConv(make([]float32, 3), nil, 1, 1, 2, 2) })
	mustPanic(t, "PackedConv.Conv short src", func() {
		PackConv(make([]float32, 4), nil, 1, 1, 2, 2).Conv(make([]float32, 9), make([]float32, 15), 1, 4, 4, 0, 0, 1, 1, false, false)
	})
	mustPanic(t, "bad stride", func() {
		ConvDirect(make([]float32, 9), make([]float32, 16), make([]float32, 4), nil, 1, 1, 4, 4, 1, 2, 2, 0, 0, 0, 1, false, false)
	})
}

// BenchmarkConvDirect runs simplenet's convolutions (5×5, fused bias, ReLU and 2×2
// pooling) on a batch of 64: conv1 (1→20, 28×28) and conv2 (20→50, 12×12, and 20→25
// as thinned), directly and as inference did before: im2col, GEMM, fused pooling.
func BenchmarkConvDirect(b *testing.B) {
	for _, l := range []struct {
		name          string
		c, h, w, cout int
	}{
		{"Conv1", 1, 28, 28, 20},
		{"Conv2", 20, 12, 12, 50},
		{"Conv2Thinned", 20, 12, 12, 25},
	} {
		const n, k = 64, 5
		c, h, w, cout := l.c, l.h, l.w, l.cout
		oh, ow := h-k+1, w-k+1
		rnd := rand.New(rand.NewPCG(1, 1))
		src := make([]float32, n*c*h*w)
		weight := make([]float32, cout*c*k*k)
		bias := make([]float32, cout)
		fillRand(rnd, src)
		fillRand(rnd, weight)
		fillRand(rnd, bias)
		dst := make([]float32, n*cout*oh/2*ow/2)
		report := func(b *testing.B) {
			macs := float64(n * cout * c * k * k * oh * ow)
			b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		}
		b.Run(l.name+"Batch64/Direct", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ConvDirect(dst, src, weight, bias, n, c, h, w, cout, k, k, 0, 0, 1, 1, true, true)
			}
			report(b)
		})
		b.Run(l.name+"Batch64/Im2colGemm", func(b *testing.B) {
			// Chunks of images as nn's inference path cuts them (256 KiB of im2col).
			chunk := max(1, min(n, (1<<16)/(c*k*k*oh*ow)))
			col := make([]float32, c*k*k*chunk*oh*ow)
			tmp := make([]float32, cout*chunk*oh*ow)
			b.ReportAllocs()
			for b.Loop() {
				for s0 := 0; s0 < n; s0 += chunk {
					cn := min(chunk, n-s0)
					l := cn * oh * ow
					Im2colBatch(col[:c*k*k*l], src[s0*c*h*w:(s0+cn)*c*h*w], cn, c, h, w, k, k, 0, 0, 1, 1)
					Sgemm(false, false, cout, l, c*k*k, 1, weight, c*k*k, col[:c*k*k*l], l, 0, tmp[:cout*l], l)
					for o := 0; o < cout; o++ {
						MaxPool2x2Bias(dst[(s0*cout+o)*oh/2*ow/2:], cout*oh/2*ow/2, tmp[o*l:(o+1)*l], oh*ow, cn, oh, ow, bias[o], true)
					}
				}
			}
			report(b)
		})
	}
}
