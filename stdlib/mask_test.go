package stdlib

import (
	"maps"
	"math"
	"slices"
	"testing"

	"github.com/dst-dev/dst/kernels"
)

// refLevelMask is the sort-based reference of LevelMask: order indices by (|w|, index)
// and zero the first k.
func refLevelMask(w []float32, k int) []float32 {
	idx := make([]int, len(w))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		x, y := abs32(w[a]), abs32(w[b])
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	m := make([]float32, len(w))
	for _, i := range idx[k:] {
		m[i] = 1
	}
	return m
}

func TestLevelMask(t *testing.T) {
	r := newRand()
	gen := map[string]func(n int) []float32{
		"normal": func(n int) []float32 {
			w := make([]float32, n)
			for i := range w {
				w[i] = float32(r.NormFloat64())
			}
			return w
		},
		"ties": func(n int) []float32 { // few distinct magnitudes, both signs
			w := make([]float32, n)
			for i := range w {
				w[i] = float32(r.IntN(4)-2) * 0.5
			}
			return w
		},
		"constant": func(n int) []float32 {
			w := make([]float32, n)
			fill(w, 0.25)
			return w
		},
		"zeros": func(n int) []float32 { return make([]float32, n) },
		"nan": func(n int) []float32 {
			w := make([]float32, n)
			for i := range w {
				w[i] = float32(r.NormFloat64())
			}
			w[n/2] = float32(math.NaN())
			return w
		},
	}
	for _, name := range slices.Sorted(maps.Keys(gen)) { // sorted: r's draws stay fixed
		t.Run(name, func(t *testing.T) {
			for _, n := range []int{1, 2, 3, 7, 17, 100, 601, 1013, 4099} {
				w := gen[name](n)
				for _, s := range []float64{0, 0.1, 1.0 / 3, 0.5, 0.7, 0.9, 0.999} {
					k := LevelCount(s, n)
					got := make([]float32, n)
					LevelMask(got, w, nil, k)
					if z := countZeros(got); z != k {
						t.Fatalf("n=%d s=%v: %d zeroed, want exactly %d", n, s, z, k)
					}
					if want := refLevelMask(w, k); !slices.Equal(got, want) {
						t.Fatalf("n=%d s=%v: mask differs from the sorted reference", n, s)
					}
				}
			}
		})
	}
}

func TestLevelMaskReusesScratch(t *testing.T) {
	w := []float32{3, -1, 2, 0.5, -4}
	dst := make([]float32, len(w))
	scratch := make([]float32, 16)
	got := LevelMask(dst, w, scratch, 2)
	if &got[0] != &scratch[0] {
		t.Errorf("LevelMask allocated a new scratch buffer although one was large enough")
	}
	if want := []float32{1, 0, 1, 0, 1}; !slices.Equal(dst, want) {
		t.Errorf("mask = %v, want %v", dst, want)
	}
}

func TestLevelCount(t *testing.T) {
	tests := []struct {
		s    float64
		n, k int
	}{
		{0, 10, 0}, {0.05, 10, 0}, {0.1, 10, 1}, {0.7, 10, 7}, {0.7, 3, 2},
		{0.999, 1000, 999}, {0.9, 10_000_000, 9_000_000}, {1, 5, 5}, {-0.5, 5, 0},
		{0.29, 100, 29}, {0.57, 100, 57}, {0.289999, 100, 28}, {0.07, 3, 0},
	}
	for _, tc := range tests {
		if got := LevelCount(tc.s, tc.n); got != tc.k {
			t.Errorf("LevelCount(%v, %d) = %d, want %d", tc.s, tc.n, got, tc.k)
		}
	}
}

func TestThresholdMask(t *testing.T) {
	w := []float32{0.1, -0.2, 0.3, -0.3, 0, float32(math.NaN())}
	got := make([]float32, len(w))
	ThresholdMask(got, w, 0.2)
	if want := []float32{0, 0, 1, 1, 0, 1}; !slices.Equal(got, want) {
		t.Errorf("ThresholdMask = %v, want %v", got, want)
	}
}

// BenchmarkLevelMask10MSparsity90 measures the level mask of 10M weights at 90%
// sparsity: the O(n) selection path, and a sort-based baseline.
func BenchmarkLevelMask10MSparsity90(b *testing.B) {
	const n = 10_000_000
	r := newRand()
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(r.NormFloat64())
	}
	k := LevelCount(0.9, n)
	dst := make([]float32, n)
	b.Run("select", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(4 * n)
		scratch := make([]float32, n)
		cpu := cpuTime()
		for b.Loop() {
			scratch = LevelMask(dst, w, scratch, k)
		}
		cpu = cpuTime() - cpu
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/param")
		b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
	})
	b.Run("repruneFrom70", func(b *testing.B) {
		// AGP's common case: a layer already 70% zero pruned to 90%.
		v := slices.Clone(w)
		LevelMask(dst, v, nil, LevelCount(0.7, n))
		for i, m := range dst {
			v[i] *= m
		}
		b.ReportAllocs()
		b.SetBytes(4 * n)
		scratch := make([]float32, n)
		cpu := cpuTime()
		for b.Loop() {
			scratch = LevelMask(dst, v, scratch, k)
		}
		cpu = cpuTime() - cpu
		b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
	})
	b.Run("sort", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(4 * n)
		s := make([]float32, n)
		for b.Loop() {
			for i, v := range w {
				s[i] = abs32(v)
			}
			slices.Sort(s)
			ThresholdMask(dst, w, s[k-1])
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/param")
	})
}

