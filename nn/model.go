package nn

import (
	"fmt"

	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// Model is a network: a module tree with named parameters and buffers, the input shape
// it takes and the number of classes it scores. Create one with [New] (the zoo) or
// [NewModel]. A Model is not safe for concurrent use.
type Model struct {
	// Name is the zoo name ("simplenet_mnist").
	Name string
	// Input is the shape of one sample: (C, H, W) for image models, (T) — the
	// sequence length — for a language model, whose batches are T×N token ids.
	Input []int
	// Classes is the number of outputs (logits) per sample.
	Classes int

	root    Module
	params  []*Param
	buffers []*Buffer
	byName  map[string]*Param
}

// NewModel returns a model over the module tree root. It fuses every ReLU that directly
// follows a Conv2d or Linear layer in a Sequential into that layer, and a 2×2 max
// pooling that follows a convolution (and its ReLU) into the convolution; it makes the
// first layer with parameters skip its input gradient. It panics if two parameters or buffers share a name,
// which is a programming error in the model definition.
func NewModel(name string, input []int, classes int, root Module) *Model {
	m := &Model{Name: name, Input: clone(input), Classes: classes, root: root, byName: map[string]*Param{}}
	seen := map[string]bool{}
	walk(root, func(mod Module) {
		for _, p := range mod.Params() {
			if seen[p.Name] {
				panic("nn: NewModel: duplicate name " + p.Name)
			}
			seen[p.Name] = true
			m.params = append(m.params, p)
			m.byName[p.Name] = p
		}
		for _, b := range mod.Buffers() {
			if seen[b.Name] {
				panic("nn: NewModel: duplicate name " + b.Name)
			}
			seen[b.Name] = true
			m.buffers = append(m.buffers, b)
		}
		if s, ok := mod.(*Sequential); ok {
			fuseReLUs(s)
		}
	})
	// Nothing before the first layer with parameters needs a gradient, so that layer
	// skips its input gradient and backward stops there.
	if first := firstParamLeaf(root); first != nil {
		switch l := first.(type) {
		case *Conv2d:
			l.op.NoInputGrad = true
		case *Linear:
			l.op.NoInputGrad = true
		}
	}
	return m
}

// Walk calls f on every module of m's tree, the root first, parents before children, in
// definition order (the modules [Model.Modules] describes).
func (m *Model) Walk(f func(Module)) { walk(m.root, f) }

// walk calls f on every module of the tree rooted at m, parents before children, in
// definition order (PyTorch's modules() order).
func walk(m Module, f func(Module)) {
	f(m)
	for _, c := range m.Children() {
		walk(c, f)
	}
}

// firstParamLeaf returns the first leaf with parameters when the input reaches it
// through a straight chain of Sequentials and parameter-free leaves (Flatten, pooling,
// ReLU …), or nil when a branching block comes first.
func firstParamLeaf(m Module) Module {
	ch := m.Children()
	if len(ch) == 0 {
		if len(m.Params()) > 0 {
			return m
		}
		return nil
	}
	if _, ok := m.(*Sequential); !ok {
		return nil // a block with branches: its input feeds more than one path
	}
	for _, c := range ch {
		if len(c.Children()) == 0 && len(c.Params()) == 0 {
			continue
		}
		return firstParamLeaf(c)
	}
	return nil
}

// fuseReLUs fuses, in a Sequential, every ReLU that directly follows a Conv2d or
// Linear layer into that layer, and a 2×2, stride-2, unpadded MaxPool2d that follows a
// Conv2d (directly or after its fused ReLU) into the convolution.
func fuseReLUs(s *Sequential) {
	for i := 1; i < len(s.mods); i++ {
		if r, ok := s.mods[i].(*ReLU); ok {
			switch l := s.mods[i-1].(type) {
			case *Conv2d:
				l.op.Relu, r.fused, r.conv = true, true, l
			case *Linear:
				l.op.Relu, r.fused = true, true
			}
			continue
		}
		mp, ok := s.mods[i].(*MaxPool2d)
		if !ok || mp.op.KH != 2 || mp.op.KW != 2 || mp.op.StrideH != 2 || mp.op.StrideW != 2 || mp.op.PadH != 0 || mp.op.PadW != 0 {
			continue
		}
		prev := s.mods[i-1]
		if r, ok := prev.(*ReLU); ok && r.conv != nil && i >= 2 {
			prev = s.mods[i-2]
		}
		if c, ok := prev.(*Conv2d); ok {
			c.op.Pool2x2, mp.conv = true, c
		}
	}
}

// Params returns the parameters in PyTorch's named_parameters() order.
func (m *Model) Params() []*Param { return m.params }

// Param returns the parameter with the given name, or nil.
func (m *Model) Param(name string) *Param { return m.byName[name] }

// Buffers returns the buffers (BatchNorm running statistics) in PyTorch's state_dict
// order.
func (m *Model) Buffers() []*Buffer { return m.buffers }

// Root returns the model's module tree.
func (m *Model) Root() Module { return m.root }

// NumParams returns the number of learned values (all parameters, biases included).
func (m *Model) NumParams() int {
	n := 0
	for _, p := range m.params {
		n += p.Len()
	}
	return n
}

// NumWeights returns the number of values of the Conv2d and Linear weights only: the
// "parameters" Distiller's summaries count (270,896 for resnet20_cifar).
func (m *Model) NumWeights() int {
	n := 0
	for _, p := range m.params {
		if p.Kind == KindWeight {
			n += p.Len()
		}
	}
	return n
}

// Forward runs the model on an N×C×H×W batch (a language model: T×N token ids) and
// returns the N×Classes logits (T·N×Classes), owned by the model until its next
// Forward. train selects batch statistics and dropout.
func (m *Model) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	return m.root.Forward(x, train)
}

