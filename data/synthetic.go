package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Synthetic returns a learnable image dataset of n samples of shape c×h×w with the given
// number of classes, drawn from PCG(seed, 0): each class has a fixed random smooth
// pattern, and a sample is its class pattern, randomly shifted by up to one pixel and
// scaled, plus Gaussian noise. A small CNN separates the classes well within an epoch,
// which makes the set useful for CIFAR-shaped tests where no CIFAR data is available.
//
// It panics unless n ≥ 0 and c, h, w and classes are ≥ 1.
func Synthetic(n, c, h, w, classes int, seed uint64) *Set {
	checkSynthetic("Synthetic", n, c, h, w, classes)
	r := rand.New(rand.NewPCG(seed, 0))
	patterns := synthPatterns(r, c, h, w, classes)
	return synthSamples(r, n, c, h, w, patterns)
}

// SyntheticSplit returns a training set of nTrain and a test set of nTest samples of
// the [Synthetic] family of seed: the same class patterns, the samples of each set drawn
// from a stream of its own. Each set depends only on its size, so a test set is the same
// whatever the training set's, and a smaller one is the start of a larger one.
//
// It panics unless nTrain, nTest ≥ 0 and c, h, w and classes are ≥ 1.
func SyntheticSplit(nTrain, nTest, c, h, w, classes int, seed uint64) (train, test *Set) {
	checkSynthetic("SyntheticSplit", min(nTrain, nTest), c, h, w, classes)
	patterns := synthPatterns(rand.New(rand.NewPCG(seed, 0)), c, h, w, classes)
	train = synthSamples(rand.New(rand.NewPCG(seed, 1)), nTrain, c, h, w, patterns)
	test = synthSamples(rand.New(rand.NewPCG(seed, 2)), nTest, c, h, w, patterns)
	train.Name += "/train"
	test.Name += "/test"
	return train, test
}

// synthPatterns draws the class patterns of a Synthetic set.
func synthPatterns(r *rand.Rand, c, h, w, classes int) [][]float32 {
	sz := c * h * w
	patterns := make([][]float32, classes)
	for k := range patterns {
		p := make([]float32, sz)
		// A few random low-frequency waves per channel.
		for ch := 0; ch < c; ch++ {
			fy, fx := 1+r.Float64()*2, 1+r.Float64()*2
			py, px := r.Float64()*2*math.Pi, r.Float64()*2*math.Pi
			amp := 0.5 + r.Float64()
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					v := amp * math.Sin(2*math.Pi*fy*float64(y)/float64(h)+py) * math.Cos(2*math.Pi*fx*float64(x)/float64(w)+px)
					p[(ch*h+y)*w+x] = float32(v)
				}
			}
		}
		patterns[k] = p
	}
	return patterns
}

// synthSamples draws n samples from r: each a class pattern, shifted and scaled, plus
// noise.
func synthSamples(r *rand.Rand, n, c, h, w int, patterns [][]float32) *Set {
	sz := c * h * w
	classes := len(patterns)
	s := &Set{
		Name: fmt.Sprintf("synthetic-%dx%dx%d", c, h, w),
		X:    make([]float32, n*sz), Y: make([]int32, n),
		N: n, C: c, H: h, W: w, Classes: classes,
	}
	for i := 0; i < n; i++ {
		k := r.IntN(classes)
		s.Y[i] = int32(k)
		dy, dx := r.IntN(3)-1, r.IntN(3)-1
		scale := float32(0.8 + 0.4*r.Float64())
		x := s.X[i*sz : (i+1)*sz]
		for ch := 0; ch < c; ch++ {
			for y := 0; y < h; y++ {
				for xx := 0; xx < w; xx++ {
					sy, sx := (y+dy+h)%h, (xx+dx+w)%w
					x[(ch*h+y)*w+xx] = scale*patterns[k][(ch*h+sy)*w+sx] + float32(r.NormFloat64()*0.5)
				}
			}
		}
	}
	return s
}

// checkSynthetic panics with a message naming fn unless its arguments make a set.
func checkSynthetic(fn string, n, c, h, w, classes int) {
	if n < 0 || c < 1 || h < 1 || w < 1 || classes < 1 {
		panic(fmt.Sprintf("data: %s: need n >= 0 and c, h, w, classes >= 1; got n=%d c=%d h=%d w=%d classes=%d", fn, n, c, h, w, classes))
	}
}
