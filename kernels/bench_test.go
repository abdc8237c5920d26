package kernels

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// reportGFLOPS reports the floating-point rate of b.N products of the given
// size; call it after the timed loop.
func reportGFLOPS(b *testing.B, m, n, k int) {
	b.Helper()
	flops := 2 * float64(m) * float64(n) * float64(k) * float64(b.N)
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// reportCPURate reports flops per CPU-second of this process since cpu0
// (see cpuSeconds); with -cpu 1 that is the rate of one thread while it
// ran, which a busy machine does not dilute.
func reportCPURate(b *testing.B, cpu0 float64, m, n, k int) {
	b.Helper()
	cpu := cpuSeconds() - cpu0
	if cpu0 == 0 || cpu <= 0 {
		return
	}
	flops := 2 * float64(m) * float64(n) * float64(k) * float64(b.N)
	b.ReportMetric(flops/cpu/1e9, "GFLOP/cpu-s")
}

func benchSgemm(b *testing.B, f sgemmFunc, tA, tB bool, m, n, k int) {
	b.Helper()
	rnd := rand.New(rand.NewPCG(1, 1))
	a := make([]float32, m*k)
	bb := make([]float32, k*n)
	c := make([]float32, m*n)
	fillRand(rnd, a)
	fillRand(rnd, bb)
	lda, ldb := k, n
	if tA {
		lda = m
	}
	if tB {
		ldb = k
	}
	b.SetBytes(int64(4 * (m*k + k*n + m*n)))
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	for b.Loop() {
		f(tA, tB, m, n, k, 1, a, lda, bb, ldb, 0, c, n)
	}
	reportGFLOPS(b, m, n, k)
	reportCPURate(b, cpu0, m, n, k)
}

func BenchmarkSgemm(b *testing.B) {
	for _, s := range []int{64, 256, 512, 1024} {
		b.Run("Square"+sizeName(s), func(b *testing.B) { benchSgemm(b, Sgemm, false, false, s, s, s) })
	}
	for _, s := range []int{64, 256} {
		b.Run("Naive"+sizeName(s), func(b *testing.B) { benchSgemm(b, naiveSgemm, false, false, s, s, s) })
	}
}

// BenchmarkSgemmLayers runs the products that LeNet-style convolutions and
// Linear layers issue in training, forward (NN/NT) and backward (TN/NN/NT).
func BenchmarkSgemmLayers(b *testing.B) {
	for _, c := range []struct {
		name    string
		tA, tB  bool
		m, n, k int
	}{
		{"Conv1Fwd_20x576x25", false, false, 20, 576, 25},
		{"Conv1dW_20x25x576", false, true, 20, 25, 576},
		{"Conv2Fwd_50x64x500", false, false, 50, 64, 500},
		{"Conv2dW_50x500x64", false, true, 50, 500, 64},
		{"Conv2dX_500x64x50", true, false, 500, 64, 50},
		{"FC1Fwd_64x500x800", false, true, 64, 500, 800},
		{"FC1ThinnedFwd_64x500x400", false, true, 64, 500, 400}, // conv2 thinned to 25 filters
		{"FC1dW_500x800x64", true, false, 500, 800, 64},
		{"FC1dX_64x800x500", false, false, 64, 800, 500},
		{"FC2Fwd_64x10x500", false, true, 64, 10, 500},
		{"Linear1Fwd_1x300x784", false, true, 1, 300, 784},
		{"GemvWx_300x1x784", false, false, 300, 1, 784},
		{"LinearBatch8Fwd_8x500x800", false, true, 8, 500, 800},
		{"Conv1FwdBatch16_20x9216x25", false, false, 20, 9216, 25},
		{"Conv2FwdBatch16_50x1024x500", false, false, 50, 1024, 500},
		{"Conv2FwdBatch2_50x128x500", false, false, 50, 128, 500},        // dense inference's chunk
		{"Conv2ThinnedFwdBatch2_25x128x500", false, false, 25, 128, 500}, // half the filters thinned
		{"Conv1dWBatch16_20x25x9216", false, true, 20, 25, 9216},
		{"Conv2dWBatch16_50x500x1024", false, true, 50, 500, 1024},
		{"Conv2dXBatch16_500x1024x50", true, false, 500, 1024, 50},
	} {
		b.Run(c.name, func(b *testing.B) { benchSgemm(b, Sgemm, c.tA, c.tB, c.m, c.n, c.k) })
	}
}

// BenchmarkGemmS8 compares the int8 product with Sgemm on the same shape
// (C = A·Bᵀ, m=256, n=1024, k=1024); the ratio of the two GOP/s figures is
// the int8 speed-up.
func BenchmarkGemmS8(b *testing.B) {
	const m, n, k = 256, 1024, 1024
	rnd := rand.New(rand.NewPCG(1, 1))
	b.Run("Int8_256x1024x1024", func(b *testing.B) {
		a8 := make([]int8, m*k)
		b8 := make([]int8, n*k)
		fillS8(rnd, a8)
		fillS8(rnd, b8)
		c := make([]int32, m*n)
		b.SetBytes(int64(m*k + n*k + 4*m*n))
		b.ReportAllocs()
		for b.Loop() {
			GemmS8S8S32(m, n, k, a8, k, b8, k, c, n)
		}
		b.ReportMetric(2*float64(m)*n*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
	})
	b.Run("Float32_256x1024x1024", func(b *testing.B) { benchSgemm(b, Sgemm, false, true, m, n, k) })
	impls := availableS8()
	for _, name := range slices.Sorted(maps.Keys(impls)) {
		if name == "purego" && testing.Short() {
			continue
		}
		f := impls[name]
		b.Run("Int8Path_"+name, func(b *testing.B) {
			a8, b8, c := make([]int8, m*k), make([]int8, n*k), make([]int32, m*n)
			for b.Loop() {
				f(m, n, k, a8, k, b8, k, c, n)
			}
			b.ReportMetric(2*float64(m)*n*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
		})
	}
}

// benchSpMM runs a pruned 784→300 Linear layer (W is 300×784) at batch 1
// and 64, sparse (SpMM) against dense (Sgemm on the same W) in one table.
func benchSpMM(b *testing.B, sparsity float64) {
	const out, in = 300, 784
	rnd := rand.New(rand.NewPCG(1, 1))
	w := sparseDense(rnd, out, in, sparsity)
	a := CSRFromDense(w, out, in)
	for _, batch := range []int{1, 64} {
		x := make([]float32, in*batch)
		fillRand(rnd, x)
		y := make([]float32, out*batch)
		b.Run("Batch"+sizeName(batch)+"/Sparse", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				SpMM(y, a, x, batch)
			}
			b.ReportMetric(float64(a.NNZ())/float64(out*in), "density")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(out*in), "ns/param")
		})
		if batch > 1 {
			xr := make([]float32, batch*in) // inputs in rows, as a Linear layer holds them
			fillRand(rnd, xr)
			b.Run("Batch"+sizeName(batch)+"/SparseT", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					SpMMT(y, a, xr, batch)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(out*in), "ns/param")
			})
		}
		b.Run("Batch"+sizeName(batch)+"/Dense", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Sgemm(false, false, out, batch, in, 1, w, in, x, batch, 0, y, batch)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(out*in), "ns/param")
		})
	}
}

