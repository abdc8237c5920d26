package tfevents

import (
	"fmt"
	"math"
	"sort"
)

// defaultLimits are TensorFlow's default histogram bucket limits
// (tensorflow/core/lib/histogram/histogram.cc, InitDefaultBuckets): the positive limits
// v = 1e-12·1.1^k while v < 1e20, then DBL_MAX; the same negated and reversed below zero;
// and 0 between them. It is built once and never changed.
var defaultLimits = func() []float64 {
	var pos []float64
	for v := 1e-12; v < 1e20; v *= 1.1 {
		pos = append(pos, v)
	}
	pos = append(pos, math.MaxFloat64)
	limits := make([]float64, 0, 2*len(pos)+1)
	for i := len(pos) - 1; i >= 0; i-- {
		limits = append(limits, -pos[i])
	}
	limits = append(limits, 0)
	return append(limits, pos...)
}()

// NewHistogram returns the histogram of values over TensorFlow's default exponential
// buckets, encoded as TensorFlow's Histogram::EncodeToProto does: each run of empty buckets
// is collapsed into one empty bucket whose limit is the run's last limit, so every kept
// bucket still spans from the previous kept limit to its own. A value v falls in the first
// bucket whose limit is greater than v.
//
// An empty values slice gives a histogram with Num 0, Min and Max 0 and a single empty
// bucket (TensorFlow would report Min = DBL_MAX and Max = -DBL_MAX). It returns an error if
// a value is NaN or infinite; such a histogram has no meaning, and a diverged run should
// say so rather than write it.
func NewHistogram(values []float32) (*Histogram, error) {
	counts := make([]float64, len(defaultLimits))
	h := &Histogram{Min: math.MaxFloat64, Max: -math.MaxFloat64}
	for i, f := range values {
		v := float64(f)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("tfevents: histogram: value %d is %v: %w", i, v, ErrNonFinite)
		}
		h.Min = min(h.Min, v)
		h.Max = max(h.Max, v)
		h.Sum += v
		h.SumSquares += v * v
		counts[sort.Search(len(defaultLimits), func(k int) bool { return defaultLimits[k] > v })]++
	}
	h.Num = float64(len(values))
	if len(values) == 0 {
		h.Min, h.Max = 0, 0
	}
	for i := 0; i < len(counts); {
		end, c := defaultLimits[i], counts[i]
		i++
		if c == 0 {
			for i < len(counts) && counts[i] == 0 {
				end, c = defaultLimits[i], counts[i]
				i++
			}
		}
		h.BucketLimit = append(h.BucketLimit, end)
		h.Bucket = append(h.Bucket, c)
	}
	return h, nil
}
