package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Sliced matrix-vector products.
//
// At batch 1 a CSR row kernel must fetch x[ColIdx[e]] for every non-zero, and
// AVX-512 gathers, one element per lane, bound it: a 90%-sparse 784→300
// layer is no faster than the dense GEMV. A SlicedCSR avoids gathers. Its
// rows are cut into slices of 16 (one zmm of y, one row per lane), and the
// entries of a slice are stored as vectors of 16 lanes: lane l of a vector
// holds one entry of row 16s+l, or a zero. Every two vectors share a window
// of 32 consecutive elements of x, starting at a multiple of 16 (or at
// Cols-32), that holds all their columns: the kernel loads the window into
// two zmm registers (from L1: x is small; aligned, so no load splits a cache
// line) and, for every vector, picks each lane's element with one VPERMI2PS
// and adds val·x into the slice's accumulators. There are no branches but
// the loops over slices and over groups of four vectors (two windows, or
// one window twice, which the kernel loads once: see pairWindows), so the
// pattern of the matrix costs no mispredictions.
//
// The column of an entry within its window (0-31) is stored in the five
// lowest bits of its value: VPERMI2PS reads only those bits of an index, so
// a copy of the value vector is its own index vector. This saves the index
// bytes (a fifth of what the kernel streams from L2 at batch 1, where it is
// bound by that stream) and the shifts that unpacked them, 17% of the
// kernel's time. The price is precision: a stored weight keeps 19 of
// float32's 24 significant bits, the value nearest to it whose low bits are
// its column (a relative change of at most 2⁻¹⁹, below the rounding of the
// products' 800-term sums). Non-finite weights are stored as NaN, so they
// make their row NaN, and stored zeros are dropped.
//
// The other price is the padding: a lane whose row has no entry in a window
// is zero. The windows of a slice are chosen by a sweep: each starts at the
// smallest column not yet stored (rounded down to a multiple of 16), and
// every lane takes the next two entries of its row if they fall inside it.
// At 90% sparsity a row has 3.2 entries in 32 columns, so most lanes take
// two. Which rows share a slice is free, so SliceCSR improves the padding
// with a local search: starting from the rows sorted by length, it swaps
// rows between slices when that does not add windows. On a random
// 90%-sparse 784→300 weight this stores about 2270 vectors, 65% of the
// lanes holding an entry (a trained one, whose rows and columns are less
// even, about 2620: 56%); fixed 32-column chunks, with a block of vectors
// per chunk and slice, needed 2650 and a branchy loop per block.
//
// Measured and rejected: windows starting at any column (10% fewer vectors,
// but most window loads then split a cache line: slower); windows on a grid
// of 8 columns, read from aligned copies of x and x[8:] (6% fewer vectors,
// no faster with the copies); one window per vector (no pair sharing: 41%
// slower, the window loads saturate the load ports); 64-column windows (24%
// fewer vectors, but two permutes and a blend per vector); reordering x's
// columns in blocks of 8 so that dense blocks share windows (7-13% fewer
// vectors on a trained layer, which the per-call copy of x costs back,
// 0.033 µs even as two 32-byte loads and one 64-byte store per 16
// elements, so that the window loads forward from whole stores);
// windows of two 16-column blocks anywhere, the second chosen to fill the
// most lanes (7% fewer vectors on a trained layer, but 12% slower per
// vector: four block offsets a group to load instead of two); greedy
// window choice instead of the sweep (more vectors); software
// prefetching of the values (slower); sorting all of x's columns by their
// number of entries (12% fewer vectors on a trained layer, 15% less kernel
// time, but the per-call gather of x, 49 VGATHERDPS, takes 0.11 µs alone
// and 0.18 µs before the kernel: no net gain); skipping the second window
// load of a group with a branch when its windows are one (no faster: the
// branch mispredicts; a loop of their own, as now, is 8% faster);
// simulated annealing or 20 times more swaps in the row search (4% fewer
// vectors for seconds of build time); two rows per lane, with a masked FMA
// for each (11% fewer vectors on a random layer, 4% more on a trained one,
// before the cost of the second FMA); eight accumulators (no faster);
// renumbering the columns by density through three rounds of a permutation
// network, each round sorting every 32-element chunk of x by density into
// a denser and a sparser block of 16 (two VPERMI2PS per chunk, the three
// rounds' indices packed in one int32) and ordering the blocks (2332
// vectors instead of 2624, 11-15% less kernel time, but the rounds take
// 0.095 µs, 2.5 cycles a block, 4K-aliasing between a round's stores and
// the next round's loads making it three times that for some buffer
// placements, and a whole batch-1 pass of the trained lenet300_100 was no
// faster); prefetching every line of x before the product (slower: fc2's
// and fc3's x are in L1 already, and fc1's arrives in time).
//
// What bounds it, measured on a Sapphire Rapids core at 3.7 GHz: a bare
// loop of loads of a 168 KB stream from L2 takes 1.47 cycles per 64-byte
// vector (44 bytes a cycle), and the kernel's core alone (load, copy,
// permute, FMA, with the windows kept in registers) 1.8 (1.4 from L1). The
// whole kernel took 2.3 cycles a vector on a trained 784→300 weight before
// the one-window groups (1.85 from L1; 12% less without its window loads,
// 1-8% less without its moves, permutes or FMAs, timed with wrong results
// for the measure only) and takes about 2.1 with them, streaming its values
// at about 30 bytes a cycle, as the dense GEMV streams its weights. So at
// batch 1 the speed-up over dense is about the ratio of the bytes.
//
// SpMV reads each row's result from its lane; SpMVLanes leaves the result in
// lane order for the next layer of a chain.

