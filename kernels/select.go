package kernels

import (
	"math"
	"math/bits"
	"slices"
)

// Select returns the k-th smallest value (0-based) of x, reordering x so
// that x[k] holds it, every element before k is ≤ x[k] and every element
// after is ≥ x[k]. NaNs order before all other values, as in
// sort.Float64s. It runs in O(n) expected time (Floyd–Rivest selection)
// and falls back to an O(n log n) sort of the remaining range if
// partitioning degenerates.
//
// The reference is:
//
//	slices.Sort(x) // NaNs first
//	return x[k]
//
// It panics if k is not in [0, len(x)).
func Select(x []float32, k int) float32 {
	if k < 0 || k >= len(x) {
		panic("kernels: Select: k out of range")
	}
	// Move NaNs to the front so the selection below can use plain <.
	nan := 0
	for i, v := range x {
		if v != v {
			x[i], x[nan] = x[nan], x[i]
			nan++
		}
	}
	if k < nan {
		return x[k]
	}
	y := x[nan:]
	k -= nan
	budget := 4*bits.Len(uint(len(y))) + 8
	floydRivest(y, 0, len(y)-1, k, &budget)
	return y[k]
}

// floydRivest partially orders x[left:right+1] around position k. x must
// not contain NaNs. budget bounds the number of partitioning rounds before
// the range is simply sorted.
func floydRivest(x []float32, left, right, k int, budget *int) {
	for right > left {
		*budget--
		if *budget < 0 {
			slices.Sort(x[left : right+1])
			return
		}
		if right-left > 600 {
			// Recurse on a sample to pick pivots that bracket k tightly.
			n := float64(right - left + 1)
			i := float64(k - left + 1)
			z := math.Log(n)
			s := 0.5 * math.Exp(2*z/3)
			sd := 0.5 * math.Sqrt(z*s*(n-s)/n)
			if i < n/2 {
				sd = -sd
			}
			newLeft := max(left, int(float64(k)-i*s/n+sd))
			newRight := min(right, int(float64(k)+(n-i)*s/n+sd))
			floydRivest(x, newLeft, newRight, k, budget)
		}
		t := x[k]
		i, j := left, right
		x[left], x[k] = x[k], x[left]
		if x[right] > t {
			x[right], x[left] = x[left], x[right]
		}
		for i < j {
			x[i], x[j] = x[j], x[i]
			i++
			j--
			for x[i] < t {
				i++
			}
			for x[j] > t {
				j--
			}
		}
		if x[left] == t {
			x[left], x[j] = x[j], x[left]
		} else {
			j++
			x[j], x[right] = x[right], x[j]
		}
		if j <= k {
			left = j + 1
		}
		if k <= j {
			right = j - 1
		}
	}
}
