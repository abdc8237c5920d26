package ops

import (
	"math"

	"github.com/dst-dev/dst/kernels"
)

// Branch-free loops for the element-wise work of the training hot path. On activations
// whose signs are random, a compare-and-branch per element mispredicts half the time,
// which made ReLU and 2×2 max pooling several times slower than the memory traffic they
// need; these versions select with min/max and bit masks instead.

// reluTo writes dst[i] = max(src[i], 0); NaN stays NaN, as in PyTorch.
func reluTo(dst, src []float32) {
	kernels.AddBiasRelu(dst[:len(src)], src, 0, true) // max(v+0, 0) is max(v, 0), -0 and NaN included
}

// positiveMask returns all ones when y > 0 (positive finite or +Inf) and 0 for zeros,
// negatives and NaNs: y > 0 exactly when its bits b satisfy 1 ≤ b ≤ 0x7f800000.
func positiveMask(y float32) uint32 {
	u := math.Float32bits(y) - 1 // wraps for +0
	return uint32((int64(u) - 0x7f800000) >> 63)
}

// reluGradTo writes dx[i] = dy[i] where y[i] > 0 and 0 elsewhere.
func reluGradTo(dx, dy, y []float32) {
	dy = dy[:len(dx)]
	y = y[:len(dx)]
	for i, g := range dy {
		dx[i] = math.Float32frombits(math.Float32bits(g) & positiveMask(y[i]))
	}
}

// orderKey maps a float to an int32 that orders like the float (−0 just below +0;
// positive NaNs above +Inf, negative NaNs below −Inf).
func orderKey(v float32) int32 {
	b := int32(math.Float32bits(v))
	return b ^ ((b >> 31) & 0x7fffffff)
}

// gtMask returns −1 (all ones) when a > b and 0 otherwise, without a branch.
func gtMask(a, b int32) int32 { return int32((int64(b) - int64(a)) >> 63) }

// maxPool2x2 is max pooling with a 2×2 window, stride 2 and no padding over c planes of
// h×w, with the semantics of kernels.MaxPool2d (argmax indexes src; the first maximum
// wins ties) except that only positive NaNs win a window.
func maxPool2x2(dst []float32, argmax []int32, src []float32, c, h, w int) {
	oh, ow := h/2, w/2
	i := 0
	wi := int32(w)
	for ch := 0; ch < c; ch++ {
		base := ch * h * w
		for oy := 0; oy < oh; oy++ {
			r0 := base + 2*oy*w
			row0, row1 := src[r0:r0+2*ow], src[r0+w:r0+w+2*ow]
			out, arg := dst[i:i+ow], argmax[i:i+ow]
			for ox := range out {
				j := 2 * ox
				k0, k1, k2, k3 := orderKey(row0[j]), orderKey(row0[j+1]), orderKey(row1[j]), orderKey(row1[j+1])
				// Best of each row, then of the two rows; a tie keeps the earlier
				// position (strict comparisons), as the reference scan does.
				m := gtMask(k1, k0)
				top, at := k0^((k0^k1)&m), m&1
				m = gtMask(k3, k2)
				bot, ab := k2^((k2^k3)&m), wi+(m&1)
				at ^= (at ^ ab) & gtMask(bot, top)
				idx := int32(r0+j) + at
				arg[ox] = idx
				out[ox] = src[idx]
			}
			i += ow
		}
	}
}
