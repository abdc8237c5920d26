//go:build amd64 && !purego

package kernels

// The AVX-512 kernels of quant.go, written by internal/asmgen into
// quant_amd64.s. They handle any length (masked tails) and run whenever
// the CPU has AVX-512 (useAVX512).

// quantizeS8AVX512 is quantizeS8Go over n ≥ 1 elements.
//
//go:noescape
func quantizeS8AVX512(dst *int8, src *float32, n int, scale, zp, lo, hi float32, add int32) int32

// requantS32AVX512 is requantS32Go over n ≥ 1 elements; floor is
// Requant.floor().
//
//go:noescape
func requantS32AVX512(dst *float32, acc *int32, n int, bias, zw *int32, mult *float32, sum int32, floor int32, out bool, zp, lo, hi, scale float32) uint32

// requantS32ChanAVX512 is requantS32ChanGo over n ≥ 1 elements.
//
//go:noescape
func requantS32ChanAVX512(dst *float32, acc *int32, n int, sums *int32, bias, zw int32, mult float32, floor int32, out bool, zp, lo, hi, scale float32) uint32

func quantizeS8(dst []int8, src []float32, scale, zp, lo, hi float32, add int32) int32 {
	if !useAVX512 || len(src) == 0 {
		return quantizeS8Go(dst, src, scale, zp, lo, hi, add)
	}
	_ = dst[len(src)-1]
	return quantizeS8AVX512(&dst[0], &src[0], len(src), scale, zp, lo, hi, add)
}

func requantS32(dst []float32, acc, bias, zw []int32, sum int32, mult []float32, rq *Requant) uint32 {
	n := len(dst)
	if !useAVX512 || n == 0 {
		return requantS32Go(dst, acc, bias, zw, sum, mult, rq)
	}
	_, _, _, _ = acc[n-1], bias[n-1], zw[n-1], mult[n-1]
	return requantS32AVX512(&dst[0], &acc[0], n, &bias[0], &zw[0], &mult[0], sum, rq.floor(), rq.Out, rq.ZeroPoint, rq.Lo, rq.Hi, rq.Scale)
}

func requantS32Chan(dst []float32, acc, sums []int32, bias, zw int32, mult float32, rq *Requant) uint32 {
	n := len(dst)
	if !useAVX512 || n == 0 {
		return requantS32ChanGo(dst, acc, sums, bias, zw, mult, rq)
	}
	_, _ = acc[n-1], sums[n-1]
	return requantS32ChanAVX512(&dst[0], &acc[0], n, &sums[0], bias, zw, mult, rq.floor(), rq.Out, rq.ZeroPoint, rq.Lo, rq.Hi, rq.Scale)
}

// s8PackedKernel is the micro-kernel PackS8 packs for: the VNNI one when
// GemmS8S8S32 runs it, else nil (PackedS8 then keeps plain rows).
var s8PackedKernel = selectS8Packed()

func selectS8Packed() int8MicroKernel {
	if _, ok := availableS8()["vnni"]; ok {
		return gemmS8KernelVNNI
	}
	return nil
}
