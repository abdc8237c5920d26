package kernels

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkSpMMPacked784x300Sparsity90 compares, for a 90%-sparse 784→300
// Linear layer at batch 64 in the features × batch layout, the CSR product
// (SpMM), the column-blocked one (SpMMPacked) and the dense GEMM, side by
// side.
func BenchmarkSpMMPacked784x300Sparsity90(b *testing.B) {
	const out, in, batch = 300, 784, 64
	rnd := rand.New(rand.NewPCG(1, 1))
	w := sparseDense(rnd, out, in, 0.9)
	a := CSRFromDense(w, out, in)
	p := PackCSR(a, batch)
	x := make([]float32, in*batch)
	fillRand(rnd, x)
	y := make([]float32, out*batch)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"CSR", func() { SpMM(y, a, x, batch) }},
		{"Packed", func() { SpMMPacked(y, p, x, batch) }},
		{"Dense", func() { Sgemm(false, false, out, batch, in, 1, w, in, x, batch, 0, y, batch) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.f()
			}
			b.ReportMetric(2*float64(a.NNZ())*batch*float64(b.N)/b.Elapsed().Seconds()/1e9, "sparseGFLOP/s")
		})
	}
}

// BenchmarkTranspose64x784 is the transpose that takes a batch of 64 MNIST
// images into the features × batch layout of a sparse chain.
func BenchmarkTranspose64x784(b *testing.B) {
	src := make([]float32, 64*784)
	dst := make([]float32, 64*784)
	fillRand(rand.New(rand.NewPCG(1, 1)), src)
	b.SetBytes(int64(8 * len(src)))
	b.ReportAllocs()
	for b.Loop() {
		Transpose(dst, src, 64, 784)
	}
}
