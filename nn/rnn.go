package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// Embedding is PyTorch's nn.Embedding: it maps token ids to rows of a V×E table. Its
// input holds the ids as float32 values (a T×N tensor for a language model), so that it
// fits the [Module] interface; its output is T×N×E.
type Embedding struct {
	base
	// Weight is the V×E table.
	Weight *Param
	op     ops.Embedding
	idx    []int32
}

// NewEmbedding returns an embedding of vocab tokens into dim values, with a zeroed table.
func NewEmbedding(name string, vocab, dim int) *Embedding {
	return &Embedding{base: base{name: name}, Weight: NewParam(join(name, "weight"), name, KindWeight, vocab, dim)}
}

// Forward implements [Module]. It panics if an id is not an integer in [0, V).
func (e *Embedding) Forward(x *tensor.Dense, _ bool) *tensor.Dense {
	xd := ops.F32(x)
	if cap(e.idx) < len(xd) {
		e.idx = make([]int32, len(xd))
	}
	e.idx = e.idx[:len(xd)]
	v := float32(e.Weight.Value.Shape()[0])
	for i, f := range xd {
		if !(f >= 0 && f < v) || f != float32(math.Trunc(float64(f))) {
			panic(fmt.Sprintf("nn: %s: token id %v outside [0, %v)", e.name, f, v))
		}
		e.idx[i] = int32(f)
	}
	var y *tensor.Dense
	switch s := x.Shape(); len(s) {
	case 1:
		y = e.op.Forward(e.idx, e.Weight.Value, s[0])
	case 2:
		y = e.op.Forward(e.idx, e.Weight.Value, s[0], s[1])
	default:
		panic(fmt.Sprintf("nn: %s: input shape %v, want T×N", e.name, s))
	}
	e.record(x, y)
	return y
}

// Backward implements [Module]; token ids have no gradient, so it returns nil.
func (e *Embedding) Backward(dy *tensor.Dense) *tensor.Dense {
	e.op.Backward(dy, e.Weight.Grad)
	return nil
}

// Info implements [Module].
func (e *Embedding) Info() LayerInfo {
	li := e.info("Embedding")
	s := e.Weight.Value.Shape()
	li.InFeatures, li.OutFeatures = s[0], s[1]
	return li
}

// Params implements [Module].
func (e *Embedding) Params() []*Param { return []*Param{e.Weight} }

// LSTM is a one-layer PyTorch nn.LSTM over T×N×I inputs, returning the T×N×H outputs.
// Parameters are named as PyTorch names them: weight_ih_l0 (4H×I), weight_hh_l0 (4H×H),
// bias_ih_l0, bias_hh_l0 (4H), gates in the order i, f, g, o.
//
// With CarryState set, each Forward starts from the final state of the previous one
// (detached: no gradient flows into the earlier batch), as truncated back-propagation
// through time does; otherwise, and after ResetState, it starts from zeros.
type LSTM struct {
	base
	WeightIH, WeightHH, BiasIH, BiasHH *Param
	// CarryState makes each Forward continue from the previous final state.
	CarryState bool

	op     ops.LSTM
	h0, c0 ops.Buffer
	stateN int // batch size of the carried state; 0 when there is none
}

// NewLSTM returns an LSTM layer in→hidden with zeroed parameters.
func NewLSTM(name string, in, hidden int) *LSTM {
	return &LSTM{
		base:     base{name: name},
		WeightIH: NewParam(join(name, "weight_ih_l0"), name, KindWeight, 4*hidden, in),
		WeightHH: NewParam(join(name, "weight_hh_l0"), name, KindWeight, 4*hidden, hidden),
		BiasIH:   NewParam(join(name, "bias_ih_l0"), name, KindBias, 4*hidden),
		BiasHH:   NewParam(join(name, "bias_hh_l0"), name, KindBias, 4*hidden),
	}
}

// ResetState makes the next Forward start from zeros.
func (l *LSTM) ResetState() { l.stateN = 0 }

