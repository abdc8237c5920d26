package ops

import (
	"fmt"

	"github.com/dst-dev/dst/kernels"
	"gorgonia.org/tensor"
)

// Linear is the affine map y = x·Wᵀ + b of PyTorch's nn.Linear: x is N×In (or any
// N×… tensor whose trailing dimensions multiply to In), W is Out×In and b holds Out
// values (or is nil). The zero value is ready to use.
type Linear struct {
	// Relu fuses a ReLU after the bias.
	Relu bool
	// NoInputGrad makes Backward skip the input gradient and return nil.
	NoInputGrad bool

	x      *tensor.Dense
	in     int
	y, dx  Buffer
	masked []float32
}

// Forward returns the N×Out tensor x·Wᵀ + b. It panics if the shapes do not fit.
func (li *Linear) Forward(x, w, b *tensor.Dense) *tensor.Dense {
	n, in := rows(x)
	ws := w.Shape()
	if len(ws) != 2 || ws[1] != in {
		panic(fmt.Sprintf("ops: Linear: weight shape %v does not fit input %v", ws, x.Shape()))
	}
	out := ws[0]
	var bd []float32
	if b != nil {
		bd = checkSize("Linear", "bias", b, out)
	}
	li.x, li.in = x, in
	y := li.y.Get(n, out)
	yd := F32(y)
	kernels.Sgemm(false, true, n, out, in, 1, F32(x), in, F32(w), in, 0, yd, out)
	if bd != nil || li.Relu {
		for r := 0; r < n; r++ {
			row := yd[r*out : (r+1)*out]
			if bd == nil {
				kernels.AddBiasRelu(row, row, 0, li.Relu)
				continue
			}
			if li.Relu {
				for j, v := range row {
					row[j] = max(v+bd[j], 0)
				}
			} else {
				for j, v := range row {
					row[j] = v + bd[j]
				}
			}
		}
	}
	return y
}

// Backward adds the weight gradient dyᵀ·x to dw and the bias gradient (column sums of
// dy) to db (nil for none), and returns dy·W, the input gradient, shaped like the input
// (nil when NoInputGrad is set). It panics if the shapes do not fit the last Forward.
func (li *Linear) Backward(dy, w, dw, db *tensor.Dense) *tensor.Dense {
	if li.x == nil {
		panic("ops: Linear: Backward without Forward")
	}
	n, out := li.y.t.Shape()[0], li.y.t.Shape()[1]
	in := li.in
	g := checkSize("Linear", "output gradient", dy, n*out)
	if li.Relu {
		yd := F32(li.y.t)
		li.masked = grow(li.masked, n*out)
		reluGradTo(li.masked, g, yd)
		g = li.masked
	}
	if db != nil {
		kernels.SumRowsTo(checkSize("Linear", "bias gradient", db, out), g, n, out)
	}
	kernels.Sgemm(true, false, out, in, n, 1, g, out, F32(li.x), in, 1, checkSize("Linear", "weight gradient", dw, out*in), in)
	if li.NoInputGrad {
		return nil
	}
	dx := li.dx.Get(li.x.Shape()...)
	kernels.Sgemm(false, false, n, in, out, 1, g, out, checkSize("Linear", "weight", w, out*in), in, 0, F32(dx), in)
	return dx
}
