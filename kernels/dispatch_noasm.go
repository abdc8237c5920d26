//go:build !amd64 || purego

package kernels

const path = "purego"

var gemmKern = goKernel

// transpose16 is the SIMD transpose used when packing; none without assembly.
var transpose16 func(dst *float32, ldd int, src *float32, lds int, rows, blocks int)

// availableKernels lists every micro-kernel this build can run.
func availableKernels() map[string]microKernel {
	return map[string]microKernel{"purego": goKernel}
}

// gemmS8Impl is the portable int8 product without assembly.
var gemmS8Impl gemmS8Func = gemmS8Go

// availableS8 lists every GemmS8S8S32 body this build can run.
func availableS8() map[string]gemmS8Func {
	return map[string]gemmS8Func{"purego": gemmS8Go}
}

func spmmRow(drow, vals []float32, cols []int32, b []float32, n int) {
	spmmRowGo(drow, vals, cols, b, n)
}

func spmvRow(vals []float32, cols []int32, x []float32) float32 {
	return spmvRowGo(vals, cols, x)
}
