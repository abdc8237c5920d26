package nn

import "gorgonia.org/tensor"

// Observer receives the output of one module during [Model.ForwardObserved]. out is
// owned by the module and valid only until the observer returns: an observer that keeps
// values must copy them. It must not modify out.
type Observer func(layer LayerInfo, out *tensor.Dense)

// ForwardObserved runs m on x exactly as [Model.Forward] does — same modules, same
// order, same result — and calls fn with every layer's (leaf module's) output as soon
// as it is computed, in execution order. That is [Model.Layers] order except inside a
// BasicBlock with a shortcut, whose downsample layers run before its relu2.
// It is what activation statistics and calibration use (Distiller's forward hooks).
//
// A Conv2d or Linear layer with a fused ReLU ([LayerInfo.FusedReLU]) reports its
// rectified output, and the ReLU module after it reports the same values. A container
// other than Sequential and BasicBlock runs as a whole and is reported as one module.
func (m *Model) ForwardObserved(x *tensor.Dense, train bool, fn Observer) *tensor.Dense {
	return observe(m.root, x, train, fn)
}

// observe mirrors the Forward methods of the containers, reporting every leaf.
func observe(mod Module, x *tensor.Dense, train bool, fn Observer) *tensor.Dense {
	switch c := mod.(type) {
	case *Sequential:
		y := x
		for _, ch := range c.mods {
			y = observe(ch, y, train, fn)
		}
		c.record(x, y)
		return y
	case *BasicBlock:
		return c.forwardVia(x, func(m Module, x *tensor.Dense) *tensor.Dense { return observe(m, x, train, fn) })
	}
	y := mod.Forward(x, train)
	fn(mod.Info(), y)
	return y
}
