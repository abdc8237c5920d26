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
