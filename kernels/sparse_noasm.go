//go:build !amd64 || purego

package kernels

// spmmBlockRows is spmmBlockRowsGo.
func spmmBlockRows(d []float32, blk *csrBlock, b []float32, n, j0, w, r0, r1 int, acc bool, bias []float32, relu bool) {
	spmmBlockRowsGo(d, blk, b, n, j0, w, r0, r1, acc, bias, relu)
}

// spmvSliced is spmvSlicedGo.
func spmvSliced(y, x []float32, a *SlicedCSR, bias []float32, relu bool) {
	spmvSlicedGo(y, x, a, bias, relu)
}
