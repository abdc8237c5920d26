//go:build !amd64 || purego

package kernels

func im2colRows(dst []float32, ldd int, src []float32, w, kw, outH, outW int) {
	im2colRowsGo(dst, ldd, src, w, kw, outH, outW)
}

func maxPool2x2Bias(dst []float32, ldd int, src []float32, lds, n, h, w int, bias float32, relu bool) {
	maxPool2x2BiasGo(dst, ldd, src, lds, n, h, w, bias, relu)
}