// SlicedCSR is a sparse matrix in the sliced layout above, for [SpMV]. It is
// built by [SliceCSR], which validates the matrix once: the kernels do not
// check it again. It is immutable and safe for concurrent use.
type SlicedCSR struct {
	rows, cols, nnz int
	slices          int
	// counts[2s] is the number of groups of four vectors of slice s whose two
	// windows start at the same column, which come first, and counts[2s+1]
	// the number of its other groups (see pairWindows); the groups of the
	// slices follow each other.
	counts []int32
	// off[w] is the first column of window w: a multiple of 16 or cols-32
	// (0 when cols < 32, and SpMV pads x to 32 elements).
	off []int32
	// val holds 16 lanes per vector, four vectors to a group (vectors 0 and
	// 1 in window 2g, 2 and 3 in window 2g+1); the five lowest bits of a
	// lane's value are its column within the window (see embed).
	val []float32
	// lane[r] is the lane (16·slice + position) row r was given.
	lane []int32
}

// window is the width of x a pair of vectors picks its elements from.
const window = 32

// grid is the step of the windows' first columns: a multiple of 16, so
// that the window loads do not split cache lines when x is aligned.
const grid = 16

// swaps is the number of row swaps per row that SliceCSR tries, and
// swapWork caps their total at swapWork/(entries per row), so that any
// layer builds in about a tenth of a second at most: a swap costs about
// 0.1 µs per entry of a row (it recounts the windows of two slices). On a
// trained 90%-sparse 784→300 weight, 19,000 swaps store 5% fewer vectors
// than 9,600.
const (
	swaps    = 128
	swapWork = 1_500_000
)

// SliceCSR returns a in the sliced layout. It panics if a is malformed (see
// [CSR]).
func SliceCSR(a *CSR) *SlicedCSR {
	a.check("SliceCSR")
	a.checkCols("SliceCSR")
	p := &SlicedCSR{rows: a.Rows, cols: a.Cols, slices: (a.Rows + 15) / 16}
	// ent[r] are row r's entries (index into a) in column order, and
	// col[r] their columns.
	ent := make([][]int32, a.Rows)
	col := make([][]int32, a.Rows)
	for r := range ent {
		e := make([]int32, 0, a.RowPtr[r+1]-a.RowPtr[r])
		for i := a.RowPtr[r]; i < a.RowPtr[r+1]; i++ {
			if a.Val[i] != 0 { // stored zeros add nothing
				e = append(e, i)
			}
		}
		p.nnz += len(e)
		slices.SortStableFunc(e, func(i, j int32) int { return int(a.ColIdx[i] - a.ColIdx[j]) })
		ent[r] = e
		col[r] = make([]int32, len(e))
		for k, i := range e {
			col[r][k] = a.ColIdx[i]
		}
	}
	// rowAt[16s+l] is the row in lane l of slice s, or -1. The search
	// starts from the rows in order of their lengths, so that rows of
	// similar lengths share slices.
	rowAt := make([]int32, 16*p.slices)
	for i := range rowAt {
		rowAt[i] = -1
		if i < a.Rows {
			rowAt[i] = int32(i)
		}
	}
	slices.SortStableFunc(rowAt[:a.Rows], func(i, j int32) int { return len(col[i]) - len(col[j]) })
	flat, at := flatten(col)
	p.arrange(rowAt, func(s, limit int) int { return windows(flat, at, rowAt[16*s:16*s+16], a.Cols, limit) })
	p.lane = make([]int32, a.Rows)
	for i, r := range rowAt {
		if r >= 0 {
			p.lane[r] = int32(i)
		}
	}
	p.counts = make([]int32, 0, 2*p.slices)
	for s := range p.slices {
		n := len(p.off)
		p.pack(a, ent, col, rowAt[16*s:16*s+16])
		pad := (len(p.off)-n)%2 == 1
		if pad {
			// An empty window completes the group.
			p.off = append(p.off, 0)
			p.val = append(p.val, make([]float32, 32)...)
		}
		same := p.pairWindows(n, pad)
		p.counts = append(p.counts, int32(same), int32((len(p.off)-n)/2-same))
	}
	return p
}

