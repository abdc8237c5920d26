//go:build !amd64 || purego

package kernels

func convTile(dst, x []float32, off []int32, w, bias []float32, nf, ldd, rowB, dstB, cols, strideW, flags int) {
	convTileGo(dst, x, off, w, bias, nf, ldd, rowB, dstB, cols, strideW, flags)
}

// Without assembly ConvDirect runs every tile through convTileGo.
const (
	convRowsF     = 13
	haveConvRows  = false
	convDirectAsm = false
)

func convRows(dst, x []float32, off []int32, w, bias []float32, nf, f, ldd, rowB, dstB, cols, flags int) {
	panic("kernels: convRows without assembly")
}

const haveConvTile8 = false

func convTile8(dst, x []float32, off []int32, w, bias []float32, nf, ldd, rowB, dstB, cols, flags int) {
	panic("kernels: convTile8 without assembly")
}
