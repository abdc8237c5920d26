package kernels

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// FuzzSgemm compares Sgemm with the reference loop on fuzzer-chosen small
// shapes, strides, transposes and scalars. Without -fuzz it runs the seeds.
func FuzzSgemm(f *testing.F) {
	f.Add(uint8(3), uint8(5), uint8(7), uint8(0), uint8(0), float32(1), float32(0), uint64(1))
	f.Add(uint8(13), uint8(33), uint8(17), uint8(3), uint8(2), float32(-0.5), float32(2), uint64(2))
	f.Add(uint8(40), uint8(9), uint8(70), uint8(1), uint8(1), float32(1), float32(1), uint64(3))
	f.Add(uint8(1), uint8(64), uint8(200), uint8(2), uint8(0), float32(2), float32(0.5), uint64(4))
	f.Fuzz(func(t *testing.T, m8, n8, k8, pad8, trans uint8, alpha, beta float32, seed uint64) {
		m, n, k, pad := int(m8%80), int(n8%80), int(k8), int(pad8%4)
		if alpha != alpha || beta != beta || alpha > 1e3 || alpha < -1e3 || beta > 1e3 || beta < -1e3 {
			t.Skip("scalars out of the compared range")
		}
		tA, tB := trans&1 != 0, trans&2 != 0
		rnd := rand.New(rand.NewPCG(seed, 1))
		ar, ac := m, k
		if tA {
			ar, ac = k, m
		}
		br, bc := k, n
		if tB {
			br, bc = n, k
		}
		lda, ldb, ldc := max(1, ac+pad), max(1, bc+pad), max(1, n+pad)
		a := make([]float32, matLen(ar, ac, lda))
		b := make([]float32, matLen(br, bc, ldb))
		c := make([]float32, matLen(m, n, ldc))
		fillRand(rnd, a)
		fillRand(rnd, b)
		fillRand(rnd, c)
		want := slices.Clone(c)
		naiveSgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc)
		Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		scale := max(1, abs32(alpha)) * max(1, abs32(beta))
		for i := range c {
			if !close32(c[i], want[i], 1e-4*scale*float32(max(1, k/32))) {
				t.Fatalf("c[%d] = %v, want %v (m=%d n=%d k=%d tA=%v tB=%v)", i, c[i], want[i], m, n, k, tA, tB)
			}
		}
	})
}

func abs32(x float32) float32 { return max(x, -x) }

// FuzzSelect checks Select against a sort on fuzzer-chosen data.
func FuzzSelect(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8}, uint16(3))
	f.Add([]byte{255, 0, 255, 0, 127, 128, 1, 1, 1}, uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, k16 uint16) {
		if len(data) == 0 {
			return
		}
		x := make([]float32, len(data))
		for i, v := range data {
			x[i] = float32(int(v)-128) / 7
		}
		k := int(k16) % len(x)
		sorted := slices.Clone(x)
		slices.Sort(sorted)
		if got := Select(x, k); got != sorted[k] {
			t.Fatalf("Select(k=%d) = %v, want %v", k, got, sorted[k])
		}
	})
}
