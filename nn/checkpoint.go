package nn

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/dst-dev/dst/internal/safetensors"
	"gorgonia.org/tensor"
)

// Checkpoint layout. A checkpoint is a safetensors file that PyTorch tooling can read as
// a state dict: every parameter and buffer under its own name, F32. dst's extra state
// lives under reserved prefixes and in the metadata:
//
//	<param>                       parameter values ("conv1.weight")
//	<buffer>                      buffer values ("bn1.running_mean")
//	__mask__.<param>              the 0/1 mask of a pruned parameter
//	__optim__.<slot>.<param>      optimizer state ("__optim__.momentum_buffer.fc1.weight")
//	__state__.<name>              a host's extra training state ([StateTensor]), such as
//	                              the float copies of quantization-aware training
//
// Metadata keys: "format" = "pt", "dst.model" (zoo name), "dst.epoch" (last finished
// epoch, -1 before training), "dst.optimizer" (its state slot names, comma-separated),
// plus whatever the caller adds (a scheduler's state, for instance).
const (
	maskPrefix  = "__mask__."
	optimPrefix = "__optim__."
	statePrefix = "__state__."
)

// StateTensor is extra training state a host saves with a checkpoint (see
// [SaveCheckpoint]) and gets back in [CheckpointInfo.State]: state that is neither a
// parameter, a buffer nor optimizer state, such as the float copies of the weights
// during quantization-aware training.
type StateTensor struct {
	// Name is the tensor's name in the checkpoint, after the "__state__." prefix.
	Name string
	// Shape is the tensor's shape (nil or empty: a scalar); Data holds the product of
	// its dimensions values, row-major.
	Shape []int
	Data  []float32
}

// CheckpointInfo is what a checkpoint's metadata says about it.
type CheckpointInfo struct {
	// Model is the zoo name of the model the checkpoint belongs to.
	Model string
	// Epoch is the last finished epoch (-1 when saved before training).
	Epoch int
	// Meta holds every metadata pair, including the ones above.
	Meta map[string]string
	// State holds the [StateTensor] values saved with the checkpoint, by name (filled
	// by [LoadCheckpoint]).
	State map[string][]float32
}

// CheckpointParams returns the parameters a checkpoint of m holds: those of
// [Model.Params], and in place of every layer that post-training quantization replaced
// by a [RangeLinear], that layer's float parameters (and masks), from which its integers
// were made. A checkpoint of a quantized model thus loads into the float model, which
// the same quantization turns back into the quantized one.
func CheckpointParams(m *Model) []*Param {
	var ps []*Param
	walk(m.root, func(mod Module) {
		if r, ok := mod.(*RangeLinear); ok && r.Layer != nil {
			ps = append(ps, r.Layer.Params()...)
			return
		}
		ps = append(ps, mod.Params()...)
	})
	return ps
}