// FuzzLevelMask checks LevelMask against the sorted reference on arbitrary bit patterns
// (NaNs, infinities, signed zeros, denormals included).
func FuzzLevelMask(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 128, 191, 0, 0, 0, 0, 0, 0, 0, 128}, uint16(2))
	f.Add([]byte{0, 0, 192, 127, 1, 0, 0, 0, 0, 0, 128, 127, 0, 0, 128, 255, 0, 0, 0, 63}, uint16(3))
	f.Fuzz(func(t *testing.T, b []byte, kk uint16) {
		if len(b) > 4*4096 {
			return
		}
		w := make([]float32, len(b)/4)
		for i := range w {
			w[i] = math.Float32frombits(uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24)
		}
		k := 0
		if len(w) > 0 {
			k = int(kk) % (len(w) + 1)
		}
		got := make([]float32, len(w))
		LevelMask(got, w, nil, k)
		if want := refLevelMask(w, k); !slices.Equal(got, want) {
			t.Fatalf("k=%d w=%v: mask %v, want %v", k, w, got, want)
		}
	})
}

// TestLevelCutLarge checks the sampling path of levelCut against selection on all
// magnitudes, on inputs large enough to take it, including a bracket so narrow that it
// misses and the fallback runs.
func TestLevelCutLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large inputs")
	}
	r := newRand()
	const n = 200_003
	gens := map[string]func(i int) float32{
		"normal":      func(int) float32 { return float32(r.NormFloat64()) },
		"ties":        func(int) float32 { return float32(r.IntN(5)) * 0.25 },
		"prunedFirst": func(i int) float32 { return float32(max(i-n*6/10, 0)) }, // 60% zeros, ascending
		"prunedRandom": func(int) float32 { // 60% zeros scattered, as a masked layer
			if r.Float64() < 0.6 {
				return 0
			}
			return float32(r.NormFloat64())
		},
		"descending": func(i int) float32 { return float32(n - i) },
		"constant":   func(int) float32 { return -1.5 },
	}
	full := func(w []float32, k int) uint32 {
		s := make([]float32, len(w))
		for i, v := range w {
			s[i] = math.Float32frombits(absBits(v))
		}
		return math.Float32bits(kernels.Select(s, k-1))
	}
	for _, name := range slices.Sorted(maps.Keys(gens)) { // sorted: r's draws stay fixed
		g := gens[name]
		w := make([]float32, n)
		for i := range w {
			w[i] = g(i)
		}
		for _, s := range []float64{0.01, 0.3, 0.6, 0.61, 0.9, 0.999} {
			k := LevelCount(s, n)
			want := full(w, k)
			if got, _ := levelCut(w, nil, k); got != want {
				t.Errorf("%s s=%v: cut %#x, want %#x", name, s, got, want)
			}
			for _, widen := range []float64{6, 1, 0} {
				got, _, ok := bracketCut(w, nil, k, widen)
				if ok && got != want {
					t.Errorf("%s s=%v widen=%v: bracketed cut %#x, want %#x", name, s, widen, got, want)
				}
			}
			dst := make([]float32, n)
			LevelMask(dst, w, nil, k)
			if z := countZeros(dst); z != k {
				t.Errorf("%s s=%v: %d zeroed, want %d", name, s, z, k)
			}
		}
	}
	// A zero-width bracket on distinct values misses almost always: make sure the
	// fallback is reached and exact.
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(r.NormFloat64())
	}
	k := LevelCount(0.5, n)
	if _, _, ok := bracketCut(w, nil, k, 0); ok {
		t.Logf("zero-width bracket happened to hit")
	}
	dst := make([]float32, n)
	LevelMask(dst, w, nil, k)
	if want := refLevelMask(w, k); !slices.Equal(dst, want) {
		t.Errorf("large mask differs from the sorted reference")
	}
}

// TestBracketRarelyMisses checks that the default bracket holds the cut on random data,
// so the sampling path is the one that runs.
func TestBracketRarelyMisses(t *testing.T) {
	if testing.Short() {
		t.Skip("large inputs")
	}
	r := newRand()
	w := make([]float32, bracketMin+1234)
	misses := 0
	for trial := range 40 {
		for i := range w {
			w[i] = float32(r.NormFloat64())
		}
		k := 1 + trial*(len(w)-2)/39
		if _, _, ok := bracketCut(w, nil, k, 6); !ok {
			misses++
		}
	}
	if misses > 0 {
		t.Errorf("the bracket missed %d times in 40", misses)
	}
}

// TestLevelMaskGuards writes masks into the middle of NaN-filled buffers, at lengths on
// both sides of the sampling threshold, and checks nothing outside dst was written.
func TestLevelMaskGuards(t *testing.T) {
	r := newRand()
	for _, n := range []int{1, 5, 63, bracketMin - 1, bracketMin + 17} {
		w := make([]float32, n)
		for i := range w {
			w[i] = float32(r.NormFloat64())
		}
		const guard = 8
		buf := make([]float32, n+2*guard)
		fill(buf, float32(math.NaN()))
		dst := buf[guard : guard+n]
		k := LevelCount(0.75, n)
		LevelMask(dst, w, nil, k)
		for i, v := range buf {
			if (i < guard || i >= guard+n) && v == v {
				t.Fatalf("n=%d: LevelMask wrote %v outside dst at %d", n, v, i-guard)
			}
		}
		if z := countZeros(dst); z != k {
			t.Fatalf("n=%d: %d zeros, want %d", n, z, k)
		}
	}
}
