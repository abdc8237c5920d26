package data

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// TestSyntheticSplit checks that each set of a split depends only on its own size (the
// test set used to be the samples after the training set's, so --limit-train changed
// it) and that both share the class patterns: a sample is nearer its own class's mean
// than the others'.
func TestSyntheticSplit(t *testing.T) {
	trainA, testA := SyntheticSplit(100, 40, 3, 8, 8, 4, 1)
	trainB, testB := SyntheticSplit(300, 60, 3, 8, 8, 4, 1)
	if err := trainA.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := testB.Validate(); err != nil {
		t.Fatal(err)
	}
	sz := testA.SampleSize()
	if !slices.Equal(testA.X, testB.X[:40*sz]) || !slices.Equal(testA.Y, testB.Y[:40]) {
		t.Error("the first 40 test samples depend on the training set's size")
	}
	if !slices.Equal(trainA.X, trainB.X[:100*sz]) {
		t.Error("the first 100 training samples depend on the sizes")
	}
	if slices.Equal(trainB.X[:40*sz], testB.X[:40*sz]) {
		t.Error("the test set repeats the training set")
	}
	// Class means from the training set classify the test set.
	means := make([][]float64, trainB.Classes)
	counts := make([]int, trainB.Classes)
	for k := range means {
		means[k] = make([]float64, sz)
	}
	for i := 0; i < trainB.N; i++ {
		k := trainB.Y[i]
		counts[k]++
		for j, v := range trainB.X[i*sz : (i+1)*sz] {
			means[k][j] += float64(v)
		}
	}
	right := 0
	for i := 0; i < testB.N; i++ {
		best, bestD := -1, math.Inf(1)
		for k := range means {
			d := 0.0
			for j, v := range testB.X[i*sz : (i+1)*sz] {
				e := float64(v) - means[k][j]/float64(max(counts[k], 1))
				d += e * e
			}
			if d < bestD {
				best, bestD = k, d
			}
		}
		if int32(best) == testB.Y[i] {
			right++
		}
	}
	// (37 of 60 here; 20 with another seed's patterns, 15 by chance.)
	if right < testB.N/2 {
		t.Errorf("nearest class mean gets %d of %d test samples: the sets do not share their patterns", right, testB.N)
	}
}

// TestSyntheticBadArguments checks the clear panic for arguments that make no set, and
// that Subset clamps a negative size.
func TestSyntheticBadArguments(t *testing.T) {
	defer func() {
		if msg := fmt.Sprint(recover()); !strings.Contains(msg, "data: Synthetic: need") {
			t.Errorf("panic %q", msg)
		}
	}()
	if s := Synthetic(5, 1, 2, 2, 3, 1).Subset(-1); s.N != 0 || len(s.Y) != 0 {
		t.Errorf("Subset(-1): %d samples", s.N)
	}
	Synthetic(5, 1, 2, 2, 0, 1)
}
