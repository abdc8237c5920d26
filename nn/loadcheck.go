package nn

// Checking a loaded file against the model ([LoadCheckpoint], [LoadSparse]).
//
// A checkpoint is user input: a file from another tool, a truncated copy, a hand-edited
// header. Everything it holds is checked before the model changes, so that a file that
// does not fit is an error naming the file and the tensor, never a panic in a layer
// later (or, worse, a model that runs on garbage):
//
//   - Shapes. A tensor has the rank of the model's tensor of the same name. Its
//     dimensions are the model's, except the channel dimensions that thinning shrinks
//     and widening grows ([Thin], [Widen]: a Conv2d's or Linear layer's filters and
//     input channels, a bias's and a batch norm's channels), which may have any
//     positive size: the file of a thinned or widened model. The channels of the model
//     input and of the class scores never change (the channel spaces of thin.go say
//     which dimensions those are).
//   - Values. Parameters, buffers and optimizer state are finite; a batch norm's running
//     variance is not negative; a mask holds only 0 and 1.
//   - Consistency. Shapes that pass one by one may still not fit together (a layer
//     thinned without the layer reading it, a bias shorter than its weight). When the
//     file changes any shape of the model, the loader gives the model the file's
//     tensors and runs one sample through it in evaluation mode ([probe]); a layer that
//     panics on its input (the ops panic on shapes that do not fit) or class scores of
//     the wrong width make the load fail, and the model is put back as it was.
//
// The dry run leaves the model's state alone: it skips the activation quantizers (whose
// running ranges it would move), the observers of [Tap] layers and the carried state of
// LSTM layers.

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/dst-dev/dst/internal/safetensors"
	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// ErrCheckpointValues is wrapped when a checkpoint holds values no model can use:
// NaN or infinite parameters, a negative running variance, a mask that is not 0/1.
var ErrCheckpointValues = errors.New("checkpoint holds invalid values")

// int8Format is the metadata "format" of the int8 model files dst export --int8 writes
// (internal/int8model, which imports this package).
const int8Format = "dst-int8"

// tensorSpec is what a model requires of one of its tensors in a file.
type tensorSpec struct {
	channels []int // the channel dimensions thinning and widening change
	variance bool  // a batch norm's running variance: never negative
}

// tensorSpecs returns the spec of every parameter and buffer of m with something to
// say, by name; the others keep their shape exactly.
func tensorSpecs(m *Model) map[string]tensorSpec {
	specs := map[string]tensorSpec{}
	var add func(mod Module)
	add = func(mod Module) {
		layer := func(w, b *Param) {
			specs[w.Name] = tensorSpec{channels: []int{0, 1}}
			if b != nil {
				specs[b.Name] = tensorSpec{channels: []int{0}}
			}
		}
		switch l := mod.(type) {
		case *Conv2d:
			layer(l.Weight, l.Bias)
		case *Linear:
			layer(l.Weight, l.Bias)
		case *BatchNorm2d:
			for _, name := range []string{l.Weight.Name, l.Bias.Name, l.RunningMean.Name} {
				specs[name] = tensorSpec{channels: []int{0}}
			}
			specs[l.RunningVar.Name] = tensorSpec{channels: []int{0}, variance: true}
		case *RangeLinear:
			add(l.Layer)
		}
	}
	walk(m.root, add)

	// The channels of the model input and of the class scores are pinned. A model the
	// tracer does not know cannot be thinned or widened either; the dry run checks it.
	if len(m.Input) == 0 {
		return specs
	}
	tr := &tracer{}
	in := tr.newSpace(m.Input[0], "model input")
	out, _, err := tr.trace(m.root, in, false)
	if err != nil {
		return specs
	}
	tr.root(out).pinned = "model output"
	pin := func(name string, dim int) {
		sp := specs[name]
		sp.channels = slices.DeleteFunc(slices.Clone(sp.channels), func(d int) bool { return d == dim })
		specs[name] = sp
	}
	for i, sp := range tr.spaces {
		if tr.find(i) != i || sp.pinned == "" {
			continue
		}
		for _, p := range sp.producers {
			pin(p.w.Name, 0)
			if p.b != nil {
				pin(p.b.Name, 0)
			}
		}
		for _, c := range sp.consumers {
			pin(c.w.Name, 1)
		}
		for _, bn := range sp.norms {
			for _, name := range []string{bn.Weight.Name, bn.Bias.Name, bn.RunningMean.Name, bn.RunningVar.Name} {
				pin(name, 0)
			}
		}
	}
	return specs
}

// check checks l, read for m's tensor whose current shape is want, against spec: its
// shape (see the file comment) and its values.
func (l *loaded) check(m *Model, spec tensorSpec, want []int) error {
	if !fits(l.shape, want, spec.channels) {
		other := ""
		if len(spec.channels) > 0 {
			other = " (or a thinned or widened shape of it)"
		}
		return fmt.Errorf("%s has shape %v; %s needs %v%s: %w", l.name, l.shape, orElse(m.Name, "the model"), want, other, ErrCheckpointMismatch)
	}
	if err := finite(l.name, l.value); err != nil {
		return err
	}
	if spec.variance {
		neg := 0
		for _, v := range l.value {
			if v < 0 {
				neg++
			}
		}
		if neg > 0 {
			return fmt.Errorf("%s has %s below 0 (of %d), and a variance cannot be negative: %w", l.name, count(neg, "value"), len(l.value), ErrCheckpointValues)
		}
	}
	return nil
}

