package kernels

// The loops around an int8 product in quantized inference: [QuantizeS8]
// turns float inputs into the int8 operand of [GemmS8S8S32] and returns the
// row sum a zero-point correction needs; [RequantizeS32] and
// [RequantizeS32Chan] finish the int32 accumulators (zero-point and bias
// terms, ReLU, scaling, output quantization) in one pass.
//
// Every rounding is spelled out so that the results are bit-identical to
// scalar float32 code that does the same steps: products and sums are
// rounded separately (never fused into an FMA, which is why the Go bodies
// convert explicitly), and round-half-to-even is the float32 trick of
// adding and subtracting 1.5·2²³, exact for |v| ≤ 2²², which is why the
// clamping bounds must lie in that range.
//
// [PackS8] and [GemmS8S8S32Packed] let a layer pack its int8 weights once
// instead of on every product.

import (
	"runtime"
	"sync"
)

// roundLimit bounds the clamping ranges: roundEven is exact up to 2²².
const roundLimit = 1 << 22

// roundEven rounds v to the nearest integer, ties to even, for |v| ≤ 2²²:
// adding 1.5·2²³ leaves no fraction bits, and float32 addition rounds to
// even.
func roundEven(v float32) float32 {
	const magic = 12582912
	return float32(v+magic) - magic
}

// QuantizeS8 quantizes src into dst and returns the sum of the int8
// values written:
//
//	for i, x := range src {
//		t := float32(scale*x) - zp
//		if t < lo {
//			t = lo
//		} else if t > hi {
//			t = hi
//		}
//		q := int8(int32(roundEven(t)) + add)
//		dst[i] = q
//		sum += int32(q)
//	}
//
// where roundEven rounds to the nearest integer, ties to even. The int8
// conversion truncates, as Go's does; a caller keeps the range
// [lo+add, hi+add] within [−128, 127]. NaN inputs give unspecified bytes.
// It panics if len(dst) != len(src) or if lo > hi or either lies outside
// ±2²².
func QuantizeS8(dst []int8, src []float32, scale, zp, lo, hi float32, add int32) (sum int32) {
	if len(dst) != len(src) {
		panic("kernels: QuantizeS8: slice lengths do not match")
	}
	if !(lo >= -roundLimit && hi <= roundLimit && lo <= hi) {
		panic("kernels: QuantizeS8: clamping range outside ±2²²")
	}
	return quantizeS8(dst, src, scale, zp, lo, hi, add)
}

// quantizeS8Go is QuantizeS8's reference loop.
func quantizeS8Go(dst []int8, src []float32, scale, zp, lo, hi float32, add int32) (sum int32) {
	dst = dst[:len(src)]
	for i, x := range src {
		t := float32(scale*x) - zp
		if t < lo {
			t = lo
		} else if t > hi {
			t = hi
		}
		q := int8(int32(roundEven(t)) + add)
		dst[i] = q
		sum += int32(q)
	}
	return sum
}

// Requant is the output stage of [RequantizeS32] and [RequantizeS32Chan].
// The zero value scales the accumulators and does nothing else.
type Requant struct {
	// ReLU clamps the accumulators at zero before they are scaled.
	ReLU bool
	// Out quantizes the scaled values y to the output's integers and back:
	// y = (roundEven(clamp(y − ZeroPoint, Lo, Hi)) + ZeroPoint)/Scale. Lo
	// and Hi must lie within ±2²² with Lo ≤ Hi; Scale and ZeroPoint are
	// used as given (a division, not a reciprocal multiply).
	Out                      bool
	Scale, ZeroPoint, Lo, Hi float32
}

// check panics on an unusable output range.
func (rq *Requant) check(name string) {
	if rq.Out && !(rq.Lo >= -roundLimit && rq.Hi <= roundLimit && rq.Lo <= rq.Hi) {
		panic("kernels: " + name + ": output range outside ±2²²")
	}
}

// floor is the lower bound of the accumulators: 0 with a ReLU.
func (rq *Requant) floor() int32 {
	if rq.ReLU {
		return 0
	}
	return -1 << 31
}

// finish is the part of the epilogue after the accumulator is complete.
// The conversion of the product keeps it from fusing with the subtraction.
func (rq *Requant) finish(a int32, mult float32) float32 {
	y := float32(float32(a) * mult)
	if !rq.Out {
		return y
	}
	t := y - rq.ZeroPoint
	if t < rq.Lo {
		t = rq.Lo
	} else if t > rq.Hi {
		t = rq.Hi
	}
	return float32(roundEven(t)+rq.ZeroPoint) / rq.Scale
}

