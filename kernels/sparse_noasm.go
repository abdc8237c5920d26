//go:build !amd64 || purego

package kernels

// spmmBlockRows is spmmBlockRowsGo.
func spmmBlockRows(d []float32, blk *csrBlock, b []float32, n, j0, w, r0, r1 int, acc bool, bias []float32, relu bool) {
	spmmBlockRowsGo(d, blk, b, n, j0, w, r0, r1, acc, bias, relu)
}

// spmvSliced adds the blocks of chunks c0 ≤ c < c1 of a, applied to x, to y.
func spmvSliced(y, x []float32, a *SlicedCSR, c0, c1 int) {
	spmvSlicedGo(y, x, a, c0, c1)
}