// pairWindows reorders the windows from n on, one slice's, so that the two
// windows of a group start at the same column wherever the slice has two
// windows at that column, those groups first, and returns their number. The
// kernel loads such a group's window once instead of twice: a window load
// per two vectors is a third of the kernel's loads, and on a trained
// 90%-sparse 784→300 weight two groups in three share their window (the
// sweep repeats a window while any lane has entries left in it), which
// makes the product 8% faster. pad reports that the last window is the
// empty one that completes the group count, which may start anywhere.
func (p *SlicedCSR) pairWindows(n int, pad bool) int {
	end := len(p.off)
	if pad {
		end--
	}
	// The windows of each first column, in order of the columns' first use.
	at := map[int32][]int{}
	var cols []int32
	for i := n; i < end; i++ {
		o := p.off[i]
		if at[o] == nil {
			cols = append(cols, o)
		}
		at[o] = append(at[o], i)
	}
	var same, rest []int
	for _, o := range cols {
		ws := at[o]
		k := len(ws) &^ 1
		same = append(same, ws[:k]...)
		rest = append(rest, ws[k:]...)
	}
	if pad {
		if len(rest) > 0 {
			// The empty window takes the column of one left alone.
			last := rest[len(rest)-1]
			p.off[end] = p.off[last]
			same = append(same, last, end)
			rest = rest[:len(rest)-1]
		} else {
			rest = append(rest, end)
		}
	}
	order := append(same, rest...)
	off := make([]int32, len(order))
	val := make([]float32, 32*len(order))
	for k, i := range order {
		off[k] = p.off[i]
		copy(val[32*k:], p.val[32*i:32*i+32])
	}
	copy(p.off[n:], off)
	copy(p.val[32*n:], val)
	return len(same) / 2
}

// flatten returns the columns of every row in one slice for windows: row
// r's are flat[at[r]:], ended by math.MaxInt32, and flat[0] is
// math.MaxInt32 for the empty lanes.
func flatten(col [][]int32) (flat, at []int32) {
	flat, at = []int32{math.MaxInt32}, make([]int32, len(col))
	for r, c := range col {
		at[r] = int32(len(flat))
		flat = append(append(flat, c...), math.MaxInt32)
	}
	return flat, at
}

// start returns the first column of the window that holds column c, the
// smallest column a slice has not packed: c rounded down to a multiple of
// grid, or cols-32 if that is smaller (0 when cols < 32).
func start(c int32, cols int) int32 {
	return max(0, min(c&^(grid-1), int32(cols-window)))
}

// embed returns v with its five lowest bits set to col (0-31): of the floats
// whose low bits are col, the nearest to v, with v's sign and finite when v
// is. Zero stays zero (its lane is never read as an index: all of a zero
// vector's lanes pick x[off], a finite element times 0), and a NaN or an
// infinity becomes NaN.
func embed(v float32, col int32) float32 {
	b := math.Float32bits(v)
	sign, mag := b&(1<<31), b&^(1<<31)
	switch {
	case mag == 0:
		return v
	case mag >= 0x7f800000: // NaN or ±Inf
		return math.Float32frombits(0x7fc00000 | uint32(col))
	}
	// The magnitudes of floats of one sign are ordered as their bits: the
	// candidates are the values with the right low bits just below and just
	// above mag.
	lo := mag&^31 | uint32(col)
	if lo > mag {
		lo -= 32 // may wrap below zero: then hi is the only candidate
	}
	hi := lo + 32
	best := hi
	if lo <= mag && mag-lo <= hi-mag {
		best = lo
	}
	if best >= 0x7f800000 { // past the largest finite float
		best = lo
	}
	if best == 0 { // a tiny subnormal would round to zero and be lost
		best = hi
	}
	return math.Float32frombits(sign | best)
}