// SaveCheckpoint writes m's parameters ([CheckpointParams]), buffers and masks, opt's
// state (opt may be nil),
// meta (extra metadata, may be nil) and state (a host's extra tensors) to path
// atomically: a crash leaves the previous file or the new one, never half of one. epoch
// is the last finished epoch.
func SaveCheckpoint(path string, m *Model, opt Optimizer, epoch int, meta map[string]string, state ...StateTensor) error {
	if m == nil {
		return fmt.Errorf("nn: save checkpoint %s: no model", path)
	}
	f := &safetensors.File{Metadata: map[string]string{}}
	for k, v := range meta {
		f.Metadata[k] = v
	}
	f.Metadata["format"] = "pt"
	f.Metadata["dst.model"] = m.Name
	f.Metadata["dst.epoch"] = strconv.Itoa(epoch)
	params := CheckpointParams(m)
	for _, p := range params {
		f.Tensors = append(f.Tensors, safetensors.FromFloat32(p.Name, p.Shape(), p.Data()))
	}
	for _, b := range m.Buffers() {
		f.Tensors = append(f.Tensors, safetensors.FromFloat32(b.Name, b.Value.Shape(), b.Value.Data().([]float32)))
	}
	for _, p := range params {
		if md := p.MaskData(); md != nil {
			f.Tensors = append(f.Tensors, safetensors.FromFloat32(maskPrefix+p.Name, p.Shape(), md))
		}
	}
	if opt != nil {
		slots := opt.StateNames()
		f.Metadata["dst.optimizer"] = strings.Join(slots, ",")
		state := opt.State()
		for _, p := range m.Params() {
			ts, ok := state[p.Name]
			if !ok {
				continue
			}
			for i, t := range ts {
				if i < len(slots) && t != nil {
					f.Tensors = append(f.Tensors, safetensors.FromFloat32(optimPrefix+slots[i]+"."+p.Name, t.Shape(), t.Data().([]float32)))
				}
			}
		}
	}
	for _, st := range state {
		n := 1
		for _, d := range st.Shape {
			n *= d
		}
		if n != len(st.Data) {
			return fmt.Errorf("nn: save checkpoint %s: state %q has %d values for shape %v", path, st.Name, len(st.Data), st.Shape)
		}
		f.Tensors = append(f.Tensors, safetensors.FromFloat32(statePrefix+st.Name, st.Shape, st.Data))
	}
	if err := safetensors.WriteFile(path, f); err != nil {
		return fmt.Errorf("nn: save checkpoint %s: %w", path, err)
	}
	return nil
}

// ReadCheckpointInfo reads only what a checkpoint's metadata says (model, epoch).
func ReadCheckpointInfo(path string) (*CheckpointInfo, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nn: read checkpoint: %w", err)
	}
	return info(path, f)
}

func info(path string, f *safetensors.File) (*CheckpointInfo, error) {
	ci := &CheckpointInfo{Model: f.Metadata["dst.model"], Epoch: -1, Meta: f.Metadata}
	if ci.Meta == nil {
		ci.Meta = map[string]string{}
	}
	if s, ok := f.Metadata["dst.epoch"]; ok {
		e, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("nn: checkpoint %s: metadata dst.epoch %q is not an integer", path, s)
		}
		ci.Epoch = e
	}
	return ci, nil
}

// ErrCheckpointMismatch is wrapped when a checkpoint does not fit the model it is
// loaded into.
var ErrCheckpointMismatch = errors.New("checkpoint does not fit the model")

