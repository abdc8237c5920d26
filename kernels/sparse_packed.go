package kernels

import (
	"runtime"
	"slices"
	"sync"
)

// Column-blocked sparse products.
//
// SpMM reads, for every non-zero a[i][c], the whole row c of b. When b is
// larger than the L1 cache (a 784×64 activation is 200 KB), those reads come
// from L2 and bound the product. A PackedCSR splits a's columns into blocks
// whose rows of b fit L1 (spmmBlockBytes at the width it was packed for) and
// keeps one CSR per block; SpMMPacked runs the blocks one after the other,
// the first overwriting dst and the others adding to it, each sweep over the
// rows inside one assembly call. A b wider than 64 columns is taken in
// panels of 64 (the outer loop), so a block's slice of b is the same size
// at any batch.
//
// What bounds it, measured on a trained 90%-sparse 784→300 weight at batch
// 64 (Sapphire Rapids, 3.7 GHz): about 4.2 cycles per non-zero. The inner
// loop alone, on one row of 23,520 entries whose rows of b stay in L1,
// takes 3.8: per non-zero it issues four FMAs, four zmm loads of b and two
// scalar loads: 3.9 FMAs and 5.8 loads a nanosecond, 62% and 76% of what
// loops of nothing but FMAs (eight chains) or loads reach. With both ports
// that busy, only fewer loads per FMA would help, and unstructured 90%
// sparsity gives no reuse of a row of b in registers (two rows share a
// tenth of their columns). The round trips
// of each row's 256 bytes of dst through L2 at every block add about 10%.
// Measured and rejected: four sets of accumulators instead of two (no
// faster alone, slower with their clearing and sums); FMAs without masks,
// or from registers loaded apart, or shifts for the column offsets instead
// of IMUL (no faster); blocks of 28 to 44 KB (no difference), of 8 to 24 KB
// (up to 1.9 times slower: more blocks, more round trips of dst), one
// block (a third slower: b comes from L2); prefetching the next block's
// rows of x into L2 while a block runs, when x comes a sample per row (no
// faster on inputs that come from L3). That first layer's per-block
// transposes of x take about a tenth of a batch-64 pass of lenet300_100
// (5 µs for 784×64 values from L2, 40 bytes a nanosecond): a 16-row
// transpose that loads quarter rows with inserts, so that a third of the
// shuffles remain, was 1-2% faster (the transpose is bound by memory, not
// by its shuffles), and software prefetching two to eight tiles ahead made
// it 5-10% slower. Inputs that come from memory (a new batch each call, as
// dst bench times them) cost the trained 784→300 layer 5 µs more than one
// batch used again (42 against 37 µs); prefetching the next block's slice
// of x into L1 or L2, an eighth of it before each eighth of the current
// block's rows, made it 2 µs slower. Padding every row of a block to an
// even number of entries, so that the kernel's odd-entry branch never
// runs, was no faster either.

// spmmPanel is the width of the panels of b (and dst) that SpMMPacked sweeps
// one after the other: the 64 columns one assembly call covers.
const spmmPanel = 64

// spmmBlockBytes is the size of the slice of b one column block of a
// PackedCSR reads: with the weights and the rows of dst streaming through,
// it stays in a 48 KB L1.
const spmmBlockBytes = 40 << 10

// PackedCSR is a sparse matrix prepared for repeated [SpMMPacked] products
// with a b of a given width. It is built by [PackCSR], which validates it
// once: the kernels do not check it again. It is immutable and safe for
// concurrent use.
type PackedCSR struct {
	rows, cols, nnz int
	rowPtr          []int32 // the whole matrix's, to share rows among goroutines
	blocks          []csrBlock
}

// csrBlock holds the entries of columns c0 ≤ c < c1 of a PackedCSR: a
// rows-row CSR whose column indices are relative to c0. val and colIdx
// have one element of spare capacity, so that a pointer to the first entry
// of any row (even past the last one) can be taken.
type csrBlock struct {
	c0, c1 int
	rowPtr []int32
	colIdx []int32
	val    []float32
}

