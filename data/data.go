// Package data loads datasets into memory and serves them as deterministic minibatches.
//
// A [Set] holds its samples either as raw 8-bit pixels with an affine normalisation
// (MNIST and Fashion-MNIST: 47 MB for the 60,000 training images instead of 188 MB as
// float32) or as float32 values (synthetic sets). A [Loader] walks a Set in minibatches,
// shuffled by a seed and the epoch number, writing normalised values into buffers the
// caller owns, so that training allocates nothing per batch.
package data

import "fmt"

// Set is an in-memory labelled dataset of N samples, each C×H×W values (a flat feature
// vector has C = H = 1). Exactly one of Pixels and X holds the samples.
type Set struct {
	// Name describes the set ("mnist/train").
	Name string
	// Pixels holds N·C·H·W raw 8-bit values, sample after sample, or is nil.
	// Sample value = Pixels[i]·Scale + Shift.
	Pixels []uint8
	// Scale and Shift map a pixel to its normalised value.
	Scale, Shift float32
	// X holds N·C·H·W normalised values when Pixels is nil.
	X []float32
	// Y holds N labels in [0, Classes).
	Y []int32
	// N, C, H, W are the sample count and one sample's shape.
	N, C, H, W int
	// Classes is the number of label values.
	Classes int
}

// SampleSize returns C·H·W, the number of values of one sample.
func (s *Set) SampleSize() int { return s.C * s.H * s.W }

// Sample writes the normalised values of sample i into dst[:SampleSize()].
// It panics if i is out of range or dst is too short.
func (s *Set) Sample(i int, dst []float32) {
	n := s.SampleSize()
	dst = dst[:n]
	if s.Pixels != nil {
		src := s.Pixels[i*n : (i+1)*n]
		for j, p := range src {
			dst[j] = float32(p)*s.Scale + s.Shift
		}
		return
	}
	copy(dst, s.X[i*n:(i+1)*n])
}

// Subset returns the first n samples of s as a new Set sharing s's storage. n is
// clamped to [0, s.N].
func (s *Set) Subset(n int) *Set {
	n = max(0, min(n, s.N))
	t := *s
	t.N = n
	sz := s.SampleSize()
	if s.Pixels != nil {
		t.Pixels = s.Pixels[:n*sz]
	} else {
		t.X = s.X[:n*sz]
	}
	t.Y = s.Y[:n]
	t.Name = fmt.Sprintf("%s[:%d]", s.Name, n)
	return &t
}

// Validate checks that the set's slices agree with its shape and that every label is in
// range. The file readers and nn's Train and Evaluate call it, so that a corrupt file or
// a set built by hand is reported, not indexed out of bounds.
func (s *Set) Validate() error {
	if s.N < 0 || s.C <= 0 || s.H <= 0 || s.W <= 0 || s.Classes <= 0 {
		return fmt.Errorf("data: %s: invalid shape N=%d C=%d H=%d W=%d classes=%d", s.Name, s.N, s.C, s.H, s.W, s.Classes)
	}
	want := s.N * s.SampleSize()
	switch {
	case s.Pixels != nil && len(s.Pixels) != want:
		return fmt.Errorf("data: %s: %d pixel values, want %d", s.Name, len(s.Pixels), want)
	case s.Pixels == nil && len(s.X) != want:
		return fmt.Errorf("data: %s: %d values, want %d", s.Name, len(s.X), want)
	case len(s.Y) != s.N:
		return fmt.Errorf("data: %s: %d labels for %d samples", s.Name, len(s.Y), s.N)
	}
	for i, y := range s.Y {
		if y < 0 || int(y) >= s.Classes {
			return fmt.Errorf("data: %s: label %d of sample %d is outside [0, %d)", s.Name, y, i, s.Classes)
		}
	}
	return nil
}
