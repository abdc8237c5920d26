package kernels

import (
	"math/rand/v2"
	"testing"
)

// reportGFLOPS reports the floating-point rate of b.N products of the given
// size; call it after the timed loop.
func reportGFLOPS(b *testing.B, m, n, k int) {
	b.Helper()
	flops := 2 * float64(m) * float64(n) * float64(k) * float64(b.N)
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
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
	b.ResetTimer()
	for b.Loop() {
		f(tA, tB, m, n, k, 1, a, lda, bb, ldb, 0, c, n)
	}
	reportGFLOPS(b, m, n, k)
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
		{"FC1dW_500x800x64", true, false, 500, 800, 64},
		{"FC1dX_64x800x500", false, false, 64, 800, 500},
		{"FC2Fwd_64x10x500", false, true, 64, 10, 500},
		{"Linear1Fwd_1x300x784", false, true, 1, 300, 784},
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
		for i := range a8 {
			a8[i] = int8(rnd.IntN(256) - 128)
		}
		for i := range b8 {
			b8[i] = int8(rnd.IntN(256) - 128)
		}
		c := make([]int32, m*n)
		b.SetBytes(int64(m*k + n*k + 4*m*n))
		b.ReportAllocs()
		for b.Loop() {
			GemmS8S8S32(m, n, k, a8, k, b8, k, c, n)
		}
		b.ReportMetric(2*float64(m)*n*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
	})
	b.Run("Float32_256x1024x1024", func(b *testing.B) { benchSgemm(b, Sgemm, false, true, m, n, k) })
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
