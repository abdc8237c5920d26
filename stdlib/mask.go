package stdlib

import (
	"math"
	"math/rand/v2"

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
// t, the k-th smallest |w|, is found with an O(n) selection ([kernels.Select]), not by
// sorting; for large inputs a sample first brackets t so that only the magnitudes near
// it are copied and selected (see levelCut).
//
// Distiller keeps |w| > t and so prunes every weight tied at t, more than k when many
// weights are equal (its docstring admits it); LevelMask zeroes exactly k. A NaN weight
// ranks above every number.
//
// scratch is a work buffer of any length (nil is fine): LevelMask uses its capacity,
// grows it when needed and returns it for the next call. dst must not overlap w or
// scratch. k is clamped to [0, len(w)]. It panics if
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
	// Magnitudes are compared as the bit patterns of |w| (sign cleared, NaN clamped to
	// +Inf): for non-negative floats the unsigned integer order is the numeric order.
	tb, scratch := levelCut(w, scratch, k)
	kept := 0
	for i, v := range w {
		// Branch-free: tb − |v| wraps to a value with the top bit set iff |v| > tb
		// (magnitude bit patterns are below 2³¹).
		keep := (tb - absBits(v)) >> 31
		dst[i] = math.Float32frombits(keep * 0x3f800000)
		kept += int(keep)
	}
	pruned := n - kept
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

// bracketMin is the size from which levelCut brackets the cut with a sample before
// selecting; below it, it selects on all magnitudes.
const bracketMin = 1 << 16

// levelCut returns the bit pattern of the k-th smallest |w| (1 <= k < len(w)) and the
// scratch buffer it used.
//
// For large inputs it follows Floyd and Rivest's sampling step: the k-th smallest of a
// random sample gives two values that bracket the cut with high probability; one pass
// counts the magnitudes below the bracket and copies those inside it, and the selection
// runs on that small copy. When the bracket misses (a probability that shrinks with n,
// or degenerate inputs) it falls back to selecting on all magnitudes. Either way the
// result is exact.
func levelCut(w, scratch []float32, k int) (uint32, []float32) {
	n := len(w)
	if n >= bracketMin {
		t, s, ok := bracketCut(w, scratch, k, 6)
		if ok {
			return t, s
		}
		scratch = s
	}
	if cap(scratch) < n {
		scratch = make([]float32, n)
	}
	s := scratch[:n]
	for i, v := range w {
		s[i] = math.Float32frombits(absBits(v))
	}
	return math.Float32bits(kernels.Select(s, k-1)), scratch
}

// bracketCut is levelCut's sampling path; ok is false when the bracket missed. The
// bracket spans widen standard deviations of the sample rank on each side: at 6 a miss
// takes a six-sigma deviation, about one call in 10⁹.
func bracketCut(w, scratch []float32, k int, widen float64) (t uint32, _ []float32, ok bool) {
	n := len(w)
	fn := float64(n)
	m := int(0.5 * math.Pow(fn, 2.0/3)) // Floyd–Rivest sample size
	pcg := rand.NewPCG(uint64(n), uint64(k))
	buf := scratch
	if cap(buf) < 2*m {
		buf = make([]float32, 0, 2*m)
	}
	buf = buf[:cap(buf)]
	sample := buf[:m]
	for i := range sample {
		sample[i] = math.Float32frombits(absBits(w[pcg.Uint64()%uint64(n)]))
	}
	// The number of sample values below the true cut is binomial(m, p), p = (k−1)/n:
	// take the ranks widen standard deviations (plus slack) either side of p·m.
	pk := float64(k-1) / fn
	sd := widen * (math.Sqrt(float64(m)*pk*(1-pk)) + 1.5)
	rank := pk * float64(m)
	loRank := max(int(rank-sd), 0)
	hiRank := min(int(rank+sd), m-1)
	lo := math.Float32bits(kernels.Select(sample, loRank))
	hi := math.Float32bits(kernels.Select(sample, hiRank))
	if loRank == 0 {
		lo = 0
	}
	if lo == 0 && hi > 0 {
		// Typical of re-pruning a masked layer: the bracket starts in the zeros. Count
		// the zeros as below rather than copying them; if the cut is in fact 0, the
		// count exceeds k−1 and the fallback runs.
		lo = 1
	}
	if hiRank == m-1 {
		hi = math.MaxUint32
	}
	// The candidates go after the sample in the same buffer while they fit.
	below := 0
	width := hi - lo
	c := buf[m:m]
	for _, v := range w {
		b := absBits(v)
		below += int((b - lo) >> 31) // b < lo, branch-free (bit patterns are below 2³¹)
		if b-lo <= width {           // lo <= b <= hi in one unsigned comparison
			c = append(c, math.Float32frombits(b))
		}
	}
	keep := buf
	if cap(c) != len(buf)-m { // append moved the candidates to a larger array
		keep = c
	}
	if below > k-1 || below+len(c) <= k-1 {
		return 0, keep, false
	}
	if lo == hi {
		return lo, keep, true
	}
	return math.Float32bits(kernels.Select(c, k-1-below)), keep, true
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
