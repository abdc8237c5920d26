package kernels

// Blocked SGEMM
//
// sgemm follows the BLIS/GotoBLAS layering. C is cut into column blocks of
// blockN columns and op(B) into blockK×blockN blocks; the micro-kernel
// multiplies an mr-row panel of op(A) by an nr-column panel of op(B) into
// an mr×nr tile of C held in registers, scaling by alpha and adding beta·C
// as it stores the tile (beta for the first k block, 1 for later ones).
//
// The kernels take strides for A and B, so small products read them in
// place: A by rows (or by columns when transposed) and op(B) by rows when
// B is not transposed. Panels are packed into contiguous buffers only
// where it pays: op(B) when it is transposed (an AVX-512 16×16 register
// transpose), when the kernel has no column masks, or for large products
// with long k; op(A) for large products with long k whose panels are
// reused across at least four column panels, and for the last, partial
// row panel (so that the kernel may read all its rows). Packed
// panels keep their pad rows and columns unspecified: row r of a tile
// depends only on row r of A, column j only on column j of B, and the
// kernels never store pad rows or columns (column masks, or a scratch tile
// for kernels without masks).
//
// A·Bᵀ with a small C and long k is computed as 4×4 blocks of row dot
// products (both operands are k-contiguous), with nothing packed; a small
// cost model (tile padding, transposes, reductions) picks it, the direct
// product or the swapped one below.
//
// Two shapes are computed through the transpose Cᵀ = op(B)ᵀ·op(A)ᵀ: a
// narrow C (n < nr/2 and m > n), whose rows are then the short side, and
// A·Bᵀ with a B much larger than A, where reading B in place and
// transposing the smaller A and the result beats transposing B. Large products are split into column (or row)
// stripes of C across goroutines, each running the serial algorithm with
// its own pooled buffers.

import (
	"math/bits"
	"runtime"
	"sync"
	"unsafe"
)

// microKernel describes a register-blocked GEMM micro-kernel of tile size
// MR×NR (the mr and nr fields). fn computes, for r < mr and j < nr,
//
//	acc := Σ_{p<k} a[r*rsA+p*csA] * b[p*csB+j]
//	c[r*ldc+j] = alpha*acc + beta*c[r*ldc+j]   if accumulate
//	c[r*ldc+j] = alpha*acc                     otherwise
//
// with k ≥ 1 and 1 ≤ mr ≤ MR. All MR rows of a are read, whatever mr is.
// A kernel with masked set reads and writes only the nr ≤ NR columns of b
// and c; other kernels require nr == NR and read NR columns of b.
//
// small lists variants with fewer rows (ascending mr, same nr and
// masking) for the last, partial row panel, so that a panel of a few rows
// does not pay for a full tile.
//
// wide, if not nil, computes mr+1 rows. When the rows left in a block are
// some whole panels plus a remainder no larger than their count, that many
// panels take one row more instead (25 rows: 13+12, not 12+12+1): every
// panel streams the B panel once, and a panel of one or two rows costs a
// third of a full one for a twelfth of the work.
type microKernel struct {
	mr, nr int
	masked bool
	fn     kernelFunc
	small  []microKernel
	wide   kernelFunc
}

// panelRows returns the number of rows of the next row panel when rem rows
// of the block are left, and its kernel: mr+1 rows with the wide kernel
// while the remainder past whole panels can be spread over them (not when
// A is packed, in panels of mr rows), mr rows, or the partial remainder.
func (mk microKernel) panelRows(rem int, packed bool) (int, kernelFunc) {
	if mk.wide != nil && !packed && rem > mk.mr {
		if r := rem % mk.mr; r > 0 && r <= rem/mk.mr {
			return mk.mr + 1, mk.wide
		}
	}
	if rem < mk.mr {
		return rem, mk.forRows(rem)
	}
	return mk.mr, mk.fn
}

// kernelFunc is the signature of the SGEMM micro-kernels.
type kernelFunc func(k int, a *float32, rsA, csA int, b *float32, csB int, c *float32, ldc int, alpha, beta float32, mr, nr int, accumulate bool)

