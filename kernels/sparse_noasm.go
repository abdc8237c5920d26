//go:build !amd64 || purego

package kernels

// spmmBlockRows computes rows r0 ≤ i < r1 of blk·b into d (row i at
// d[(i-r0)*n:]), adding to d when acc is set.
func spmmBlockRows(d []float32, blk *csrBlock, b []float32, n, r0, r1 int, acc bool) {
	spmmBlockRowsGo(d, blk, b, n, r0, r1, acc)
}

// spmvSliced adds the blocks of chunks c0 ≤ c < c1 of a, applied to x, to y.
func spmvSliced(y, x []float32, a *SlicedCSR, c0, c1 int) {
	spmvSlicedGo(y, x, a, c0, c1)
}
