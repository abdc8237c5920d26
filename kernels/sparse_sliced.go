package kernels

import (
	"math"
	"math/rand/v2"
)

// Sliced matrix-vector products.
//
// At batch 1 a CSR row kernel must fetch x[ColIdx[e]] for every non-zero, and
// AVX-512 gathers, one element per lane, bound it: a 90%-sparse 784→300
// layer is no faster than the dense GEMV. A SlicedCSR avoids gathers. Its
// rows are cut into slices of 16 (one zmm of y, one row per lane) and its
// columns into chunks of 32 (two zmm of x). The entries of a slice that fall
// in a chunk form a block stored as K vectors of 16 lanes, K being the
// largest count of any of its 16 rows in the chunk: vector k holds, in lane
// l, the k-th entry of row 16s+l in the chunk (value and column within the
// chunk), or a zero value where the row has fewer. The kernel loads a chunk
// of x into registers once and, for every vector, picks each lane's element
// with one VPERMI2PS and adds val·x into the slice's accumulator. The price
// is the padding: at 90% sparsity a row has 3.2 entries per chunk on
// average and a block of 16 rows about 6, so half of the lanes do work.
// Which rows share a slice is free, so SliceCSR improves the padding with a
// short local search: it swaps rows between slices when that does not add
// vectors (12–14% fewer vectors on a random 90%-sparse 784→300 weight), and
// SpMV reads each row's result from its lane.

// SlicedCSR is a sparse matrix in the sliced layout above, for [SpMV]. It is
// built by [SliceCSR], which validates the matrix once: the kernels do not
// check it again. It is immutable and safe for concurrent use.
type SlicedCSR struct {
	rows, cols, nnz int
	slices, chunks  int
	// counts[c*slices+s] is the number of vectors of block (chunk c, slice s);
	// chunkStart[c] is the index of chunk c's first vector.
	counts     []int32
	chunkStart []int
	// idxStart[c] is the first index byte of chunk c; skip[2c] and skip[2c+1]
	// are the index and value bytes of chunk c, which the kernel steps over
	// when the chunk of x is zero.
	idxStart []int
	skip     []int64
	// lane[r] is the lane (16·slice + position) row r was given.
	lane []int32
	// val holds 16 lanes per vector, in block order. idx holds the column
	// within the chunk of each lane, one byte each, four vectors to a group
	// of 64 bytes: byte 4l+q of group g of a block is lane l of its vector
	// 4g+q. The kernel loads a group as 16 dwords and shifts it by 0, 8, 16
	// and 24 bits (VPERMI2PS reads only the low 5 bits of an index), which
	// leaves the shuffle port to the permutes.
	idx []uint8
	val []float32
}