// forRows returns the kernel function with the fewest rows that still
// covers rows.
func (mk microKernel) forRows(rows int) kernelFunc {
	for _, s := range mk.small {
		if s.mr >= rows {
			return s.fn
		}
	}
	return mk.fn
}

// Cache blocking parameters (in elements).
const (
	blockK = 192
	blockM = 192 // multiple of every kernel's mr
	blockN = 2048
)

// parallelMinWork is the smallest m·n·k product worth a second goroutine.
const parallelMinWork = 1 << 19

// gemmParallelMinWork is the smallest m·n·k product that sgemmDirect splits between
// goroutines. Below about 4M multiply-adds (for example a 16×1024×144 convolution of
// one image) the second goroutine's start and the wait for it cost more than its half
// of the work saves: on two cores, resnet20's training step took 400 ms with a 512K
// threshold and 340 ms with this one, and its batch-1 inference 1.7 ms against 1.25.
const gemmParallelMinWork = 1 << 22

// smallWork is the largest m·n·k product computed without the micro-kernel.
const smallWork = 1 << 10

// floatPools recycle packing and scratch buffers, one pool per power-of-two
// capacity, so that the many products of a training step do not allocate
// and a buffer taken from a pool is always large enough. They hold no
// semantic state.
var floatPools [64]sync.Pool

// sizeClass returns the power-of-two class that holds n elements.
func sizeClass(n int) int { return bits.Len(uint(max(n, 1) - 1)) }

// getBuf returns a buffer of n float32s (contents unspecified); give it
// back with putBuf.
func getBuf(n int) *[]float32 {
	c := sizeClass(n)
	if p, ok := floatPools[c].Get().(*[]float32); ok {
		*p = (*p)[:n]
		return p
	}
	s := make([]float32, n, 1<<c)
	return &s
}

// putBuf returns a buffer obtained from getBuf.
func putBuf(p *[]float32) { floatPools[sizeClass(cap(*p))].Put(p) }