// PackCSR returns a packed for products with a b of n columns (any width may
// be used later; n only sets the block size). It panics if a is malformed
// (see [CSR]) or n < 1.
func PackCSR(a *CSR, n int) *PackedCSR {
	if n < 1 {
		panic("kernels: PackCSR: n must be >= 1")
	}
	a.check("PackCSR")
	a.checkCols("PackCSR")
	kb := max(8, spmmBlockBytes/(4*min(n, spmmPanel)))
	p := &PackedCSR{rows: a.Rows, cols: a.Cols, nnz: a.NNZ(), rowPtr: slices.Clone(a.RowPtr)}
	for c0 := 0; c0 < a.Cols || (c0 == 0 && a.Rows > 0); c0 += kb {
		c1 := min(c0+kb, a.Cols)
		blk := csrBlock{c0: c0, c1: c1, rowPtr: make([]int32, a.Rows+1)}
		for i := 0; i < a.Rows; i++ {
			for e := a.RowPtr[i]; e < a.RowPtr[i+1]; e++ {
				if c := int(a.ColIdx[e]); c >= c0 && c < c1 {
					blk.rowPtr[i+1]++
				}
			}
			blk.rowPtr[i+1] += blk.rowPtr[i]
		}
		nz := int(blk.rowPtr[a.Rows])
		blk.colIdx = make([]int32, 0, nz+1)
		blk.val = make([]float32, 0, nz+1)
		for i := 0; i < a.Rows; i++ {
			for e := a.RowPtr[i]; e < a.RowPtr[i+1]; e++ {
				if c := int(a.ColIdx[e]); c >= c0 && c < c1 {
					blk.colIdx = append(blk.colIdx, int32(c-c0))
					blk.val = append(blk.val, a.Val[e])
				}
			}
		}
		p.blocks = append(p.blocks, blk)
		if c1 >= a.Cols {
			break
		}
	}
	return p
}

// Rows returns the number of rows of the matrix.
func (p *PackedCSR) Rows() int { return p.rows }

// Cols returns the number of columns of the matrix.
func (p *PackedCSR) Cols() int { return p.cols }

// NNZ returns the number of stored entries.
func (p *PackedCSR) NNZ() int { return p.nnz }

// SpMMPacked computes dst = a·b like [SpMM] (same reference loop), with a
// packed by [PackCSR]; dst is overwritten. Large products are split by rows
// across up to runtime.GOMAXPROCS(0) goroutines. It panics if n is
// negative, len(b) != a.Cols()·n or len(dst) != a.Rows()·n.
func SpMMPacked(dst []float32, a *PackedCSR, b []float32, n int) {
	spmmPacked("SpMMPacked", dst, a, b, n, nil, false)
}

// SpMMPackedBias is [SpMMPacked] followed by a Linear layer's epilogue in the
// features × batch layout, done as each row is stored:
//
//	dst[i*n+j] = (a·b)[i][j] + bias[i]      (relu: max of that and 0)
//
// It panics as SpMMPacked does, and if len(bias) != a.Rows().
func SpMMPackedBias(dst []float32, a *PackedCSR, b []float32, n int, bias []float32, relu bool) {
	checkLen("SpMMPackedBias", len(bias), a.rows)
	spmmPacked("SpMMPackedBias", dst, a, b, n, bias, relu)
}

// SpMMPackedRows is [SpMMPackedBias] (bias may be nil: no epilogue) with b
// given as its transpose: x holds n rows of a.Cols() values, a batch of n
// samples as a Linear layer receives them, and
//
//	dst[i*n+j] = Σ_c a[i][c]·x[j*a.Cols()+c] (+ bias[i], relu)
//
// It transposes x one column block at a time, as the block is about to be
// used, into a buffer that stays in L1: the whole transpose before
// SpMMPacked would write x's transpose out to L2 and read it back. It panics
// as SpMMPackedBias does, with len(x) for len(b).
func SpMMPackedRows(dst []float32, a *PackedCSR, x []float32, n int, bias []float32, relu bool) {
	if bias != nil {
		checkLen("SpMMPackedRows", len(bias), a.rows)
	}
	spmmPackedFrom("SpMMPackedRows", dst, a, x, n, bias, relu, true)
}

// spmmPacked is SpMMPacked with an optional epilogue (bias != nil).
func spmmPacked(fn string, dst []float32, a *PackedCSR, b []float32, n int, bias []float32, relu bool) {
	spmmPackedFrom(fn, dst, a, b, n, bias, relu, false)
}

