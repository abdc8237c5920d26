package kernels

// Blocked SGEMM
//
// sgemm follows the BLIS/GotoBLAS layering. C is cut into column blocks
// of nc columns; op(B) into kc×nc blocks that are packed into nr-wide
// micro-panels (each kc rows of nr contiguous values, zero-padded); op(A)
// into mc×kc blocks packed into mr-tall micro-panels (kc columns of mr
// contiguous values, scaled by alpha, zero-padded). The micro-kernel then
// multiplies one A micro-panel by one B micro-panel into an mr×nr tile of
// C held entirely in registers. The packed B block stays in L2/L3, the A
// block in L2 and one B micro-panel in L1 while the kernel sweeps the A
// panels.
//
// beta is applied by the micro-kernel when it writes the first kc block;
// later kc blocks accumulate with beta = 1. Edge tiles (fewer than mr rows
// or nr columns) are handled inside the kernel (row count, column masks) or,
// for kernels without masks, through a scratch tile.
//
// Large products are split into column (or row) stripes of C, one per
// goroutine, each running the serial algorithm with its own packing
// buffers.

import (
	"runtime"
	"sync"
	"unsafe"
)

// microKernel describes a register-blocked GEMM micro-kernel. fn computes,
// for r < mr and j < nr,
//
//	acc := Σ_{p<k} a[p*MR+r] * b[p*NR+j]
//	c[r*ldc+j] = acc + beta*c[r*ldc+j]   if accumulate
//	c[r*ldc+j] = acc                     otherwise
//
// where MR and NR are the kernel's tile sizes and a, b point to packed
// micro-panels. k ≥ 1, 1 ≤ mr ≤ MR; nr must be NR unless masked is set.
type microKernel struct {
	mr, nr int
	masked bool
	fn     func(k int, a, b, c *float32, ldc int, beta float32, mr, nr int, accumulate bool)
}

// Cache blocking parameters (in elements).
const (
	blockK = 256
	blockM = 192 // multiple of every kernel's mr
	blockN = 2048
)

// parallelMinWork is the smallest m·n·k product worth a second goroutine.
const parallelMinWork = 1 << 19

// smallWork is the largest m·n·k product computed without packing.
const smallWork = 1 << 10

// packPool recycles packing buffers so that the many small products of a
// training step do not allocate. It holds no semantic state.
var packPool = sync.Pool{New: func() any { return new([]float32) }}

func getBuf(n int) *[]float32 {
	p := packPool.Get().(*[]float32)
	if cap(*p) < n {
		*p = make([]float32, n)
	}
	*p = (*p)[:n]
	return p
}

// sgemm is Sgemm after argument checking: m, n, k ≥ 1 and alpha != 0.
func sgemm(kern microKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m*n*k <= smallWork {
		sgemmSimple(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	workers := min(runtime.GOMAXPROCS(0), m*n*k/parallelMinWork)
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
	var wg sync.WaitGroup
	start := 0
	for w := 0; w < workers; w++ {
		end := min(size, (units*(w+1)/workers)*unit)
		if end <= start {
			continue
		}
		s, e := start, end
		start = end
		wg.Go(func() {
			if splitN {
				bOff := s
				if transB {
					bOff = s * ldb
				}
				sgemmSerial(kern, transA, transB, m, e-s, k, alpha, a, lda, b[bOff:], ldb, beta, c[s:], ldc)
			} else {
				aOff := s * lda
				if transA {
					aOff = s
				}
				sgemmSerial(kern, transA, transB, e-s, n, k, alpha, a[aOff:], lda, b, ldb, beta, c[s*ldc:], ldc)
			}
		})
	}
	wg.Wait()
}

// sgemmSerial runs the blocked algorithm on one goroutine.
func sgemmSerial(kern microKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	mr, nr := kern.mr, kern.nr
	kc0 := min(k, blockK)
	mc0 := min(roundUp(m, mr), blockM)
	nc0 := min(roundUp(n, nr), blockN)
	abuf := getBuf(mc0 * kc0)
	bbuf := getBuf(kc0 * nc0)
	defer packPool.Put(abuf)
	defer packPool.Put(bbuf)
	ap, bp := *abuf, *bbuf
	var tile [16 * 32]float32 // scratch for kernels without column masks

	for jc := 0; jc < n; jc += blockN {
		nb := min(blockN, n-jc)
		for pc := 0; pc < k; pc += blockK {
			kb := min(blockK, k-pc)
			packB(bp, transB, b, ldb, pc, jc, kb, nb, nr)
			accumulate := pc > 0 || beta != 0
			betaEff := beta
			if pc > 0 {
				betaEff = 1
			}
			for ic := 0; ic < m; ic += blockM {
				mb := min(blockM, m-ic)
				packA(ap, transA, a, lda, ic, pc, mb, kb, mr, alpha)
				for jr := 0; jr < nb; jr += nr {
					ncols := min(nr, nb-jr)
					bpan := &bp[jr*kb]
					for ir := 0; ir < mb; ir += mr {
						nrows := min(mr, mb-ir)
						apan := &ap[ir*kb]
						ci := (ic+ir)*ldc + jc + jr
						if ncols == nr || kern.masked {
							kern.fn(kb, apan, bpan, &c[ci], ldc, betaEff, nrows, ncols, accumulate)
							continue
						}
						kern.fn(kb, apan, bpan, &tile[0], nr, 0, nrows, nr, false)
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
// micro-panels scaled by alpha: dst[ir*kb + p*mr + r] = alpha·op(A)[i0+ir+r][p0+p],
// with zero rows past mb.
func packA(dst []float32, transA bool, a []float32, lda, i0, p0, mb, kb, mr int, alpha float32) {
	for ir := 0; ir < mb; ir += mr {
		rows := min(mr, mb-ir)
		pan := dst[ir*kb : ir*kb+kb*mr]
		if transA {
			// op(A)[i][p] = a[p*lda+i]: each p reads rows contiguous values.
			for p := 0; p < kb; p++ {
				src := a[(p0+p)*lda+i0+ir:]
				src = src[:rows]
				d := pan[p*mr : p*mr+mr]
				for r, v := range src {
					d[r] = alpha * v
				}
				clear(d[rows:])
			}
			continue
		}
		if rows < mr {
			clear(pan)
		}
		for r := 0; r < rows; r++ {
			src := a[(i0+ir+r)*lda+p0:]
			src = src[:kb]
			packStrided(pan[r:], src, mr, alpha)
		}
	}
}

// packStrided sets dst[p*stride] = alpha·src[p].
func packStrided(dst, src []float32, stride int, alpha float32) {
	if len(src) == 0 {
		return
	}
	_ = dst[(len(src)-1)*stride]
	for p, v := range src {
		*(*float32)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(dst)), p*stride*4)) = alpha * v
	}
}

// packB packs the kb×nb block of op(B) starting at (p0, j0) into nr-column
// micro-panels: dst[jr*kb + p*nr + j] = op(B)[p0+p][j0+jr+j], with zero
// columns past nb.
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
				clear(d[cols:])
			}
			continue
		}
		// op(B)[p][j] = b[j*ldb+p]: column j of the panel is a contiguous
		// run of b.
		if cols < nr {
			clear(pan)
		}
		for j := 0; j < cols; j++ {
			src := b[(j0+jr+j)*ldb+p0:]
			src = src[:kb]
			packStrided(pan[j:], src, nr, 1)
		}
	}
}
