package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestNoAllocs checks that repeated kernel calls do not allocate once the
// pooled buffers exist (AllocsPerRun runs with GOMAXPROCS 1, so the serial
// paths are measured): nn and ops rely on it for allocation-free training
// steps.
func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	f32 := func(n int) []float32 { return make([]float32, n) }
	x, w, y := f32(64*800), f32(500*800), f32(64*500)
	a8, b8, c32 := make([]int8, 64*500), make([]int8, 50*500), make([]int32, 64*50)
	sp := CSRFromDense(sparseDense(rand.New(rand.NewPCG(1, 1)), 300, 784, 0.9), 300, 784)
	xs, ys := f32(784*64), f32(300*64)
	img, col := f32(16*20*12*12), f32(20*25*16*64)
	pooled, arg := f32(20*12*12), make([]int32, 20*12*12)
	cw, cb, cout, cpad := f32(50*20*5*5), f32(50), f32(16*50*4*4), f32(16*50*5*5)
	pc := PackConv(cw, cb, 50, 20, 5, 5)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"Sgemm NT", func() { Sgemm(false, true, 64, 500, 800, 1, x, 800, w, 800, 0, y, 500) }},
		{"Sgemm NN", func() { Sgemm(false, false, 64, 500, 800, 1, x, 800, w, 500, 1, y, 500) }},
		{"Sgemm TN", func() { Sgemm(true, false, 500, 800, 64, 1, y, 500, x, 800, 1, w, 800) }},
		{"Sgemm narrow", func() { Sgemm(false, true, 64, 10, 500, 1, x, 500, w, 500, 0, y, 10) }},
		{"Sgemm gemv", func() { Sgemm(false, false, 500, 1, 800, 1, w, 800, x, 1, 0, y, 1) }},
		{"GemmS8S8S32", func() { GemmS8S8S32(64, 50, 500, a8, 500, b8, 500, c32, 50) }},
		{"SpMM", func() { SpMM(ys, sp, xs, 64) }},
		{"SpMMT", func() { SpMMT(ys, sp, xs, 64) }},
		{"SpMV", func() { SpMM(ys[:300], sp, xs[:784], 1) }},
		{"Im2colBatch", func() { Im2colBatch(col, img, 16, 20, 12, 12, 5, 5, 0, 0, 1, 1) }},
		{"Col2imBatch", func() { Col2imBatch(img, col, 16, 20, 12, 12, 5, 5, 0, 0, 1, 1) }},
		{"MaxPool2d", func() { MaxPool2d(pooled[:20*6*6], arg[:20*6*6], img[:20*12*12], 20, 12, 12, 2, 2, 0, 0, 2, 2) }},
		{"Select", func() { Select(x, 1000) }},
		{"ConvDirect", func() { ConvDirect(cout, img, cw, cb, 16, 20, 12, 12, 50, 5, 5, 0, 0, 1, 1, true, true) }},
		{"PackedConv.Conv padded", func() { pc.Conv(cpad, img, 16, 12, 12, 1, 1, 1, 1, false, true) }},
	} {
		for range 3 {
			c.f() // fill the pools (buffers grow to the largest size asked)
		}
		if n := testing.AllocsPerRun(5, c.f); n > 0 {
			t.Errorf("%s allocates %v times per call", c.name, n)
		}
	}
}
