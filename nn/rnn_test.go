package nn

import (
	"math"
	"strings"
	"testing"

	"github.com/dst-dev/dst/ops"
)

// TestLSTMCharLearns trains lstm_char with truncated back-propagation through time on
// a repeated sentence; the per-character loss must fall far below that of guessing.
func TestLSTMCharLearns(t *testing.T) {
	m := mustNew(t, "lstm_char", 1)
	var rnn *LSTM
	walk(m.Root(), func(mod Module) {
		if l, ok := mod.(*LSTM); ok {
			rnn = l
		}
	})
	rnn.CarryState = true
	text := strings.Repeat("the quick brown fox jumps over the lazy dog. ", 40)
	const seqLen, batch = 20, 4
	// Split the text into batch streams, as word_language_model's batchify does.
	stream := len(text) / batch
	x := ops.New(seqLen, batch)
	y := make([]int32, seqLen*batch)
	opt, err := NewAdam(m.Params(), AdamConfig{LR: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	var ce ops.CrossEntropy
	var first, last float64
	steps := 0
	for epoch := 0; epoch < 4; epoch++ {
		rnn.ResetState()
		for pos := 0; pos+seqLen+1 <= stream; pos += seqLen {
			for s := 0; s < seqLen; s++ {
				for b := 0; b < batch; b++ {
					ops.F32(x)[s*batch+b] = float32(text[b*stream+pos+s])
					y[s*batch+b] = int32(text[b*stream+pos+s+1])
				}
			}
			m.ZeroGrad()
			loss := ce.Forward(m.Forward(x, true), y)
			m.Backward(ce.Backward())
			opt.Step()
			if steps == 0 {
				first = loss
			}
			last = loss
			steps++
		}
	}
	t.Logf("%d steps: loss %.3f → %.3f", steps, first, last)
	if math.Abs(first-math.Log(charVocab)) > 0.5 || last > 0.5 {
		t.Fatalf("loss %.3f → %.3f, want from about ln 128 = %.2f to below 0.5", first, last, math.Log(charVocab))
	}
}

func TestLSTMCarryState(t *testing.T) {
	m := mustNew(t, "lstm_char", 2)
	var rnn *LSTM
	walk(m.Root(), func(mod Module) {
		if l, ok := mod.(*LSTM); ok {
			rnn = l
		}
	})
	x := ops.New(3, 2)
	for i := range ops.F32(x) {
		ops.F32(x)[i] = float32(65 + i)
	}
	out := func() []float32 { return append([]float32(nil), ops.F32(m.Forward(x, false))...) }
	a, b := out(), out()
	if !equalF32(a, b) {
		t.Fatalf("without CarryState two forwards differ")
	}
	rnn.CarryState = true
	c := out()
	d := out()
	if !equalF32(a, c) || equalF32(c, d) {
		t.Fatalf("CarryState: the first forward must start from zeros, the second from its state")
	}
	rnn.ResetState()
	if e := out(); !equalF32(a, e) {
		t.Fatalf("ResetState did not restart from zeros")
	}
	if err := m.CheckInput(1, 28, 28, 10); err == nil || !strings.Contains(err.Error(), "token sequences") {
		t.Errorf("CheckInput: %v", err)
	}
}