// Forward implements [Module].
func (l *LSTM) Forward(x *tensor.Dense, _ bool) *tensor.Dense {
	var h0, c0 *tensor.Dense
	if s := x.Shape(); len(s) != 3 {
		panic(fmt.Sprintf("nn: %s: input shape %v, want T×N×I", l.name, s))
	}
	n, hid := x.Shape()[1], l.WeightHH.Value.Shape()[1]
	// A carried state of another batch size (the short last batch) or of another
	// hidden size (after thinning) does not apply: start from zeros.
	if l.CarryState && l.stateN == n && l.h0.Get(n, hid).Shape().TotalSize() == n*hid {
		h0, c0 = l.h0.Get(n, hid), l.c0.Get(n, hid)
	}
	y, hT, cT := l.op.Forward(x, h0, c0, l.WeightIH.Value, l.WeightHH.Value, l.BiasIH.Value, l.BiasHH.Value)
	if l.CarryState {
		copy(ops.F32(l.h0.Get(n, hid)), ops.F32(hT))
		copy(ops.F32(l.c0.Get(n, hid)), ops.F32(cT))
		l.stateN = n
	}
	l.record(x, y)
	return y
}

// Backward implements [Module].
func (l *LSTM) Backward(dy *tensor.Dense) *tensor.Dense {
	dx, _, _ := l.op.Backward(dy, nil, nil, l.WeightIH.Value, l.WeightHH.Value,
		l.WeightIH.Grad, l.WeightHH.Grad, l.BiasIH.Grad, l.BiasHH.Grad)
	return dx
}

// Info implements [Module].
func (l *LSTM) Info() LayerInfo {
	li := l.info("LSTM")
	s := l.WeightIH.Value.Shape()
	li.InFeatures, li.OutFeatures = s[1], s[0]/4
	li.Bias = true
	return li
}

// Params implements [Module]: weight_ih, weight_hh, bias_ih, bias_hh.
func (l *LSTM) Params() []*Param { return []*Param{l.WeightIH, l.WeightHH, l.BiasIH, l.BiasHH} }

// CharLM sizes of the lstm_char model.
const (
	charVocab  = 128 // 7-bit ASCII
	charEmbed  = 64
	charHidden = 128
	charSeq    = 35
)

// buildLSTMChar is PyTorch's word_language_model RNNModel (the model of Distiller's
// LSTM pruning examples) at character level: encoder (Embedding), dropout, one LSTM
// layer, dropout, decoder (Linear over the vocabulary). Initialisation as there:
// encoder and decoder weights U(±0.1), decoder bias 0, LSTM U(±1/√H).
func buildLSTMChar(r *rand.Rand) Module {
	enc := NewEmbedding("encoder", charVocab, charEmbed)
	rnn := NewLSTM("rnn", charEmbed, charHidden)
	dec := NewLinear("decoder", charHidden, charVocab, true)
	initUniform(enc.Weight.Data(), 0.1, r)
	for _, p := range rnn.Params() {
		initUniform(p.Data(), 1/math.Sqrt(charHidden), r)
	}
	initUniform(dec.Weight.Data(), 0.1, r)
	seed := r.Uint64()
	return NewSequential("",
		enc, NewDropout("drop1", 0.2, seed), rnn, NewDropout("drop2", 0.2, seed+1), NewFlatten2("flatten"), dec)
}

// Flatten2 reshapes a T×N×H tensor to (T·N)×H, so that a Linear layer scores every
// step of every sequence (PyTorch's output.view(-1, H)).
type Flatten2 struct {
	base
	in       []int
	fwd, bwd ops.View
}

// NewFlatten2 returns a Flatten2 module named name.
func NewFlatten2(name string) *Flatten2 { return &Flatten2{base: base{name: name}} }

// Forward implements [Module].
func (f *Flatten2) Forward(x *tensor.Dense, _ bool) *tensor.Dense {
	s := x.Shape()
	if !sameShape(s, f.in) {
		f.in = append(f.in[:0], s...)
	}
	last := s[len(s)-1]
	y := f.fwd.Of(x, x.Shape().TotalSize()/last, last)
	f.record(x, y)
	return y
}

// Backward implements [Module].
func (f *Flatten2) Backward(dy *tensor.Dense) *tensor.Dense { return f.bwd.Of(dy, f.in...) }

// Info implements [Module].
func (f *Flatten2) Info() LayerInfo { return f.info("Flatten") }