// absU32 returns |a| as an unsigned value (2³¹ for math.MinInt32).
func absU32(a int32) uint32 {
	if a < 0 {
		return -uint32(a)
	}
	return uint32(a)
}

// RequantizeS32 finishes one row of an int8 product whose output channels
// run along the row (a Linear layer: acc holds one sample's Σ a·w for every
// channel, sum is the sample's Σ a), and returns the largest |accumulator|:
//
//	for i := range dst {
//		a := acc[i] + bias[i] + zw[i]*sum      // int32, wrapping
//		if rq.ReLU && a < 0 {
//			a = 0
//		}
//		maxAbs = max(maxAbs, |a|)             // as uint32
//		y := float32(a) * mult[i]
//		if rq.Out {
//			t := clamp(y − rq.ZeroPoint, rq.Lo, rq.Hi)
//			y = (roundEven(t) + rq.ZeroPoint) / rq.Scale
//		}
//		dst[i] = y
//	}
//
// bias[i] holds the channel's constant terms and zw[i] its weight zero
// point; the int32 arithmetic is exact when every true accumulator fits in
// an int32. It panics if the slice lengths do not match or the output
// range is unusable (see [Requant]).
func RequantizeS32(dst []float32, acc, bias, zw []int32, sum int32, mult []float32, rq Requant) (maxAbs uint32) {
	n := len(dst)
	if len(acc) != n || len(bias) != n || len(zw) != n || len(mult) != n {
		panic("kernels: RequantizeS32: slice lengths do not match")
	}
	rq.check("RequantizeS32")
	return requantS32(dst, acc, bias, zw, sum, mult, &rq)
}

// requantS32Go is RequantizeS32's reference loop.
func requantS32Go(dst []float32, acc, bias, zw []int32, sum int32, mult []float32, rq *Requant) (maxAbs uint32) {
	n := len(dst)
	acc, bias, zw, mult = acc[:n], bias[:n], zw[:n], mult[:n]
	floor := rq.floor()
	for i := range dst {
		a := max(acc[i]+bias[i]+zw[i]*sum, floor)
		maxAbs = max(maxAbs, absU32(a))
		dst[i] = rq.finish(a, mult[i])
	}
	return maxAbs
}

// RequantizeS32Chan is [RequantizeS32] for one output channel's row of
// accumulators (a convolution: acc holds the channel's Σ a·w at every
// output position, sums the positions' Σ a), so that the channel's
// constants are scalars and the sums vary:
//
//	for i := range dst {
//		a := acc[i] + bias + zw*sums[i]       // int32, wrapping
//		… as RequantizeS32, with mult for mult[i]
//	}
//
// It panics if the slice lengths do not match or the output range is
// unusable (see [Requant]).
func RequantizeS32Chan(dst []float32, acc, sums []int32, bias, zw int32, mult float32, rq Requant) (maxAbs uint32) {
	n := len(dst)
	if len(acc) != n || len(sums) != n {
		panic("kernels: RequantizeS32Chan: slice lengths do not match")
	}
	rq.check("RequantizeS32Chan")
	return requantS32Chan(dst, acc, sums, bias, zw, mult, &rq)
}

// requantS32ChanGo is RequantizeS32Chan's reference loop.
func requantS32ChanGo(dst []float32, acc, sums []int32, bias, zw int32, mult float32, rq *Requant) (maxAbs uint32) {
	n := len(dst)
	acc, sums = acc[:n], sums[:n]
	floor := rq.floor()
	for i := range dst {
		a := max(acc[i]+bias+zw*sums[i], floor)
		maxAbs = max(maxAbs, absU32(a))
		dst[i] = rq.finish(a, mult)
	}
	return maxAbs
}

// PackedS8 is the B operand of [GemmS8S8S32], n rows of k int8 values (a
// layer's weights, one row per output channel), packed once by [PackS8] in
// the layout the product runs on, for [GemmS8S8S32Packed]. It is immutable
// and safe for concurrent use; its zero value is not usable.
type PackedS8 struct {
	n, k int
	// panels holds the VNNI panels of b+128 when kern is not nil; b holds a
	// row-major copy otherwise.
	panels []uint8
	kern   int8MicroKernel
	b      []int8
}