func BenchmarkSpMM784x300Sparsity50(b *testing.B) { benchSpMM(b, 0.5) }
func BenchmarkSpMM784x300Sparsity90(b *testing.B) { benchSpMM(b, 0.9) }
func BenchmarkSpMM784x300Sparsity95(b *testing.B) { benchSpMM(b, 0.95) }

// naiveAxpy and naiveDot are the reference loops, for the baseline rows.
func naiveAxpy(dst []float32, alpha float32, x []float32) {
	for i, v := range x {
		dst[i] += alpha * v
	}
}

func naiveDot(x, y []float32) float32 {
	var s float32
	for i := range x {
		s += x[i] * y[i]
	}
	return s
}

func BenchmarkLevel1(b *testing.B) {
	rnd := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{100, 10000, 1000000} {
		x := make([]float32, n)
		y := make([]float32, n)
		fillRand(rnd, x)
		fillRand(rnd, y)
		for _, c := range []struct {
			name string
			f    func()
		}{
			{"Axpy", func() { Axpy(y, 0.5, x) }},
			{"NaiveAxpy", func() { naiveAxpy(y, 0.5, x) }},
			{"Dot", func() { _ = Dot(x, y) }},
			{"NaiveDot", func() { _ = naiveDot(x, y) }},
			{"Relu", func() { Relu(y, x) }},
			{"SumSq", func() { _ = SumSq(x) }},
		} {
			b.Run(c.name+sizeName(n), func(b *testing.B) {
				b.SetBytes(int64(8 * n))
				for b.Loop() {
					c.f()
				}
			})
		}
	}
}