// SliceCSR returns a in the sliced layout. It panics if a is malformed (see
// [CSR]).
func SliceCSR(a *CSR) *SlicedCSR {
	a.check("SliceCSR")
	a.checkCols("SliceCSR")
	p := &SlicedCSR{rows: a.Rows, cols: a.Cols, nnz: a.NNZ(), slices: (a.Rows + 15) / 16, chunks: (a.Cols + 31) / 32}
	// per[c*rows+r] counts row r's entries in chunk c.
	per := make([]int32, p.chunks*a.Rows)
	for r := 0; r < a.Rows; r++ {
		for _, c := range a.ColIdx[a.RowPtr[r]:a.RowPtr[r+1]] {
			per[int(c)/32*a.Rows+r]++
		}
	}
	// rowAt[16s+l] is the row in lane l of slice s, or -1.
	rowAt := make([]int32, 16*p.slices)
	for i := range rowAt {
		rowAt[i] = -1
		if i < a.Rows {
			rowAt[i] = int32(i)
		}
	}
	p.arrange(rowAt, per)
	p.lane = make([]int32, a.Rows)
	for i, r := range rowAt {
		if r >= 0 {
			p.lane[r] = int32(i)
		}
	}
	p.counts = make([]int32, p.chunks*p.slices)
	p.chunkStart = make([]int, p.chunks+1)
	vecs := 0
	for c := 0; c < p.chunks; c++ {
		p.chunkStart[c] = vecs
		for s := 0; s < p.slices; s++ {
			k := p.blockVectors(rowAt[16*s:16*s+16], per, c)
			p.counts[c*p.slices+s] = k
			vecs += int(k)
		}
	}
	p.chunkStart[p.chunks] = vecs
	// base[b] and ibase[b] are the first vector and the first index byte of
	// block b = c*slices+s; fill[c*rows+r] counts the entries of row r in
	// chunk c placed so far.
	base := make([]int, p.chunks*p.slices)
	ibase := make([]int, p.chunks*p.slices)
	v, ib := 0, 0
	p.skip = make([]int64, 2*p.chunks)
	for b := range base {
		base[b], ibase[b] = v, ib
		k := int(p.counts[b])
		v += k
		ib += 64 * ((k + 3) / 4)
		c := b / p.slices
		p.skip[2*c] += int64(64 * ((k + 3) / 4))
		p.skip[2*c+1] += int64(64 * k)
	}
	p.idxStart = make([]int, p.chunks+1)
	for c := 0; c < p.chunks; c++ {
		p.idxStart[c+1] = p.idxStart[c] + int(p.skip[2*c])
	}
	p.idx = make([]uint8, ib)
	p.val = make([]float32, 16*vecs)
	fill := make([]int32, p.chunks*a.Rows)
	for r := 0; r < a.Rows; r++ {
		s, l := int(p.lane[r])/16, int(p.lane[r])%16
		for e := a.RowPtr[r]; e < a.RowPtr[r+1]; e++ {
			col := int(a.ColIdx[e])
			c := col / 32
			k := int(fill[c*a.Rows+r])
			fill[c*a.Rows+r]++
			b := c*p.slices + s
			p.idx[ibase[b]+64*(k/4)+4*l+k%4] = uint8(col % 32)
			p.val[16*(base[b]+k)+l] = a.Val[e]
		}
	}
	return p
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
// Chunks of 32 elements of x that are all zero (+0.0) are skipped, as the
// pixels around an MNIST digit or the outputs of a ReLU often are; a NaN or
// infinite weight then meets them without turning the sum into NaN. It
// panics if len(x) != a.Cols() or len(dst) != a.Rows().
func SpMV(dst []float32, a *SlicedCSR, x []float32) {
	checkLen("SpMV", len(x), a.cols)
	checkLen("SpMV", len(dst), a.rows)
	if a.rows == 0 {
		return
	}
	yp := getBuf(16 * a.slices)
	defer putBuf(yp)
	y := *yp
	clear(y)
	full := a.cols / 32
	spmvSliced(y, x[:32*full], a, 0, full)
	if full < a.chunks {
		var xc [32]float32
		copy(xc[:], x[32*full:])
		spmvSliced(y, xc[:], a, full, a.chunks)
	}
	for r, l := range a.lane {
		dst[r] = y[l]
	}
}

// blockVectors returns the number of vectors of the block of chunk c whose
// slice holds rows (-1 for an empty lane): the largest count among them.
func (p *SlicedCSR) blockVectors(rows []int32, per []int32, c int) int32 {
	var k int32
	for _, r := range rows {
		if r >= 0 {
			k = max(k, per[c*p.rows+int(r)])
		}
	}
	return k
}

// sliceVectors returns the number of vectors of a slice holding rows, over
// all chunks.
func (p *SlicedCSR) sliceVectors(rows []int32, per []int32) int {
	n := 0
	for c := 0; c < p.chunks; c++ {
		n += int(p.blockVectors(rows, per, c))
	}
	return n
}

// arrange permutes rowAt (the row in each lane) to reduce the number of
// vectors: 64 random swaps per row between two slices, each kept when the
// two slices need no more vectors than before. The generator is seeded, so
// the layout of a matrix is always the same.
func (p *SlicedCSR) arrange(rowAt []int32, per []int32) {
	if p.slices < 2 {
		return
	}
	rnd := rand.New(rand.NewPCG(1, uint64(p.rows)))
	cost := make([]int, p.slices)
	for s := range cost {
		cost[s] = p.sliceVectors(rowAt[16*s:16*s+16], per)
	}
	for range 64 * p.rows {
		i, j := rnd.IntN(len(rowAt)), rnd.IntN(len(rowAt))
		si, sj := i/16, j/16
		if si == sj || (rowAt[i] < 0 && rowAt[j] < 0) {
			continue
		}
		rowAt[i], rowAt[j] = rowAt[j], rowAt[i]
		ci := p.sliceVectors(rowAt[16*si:16*si+16], per)
		cj := p.sliceVectors(rowAt[16*sj:16*sj+16], per)
		if ci+cj <= cost[si]+cost[sj] {
			cost[si], cost[sj] = ci, cj
		} else {
			rowAt[i], rowAt[j] = rowAt[j], rowAt[i]
		}
	}
}

// spmvSlicedGo adds the blocks of chunks c0 ≤ c < c1 of a, applied to x
// (the elements of those chunks, 32 per chunk), to y (16 per slice).
func spmvSlicedGo(y, x []float32, a *SlicedCSR, c0, c1 int) {
	v, ib := a.chunkStart[c0], a.idxStart[c0]
	for c := c0; c < c1; c++ {
		xc := x[32*(c-c0) : 32*(c-c0)+32]
		if allZeroBits(xc) {
			v, ib = a.chunkStart[c+1], a.idxStart[c+1]
			continue
		}
		for s := 0; s < a.slices; s++ {
			ys := y[16*s : 16*s+16]
			k := int(a.counts[c*a.slices+s])
			for q := 0; q < k; q++ {
				grp, val := a.idx[ib+64*(q/4):ib+64*(q/4)+64], a.val[16*v:16*v+16]
				for l := range ys {
					ys[l] += val[l] * xc[grp[4*l+q%4]&31]
				}
				v++
			}
			ib += 64 * ((k + 3) / 4)
		}
	}
}

// allZeroBits reports whether every element of x is +0.0.
func allZeroBits(x []float32) bool {
	for _, v := range x {
		if math.Float32bits(v) != 0 {
			return false
		}
	}
	return true
}