// spmmPackedFrom is spmmPacked, reading b transposed (n rows of a.cols
// values) when rows is set.
func spmmPackedFrom(fn string, dst []float32, a *PackedCSR, b []float32, n int, bias []float32, relu, rows bool) {
	if n < 0 {
		panic("kernels: " + fn + ": negative dimension")
	}
	checkLen(fn, len(b), a.cols*n)
	checkLen(fn, len(dst), a.rows*n)
	if n == 0 || a.rows == 0 {
		return
	}
	if a.cols == 0 {
		clear(dst)
		if bias != nil {
			for i, v := range bias {
				addConstUnitary(dst[i*n:(i+1)*n], v)
			}
			if relu {
				reluUnitary(dst, dst)
			}
		}
		return
	}
	workers := min(runtime.GOMAXPROCS(0), a.rows, a.nnz*n/parallelMinWork)
	if workers <= 1 {
		a.rowRange(dst, b, n, 0, a.rows, bias, relu, rows)
		return
	}
	// Split the rows so that every goroutine gets about the same number of
	// non-zeros; the first share runs on this goroutine.
	ptr := a.rowPtr
	total := a.nnz
	var wg sync.WaitGroup
	prev, firstEnd := 0, 0
	for w := 1; w <= workers; w++ {
		end := a.rows
		if w < workers {
			r, _ := slices.BinarySearch(ptr, int32(total*w/workers))
			end = max(prev, min(r, a.rows))
		}
		if w == 1 {
			firstEnd = end
		} else {
			r0, r1 := prev, end
			wg.Go(func() { a.rowRange(dst, b, n, r0, r1, bias, relu, rows) })
		}
		prev = end
	}
	a.rowRange(dst, b, n, 0, firstEnd, bias, relu, rows)
	wg.Wait()
}

// rowRange computes rows r0 ≤ i < r1 of SpMMPacked, panel after panel of
// 64 columns and, within a panel, block after block; the last block applies
// the epilogue when bias is not nil. When rows is set, b is the transpose
// (n rows of a.cols values), and each block's slice of it is transposed
// into a buffer before use (each goroutine its own).
func (a *PackedCSR) rowRange(dst, b []float32, n, r0, r1 int, bias []float32, relu, rows bool) {
	if r0 >= r1 {
		return
	}
	d := dst[r0*n : r1*n]
	var rb []float32
	if bias != nil {
		rb = bias[r0:r1]
	}
	var buf *[]float32
	if rows {
		kb := 0
		for _, blk := range a.blocks {
			kb = max(kb, blk.c1-blk.c0)
		}
		buf = getBuf(kb * n)
		defer putBuf(buf)
	}
	for j0 := 0; j0 < n; j0 += spmmPanel {
		w := min(spmmPanel, n-j0)
		for k := range a.blocks {
			blk := &a.blocks[k]
			var eb []float32
			if k == len(a.blocks)-1 {
				eb = rb
			}
			bb := b[blk.c0*n : blk.c1*n]
			if rows {
				// The block's rows of b, columns j0 ≤ j < j0+w, at their
				// places in a (c1-c0)×n matrix.
				kc := blk.c1 - blk.c0
				bb = (*buf)[:kc*n]
				for s := j0; s < j0+w; s += 16 {
					transposeInto(bb[s:], n, b[s*a.cols+blk.c0:], a.cols, min(16, j0+w-s), kc)
				}
			}
			spmmBlockRows(d, blk, bb, n, j0, w, r0, r1, k > 0, eb, relu)
		}
	}
}

// spmmBlockRowsGo computes columns j0 ≤ j < j0+w of rows r0 ≤ i < r1 of
// blk·b into d (row i at d[(i-r0)*n:]), adding to d when acc is set; then,
// when bias is not nil, adds bias[i-r0] to them and applies the ReLU if relu
// is set.
func spmmBlockRowsGo(d []float32, blk *csrBlock, b []float32, n, j0, w, r0, r1 int, acc bool, bias []float32, relu bool) {
	for i := r0; i < r1; i++ {
		lo, hi := blk.rowPtr[i], blk.rowPtr[i+1]
		drow := d[(i-r0)*n+j0 : (i-r0)*n+j0+w]
		if !acc {
			clear(drow)
		}
		for e, c := range blk.colIdx[lo:hi] {
			axpyUnitary(drow, blk.val[lo+int32(e)], b[int(c)*n+j0:int(c)*n+j0+w])
		}
		if bias != nil {
			addConstUnitary(drow, bias[i-r0])
			if relu {
				reluUnitary(drow, drow)
			}
		}
	}
}