// LoadCheckpoint restores m (and opt's state, when opt is not nil and the file has it)
// from path. Every parameter and buffer of m must be in the file; a tensor whose shape
// is a thinned or widened form of m's (a checkpoint written after [Thin] or [Widen])
// replaces the model's tensor with one of the saved shape, so the layer shrinks or grows
// accordingly. Unknown tensors in the file are an error, as they usually mean the wrong
// model. Masks are restored; parameters without a saved mask become dense.
//
// The file is checked first (see loadcheck.go): a shape m cannot take, or tensors that
// do not fit together, are an error wrapping [ErrCheckpointMismatch] that names the
// tensor; NaN or infinite values, a negative running variance or a mask that is not 0/1
// an error wrapping [ErrCheckpointValues]; an int8 model file (dst export --int8) an
// error that says so. On any error m and opt are left as they were.
func LoadCheckpoint(path string, m *Model, opt Optimizer) (*CheckpointInfo, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nn: load checkpoint: %w", err)
	}
	if err := int8File(f); err != nil {
		return nil, fmt.Errorf("nn: load checkpoint %s: %w", path, err)
	}
	if f.Metadata["format"] == sparseFormat {
		return nil, fmt.Errorf("nn: load checkpoint %s: this is a sparse model file (written by SaveSparse), not a checkpoint", path)
	}
	ci, err := info(path, f)
	if err != nil {
		return nil, err
	}
	if ci.Model != "" && m.Name != "" && ci.Model != m.Name {
		return nil, fmt.Errorf("nn: load checkpoint %s: it holds a %s, not a %s: %w", path, ci.Model, m.Name, ErrCheckpointMismatch)
	}
	// Everything is read and checked before the model changes: a checkpoint that does
	// not fit leaves m (and opt) as they were.
	specs := tensorSpecs(m)
	used := map[string]bool{}
	read := func(name string) (*loaded, error) {
		l, err := readLoaded(f, name)
		switch {
		case err != nil:
			return nil, fmt.Errorf("nn: load checkpoint %s: %w", path, err)
		case l == nil:
			return nil, fmt.Errorf("nn: load checkpoint %s: tensor %q is missing: %w", path, name, ErrCheckpointMismatch)
		}
		used[name] = true
		return l, nil
	}
	params := make([]*loaded, len(m.Params()))
	masks := make([]*loaded, len(m.Params())) // nil: the parameter becomes dense
	for i, p := range m.Params() {
		if params[i], err = read(p.Name); err != nil {
			return nil, err
		}
		if err := params[i].check(m, specs[p.Name], p.Shape()); err != nil {
			return nil, fmt.Errorf("nn: load checkpoint %s: %w", path, err)
		}
		if f.Tensor(maskPrefix+p.Name) == nil {
			continue
		}
		if masks[i], err = read(maskPrefix + p.Name); err != nil {
			return nil, err
		}
		if !sameShape(params[i].shape, masks[i].shape) {
			return nil, fmt.Errorf("nn: load checkpoint %s: mask of %s has shape %v, parameter %v: %w", path, p.Name, masks[i].shape, params[i].shape, ErrCheckpointMismatch)
		}
		if err := masks[i].checkMask(p.Name); err != nil {
			return nil, fmt.Errorf("nn: load checkpoint %s: %w", path, err)
		}
	}
	buffers := make([]*loaded, len(m.Buffers()))
	for i, b := range m.Buffers() {
		if buffers[i], err = read(b.Name); err != nil {
			return nil, err
		}
		if err := buffers[i].check(m, specs[b.Name], b.Value.Shape()); err != nil {
			return nil, fmt.Errorf("nn: load checkpoint %s: %w", path, err)
		}
	}
	var optNames []string
	for _, t := range f.Tensors {
		if strings.HasPrefix(t.Name, optimPrefix) {
			optNames = append(optNames, t.Name)
			continue
		}
		if name, ok := strings.CutPrefix(t.Name, statePrefix); ok {
			v := make([]float32, t.Len())
			if err := t.Float32s(v); err != nil {
				return nil, fmt.Errorf("nn: load checkpoint %s: %w", path, err)
			}
			if ci.State == nil {
				ci.State = map[string][]float32{}
			}
			ci.State[name] = v
			continue
		}
		if !used[t.Name] {
			return nil, fmt.Errorf("nn: load checkpoint %s: tensor %q is not a parameter or buffer of %s: %w", path, t.Name, m.Name, ErrCheckpointMismatch)
		}
	}
	var state map[string][]*tensor.Dense
	if opt != nil && len(optNames) > 0 {
		slots := opt.StateNames()
		if saved := f.Metadata["dst.optimizer"]; saved != strings.Join(slots, ",") {
			return nil, fmt.Errorf("nn: load checkpoint %s: optimizer state has slots %q, the optimizer wants %q", path, saved, strings.Join(slots, ","))
		}
		state = map[string][]*tensor.Dense{}
		for _, p := range m.Params() {
			var ts []*tensor.Dense
			for _, slot := range slots {
				t := f.Tensor(optimPrefix + slot + "." + p.Name)
				if t == nil {
					ts = nil
					break
				}
				d := tensor.New(tensor.WithShape(t.Shape...), tensor.Of(tensor.Float32))
				if err := t.Float32s(d.Data().([]float32)); err != nil {
					return nil, fmt.Errorf("nn: load checkpoint %s: %w", path, err)
				}
				if err := finite(t.Name, d.Data().([]float32)); err != nil {
					return nil, fmt.Errorf("nn: load checkpoint %s: %w", path, err)
				}
				ts = append(ts, d)
			}
			if ts != nil {
				state[p.Name] = ts
			}
		}
	}
	// Whether thinned tensors fit together shows when the model runs them, and the
	// optimizer checks its state against the parameters' shapes, which are the
	// checkpoint's once it is applied: apply it, and put everything back if the model
	// cannot run or the optimizer refuses its state.
	reshaped := reshapes(m, params, buffers)
	undo := snapshot(m)
	for i, p := range m.Params() {
		params[i].setParam(p)
		p.Mask = nil
		if masks[i] != nil {
			p.SetMask(masks[i].value)
		}
	}
	for i, b := range m.Buffers() {
		buffers[i].setBuffer(b)
	}
	if reshaped {
		if err := probe(m); err != nil {
			undo()
			return nil, fmt.Errorf("nn: load checkpoint %s: %w", path, err)
		}
	}
	if state != nil {
		if err := opt.SetState(state); err != nil {
			undo()
			return nil, fmt.Errorf("nn: load checkpoint %s: %w", path, err)
		}
	}
	return ci, nil
}

