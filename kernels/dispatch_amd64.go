//go:build amd64 && !purego

package kernels

//go:generate go run ./internal/asmgen kernels_amd64.s

// cpuid executes the CPUID instruction with the given leaf and subleaf.
func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

// xgetbv reads extended control register 0 (which register states the OS
// saves).
func xgetbv() (eax, edx uint32)

// sgemmKernelAVX512 is the 12×32 AVX-512 micro-kernel; see microKernel.
//
//go:noescape
func sgemmKernelAVX512(k int, a *float32, rsA, csA int, b *float32, csB int, c *float32, ldc int, alpha, beta float32, mr, nr int, accumulate bool)

// sgemmKernelAVX512x8 and sgemmKernelAVX512x4 are the 8×32 and 4×32
// variants for partial row panels.
//
//go:noescape
func sgemmKernelAVX512x8(k int, a *float32, rsA, csA int, b *float32, csB int, c *float32, ldc int, alpha, beta float32, mr, nr int, accumulate bool)

// sgemmKernelAVX512x13 is the 13×32 variant that widens row panels (see
// microKernel.wide).
//
//go:noescape
func sgemmKernelAVX512x13(k int, a *float32, rsA, csA int, b *float32, csB int, c *float32, ldc int, alpha, beta float32, mr, nr int, accumulate bool)

//go:noescape
func sgemmKernelAVX512x4(k int, a *float32, rsA, csA int, b *float32, csB int, c *float32, ldc int, alpha, beta float32, mr, nr int, accumulate bool)

// sgemmKernelAVX2 is the 6×16 AVX2+FMA micro-kernel; see microKernel.
//
//go:noescape
func sgemmKernelAVX2(k int, a *float32, rsA, csA int, b *float32, csB int, c *float32, ldc int, alpha, beta float32, mr, nr int, accumulate bool)

// cpuFeatures reports AVX2+FMA and AVX-512 (F, DQ, BW, VL) support,
// including operating-system support for the wider register state.
func cpuFeatures() (hasAVX2, hasAVX512 bool) {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false, false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const (
		fma     = 1 << 12
		osxsave = 1 << 27
		avx     = 1 << 28
	)
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return false, false
	}
	xcr0, _ := xgetbv()
	if xcr0&0x6 != 0x6 { // XMM and YMM state
		return false, false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	hasAVX2 = ebx7&(1<<5) != 0
	const avx512 = 1<<16 | 1<<17 | 1<<30 | 1<<31 // F, DQ, BW, VL
	hasAVX512 = hasAVX2 && ebx7&avx512 == avx512 && xcr0&0xe6 == 0xe6
	return hasAVX2, hasAVX512
}

// path, gemmKern and transpose16 are chosen once, at package
// initialisation.
var (
	path, gemmKern = selectPath()
	transpose16    = selectTranspose()
)

// selectTranspose returns the AVX-512 16-row transpose, or nil.
func selectTranspose() func(dst *float32, ldd int, src *float32, lds int, rows, blocks int) {
	if _, hasAVX512 := cpuFeatures(); hasAVX512 {
		return transposeAVX512
	}
	return nil
}

func selectPath() (string, microKernel) {
	ks := availableKernels()
	for _, p := range []string{"avx512", "avx2"} {
		if k, ok := ks[p]; ok {
			return p, k
		}
	}
	return "purego", goKernel
}

// availableKernels lists every micro-kernel this CPU can run, fastest
// first, so tests can check all of them.
func availableKernels() map[string]microKernel {
	hasAVX2, hasAVX512 := cpuFeatures()
	ks := map[string]microKernel{"purego": goKernel}
	if hasAVX512 {
		ks["avx512"] = microKernel{mr: 12, nr: 32, masked: true, fn: sgemmKernelAVX512, small: []microKernel{
			{mr: 4, nr: 32, masked: true, fn: sgemmKernelAVX512x4},
			{mr: 8, nr: 32, masked: true, fn: sgemmKernelAVX512x8},
		}, wide: sgemmKernelAVX512x13}
	}
	if hasAVX2 {
		ks["avx2"] = microKernel{mr: 6, nr: 16, fn: sgemmKernelAVX2}
	}
	return ks
}