// PackS8 packs the n×k int8 matrix b (row stride ldb) for
// [GemmS8S8S32Packed]. It panics if n or k is negative, ldb < k, or b is
// too short.
func PackS8(b []int8, n, k, ldb int) *PackedS8 {
	if n < 0 || k < 0 || ldb < max(1, k) {
		panic("kernels: PackS8: bad dimensions")
	}
	if n > 0 && k > 0 && !fits(len(b), n, k, ldb) {
		panic("kernels: PackS8: slice too short for its shape")
	}
	p := &PackedS8{n: n, k: k, kern: s8PackedKernel}
	if p.kern != nil && n > 0 && k > 0 {
		kq := (k + 3) / 4
		p.panels = make([]uint8, roundUp(n, int8NR)*kq*4)
		packS8Words(p.panels, int8NR, b, ldb, n, k, 0x80)
		return p
	}
	p.kern = nil
	p.b = make([]int8, n*k)
	for j := 0; j < n && k > 0; j++ {
		copy(p.b[j*k:(j+1)*k], b[j*ldb:j*ldb+k])
	}
	return p
}

// Rows returns n, the number of rows of the packed matrix.
func (p *PackedS8) Rows() int { return p.n }

// Cols returns k, the length of its rows.
func (p *PackedS8) Cols() int { return p.k }

// GemmS8S8S32Packed is [GemmS8S8S32] with B packed by [PackS8]: it computes
// the m×n product C = A·Bᵀ, A being m×k with stride lda and C m×n with
// stride ldc, n and k those of b. It panics as GemmS8S8S32 does.
func GemmS8S8S32Packed(m int, a []int8, lda int, b *PackedS8, c []int32, ldc int) {
	GemmS8S8S32PackedFunc(m, a, lda, b, c, ldc, nil)
}

// doneBytes is the number of bytes of C a GemmS8S8S32PackedFunc worker
// computes before it calls done: small enough to still be in L2 cache.
const doneBytes = 256 << 10

// GemmS8S8S32PackedFunc is [GemmS8S8S32Packed] calling done(i0, i1), when
// it is not nil, as soon as rows i0 ≤ i < i1 of C are complete: a few rows
// at a time, while they are still in cache, from the goroutine that
// computed them. Calls for disjoint row ranges may run concurrently; every
// row is in exactly one call, and all calls have returned when
// GemmS8S8S32PackedFunc does.
func GemmS8S8S32PackedFunc(m int, a []int8, lda int, b *PackedS8, c []int32, ldc int, done func(i0, i1 int)) {
	n, k := b.n, b.k
	if b.kern == nil {
		GemmS8S8S32(m, n, k, a, lda, b.b, max(1, k), c, ldc)
		if done != nil && m > 0 {
			done(0, m)
		}
		return
	}
	// Packed panels exist only for n, k ≥ 1.
	if m < 0 || lda < k || ldc < n {
		panic("kernels: GemmS8S8S32Packed: negative dimension or stride smaller than row width")
	}
	if m == 0 {
		return
	}
	if !fits(len(a), m, k, lda) || !fits(len(c), m, n, ldc) {
		panic("kernels: GemmS8S8S32Packed: slice too short for its shape")
	}
	panels := (m + int8MR - 1) / int8MR
	workers := min(runtime.GOMAXPROCS(0), panels, max(1, m*n*k/(4*parallelMinWork)))
	if workers == 1 {
		gemmS8PackedPanels(0, panels, m, a, lda, b, c, ldc, done)
		return
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		lo, hi := panels*w/workers, panels*(w+1)/workers
		wg.Go(func() { gemmS8PackedPanels(lo, hi, m, a, lda, b, c, ldc, done) })
	}
	gemmS8PackedPanels(0, panels/workers, m, a, lda, b, c, ldc, done)
	wg.Wait()
}

// gemmS8PackedPanels computes the row panels lo ≤ pi < hi of C, calling
// done after every doneBytes of C when it is not nil.
func gemmS8PackedPanels(lo, hi, m int, a []int8, lda int, b *PackedS8, c []int32, ldc int, done func(i0, i1 int)) {
	n, k := b.n, b.k
	if done == nil {
		gemmS8Panels(b.kern, lo, hi, m, n, k, a, lda, b.panels, c, ldc)
		return
	}
	step := max(1, doneBytes/(4*int8MR*n))
	for p := lo; p < hi; p += step {
		q := min(p+step, hi)
		gemmS8Panels(b.kern, p, q, m, n, k, a, lda, b.panels, c, ldc)
		done(p*int8MR, min(q*int8MR, m))
	}
}
