//go:build amd64 && !purego

package kernels

// spmmRowsAVX512 sets, for rows consecutive CSR rows whose entries start at
// vals and cols and whose lengths are rowptr[i+1]-rowptr[i], and for
// j < ncols ≤ 64, dst[i*ld+j] = Σ_e vals[e]·b[cols[e]*ld+j]. Column
// indices must be valid rows of b.
//
//go:noescape
func spmmRowsAVX512(dst *float32, vals *float32, cols *int32, rowptr *int32, rows int, b *float32, ld, ncols int)

// spmmRowsAccAVX512 is spmmRowsAVX512 adding to dst instead of overwriting.
//
//go:noescape
func spmmRowsAccAVX512(dst *float32, vals *float32, cols *int32, rowptr *int32, rows int, b *float32, ld, ncols int)

// spmmRowsEpiAVX512 is spmmRowsAVX512 adding bias[i] to row i, then
// clamping at 0 when relu is not 0, before the store.
//
//go:noescape
func spmmRowsEpiAVX512(dst *float32, vals *float32, cols *int32, rowptr *int32, rows int, b *float32, ld, ncols int, bias *float32, relu int)

// spmmRowsAccEpiAVX512 is spmmRowsAccAVX512 with spmmRowsEpiAVX512's epilogue.
//
//go:noescape
func spmmRowsAccEpiAVX512(dst *float32, vals *float32, cols *int32, rowptr *int32, rows int, b *float32, ld, ncols int, bias *float32, relu int)

// spmmBlockRows computes columns j0 ≤ j < j0+w ≤ j0+64 of rows r0 ≤ i < r1
// of blk·b into d (row i at d[(i-r0)*n:]), adding to d when acc is set;
// then, when bias is not nil, adds bias[i-r0] to them and applies the ReLU
// if relu is set. blk was validated by PackCSR.
func spmmBlockRows(d []float32, blk *csrBlock, b []float32, n, j0, w, r0, r1 int, acc bool, bias []float32, relu bool) {
	if !useAVX512 {
		spmmBlockRowsGo(d, blk, b, n, j0, w, r0, r1, acc, bias, relu)
		return
	}
	_ = d[(r1-r0-1)*n+j0+w-1]
	_ = b[j0+w-1]
	lo := blk.rowPtr[r0]
	// The spare capacity of val and colIdx makes these valid even when
	// lo == len(val).
	vp := &blk.val[:lo+1][lo]
	cp := &blk.colIdx[:lo+1][lo]
	if bias != nil {
		_ = bias[r1-r0-1]
		kern, r := spmmRowsEpiAVX512, 0
		if acc {
			kern = spmmRowsAccEpiAVX512
		}
		if relu {
			r = 1
		}
		kern(&d[j0], vp, cp, &blk.rowPtr[r0], r1-r0, &b[j0], n, w, &bias[0], r)
		return
	}
	kern := spmmRowsAVX512
	if acc {
		kern = spmmRowsAccAVX512
	}
	kern(&d[j0], vp, cp, &blk.rowPtr[r0], r1-r0, &b[j0], n, w)
}

// spmvSlicedAVX512 is the SlicedCSR product kernel; see spmvSlicedGo.
//
//go:noescape
func spmvSlicedAVX512(y *float32, x *float32, counts *int32, off *int32, val *float32, slices int, bias *float32, relu int)

// spmvSliced sets y (16 per slice) to a·x, adding bias when it is not nil
// and clamping at 0 when relu is set; x holds at least max(a.off)+32
// elements.
func spmvSliced(y, x []float32, a *SlicedCSR, bias []float32, relu bool) {
	if !useAVX512 || len(a.off) == 0 {
		spmvSlicedGo(y, x, a, bias, relu)
		return
	}
	_ = x[window-1]
	_ = y[16*a.slices-1]
	var bp *float32
	if bias != nil {
		_ = bias[16*a.slices-1]
		bp = &bias[0]
	}
	r := 0
	if relu {
		r = 1
	}
	spmvSlicedAVX512(&y[0], &x[0], &a.counts[0], &a.off[0], &a.val[0], a.slices, bp, r)
}