// BenchmarkConvLowering covers the im2col, col2im and pooling steps of
// LeNet-5 (one 28×28 image through conv1 and pool1, and 20×12×12 through
// conv2).
func BenchmarkConvLowering(b *testing.B) {
	rnd := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct {
		name                                           string
		ch, h, w, kh, kw, padH, padW, strideH, strideW int
	}{
		{"Conv1_1x28x28_k5", 1, 28, 28, 5, 5, 0, 0, 1, 1},
		{"Conv2_20x12x12_k5", 20, 12, 12, 5, 5, 0, 0, 1, 1},
		{"Pad1_16x32x32_k3", 16, 32, 32, 3, 3, 1, 1, 1, 1},
	} {
		outH := ConvOutSize(c.h, c.kh, c.padH, c.strideH)
		outW := ConvOutSize(c.w, c.kw, c.padW, c.strideW)
		src := make([]float32, c.ch*c.h*c.w)
		fillRand(rnd, src)
		col := make([]float32, c.ch*c.kh*c.kw*outH*outW)
		b.Run("Im2col/"+c.name, func(b *testing.B) {
			b.SetBytes(int64(4 * len(col)))
			for b.Loop() {
				Im2col(col, src, c.ch, c.h, c.w, c.kh, c.kw, c.padH, c.padW, c.strideH, c.strideW)
			}
		})
		const batch = 16
		srcs := make([]float32, batch*len(src))
		cols := make([]float32, batch*len(col))
		b.Run("Im2colBatch16/"+c.name, func(b *testing.B) {
			b.SetBytes(int64(4 * len(cols)))
			for b.Loop() {
				Im2colBatch(cols, srcs, batch, c.ch, c.h, c.w, c.kh, c.kw, c.padH, c.padW, c.strideH, c.strideW)
			}
		})
		b.Run("Col2imBatch16/"+c.name, func(b *testing.B) {
			b.SetBytes(int64(4 * len(cols)))
			for b.Loop() {
				Col2imBatch(srcs, cols, batch, c.ch, c.h, c.w, c.kh, c.kw, c.padH, c.padW, c.strideH, c.strideW)
			}
		})
		b.Run("Col2im/"+c.name, func(b *testing.B) {
			b.SetBytes(int64(4 * len(col)))
			for b.Loop() {
				Col2im(src, col, c.ch, c.h, c.w, c.kh, c.kw, c.padH, c.padW, c.strideH, c.strideW)
			}
		})
	}
	src := make([]float32, 20*24*24)
	fillRand(rnd, src)
	dst := make([]float32, 20*12*12)
	arg := make([]int32, len(dst))
	b.Run("MaxPool2d/20x24x24_k2s2", func(b *testing.B) {
		b.SetBytes(int64(4 * len(src)))
		for b.Loop() {
			MaxPool2d(dst, arg, src, 20, 24, 24, 2, 2, 0, 0, 2, 2)
		}
	})
	b.Run("MaxPool2dBackward/20x24x24_k2s2", func(b *testing.B) {
		b.SetBytes(int64(4 * len(src)))
		for b.Loop() {
			MaxPool2dBackward(src, dst, arg)
		}
	})
	b.Run("AvgPool2d/20x24x24_k2s2", func(b *testing.B) {
		b.SetBytes(int64(4 * len(src)))
		for b.Loop() {
			AvgPool2d(dst, src, 20, 24, 24, 2, 2, 0, 0, 2, 2)
		}
	})
}

func BenchmarkSelect(b *testing.B) {
	rnd := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1000, 100000, 431080} {
		src := make([]float32, n)
		fillRand(rnd, src)
		x := make([]float32, n)
		b.Run(sizeName(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				copy(x, src)
				Select(x, n*9/10)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/elem")
		})
	}
}

// BenchmarkGemmS8Speedup alternates the int8 product and the float32 one
// on the same 256×1024×1024 shape (C = A·Bᵀ) and reports how many times
// faster the int8 one is; alternating keeps the ratio honest on a busy
// machine.
func BenchmarkGemmS8Speedup(b *testing.B) {
	const m, n, k = 256, 1024, 1024
	rnd := rand.New(rand.NewPCG(1, 1))
	a8, b8 := make([]int8, m*k), make([]int8, n*k)
	af, bf := make([]float32, m*k), make([]float32, n*k)
	for i := range a8 {
		a8[i] = int8(rnd.IntN(256) - 128)
		af[i] = float32(a8[i])
	}
	for i := range b8 {
		b8[i] = int8(rnd.IntN(256) - 128)
		bf[i] = float32(b8[i])
	}
	c8, cf := make([]int32, m*n), make([]float32, m*n)
	var t8, tf time.Duration
	for b.Loop() {
		t0 := time.Now()
		GemmS8S8S32(m, n, k, a8, k, b8, k, c8, n)
		t1 := time.Now()
		Sgemm(false, true, m, n, k, 1, af, k, bf, k, 0, cf, n)
		t8 += t1.Sub(t0)
		tf += time.Since(t1)
	}
	b.ReportMetric(float64(tf)/float64(t8), "int8-speedup")
	b.ReportMetric(2*float64(m)*n*k*float64(b.N)/t8.Seconds()/1e9, "int8-GOP/s")
	b.ReportMetric(2*float64(m)*n*k*float64(b.N)/tf.Seconds()/1e9, "f32-GFLOP/s")
}

// BenchmarkSgemmPaths runs every micro-kernel this CPU supports (the
// avx2 and purego paths as well as the one Path reports) on square
// products, for comparing the paths on one machine.
func BenchmarkSgemmPaths(b *testing.B) {
	kernels := availableKernels()
	for _, name := range slices.Sorted(maps.Keys(kernels)) {
		kern := kernels[name]
		for _, s := range []int{256, 1024} {
			if name == "purego" && s > 256 && testing.Short() {
				continue
			}
			b.Run(name+"/"+sizeName(s), func(b *testing.B) {
				benchSgemm(b, func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, bb []float32, ldb int, beta float32, c []float32, ldc int) {
					sgemm(kern, tA, tB, m, n, k, alpha, a, lda, bb, ldb, beta, c, ldc)
				}, false, false, s, s, s)
			})
		}
	}
}