// windows returns the number of windows [SlicedCSR.pack] makes of rows (-1
// for an empty lane), or a number above limit as soon as it exceeds limit.
// It is the cost the row arrangement minimises, so it is kept cheap: row r's
// columns in order are flat[at[r]:], ended by math.MaxInt32, and flat[0] is
// math.MaxInt32 for the empty lanes.
func windows(flat, at []int32, rows []int32, cols, limit int) int {
	var p [16]int32
	for l, r := range rows {
		if r >= 0 {
			p[l] = at[r]
		}
	}
	n := 0
	for ; n <= limit; n++ {
		w := int32(math.MaxInt32)
		for _, i := range p {
			w = min(w, flat[i])
		}
		if w == math.MaxInt32 {
			return n
		}
		end := start(w, cols) + window
		for l, i := range p {
			if flat[i] < end {
				i++
				if flat[i] < end {
					i++
				}
				p[l] = i
			}
		}
	}
	return n
}

// pack appends the windows of rows (-1 for an empty lane), whose entries in
// column order are ent[r] and their columns col[r], to p's off, idx and val.
// Each window starts at the smallest column not yet packed (see start), so
// that no entry is left behind, and each lane takes its next two entries if
// they fall in it.
func (p *SlicedCSR) pack(a *CSR, ent, col [][]int32, rows []int32) {
	var pos [16]int
	for {
		w := int32(-1)
		for l, r := range rows {
			if r >= 0 && pos[l] < len(col[r]) {
				if c := col[r][pos[l]]; w < 0 || c < w {
					w = c
				}
			}
		}
		if w < 0 {
			return
		}
		w = start(w, a.Cols)
		p.off = append(p.off, w)
		p.val = append(p.val, make([]float32, 32)...)
		for l, r := range rows {
			for q := 0; q < 2 && r >= 0 && pos[l] < len(col[r]); q++ {
				c := col[r][pos[l]]
				if c >= w+window {
					break
				}
				e := ent[r][pos[l]]
				pos[l]++
				p.val[len(p.val)-32+16*q+l] = embed(a.Val[e], c-w)
			}
		}
	}
}

// Rows returns the number of rows of the matrix.
func (p *SlicedCSR) Rows() int { return p.rows }

// Cols returns the number of columns of the matrix.
func (p *SlicedCSR) Cols() int { return p.cols }

// NNZ returns the number of stored entries (padding excluded).
func (p *SlicedCSR) NNZ() int { return p.nnz }

// Lanes returns the number of vector lanes the layout stores, padding
// included: NNZ()/Lanes() is the fraction of the kernel's work that counts.
func (p *SlicedCSR) Lanes() int { return len(p.val) }

// SpMV computes the matrix-vector product dst = a·x; dst is overwritten:
//
//	for i := 0; i < a.Rows(); i++ {
//		var s float32
//		for each stored entry (i, j, v) of a {
//			s += v * x[j]
//		}
//		dst[i] = s
//	}
//
// The terms are summed in another order, and every stored entry is
// multiplied, as in the dense product: a NaN or infinite weight makes its
// row NaN even where x is zero. It panics if len(x) != a.Cols() or
// len(dst) != a.Rows().
func SpMV(dst []float32, a *SlicedCSR, x []float32) {
	spmv("SpMV", dst, a, x, nil, false)
}

// SpMVBias is [SpMV] followed by a bias and an optional ReLU, as a Linear
// layer at batch 1 computes them:
//
//	dst[i] = (a·x)[i] + bias[i]   (relu: 0 unless that is > 0, as [Relu])
//
// It panics unless len(x) == a.Cols() and len(dst) == len(bias) == a.Rows().
func SpMVBias(dst []float32, a *SlicedCSR, x, bias []float32, relu bool) {
	checkLen("SpMVBias", len(bias), a.rows)
	spmv("SpMVBias", dst, a, x, bias, relu)
}

// Width returns the length of a product in lane order ([SpMVLanes]): 16 per
// slice of 16 rows, at least Rows().
func (p *SlicedCSR) Width() int { return 16 * p.slices }

// Lane returns the position of row r in a product in lane order.
func (p *SlicedCSR) Lane(r int) int { return int(p.lane[r]) }

