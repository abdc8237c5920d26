package stdlib

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/dst-dev/dst/nn"
)

// refGroupID is an independent reference of the group an element belongs to: it
// computes the element's multi-index and applies the granularity's definition.
func refGroupID(shape []int, g Granularity, block []int, flat int) int {
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		idx[d] = flat % shape[d]
		flat /= shape[d]
	}
	switch g {
	case Filters, Rows:
		return idx[0]
	case Channels, Cols:
		return idx[1]
	case Kernels:
		return idx[0]*shape[1] + idx[1]
	case Blocks:
		id := 0
		for d := range shape {
			id = id*(shape[d]/block[d]) + idx[d]/block[d]
		}
		return id
	case Layers:
		return 0
	}
	return flat
}

// refScores returns mean |w| (l1) or ‖w‖/count (l2) of every group, by reference ids.
func refScores(w []float32, shape []int, g Granularity, block []int, r Ranking) []float64 {
	n := 0
	for i := range w {
		n = max(n, refGroupID(shape, g, block, i)+1)
	}
	sum, cnt := make([]float64, n), make([]float64, n)
	for i, v := range w {
		id := refGroupID(shape, g, block, i)
		if r == L1 {
			sum[id] += math.Abs(float64(v))
		} else {
			sum[id] += float64(v) * float64(v)
		}
		cnt[id]++
	}
	for i := range sum {
		if r == L2 {
			sum[i] = math.Sqrt(sum[i])
		}
		sum[i] /= cnt[i]
	}
	return sum
}

// prunedGroups checks that p's mask zeroes whole groups only and returns, per group,
// whether it is pruned.
func prunedGroups(t *testing.T, p *nn.Param, g Granularity, block []int) []bool {
	t.Helper()
	checkMaskApplied(t, p)
	n, err := NumGroups(p.Shape(), g, block)
	if err != nil {
		t.Fatal(err)
	}
	state := make([]float32, n)
	fill(state, -1)
	for i, m := range p.MaskData() {
		id := refGroupID(p.Shape(), g, block, i)
		if state[id] == -1 {
			state[id] = m
		} else if state[id] != m {
			t.Fatalf("%s: %v group %d is partly masked", p.Name, g, id)
		}
	}
	out := make([]bool, n)
	for i, s := range state {
		out[i] = s == 0
	}
	return out
}