// checkMask checks that l, the mask of parameter, holds only 0 and 1.
func (l *loaded) checkMask(param string) error {
	bad := 0
	for _, v := range l.value {
		if v != 0 && v != 1 {
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("%s, the mask of %s, has %s other than 0 and 1 (of %d): %w", l.name, param, count(bad, "value"), len(l.value), ErrCheckpointValues)
	}
	return nil
}

// finite returns an error naming the tensor name when v holds NaN or infinite values.
func finite(name string, v []float32) error {
	bad := 0
	for _, x := range v {
		if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("%s has %s (of %d): %w", name, count(bad, "NaN or infinite value"), len(v), ErrCheckpointValues)
	}
	return nil
}

// fits reports whether shape is want, or want with some of the dimensions in channels
// of another positive size.
func fits(shape, want, channels []int) bool {
	if len(shape) != len(want) {
		return false
	}
	for i, d := range shape {
		if d != want[i] && (!slices.Contains(channels, i) || d < 1) {
			return false
		}
	}
	return true
}

// int8File returns an error when f is an int8 model file (by its metadata, or by its
// layout: an I8 weight beside its scale), which holds integers where a checkpoint holds
// floats, and nil otherwise.
func int8File(f *safetensors.File) error {
	is := f.Metadata["format"] == int8Format
	for _, t := range f.Tensors {
		if t.DType == safetensors.I8 && f.Tensor(t.Name+".scale") != nil {
			is = true
		}
	}
	if !is {
		return nil
	}
	from := "the float checkpoint it was exported from"
	if src := f.Metadata["dst.source"]; src != "" {
		from += " (" + src + ")"
	}
	return fmt.Errorf("this is an int8 model file written by dst export --int8, not a float checkpoint; load %s", from)
}

// reshapes reports whether loading params and buffers changes the shape of a tensor of
// m.
func reshapes(m *Model, params, buffers []*loaded) bool {
	for i, p := range m.Params() {
		if !sameShape(p.Value.Shape(), params[i].shape) {
			return true
		}
	}
	for i, b := range m.Buffers() {
		if !sameShape(b.Value.Shape(), buffers[i].shape) {
			return true
		}
	}
	return false
}

// probe runs one sample (zeros) through m in evaluation mode, as [Model.Forward] does
// but leaving the model's state alone (see the file comment), and returns an error
// wrapping [ErrCheckpointMismatch] when a layer does not fit its input (the panic the
// layer raises is recovered) or the model's output is not one row of class scores per
// sample. A model whose input is neither C×H×W nor a sequence length is not run.
func probe(m *Model) (err error) {
	var x *tensor.Dense
	rows := 1
	switch len(m.Input) {
	case 3:
		x = ops.New(1, m.Input[0], m.Input[1], m.Input[2])
	case 1:
		x = ops.New(m.Input[0], 1) // T×N token ids, all 0
		rows = m.Input[0]
	default:
		return nil
	}
	var (
		at      Module // the layer running, or the last one run
		in      []int  // at's input shape
		running bool   // at has not returned
	)
	run := func(mod Module, x *tensor.Dense) *tensor.Dense {
		at, in, running = mod, clone(x.Shape()), true
		y := mod.Forward(x, false)
		running = false
		return y
	}
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		what := "the model fails"
		if at != nil {
			layer := "layer " + at.Info().Name
			var ts []string
			for _, p := range at.Params() {
				ts = append(ts, fmt.Sprintf("%s %v", p.Name, p.Shape()))
			}
			for _, b := range at.Buffers() {
				ts = append(ts, fmt.Sprintf("%s %v", b.Name, []int(b.Value.Shape())))
			}
			if len(ts) > 0 {
				layer += " (" + strings.Join(ts, ", ") + ")"
			}
			if running {
				what = fmt.Sprintf("%s fails on an input of shape %v", layer, in)
			} else {
				// A residual add, for one: the operands come from different layers.
				what = "what follows " + layer + " does not take its output"
			}
		}
		err = fmt.Errorf("the tensors do not fit together: %s: %v: %w", what, r, ErrCheckpointMismatch)
	}()
	y := probeModule(m.root, x, run)
	if s := y.Shape(); len(s) != 2 || s[0] != rows || s[1] != m.Classes {
		return fmt.Errorf("the model's output has shape %v, where %s scores %d classes (the class scores cannot be thinned): %w",
			[]int(s), orElse(m.Name, "the model"), m.Classes, ErrCheckpointMismatch)
	}
	return nil
}

// probeModule runs mod on x for [probe], every layer through run.
func probeModule(mod Module, x *tensor.Dense, run func(Module, *tensor.Dense) *tensor.Dense) *tensor.Dense {
	switch c := mod.(type) {
	case *Sequential:
		for _, ch := range c.mods {
			x = probeModule(ch, x, run)
		}
		return x
	case *BasicBlock:
		return c.forwardVia(x, func(m Module, x *tensor.Dense) *tensor.Dense { return probeModule(m, x, run) })
	case *Tap:
		return probeModule(c.Inner, x, run)
	case *InputQuant:
		return probeModule(c.Inner, x, run) // the quantizer keeps the shape
	case *ActQuant:
		return run(c.ReLU, x) // the quantizer keeps the shape
	case *LSTM:
		carry := c.CarryState
		c.CarryState = false
		defer func() { c.CarryState = carry }()
	}
	return run(mod, x)
}

// count returns "n things", or "1 thing".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// orElse returns s, or alt when s is empty.
func orElse(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
