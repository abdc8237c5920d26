//go:build amd64 && !purego

package kernels

// The AVX-512 kernels of the convolution inference path, written by
// internal/asmgen into conv_amd64.s. They run whenever the CPU has AVX-512
// (useAVX512).

// im2colRowsAVX512 is im2colRowsGo with outH, outW, kw ≥ 1.
//
//go:noescape
func im2colRowsAVX512(dst *float32, ldd int, src *float32, w, kw, outH, outW int)

// maxPool2x2BiasAVX512 is maxPool2x2BiasGo with n, oh, ow ≥ 1.
//
//go:noescape
func maxPool2x2BiasAVX512(dst *float32, ldd int, src *float32, lds, n, oh, ow, w int, bias float32, relu bool)

func im2colRows(dst []float32, ldd int, src []float32, w, kw, outH, outW int) {
	if !useAVX512 {
		im2colRowsGo(dst, ldd, src, w, kw, outH, outW)
		return
	}
	_ = dst[(kw-1)*ldd+outH*outW-1]
	_ = src[(outH-1)*w+kw-1+outW-1]
	im2colRowsAVX512(&dst[0], ldd, &src[0], w, kw, outH, outW)
}

func maxPool2x2Bias(dst []float32, ldd int, src []float32, lds, n, h, w int, bias float32, relu bool) {
	oh, ow := h/2, w/2
	if !useAVX512 {
		maxPool2x2BiasGo(dst, ldd, src, lds, n, h, w, bias, relu)
		return
	}
	_ = dst[(n-1)*ldd+oh*ow-1]
	_ = src[(n-1)*lds+(2*oh-1)*w+2*ow-1]
	maxPool2x2BiasAVX512(&dst[0], ldd, &src[0], lds, n, oh, ow, w, bias, relu)
}
