// Package data loads datasets into memory and serves them as deterministic minibatches.
//
// A [Set] holds normalised float32 samples and int32 labels; a [Loader] walks a Set in
// minibatches, shuffled by a seed and the epoch number, writing into buffers the caller
// owns so that training allocates nothing per batch.
package data

// Set is an in-memory labelled dataset of N samples, each C×H×W float32 values (a
// flat feature vector has C = H = 1).
type Set struct {
	// Name describes the set ("mnist/train").
	Name string
	// X holds N·C·H·W normalised values, sample after sample.
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