// loaded is a tensor read from a file and checked, not yet given to the model.
type loaded struct {
	name  string // its name in the file
	shape []int
	value []float32
}

// readLoaded reads f's float tensor name, or returns nil when f has no such tensor.
func readLoaded(f *safetensors.File, name string) (*loaded, error) {
	t := f.Tensor(name)
	if t == nil {
		return nil, nil
	}
	v := make([]float32, t.Len())
	if err := t.Float32s(v); err != nil {
		return nil, err
	}
	return &loaded{name: name, shape: t.Shape, value: v}, nil
}

// setParam gives p the loaded values. A shape other than p's (the file of a thinned
// model) replaces p's value and gradient with tensors of that shape and drops its mask.
func (l *loaded) setParam(p *Param) {
	if !sameShape(p.Value.Shape(), l.shape) {
		p.Value = tensor.New(tensor.WithShape(l.shape...), tensor.Of(tensor.Float32))
		p.Grad = tensor.New(tensor.WithShape(l.shape...), tensor.Of(tensor.Float32))
		p.Mask = nil
	}
	copy(p.Data(), l.value)
}

// setBuffer gives b the loaded values, in a tensor of the loaded shape.
func (l *loaded) setBuffer(b *Buffer) {
	if !sameShape(b.Value.Shape(), l.shape) {
		b.Value = tensor.New(tensor.WithShape(l.shape...), tensor.Of(tensor.Float32))
	}
	copy(b.Value.Data().([]float32), l.value)
}

// snapshot records the tensors of m's parameters and buffers (values, gradients,
// masks) and returns a function that puts them back as they were.
func snapshot(m *Model) (undo func()) {
	type saved struct {
		value, grad, mask *tensor.Dense
		data, maskData    []float32
	}
	ps := make([]saved, len(m.Params()))
	for i, p := range m.Params() {
		ps[i] = saved{value: p.Value, grad: p.Grad, mask: p.Mask, data: slices.Clone(p.Value.Data().([]float32))}
		if p.Mask != nil {
			ps[i].maskData = slices.Clone(p.MaskData())
		}
	}
	bs := make([]saved, len(m.Buffers()))
	for i, b := range m.Buffers() {
		bs[i] = saved{value: b.Value, data: slices.Clone(b.Value.Data().([]float32))}
	}
	return func() {
		for i, p := range m.Params() {
			s := ps[i]
			p.Value, p.Grad, p.Mask = s.value, s.grad, s.mask
			copy(p.Value.Data().([]float32), s.data)
			if p.Mask != nil {
				copy(p.MaskData(), s.maskData)
			}
		}
		for i, b := range m.Buffers() {
			b.Value = bs[i].value
			copy(b.Value.Data().([]float32), bs[i].data)
		}
	}
}
