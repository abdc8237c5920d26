package stdlib

import (
	"math"

	"github.com/dst-dev/dst/kernels"
)

// abs32 returns |v|, mapping NaN to +Inf so that a NaN weight ranks as the largest and is
// never pruned by magnitude.
func abs32(v float32) float32 {
	a := math.Float32frombits(math.Float32bits(v) &^ (1 << 31))
	if a != a {
		return float32(math.Inf(1))
	}
	return a
}

// ThresholdMask writes the magnitude mask of w into dst: 1 where |w[i]| > t, else 0.
// A NaN weight is kept. It panics if len(dst) != len(w).
func ThresholdMask(dst, w []float32, t float32) {
	if len(dst) != len(w) {
		panic("stdlib: ThresholdMask: length mismatch")
	}
	for i, v := range w {
		if abs32(v) > t {
			dst[i] = 1
		} else {
			dst[i] = 0
		}
	}
}

// LevelCount returns k = ⌊s·n⌋, the number of weights a level pruner at sparsity s zeroes
// out of n, clamped to [0, n]. Rounding error in the product is absorbed: 0.29·100 is
// 28.999999999999996 in float64, which Distiller's int(level·N) truncates to 28, and
// LevelCount counts 29.
func LevelCount(s float64, n int) int {
	x := s * float64(n)
	k := int(math.Floor(x + math.Abs(x)*1e-12))
	return min(max(k, 0), n)
}

// LevelMask writes into dst the mask that zeroes exactly k of the weights w — those with
// the smallest magnitude — and keeps the others. Weights of equal magnitude are ordered
// by index: among ties at the cut, the lowest indices are pruned first. The cut
// t, the k-th smallest |w|, is found with an O(n) selection ([kernels.Select]) on
// scratch, not by sorting.
//
// Distiller keeps |w| > t and so prunes every weight tied at t, more than k when many
// weights are equal (its docstring admits it); LevelMask zeroes exactly k. A NaN weight
// ranks above every number.
//
// scratch is reused when it holds at least len(w) elements and the (possibly grown)
// buffer is returned for the next call. k is clamped to [0, len(w)]. It panics if
// len(dst) != len(w).
func LevelMask(dst, w, scratch []float32, k int) []float32 {
	n := len(w)
	if len(dst) != n {
		panic("stdlib: LevelMask: length mismatch")
	}
	k = min(max(k, 0), n)
	switch k {
	case 0:
		fill(dst, 1)
		return scratch
	case n:
		fill(dst, 0)
		return scratch
	}
	if cap(scratch) < n {
		scratch = make([]float32, n)
	}
	// Magnitudes are compared as the bit patterns of |w| (sign cleared, NaN clamped to
	// +Inf): for non-negative floats the unsigned integer order is the numeric order.
	s := scratch[:n]
	for i, v := range w {
		s[i] = math.Float32frombits(absBits(v))
	}
	tb := math.Float32bits(kernels.Select(s, k-1))
	pruned := 0
	for i, v := range w {
		if absBits(v) <= tb {
			dst[i] = 0
			pruned++
		} else {
			dst[i] = 1
		}
	}
	// Every weight tied at t was pruned; give back the surplus, highest index first, so
	// that exactly k are zero and the lowest-indexed ties are the ones pruned.
	for i := n - 1; pruned > k; i-- {
		if dst[i] == 0 && absBits(w[i]) == tb {
			dst[i] = 1
			pruned--
		}
	}
	return scratch
}

// absBits returns the bit pattern of |v|, with NaN mapped to +Inf.
func absBits(v float32) uint32 {
	const sign, inf = 1 << 31, 0x7f800000
	return min(math.Float32bits(v)&^sign, inf)
}

// fill sets every element of dst to v.
func fill(dst []float32, v float32) {
	for i := range dst {
		dst[i] = v
	}
}

// countZeros returns the number of zero elements of x.
func countZeros(x []float32) int {
	n := 0
	for _, v := range x {
		if v == 0 {
			n++
		}
	}
	return n
}