// SpMVLanes is [SpMVBias] writing the product in lane order, as the kernel
// computes it, with no pass to put the rows back in order: for every row i,
//
//	dst[a.Lane(i)] = (a·x)[i] + bias[a.Lane(i)]   (relu: 0 unless that is > 0)
//
// and the Width()-Rows() lanes that hold no row are set to their bias (or
// 0). bias, in lane order, may be nil. A chain of layers can stay in lane
// order by renumbering each layer's columns with the previous layer's lanes.
// It panics if len(x) != a.Cols(), len(dst) != a.Width(), or bias is not
// nil and len(bias) != a.Width().
func SpMVLanes(dst []float32, a *SlicedCSR, x, bias []float32, relu bool) {
	checkLen("SpMVLanes", len(x), a.cols)
	checkLen("SpMVLanes", len(dst), 16*a.slices)
	if bias != nil {
		checkLen("SpMVLanes", len(bias), 16*a.slices)
	}
	if a.slices == 0 {
		return
	}
	a.product(dst, x, bias, relu)
}

// spmv is SpMV with SpMVBias's bias (when not nil) and ReLU, applied as
// each row is read from its lane.
func spmv(fn string, dst []float32, a *SlicedCSR, x, bias []float32, relu bool) {
	checkLen(fn, len(x), a.cols)
	checkLen(fn, len(dst), a.rows)
	if a.rows == 0 {
		return
	}
	var ys [64]float32
	var yp *[]float32
	y := ys[:]
	if 16*a.slices > len(ys) {
		yp = getBuf(16 * a.slices)
		y = *yp
	}
	a.product(y[:16*a.slices], x, nil, false)
	switch {
	case bias == nil:
		for r, l := range a.lane {
			dst[r] = y[l]
		}
	case relu:
		bias = bias[:len(a.lane)]
		for r, l := range a.lane {
			if v := y[l] + bias[r]; v > 0 {
				dst[r] = v
			} else {
				dst[r] = 0
			}
		}
	default:
		bias = bias[:len(a.lane)]
		for r, l := range a.lane {
			dst[r] = y[l] + bias[r]
		}
	}
	if yp != nil {
		putBuf(yp)
	}
}

// product sets y (16 per slice, in lane order) to a·x, adding bias (in lane
// order) when it is not nil and clamping at 0 when relu is set.
func (a *SlicedCSR) product(y, x, bias []float32, relu bool) {
	if a.cols < window {
		var xw [window]float32
		copy(xw[:], x)
		x = xw[:]
	}
	spmvSliced(y, x, a, bias, relu)
}

// arrange permutes rowAt (the row in each lane) to reduce the number of
// windows, cost(s, limit) being that of slice s (or any number above limit
// once it exceeds limit, which is all a rejected swap needs): swaps random
// swaps per row (see swapWork for their limit) between two slices, each kept
// when the two slices need no more windows than before. The generator is
// seeded, so the layout of a matrix is always the same.
func (p *SlicedCSR) arrange(rowAt []int32, cost func(s, limit int) int) {
	if p.slices < 2 {
		return
	}
	rnd := rand.New(rand.NewPCG(1, uint64(p.rows)))
	costs := make([]int, p.slices)
	for s := range costs {
		costs[s] = cost(s, math.MaxInt)
	}
	for range min(swaps*p.rows, swapWork*p.rows/max(p.nnz, 1)) {
		i, j := rnd.IntN(len(rowAt)), rnd.IntN(len(rowAt))
		si, sj := i/16, j/16
		if si == sj || (rowAt[i] < 0 && rowAt[j] < 0) {
			continue
		}
		rowAt[i], rowAt[j] = rowAt[j], rowAt[i]
		old := costs[si] + costs[sj]
		ci := cost(si, old)
		cj := 0
		if ci <= old {
			cj = cost(sj, old-ci)
		}
		if ci+cj <= old {
			costs[si], costs[sj] = ci, cj
		} else {
			rowAt[i], rowAt[j] = rowAt[j], rowAt[i]
		}
	}
}

// spmvSlicedGo sets y (16 per slice) to a·x, adding bias when it is not nil
// and clamping at 0 when relu is set; x holds at least max(off)+32
// elements.
func spmvSlicedGo(y, x []float32, a *SlicedCSR, bias []float32, relu bool) {
	g, w := 0, 0
	for s := 0; s < a.slices; s++ {
		var acc [16]float32
		for range a.counts[2*s] + a.counts[2*s+1] {
			for q := 0; q < 4; q++ {
				xw := x[a.off[w+q/2] : a.off[w+q/2]+window]
				val := a.val[16*(4*g+q) : 16*(4*g+q)+16]
				for l, v := range val {
					acc[l] += v * xw[math.Float32bits(v)&(window-1)]
				}
			}
			g++
			w += 2
		}
		ys := y[16*s : 16*s+16]
		for l, v := range acc {
			if bias != nil {
				v += bias[16*s+l]
			}
			if relu && !(v > 0) {
				v = 0 // as Relu: NaN becomes 0
			}
			ys[l] = v
		}
	}
}