// sgemm is Sgemm after argument checking: m, n, k ≥ 1 and alpha != 0.
func sgemm(kern microKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if n == 1 && ldc == 1 && (transB || ldb == 1) {
		sgemv(transA, m, k, alpha, a, lda, b[:k], beta, c[:m])
		return
	}
	if m*n*k <= smallWork || m == 1 {
		sgemmSimple(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if transB && !transA && hasDot4x4 && kern.masked && dotCheaper(kern, m, n, k, beta != 0) {
		// A small C with long k: dot products of rows, nothing packed.
		sgemmDotNT(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if 2*n < kern.nr && m > n {
		// A narrow C would leave most of each register tile idle:
		// compute Cᵀ = op(B)ᵀ·op(A)ᵀ, whose rows are the short side,
		// and transpose it back.
		sgemmSwapped(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if transB && !transA && kern.masked && swapCheaper(kern, m, n, k, beta != 0) {
		// C = A·Bᵀ would transpose all of B into panels; Cᵀ = B·Aᵀ
		// reads B in place and transposes the smaller A and the result.
		sgemmSwapped(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	sgemmDirect(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// transposeCost is the cost of transposing one element into a panel, in
// multiply-adds (a 16×16 register transpose costs about a quarter cycle per
// element, in which an AVX-512 core does eight 16-lane FMAs' worth).
const transposeCost = 8

// tileWork returns the multiply-adds per k step that the kernel performs
// for an m×n C, counting the padding of partial tiles (partial row panels
// round up to the smallest row variant).
func tileWork(kern microKernel, m, n int) int {
	step := kern.mr
	if len(kern.small) > 0 {
		step = kern.small[0].mr
	}
	return roundUp(m, step) * roundUp(n, kern.nr)
}

// swapCheaper reports whether A·Bᵀ costs less computed as Cᵀ = B·Aᵀ:
// directly, all of B (n×k) is transposed into panels; swapped, A (m×k)
// and the m×n result (twice when it must be added to C) are.
func swapCheaper(kern microKernel, m, n, k int, accumulate bool) bool {
	direct := tileWork(kern, m, n)*k + transposeCost*n*k
	result := transposeCost * m * n
	if accumulate {
		result *= 2
	}
	swapped := tileWork(kern, n, m)*k + transposeCost*m*k + result
	return swapped < direct
}

// dotCheaper reports whether A·Bᵀ costs less as 4×4 blocks of row dot
// products (see sgemmDotNT) than through the packed kernels, directly or
// swapped. The dot kernel streams eight rows per block from L2 (about a
// third slower than the register-tiled kernel per multiply-add) and
// reduces each result horizontally.
func dotCheaper(kern microKernel, m, n, k int, accumulate bool) bool {
	dot := m*n*k*4/3 + 64*m*n
	direct := tileWork(kern, m, n)*k + transposeCost*n*k
	result := transposeCost * m * n
	if accumulate {
		result *= 2
	}
	swapped := tileWork(kern, n, m)*k + transposeCost*m*k + result
	return dot < min(direct, swapped)
}

// sgemmDotNT computes C = alpha·A·Bᵀ + beta·C with A m×k and B n×k read by
// rows, from 4×4 blocks of dot products (edges with four-row dot products
// and single ones). It suits a small C with long k, where packing would
// transpose a B as large as the work.
func sgemmDotNT(m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	set := func(i, j int, v float32) {
		if beta == 0 {
			c[i*ldc+j] = alpha * v
		} else {
			c[i*ldc+j] = alpha*v + beta*c[i*ldc+j]
		}
	}
	var s16 [16]float32
	var s4 [4]float32
	m4, n4 := m&^3, n&^3
	for i0 := 0; i0 < m4; i0 += 4 {
		for j0 := 0; j0 < n4; j0 += 4 {
			dot4x4(&s16, a[i0*lda:], lda, b[j0*ldb:], ldb, k)
			for i := 0; i < 4; i++ {
				for j := 0; j < 4; j++ {
					set(i0+i, j0+j, s16[4*i+j])
				}
			}
		}
		for j := n4; j < n; j++ {
			dot4(&s4, b[j*ldb:j*ldb+k], a[i0*lda:], lda)
			for i, v := range s4 {
				set(i0+i, j, v)
			}
		}
	}
	for i := m4; i < m; i++ {
		arow := a[i*lda : i*lda+k]
		j := 0
		for ; j+4 <= n; j += 4 {
			dot4(&s4, arow, b[j*ldb:], ldb)
			for r, v := range s4 {
				set(i, j+r, v)
			}
		}
		for ; j < n; j++ {
			set(i, j, dotUnitary(arow, b[j*ldb:j*ldb+k]))
		}
	}
}

// sgemmDirect runs the blocked algorithm on C itself, in parallel stripes
// for large products.
func sgemmDirect(kern microKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	workers := min(runtime.GOMAXPROCS(0), m*n*k/gemmParallelMinWork)
	// Split the larger of m and n into stripes that are multiples of the
	// kernel tile.
	splitN := n >= m
	unit, size := kern.mr, m
	if splitN {
		unit, size = kern.nr, n
	}
	workers = min(workers, (size+unit-1)/unit)
	if workers <= 1 {
		sgemmSerial(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	units := (size + unit - 1) / unit
	stripe := func(s, e int) {
		if splitN {
			bOff := s
			if transB {
				bOff = s * ldb
			}
			sgemmSerial(kern, transA, transB, m, e-s, k, alpha, a, lda, b[bOff:], ldb, beta, c[s:], ldc)
			return
		}
		aOff := s * lda
		if transA {
			aOff = s
		}
		sgemmSerial(kern, transA, transB, e-s, n, k, alpha, a[aOff:], lda, b, ldb, beta, c[s*ldc:], ldc)
	}
	// Stripes 1.. run on new goroutines, stripe 0 on this one.
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		s, e := min(size, units*w/workers*unit), min(size, units*(w+1)/workers*unit)
		if s < e {
			wg.Go(func() { stripe(s, e) })
		}
	}
	stripe(0, min(size, units/workers*unit))
	wg.Wait()
}

// sgemmSwapped computes C through its transpose T = op(B)ᵀ·op(A)ᵀ (n×m),
// then sets C = Tᵀ + beta·C.
func sgemmSwapped(kern microKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	buf := getBuf(n * m)
	defer putBuf(buf)
	t := *buf
	sgemmDirect(kern, !transB, !transA, n, m, k, alpha, b, ldb, a, lda, 0, t, m)
	if beta == 0 {
		for j0 := 0; j0 < n; j0 += 16 {
			transposeInto(c[j0:], ldc, t[j0*m:], m, min(16, n-j0), m)
		}
		return
	}
	ubuf := getBuf(m * n)
	defer putBuf(ubuf)
	u := *ubuf
	for j0 := 0; j0 < n; j0 += 16 {
		transposeInto(u[j0:], n, t[j0*m:], m, min(16, n-j0), m)
	}
	for i := 0; i < m; i++ {
		crow := c[i*ldc : i*ldc+n]
		if beta != 1 {
			scaleUnitary(crow, beta)
		}
		axpyUnitary(crow, 1, u[i*n:(i+1)*n])
	}
}

// sgemmSerial runs the blocked algorithm on one goroutine.
//
// op(B) is packed when the kernel cannot read it in place (Bᵀ, or a kernel
// without column masks) or when the product is large enough for the
// contiguous panels to pay off; op(A) is packed in the large case when its
// panels are reused across at least four column panels, and for the last,
// partial row panel.
func sgemmSerial(kern microKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	mr, nr := kern.mr, kern.nr
	large := m > blockM || n > blockN
	packAll := large && k > 64 && n >= 4*nr
	packBAll := (large && k > 64) || transB || !kern.masked

	kc0 := min(k, blockK)
	mc0 := min(roundUp(m, mr), blockM)
	nc0 := min(roundUp(n, nr), blockN)
	need := mr*kc0 + mr*nr
	if packAll {
		need += mc0 * kc0
	}
	if packBAll {
		need += kc0 * nc0
	}
	buf := getBuf(need)
	defer putBuf(buf)
	rest := *buf
	carve := func(n int) []float32 {
		s := rest[:n:n]
		rest = rest[n:]
		return s
	}
	tail := carve(mr * kc0) // the partial row panel
	tile := carve(mr * nr)  // scratch tile for kernels without masks
	var ap, bp []float32
	if packAll {
		ap = carve(mc0 * kc0)
	}
	if packBAll {
		bp = carve(kc0 * nc0)
	}

	for jc := 0; jc < n; jc += blockN {
		nb := min(blockN, n-jc)
		for pc := 0; pc < k; pc += blockK {
			kb := min(blockK, k-pc)
			csB := ldb
			if packBAll {
				packB(bp, transB, b, ldb, pc, jc, kb, nb, nr)
				csB = nr
			}
			accumulate := pc > 0 || beta != 0
			betaEff := beta
			if pc > 0 {
				betaEff = 1
			}
			for ic := 0; ic < m; ic += blockM {
				mb := min(blockM, m-ic)
				if packAll {
					packA(ap, transA, a, lda, ic, pc, mb, kb, mr)
				}
				for jr := 0; jr < nb; jr += nr {
					ncols := min(nr, nb-jr)
					var bpan *float32
					if packBAll {
						bpan = &bp[jr*kb]
					} else {
						bpan = &b[pc*ldb+jc+jr]
					}
					for ir, nrows := 0, 0; ir < mb; ir += nrows {
						var fn kernelFunc
						nrows, fn = kern.panelRows(mb-ir, packAll)
						var apan *float32
						rsA, csA := 1, mr
						switch {
						case packAll:
							apan = &ap[ir*kb]
						case nrows < mr:
							if jr == 0 {
								packA(tail, transA, a, lda, ic+ir, pc, nrows, kb, mr)
							}
							apan = &tail[0]
						case transA:
							apan, rsA, csA = &a[pc*lda+ic+ir], 1, lda
						default:
							apan, rsA, csA = &a[(ic+ir)*lda+pc], lda, 1
						}
						ci := (ic+ir)*ldc + jc + jr
						if ncols == nr || kern.masked {
							fn(kb, apan, rsA, csA, bpan, csB, &c[ci], ldc, alpha, betaEff, nrows, ncols, accumulate)
							continue
						}
						fn(kb, apan, rsA, csA, bpan, csB, &tile[0], nr, alpha, 0, nrows, nr, false)
						for r := 0; r < nrows; r++ {
							crow := c[ci+r*ldc : ci+r*ldc+ncols]
							trow := tile[r*nr : r*nr+ncols]
							if accumulate {
								for j, v := range trow {
									crow[j] = v + betaEff*crow[j]
								}
							} else {
								copy(crow, trow)
							}
						}
					}
				}
			}
		}
	}
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// packA packs the mb×kb block of op(A) starting at (i0, p0) into mr-row
// micro-panels: dst[ir*kb + p*mr + r] = op(A)[i0+ir+r][p0+p]. Rows past mb
// are left as they are: row r of a tile of C depends on row r of A only,
// and the kernels never store rows past mb.
func packA(dst []float32, transA bool, a []float32, lda, i0, p0, mb, kb, mr int) {
	for ir := 0; ir < mb; ir += mr {
		rows := min(mr, mb-ir)
		pan := dst[ir*kb : ir*kb+kb*mr]
		if transA {
			// op(A)[i][p] = a[p*lda+i]: each p reads rows contiguous values.
			for p := 0; p < kb; p++ {
				src := a[(p0+p)*lda+i0+ir:]
				src = src[:rows]
				d := pan[p*mr : p*mr+mr]
				copy(d, src)
			}
			continue
		}
		for r0 := 0; r0 < rows; r0 += 16 {
			transposeInto(pan[r0:], mr, a[(i0+ir+r0)*lda+p0:], lda, min(16, rows-r0), kb)
		}
	}
}

// packStrided sets dst[p*stride] = src[p].
func packStrided(dst, src []float32, stride int) {
	if len(src) == 0 {
		return
	}
	_ = dst[(len(src)-1)*stride]
	for p, v := range src {
		*(*float32)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(dst)), p*stride*4)) = v
	}
}

// packB packs the kb×nb block of op(B) starting at (p0, j0) into nr-column
// micro-panels: dst[jr*kb + p*nr + j] = op(B)[p0+p][j0+jr+j]. Columns past
// nb are left as they are (the masked kernels do not load them; the others
// compute them into a scratch tile that is not copied out).
func packB(dst []float32, transB bool, b []float32, ldb, p0, j0, kb, nb, nr int) {
	for jr := 0; jr < nb; jr += nr {
		cols := min(nr, nb-jr)
		pan := dst[jr*kb : jr*kb+kb*nr]
		if !transB {
			for p := 0; p < kb; p++ {
				src := b[(p0+p)*ldb+j0+jr:]
				src = src[:cols]
				d := pan[p*nr : p*nr+nr]
				copy(d, src)
			}
			continue
		}
		// op(B)[p][j] = b[j*ldb+p]: column j of the panel is a contiguous
		// run of b.
		for jb := 0; jb < cols; jb += 16 {
			transposeInto(pan[jb:], nr, b[(j0+jr+jb)*ldb+p0:], ldb, min(16, cols-jb), kb)
		}
	}
}

// transposeInto stores dst[p*ldd+r] = src[r*lds+p] for r < rows and
// p < cols, using the SIMD transpose when one is available.
func transposeInto(dst []float32, ldd int, src []float32, lds int, rows, cols int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	_ = dst[(cols-1)*ldd+rows-1]
	_ = src[(rows-1)*lds+cols-1]
	p := 0
	if transpose16 != nil && rows <= 16 && cols >= 16 {
		blocks := cols / 16
		transpose16(&dst[0], ldd, &src[0], lds, rows, blocks)
		p = blocks * 16
	}
	if p == cols {
		return
	}
	for r := 0; r < rows; r++ {
		s := src[r*lds+p : r*lds+cols]
		packStrided(dst[p*ldd+r:], s, ldd)
	}
}
