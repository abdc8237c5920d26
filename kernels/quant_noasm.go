//go:build !amd64 || purego

package kernels

func quantizeS8(dst []int8, src []float32, scale, zp, lo, hi float32, add int32) int32 {
	return quantizeS8Go(dst, src, scale, zp, lo, hi, add)
}

func requantS32(dst []float32, acc, bias, zw []int32, sum int32, mult []float32, rq *Requant) uint32 {
	return requantS32Go(dst, acc, bias, zw, sum, mult, rq)
}

func requantS32Chan(dst []float32, acc, sums []int32, bias, zw int32, mult float32, rq *Requant) uint32 {
	return requantS32ChanGo(dst, acc, sums, bias, zw, mult, rq)
}

// s8PackedKernel is nil without assembly: PackedS8 keeps plain rows.
var s8PackedKernel int8MicroKernel

// s8RowKernel is nil without assembly (see gemmS8Panels).
var s8RowKernel int8MicroKernel