// transposeAVX512 stores dst[p*ldd+r] = src[r*lds+p] for r < rows ≤ 16 and
// p < 16·blocks, leaving the other elements of dst alone.
//
//go:noescape
func transposeAVX512(dst *float32, ldd int, src *float32, lds int, rows, blocks int)

// gemmS8KernelVNNI is the 12×32 AVX-512 VNNI int8 micro-kernel; see
// int8MicroKernel and gemmS8Packed.
//
//go:noescape
func gemmS8KernelVNNI(kq int, a *int8, b *uint8, c *int32, ldc int, corr *int32, mr, nr int)

// gemmS16KernelAVX2 is the 6×16 AVX2 int16 (VPMADDWD) micro-kernel; see
// int16MicroKernel and gemmS8Wide.
//
//go:noescape
func gemmS16KernelAVX2(kp int, a, b *int16, c *int32, ldc int, mr int)

// gemmS8Impl is the fastest GemmS8S8S32 body this CPU runs, chosen once
// at initialisation.
var gemmS8Impl = selectS8()

func selectS8() gemmS8Func {
	ks := availableS8()
	for _, p := range []string{"vnni", "avx2"} {
		if f, ok := ks[p]; ok {
			return f
		}
	}
	return gemmS8Go
}

// availableS8 lists every GemmS8S8S32 body this CPU can run, so tests can
// check all of them.
func availableS8() map[string]gemmS8Func {
	ks := map[string]gemmS8Func{"purego": gemmS8Go}
	hasAVX2, _ := cpuFeatures()
	if hasVNNI() {
		ks["vnni"] = func(m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
			gemmS8Packed(gemmS8KernelVNNI, m, n, k, a, lda, b, ldb, c, ldc)
		}
	}
	if hasAVX2 {
		ks["avx2"] = func(m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
			gemmS8Wide(gemmS16KernelAVX2, m, n, k, a, lda, b, ldb, c, ldc)
		}
	}
	return ks
}

// spmmRowAVX512 sets dst[j] = Σ_{e<nnz} vals[e]·b[cols[e]*ldb+j] for
// j < ncols ≤ 64. Column indices must be valid rows of b.
//
//go:noescape
func spmmRowAVX512(dst *float32, vals *float32, cols *int32, nnz int, b *float32, ldb, ncols int)

// useAVX512 is set once at initialisation.
var _, useAVX512 = cpuFeatures()

// spmmRow sets drow[j] = Σ_e vals[e]·b[cols[e]*n+j]; the caller has
// checked every column index.
func spmmRow(drow, vals []float32, cols []int32, b []float32, n int) {
	if !useAVX512 {
		spmmRowGo(drow, vals, cols, b, n)
		return
	}
	if len(vals) == 0 {
		clear(drow)
		return
	}
	vp, cp := &vals[0], &cols[0]
	for j := 0; j < n; j += 64 {
		spmmRowAVX512(&drow[j], vp, cp, len(vals), &b[j], n, min(64, n-j))
	}
}

// spmvAVX512 returns Σ_{e<nnz} vals[e]·x[min(cols[e], limit)] and the
// largest cols[e] (as uint32) so that the caller can reject bad indices.
//
//go:noescape
func spmvAVX512(vals *float32, cols *int32, nnz int, x *float32, limit uint32) (sum float32, maxCol uint32)

// spmvRow returns Σ_e vals[e]·x[cols[e]]. It panics if a column index is
// outside x.
func spmvRow(vals []float32, cols []int32, x []float32) float32 {
	if !useAVX512 || len(vals) < 16 {
		return spmvRowGo(vals, cols, x)
	}
	vals = vals[:len(cols)]
	s, mc := spmvAVX512(&vals[0], &cols[0], len(cols), &x[0], uint32(len(x)-1))
	if int64(mc) >= int64(len(x)) {
		panic("kernels: SpMM: CSR column index out of range")
	}
	return s
}