func count(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

func TestStructurePrunerWholeStructures(t *testing.T) {
	tests := []struct {
		name  string
		shape []int
		g     Granularity
		block []int
	}{
		{"filters4d", []int{10, 3, 3, 3}, Filters, nil},
		{"channels4d", []int{4, 9, 3, 3}, Channels, nil},
		{"kernels4d", []int{5, 7, 3, 3}, Kernels, nil},
		{"blocks4d", []int{6, 8, 1, 1}, Blocks, []int{1, 4, 1, 1}},
		{"blocks4d_2x2", []int{4, 6, 3, 3}, Blocks, []int{2, 2, 3, 3}},
		{"filters2d", []int{13, 7}, Filters, nil},
		{"channels2d", []int{13, 7}, Channels, nil},
		{"rows", []int{13, 7}, Rows, nil},
		{"cols", []int{7, 13}, Cols, nil},
		{"blocks2d", []int{6, 9}, Blocks, []int{2, 3}},
		{"blocks2d_distiller", []int{6, 9}, Blocks, []int{1, 3, 1, 1}},
	}
	r := newRand()
	for _, tc := range tests {
		for _, rank := range []Ranking{L1, L2, RandomRank} {
			for _, f := range []float64{0.1, 0.4, 0.75, 0.99} {
				p := randParam(t, r, "w", tc.shape...)
				want := refScores(p.Data(), tc.shape, tc.g, tc.block, rank)
				sp := &StructurePruner{Granularity: tc.g, Block: tc.block, Ranking: rank, Fraction: f, Seed: 5}
				mustPrune(t, sp, Point{Epoch: 1}, p)
				if p.MaskData() == nil {
					if StructureCount(f, len(want), 1) != 0 {
						t.Fatalf("%s %v f=%v: no mask set", tc.name, rank, f)
					}
					continue
				}
				pruned := prunedGroups(t, p, tc.g, tc.block)
				if got, k := count(pruned), StructureCount(f, len(want), 1); got != k {
					t.Errorf("%s %v f=%v: %d structures pruned, want %d", tc.name, rank, f, got, k)
				}
				if rank == RandomRank {
					continue
				}
				maxPruned, minKept := math.Inf(-1), math.Inf(1)
				for i, s := range want {
					if pruned[i] {
						maxPruned = max(maxPruned, s)
					} else {
						minKept = min(minKept, s)
					}
				}
				if maxPruned > minKept*(1+1e-6) {
					t.Errorf("%s %v f=%v: pruned a structure scored %v but kept one scored %v", tc.name, rank, f, maxPruned, minKept)
				}
			}
		}
	}
}

func TestStructureCount(t *testing.T) {
	tests := []struct {
		f          float64
		n, gs, out int
	}{
		{0.5, 10, 1, 5}, {0.05, 10, 1, 0}, {0.99, 10, 1, 9}, {0.999, 3, 1, 2},
		{0.7, 10, 4, 4}, {0.99, 4, 2, 2}, {0.99, 1, 1, 0}, {0.5, 10, 0, 5}, {0.99, 8, 4, 4},
	}
	for _, tc := range tests {
		if got := StructureCount(tc.f, tc.n, tc.gs); got != tc.out {
			t.Errorf("StructureCount(%v, %d, %d) = %d, want %d", tc.f, tc.n, tc.gs, got, tc.out)
		}
	}
}

func TestStructurePrunerTiesByIndex(t *testing.T) {
	p := paramOf(t, []float32{1, 1, 1, 1, 1, 1, 1, 1, 2, 2}, 5, 2) // rows 0-3 tie
	mustPrune(t, &StructurePruner{Granularity: Rows, Fraction: 0.4}, Point{}, p)
	if got, want := prunedGroups(t, p, Rows, nil), []bool{true, true, false, false, false}; !slices.Equal(got, want) {
		t.Errorf("pruned rows = %v, want %v", got, want)
	}
}

func TestStructurePrunerLeader(t *testing.T) {
	r := newRand()
	a := randParam(t, r, "conv1.weight", 8, 3, 3, 3)
	b := randParam(t, r, "conv2.weight", 8, 5, 1, 1)
	// b's own ranking is the reverse of a's, so only a's map can explain b's mask.
	sa := refScores(a.Data(), a.Shape(), Filters, nil, L1)
	for f := range 8 {
		for j := range 5 {
			b.Data()[f*5+j] = float32(10 - sa[f])
		}
	}
	sp := &StructurePruner{Granularity: Filters, Ranking: L1, Fraction: 0.5, Leader: true}
	mustPrune(t, sp, Point{}, a, b)
	pa, pb := prunedGroups(t, a, Filters, nil), prunedGroups(t, b, Filters, nil)
	if !slices.Equal(pa, pb) || count(pa) != 4 {
		t.Errorf("leader map not reused: %v vs %v", pa, pb)
	}
	c := randParam(t, r, "fc.weight", 7, 4)
	if err := sp.Check([]*nn.Param{a, c}); err == nil {
		t.Errorf("Check accepted a follower with a different number of filters")
	}
	if err := sp.Prune([]*nn.Param{a, c}, Point{}); err == nil {
		t.Errorf("Prune accepted a follower with a different number of filters")
	}
}

func TestStructurePrunerActivationsAndGradient(t *testing.T) {
	r := newRand()
	stats := []float64{0.1, 0.9, 0.5, 0.2}
	act := func(p *nn.Param) ([]float64, error) { return stats, nil }
	tests := []struct {
		rank Ranking
		want []bool
	}{
		{APoZ, []bool{false, true, true, false}},           // highest APoZ pruned
		{MeanActivation, []bool{true, false, false, true}}, // lowest mean pruned
		{Gradient, []bool{false, true, true, false}},       // lowest Σ w·g pruned
	}
	for _, tc := range tests {
		p := randParam(t, r, "conv.weight", 4, 2, 1, 1)
		for i := range p.GradData() {
			p.GradData()[i] = 0
			p.Data()[i] = 1
		}
		copy(p.GradData(), []float32{1, 1, -5, 0, -1, 0, 3, 3}) // Σ per filter: 2, −5, −1, 6
		sp := &StructurePruner{Granularity: Filters, Ranking: tc.rank, Fraction: 0.5, Activations: act}
		mustPrune(t, sp, Point{}, p)
		if got := prunedGroups(t, p, Filters, nil); !slices.Equal(got, tc.want) {
			t.Errorf("%v: pruned %v, want %v", tc.rank, got, tc.want)
		}
	}
	// Without a gradient (no step yet) the gradient ranking has nothing to rank by:
	// it skips, as Distiller's does, instead of pruning the first filters.
	ng := randParam(t, r, "conv.weight", 4, 2, 1, 1)
	clear(ng.GradData())
	mustPrune(t, &StructurePruner{Granularity: Filters, Ranking: Gradient, Fraction: 0.5}, Point{}, ng)
	if ng.MaskData() != nil {
		t.Errorf("gradient ranking with no gradient set a mask %v, want none", ng.MaskData())
	}
	p := randParam(t, r, "conv.weight", 4, 2, 1, 1)
	for name, sp := range map[string]*StructurePruner{
		"no stats":      {Granularity: Filters, Ranking: APoZ, Fraction: 0.5},
		"channels apoz": {Granularity: Channels, Ranking: APoZ, Fraction: 0.5, Activations: act},
	} {
		if err := sp.Check([]*nn.Param{p}); err == nil {
			t.Errorf("%s: Check accepted it", name)
		}
	}
	bad := &StructurePruner{Granularity: Filters, Ranking: APoZ, Fraction: 0.5,
		Activations: func(*nn.Param) ([]float64, error) { return []float64{1, 2}, nil }}
	if err := bad.Prune([]*nn.Param{p}, Point{}); err == nil {
		t.Errorf("Prune accepted 2 statistics for 4 filters")
	}
}

func TestStructurePrunerAGPRangeNoise(t *testing.T) {
	r := newRand()
	p := randParam(t, r, "conv.weight", 20, 4, 3, 3)
	sp := &StructurePruner{Granularity: Filters, Ranking: L2,
		AGP: &AGP{Initial: 0.1, Final: 0.6, Start: 0, End: 3, Freq: 1}}
	for e, want := range []int{2, 10, 12} { // ⌊20·{0.1, 0.5375, 0.6}⌋
		mustPrune(t, sp, Point{Epoch: e}, p)
		if got := count(prunedGroups(t, p, Filters, nil)); got != want {
			t.Errorf("AGP epoch %d: %d filters pruned, want %d", e, got, want)
		}
	}
	for e := range 5 {
		q := randParam(t, r, "conv.weight", 20, 4, 3, 3)
		rg := &StructurePruner{Granularity: Filters, Range: &[2]float64{0.2, 0.5}, Noise: 1, Seed: 9}
		mustPrune(t, rg, Point{Epoch: e}, q)
		if got := count(prunedGroups(t, q, Filters, nil)); got < 4 || got > 10 {
			t.Errorf("range epoch %d: %d filters pruned, want 4..10", e, got)
		}
	}
}

func TestStructurePrunerCheck(t *testing.T) {
	r := newRand()
	conv, fc := randParam(t, r, "conv", 4, 6, 3, 3), randParam(t, r, "fc", 5, 6)
	for name, tc := range map[string]struct {
		sp *StructurePruner
		p  *nn.Param
	}{
		"kernels2d":   {&StructurePruner{Granularity: Kernels, Fraction: 0.5}, fc},
		"rows4d":      {&StructurePruner{Granularity: Rows, Fraction: 0.5}, conv},
		"elements":    {&StructurePruner{Granularity: Elements, Fraction: 0.5}, conv},
		"blockDivide": {&StructurePruner{Granularity: Blocks, Block: []int{1, 4, 1, 1}, Fraction: 0.5}, conv},
		"blockRank":   {&StructurePruner{Granularity: Blocks, Block: []int{1, 2}, Fraction: 0.5}, conv},
		"fraction1":   {&StructurePruner{Granularity: Filters, Fraction: 1}, conv},
		"badRange":    {&StructurePruner{Granularity: Filters, Range: &[2]float64{0.5, 0.2}}, conv},
		"bias":        {&StructurePruner{Granularity: Filters, Fraction: 0.5}, randParam(t, r, "b", 4)},
	} {
		if err := tc.sp.Check([]*nn.Param{tc.p}); err == nil {
			t.Errorf("%s: Check accepted it", name)
		}
	}
}

func TestZeroGroups(t *testing.T) {
	w := make([]float32, 4*3*2*2)
	for i := range w {
		w[i] = 1
	}
	shape := []int{4, 3, 2, 2}
	for _, f := range []int{1, 3} { // zero filters 1 and 3
		for j := range 12 {
			w[f*12+j] = 0
		}
	}
	got, err := ZeroGroups(w, shape, Filters, nil)
	if err != nil || !slices.Equal(got, []int{1, 3}) {
		t.Errorf("zero filters = %v, %v; want [1 3]", got, err)
	}
	for f := range 4 { // zero channel 2 everywhere
		for j := range 4 {
			w[f*12+2*4+j] = 0
		}
	}
	got, _ = ZeroGroups(w, shape, Channels, nil)
	if !slices.Equal(got, []int{2}) {
		t.Errorf("zero channels = %v, want [2]", got)
	}
	if _, err := ZeroGroups(w[:5], shape, Filters, nil); err == nil {
		t.Errorf("ZeroGroups accepted a short slice")
	}
}

func TestGroupThresholdMask(t *testing.T) {
	// Rows of a 3×4 matrix: |w| sums 4, 2, 0.8; max 1, 2, 0.2; L2 2, 2, 0.4.
	w := []float32{1, -1, 1, -1, 0, 2, 0, 0, 0.2, 0.2, -0.2, 0.2}
	tests := []struct {
		c    Criterion
		th   float64
		want []float32
	}{
		{MaxAbs, 1, []float32{0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0}},
		{MeanAbs, 0.5, []float32{1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0}},
		{L1Norm, 0.5, []float32{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
		{L2Norm, 1.9, []float32{1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}},
		{MeanL2, 0.45, []float32{1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}},
	}
	for _, tc := range tests {
		got := make([]float32, len(w))
		if err := GroupThresholdMask(got, w, []int{3, 4}, Rows, nil, tc.c, tc.th); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%v > %v: mask %v, want %v", tc.c, tc.th, got, tc.want)
		}
	}
	p := paramOf(t, w, 3, 4)
	mustPrune(t, &StructureThresholdPruner{Granularity: Cols, Criterion: MaxAbs, Threshold: 1}, Point{}, p)
	if want := []float32{0, -1, 0, 0, 0, 2, 0, 0, 0, 0.2, 0, 0}; !slices.Equal(p.Data(), want) {
		t.Errorf("column threshold pruning: %v, want %v", p.Data(), want)
	}
}

func TestParseNames(t *testing.T) {
	for in, want := range map[string]Granularity{"3D": Filters, "2D": Kernels, "4D": Layers, "Channels": Channels, "cols": Cols, "blocks": Blocks} {
		if got, err := ParseGranularity(in); err != nil || got != want {
			t.Errorf("ParseGranularity(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string][]Granularity{"Rows+Cols": {Rows, Cols}, "4D+Channels": {Channels, Layers}, "channels_layers": {Channels, Layers}, "2D": {Kernels}} {
		if got, err := ParseGroups(in); err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseGroups(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "planes", "elements"} {
		if _, err := ParseGroups(bad); err == nil {
			t.Errorf("ParseGroups(%q) accepted", bad)
		}
	}
	for i, n := range rankingNames {
		if got, err := ParseRanking(n); err != nil || got != Ranking(i) {
			t.Errorf("ParseRanking(%q) = %v, %v", n, got, err)
		}
	}
	for i, n := range criterionNames {
		if got, err := ParseCriterion(n); err != nil || got != Criterion(i) {
			t.Errorf("ParseCriterion(%q) = %v, %v", n, got, err)
		}
	}
}

func TestBernoulliFilterPruner(t *testing.T) {
	r := newRand()
	p := randParam(t, r, "conv.weight", 200, 2, 3, 3)
	mustPrune(t, &BernoulliFilterPruner{Granularity: Filters, Fraction: 0.25, Seed: 2}, Point{}, p)
	if f := float64(count(prunedGroups(t, p, Filters, nil))) / 200; math.Abs(f-0.25) > 0.08 {
		t.Errorf("dropped %v of the filters, want about 0.25", f)
	}
}

// BenchmarkStructurePrune256x256x3x3 measures one ranked structure pruning of a
// 256×256×3×3 convolution at 50%.
func BenchmarkStructurePrune256x256x3x3(b *testing.B) {
	r := newRand()
	p := randParam(b, r, "conv.weight", 256, 256, 3, 3)
	orig := append([]float32(nil), p.Data()...)
	for _, g := range []Granularity{Filters, Channels, Kernels} {
		b.Run(g.String(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(4 * p.Len()))
			sp := &StructurePruner{Granularity: g, Ranking: L1, Fraction: 0.5}
			cpu := cpuTime()
			for b.Loop() {
				copy(p.Data(), orig)
				if err := sp.Prune([]*nn.Param{p}, Point{}); err != nil {
					b.Fatal(err)
				}
			}
			cpu = cpuTime() - cpu
			b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N), "cpu-ms/op")
		})
	}
}

// FuzzStructurePruner checks on arbitrary shapes, granularities and fractions that a
// ranked structure pruner zeroes whole structures, exactly StructureCount of them, and
// never all.
func FuzzStructurePruner(f *testing.F) {
	f.Add(uint8(4), uint8(3), uint8(2), uint8(2), uint8(0), uint8(128), uint64(1))
	f.Add(uint8(7), uint8(5), uint8(0), uint8(0), uint8(3), uint8(250), uint64(2))
	f.Fuzz(func(t *testing.T, d0, d1, d2, d3, gsel, frac uint8, seed uint64) {
		shape := []int{int(d0%9) + 1, int(d1%9) + 1}
		if d2%4 != 0 {
			shape = append(shape, int(d2%4), int(d3%4)+1)
		}
		grans := []Granularity{Filters, Channels, Rows, Cols, Kernels}
		g := grans[int(gsel)%len(grans)]
		n, err := NumGroups(shape, g, nil)
		if err != nil {
			return // the granularity does not apply to this rank
		}
		r := rand.New(rand.NewPCG(seed, 7))
		p := nn.NewParam("w", "layer", nn.KindWeight, shape...)
		for i := range p.Data() {
			p.Data()[i] = float32(r.IntN(5)) // many ties
		}
		f := float64(frac) / 256
		sp := &StructurePruner{Granularity: g, Ranking: []Ranking{L1, L2, RandomRank}[seed%3], Fraction: f, Seed: seed}
		if err := sp.Check([]*nn.Param{p}); err != nil {
			t.Fatalf("Check: %v", err)
		}
		if err := sp.Prune([]*nn.Param{p}, Point{}); err != nil {
			t.Fatalf("Prune: %v", err)
		}
		k := StructureCount(f, n, 1)
		if k == 0 {
			if p.MaskData() != nil {
				t.Fatalf("a mask was set although nothing is pruned")
			}
			return
		}
		if k >= n {
			t.Fatalf("StructureCount(%v, %d) = %d prunes every structure", f, n, k)
		}
		if got := count(prunedGroups(t, p, g, nil)); got != k {
			t.Fatalf("%v of %v at %v: %d pruned, want %d", g, shape, f, got, k)
		}
	})
}