// Backward back-propagates dlogits, the gradient of the loss with respect to the last
// Forward's logits, accumulating into every parameter's Grad.
func (m *Model) Backward(dlogits *tensor.Dense) { m.root.Backward(dlogits) }

// ZeroGrad sets every parameter gradient to zero.
func (m *Model) ZeroGrad() {
	for _, p := range m.params {
		clear(p.GradData())
	}
}

// ApplyMasks multiplies every masked parameter by its mask.
func (m *Model) ApplyMasks() {
	for _, p := range m.params {
		p.ApplyMask()
	}
}

// Layers returns the leaf modules (layers) in definition order, with their attributes
// and, after a Forward, their input and output shapes.
func (m *Model) Layers() []LayerInfo {
	var out []LayerInfo
	walk(m.root, func(mod Module) {
		if len(mod.Children()) == 0 {
			out = append(out, mod.Info())
		}
	})
	return out
}

// Modules returns every module, containers included, parents before children, as
// PyTorch's named_modules() (the unnamed root is left out).
func (m *Model) Modules() []LayerInfo {
	var out []LayerInfo
	walk(m.root, func(mod Module) {
		if li := mod.Info(); li.Name != "" {
			out = append(out, li)
		}
	})
	return out
}

// CheckInput reports whether samples of shape c×h×w and classes labels fit the model.
func (m *Model) CheckInput(c, h, w, classes int) error {
	want := m.Input
	if len(want) != 3 {
		return fmt.Errorf("nn: model %s takes token sequences, not %d×%d×%d images", m.Name, c, h, w)
	}
	if want[0] != c || want[1] != h || want[2] != w {
		return fmt.Errorf("nn: model %s takes %s samples, the data set has %d×%d×%d", m.Name, shapeString(want), c, h, w)
	}
	if classes > m.Classes {
		return fmt.Errorf("nn: model %s scores %d classes, the data set has %d", m.Name, m.Classes, classes)
	}
	return nil
}

func shapeString(s []int) string {
	out := ""
	for i, d := range s {
		if i > 0 {
			out += "×"
		}
		out += fmt.Sprint(d)
	}
	return out
}

// inputBuffer holds the model-input tensor of a training or evaluation loop.
type inputBuffer struct {
	x ops.Buffer
	y []int32
}

func (ib *inputBuffer) get(n int, shape []int) (*tensor.Dense, []int32) {
	var x *tensor.Dense
	switch len(shape) {
	case 3:
		x = ib.x.Get(n, shape[0], shape[1], shape[2])
	default:
		panic("nn: model input must be C×H×W")
	}
	if cap(ib.y) < n {
		ib.y = make([]int32, n)
	}
	return x, ib.y[:n]
}
