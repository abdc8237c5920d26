package data

import "math/rand/v2"

// Loader serves a [Set] in minibatches. The order of an epoch depends only on the seed
// and the epoch number, so a resumed run sees exactly the batches an uninterrupted one
// would. A Loader is not safe for concurrent use.
type Loader struct {
	set     *Set
	batch   int
	shuffle bool
	seed    uint64
	order   []int32
}

// NewLoader returns a loader over s with the given batch size. With shuffle false the
// samples come in storage order. It panics if batch < 1.
func NewLoader(s *Set, batch int, shuffle bool, seed uint64) *Loader {
	if batch < 1 {
		panic("data: NewLoader: batch size must be at least 1")
	}
	l := &Loader{set: s, batch: batch, shuffle: shuffle, seed: seed, order: make([]int32, s.N)}
	l.Shuffle(0)
	return l
}

// Set returns the loader's dataset.
func (l *Loader) Set() *Set { return l.set }

// BatchSize returns the (largest) number of samples per batch.
func (l *Loader) BatchSize() int { return l.batch }

// Steps returns the number of batches per epoch; the last one may be short.
func (l *Loader) Steps() int { return (l.set.N + l.batch - 1) / l.batch }

// Shuffle sets the sample order for the given epoch: a Fisher–Yates permutation drawn
// from PCG(seed, epoch), or storage order when the loader does not shuffle.
func (l *Loader) Shuffle(epoch int) {
	for i := range l.order {
		l.order[i] = int32(i)
	}
	if !l.shuffle {
		return
	}
	r := rand.New(rand.NewPCG(l.seed, uint64(epoch)))
	for i := len(l.order) - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		l.order[i], l.order[j] = l.order[j], l.order[i]
	}
}

// Batch writes batch i of the current epoch's order into x[:n·SampleSize()] and y[:n]
// and returns n, the batch's size. It panics if i is out of range or the buffers are
// too short for a full batch.
func (l *Loader) Batch(i int, x []float32, y []int32) int {
	lo := i * l.batch
	hi := min(lo+l.batch, l.set.N)
	sz := l.set.SampleSize()
	for j, idx := range l.order[lo:hi] {
		l.set.Sample(int(idx), x[j*sz:(j+1)*sz])
		y[j] = l.set.Y[idx]
	}
	return hi - lo
}
