package ops

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

// LogSoftmax computes the row-wise log-softmax of an N×K tensor,
// y[i][j] = x[i][j] − log Σ_k exp(x[i][k]), stably (the row maximum is subtracted
// first, and the sum is accumulated in float64). The zero value is ready to use.
type LogSoftmax struct {
	y, dx Buffer
}

// Forward returns the N×K log-probabilities.
func (ls *LogSoftmax) Forward(x *tensor.Dense) *tensor.Dense {
	n, k := rows(x)
	y := ls.y.Get(n, k)
	logSoftmax(F32(y), F32(x), n, k)
	return y
}

func logSoftmax(dst, src []float32, n, k int) {
	for i := 0; i < n; i++ {
		row := src[i*k : (i+1)*k]
		mx := float32(math.Inf(-1))
		for _, v := range row {
			if v > mx {
				mx = v
			}
		}
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v - mx))
		}
		lse := mx + float32(math.Log(s))
		out := dst[i*k : (i+1)*k]
		for j, v := range row {
			out[j] = v - lse
		}
	}
}

// Backward returns dx = dy − softmax(x)·Σ_j dy[j], row by row.
func (ls *LogSoftmax) Backward(dy *tensor.Dense) *tensor.Dense {
	if ls.y.t == nil {
		panic("ops: LogSoftmax: Backward without Forward")
	}
	n, k := ls.y.t.Shape()[0], ls.y.t.Shape()[1]
	g := checkSize("LogSoftmax", "output gradient", dy, n*k)
	y := F32(ls.y.t)
	dx := ls.dx.Get(n, k)
	dxd := F32(dx)
	for i := 0; i < n; i++ {
		var s float64
		for _, v := range g[i*k : (i+1)*k] {
			s += float64(v)
		}
		sf := float32(s)
		for j := i * k; j < (i+1)*k; j++ {
			dxd[j] = g[j] - float32(math.Exp(float64(y[j])))*sf
		}
	}
	return dx
}

// NLLLoss is the negative log-likelihood loss with mean reduction over an N×K tensor of
// log-probabilities and N class labels, as PyTorch's F.nll_loss. The zero value is
// ready to use.
type NLLLoss struct {
	labels []int32
	dx     Buffer
}

// Forward returns −(1/N)·Σ_i logp[i][labels[i]]. It panics if a label is out of range
// or the label count differs from N.
func (nl *NLLLoss) Forward(logp *tensor.Dense, labels []int32) float64 {
	n, k := rows(logp)
	checkLabels("NLLLoss", labels, n, k)
	nl.labels = labels
	d := F32(logp)
	var s float64
	for i, l := range labels {
		s -= float64(d[i*k+int(l)])
	}
	nl.dx.Get(n, k)
	return s / float64(n)
}

// Backward returns the gradient of the mean loss: −1/N at each row's label, 0 elsewhere.
func (nl *NLLLoss) Backward() *tensor.Dense {
	if nl.dx.t == nil {
		panic("ops: NLLLoss: Backward without Forward")
	}
	dx := nl.dx.t
	n, k := dx.Shape()[0], dx.Shape()[1]
	d := F32(dx)
	clear(d)
	for i, l := range nl.labels {
		d[i*k+int(l)] = -1 / float32(n)
	}
	return dx
}

// CrossEntropy is the mean cross-entropy of N×K logits against N class labels, as
// PyTorch's F.cross_entropy: log-softmax and NLL fused, with the simple gradient
// (softmax − one-hot)/N. The zero value is ready to use.
type CrossEntropy struct {
	logp   []float32
	labels []int32
	n, k   int
	dx     Buffer
}

// Forward returns the mean loss. It panics if a label is out of range or the label
// count differs from N.
func (ce *CrossEntropy) Forward(logits *tensor.Dense, labels []int32) float64 {
	n, k := rows(logits)
	checkLabels("CrossEntropy", labels, n, k)
	ce.n, ce.k, ce.labels = n, k, labels
	ce.logp = grow(ce.logp, n*k)
	logSoftmax(ce.logp, F32(logits), n, k)
	var s float64
	for i, l := range labels {
		s -= float64(ce.logp[i*k+int(l)])
	}
	return s / float64(n)
}

// LogProbs returns the log-softmax of the last Forward's logits (N·K values, owned by
// the op).
func (ce *CrossEntropy) LogProbs() []float32 { return ce.logp[:ce.n*ce.k] }

// Backward returns dLoss/dlogits = (softmax − one-hot)/N for the last Forward.
func (ce *CrossEntropy) Backward() *tensor.Dense {
	if ce.labels == nil {
		panic("ops: CrossEntropy: Backward without Forward")
	}
	n, k := ce.n, ce.k
	dx := ce.dx.Get(n, k)
	d := F32(dx)
	inv := 1 / float32(n)
	for i, v := range ce.logp[:n*k] {
		d[i] = float32(math.Exp(float64(v))) * inv
	}
	for i, l := range ce.labels {
		d[i*k+int(l)] -= inv
	}
	return dx
}

func checkLabels(op string, labels []int32, n, k int) {
	if len(labels) != n {
		panic(fmt.Sprintf("ops: %s: %d labels for %d rows", op, len(labels), n))
	}
	for i, l := range labels {
		if l < 0 || int(l) >= k {
			panic(fmt.Sprintf("ops: %s: label %d of row %d outside [0, %d)", op, l, i, k))
		}
	}
}
