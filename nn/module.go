package nn

import (
	"math"
	"math/rand/v2"

	"github.com/dst-dev/dst/kernels"
	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// Module is a node of a model's module tree: a layer (Conv2d, Linear, ReLU …) or a
// container of layers (Sequential, BasicBlock). Modules are created by the zoo or by the
// New… constructors of this package and are not safe for concurrent use.
//
// Forward returns a tensor owned by the module, valid until its next Forward; Backward
// takes the gradient with respect to that output, accumulates parameter gradients, and
// returns the gradient with respect to the input (nil when no module below needs it).
type Module interface {
	// Forward computes the module's output; train selects training behaviour
	// (batch statistics, dropout).
	Forward(x *tensor.Dense, train bool) *tensor.Dense
	// Backward back-propagates dy, the gradient with respect to the last output.
	Backward(dy *tensor.Dense) *tensor.Dense
	// Info describes the module (name, type, attributes, last shapes).
	Info() LayerInfo
	// Children returns the direct sub-modules in definition order, nil for a leaf.
	Children() []Module
	// Params returns the module's own parameters (not its children's), in PyTorch order.
	Params() []*Param
	// Buffers returns the module's own buffers (not its children's), in PyTorch order.
	Buffers() []*Buffer
}

// Buffer is a named tensor of a model that is not learned but is part of its state, such
// as a BatchNorm running statistic ("layer1.0.bn1.running_mean"). Checkpoints save them.
type Buffer struct {
	// Name is the dotted PyTorch name.
	Name string
	// Layer is the dotted name of the owning module.
	Layer string
	// Value holds the float32 values; a module reads it at every call, so it may be
	// replaced by a tensor of a new shape (thinning).
	Value *tensor.Dense
}

// LayerInfo describes one module for summaries (Distiller's MAC counts) and for tools
// that walk a model. Attributes that do not apply to the module's type are zero.
type LayerInfo struct {
	// Name is the dotted module name ("layer1.0.conv1").
	Name string
	// Type is the PyTorch class name: "Conv2d", "Linear", "BatchNorm2d", "ReLU",
	// "MaxPool2d", "AvgPool2d", "Flatten", "Dropout", "Sequential" or "BasicBlock".
	Type string
	// Kernel, Stride and Padding are (height, width) for convolutions and pooling.
	Kernel, Stride, Padding [2]int
	// InChannels and OutChannels are a Conv2d's channel counts, and NumFeatures a
	// BatchNorm2d's, all read from the current parameter shapes.
	InChannels, OutChannels, NumFeatures int
	// InFeatures and OutFeatures are a Linear layer's sizes, from its weight shape.
	InFeatures, OutFeatures int
	// Bias reports whether a Conv2d or Linear layer has a bias.
	Bias bool
	// P is a Dropout's probability.
	P float64
	// FusedReLU reports that a Conv2d or Linear layer applies the following ReLU itself
	// (the ReLU module then passes values through).
	FusedReLU bool
	// FusedPool reports that a Conv2d layer also applies the following 2×2 max pooling
	// (the MaxPool2d module then passes values through). Shapes are reported as if
	// the layers ran separately.
	FusedPool bool
	// InShape and OutShape are the shapes of the last Forward's input and output (nil
	// before the first Forward).
	InShape, OutShape []int
}

// base carries the name and the last shapes every module records.
type base struct {
	name    string
	in, out []int
}

func (b *base) record(x, y *tensor.Dense) {
	if !sameShape(x.Shape(), b.in) {
		b.in = append(b.in[:0], x.Shape()...)
	}
	if !sameShape(y.Shape(), b.out) {
		b.out = append(b.out[:0], y.Shape()...)
	}
}

// recordShapes records the shapes of a module whose tensors were fused away.
func (b *base) recordShapes(in, out []int) {
	if !sameShape(in, b.in) {
		b.in = append(b.in[:0], in...)
	}
	if !sameShape(out, b.out) {
		b.out = append(b.out[:0], out...)
	}
}

func (b *base) info(typ string) LayerInfo {
	return LayerInfo{Name: b.name, Type: typ, InShape: clone(b.in), OutShape: clone(b.out)}
}

// Children implements [Module] for leaves: they have none.
func (b *base) Children() []Module { return nil }

// Params implements [Module] for modules without parameters.
func (b *base) Params() []*Param { return nil }

// Buffers implements [Module] for modules without buffers.
func (b *base) Buffers() []*Buffer { return nil }

func sameShape(s tensor.Shape, want []int) bool {
	if len(s) != len(want) {
		return false
	}
	for i, d := range s {
		if d != want[i] {
			return false
		}
	}
	return true
}

func clone(s []int) []int {
	if s == nil {
		return nil
	}
	return append([]int(nil), s...)
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// Conv2d is PyTorch's nn.Conv2d (no dilation, no groups). Its channel counts and kernel
// size are those of the current weight, so thinning may shrink it.
type Conv2d struct {
	base
	// Weight is Cout×Cin×kh×kw; Bias holds Cout values or is nil.
	Weight, Bias *Param
	op           *ops.Conv2d
	outShape     [4]int        // with a fused pooling: the convolution's own output shape
	lastOut      *tensor.Dense // the last Forward's output
	fanOutInit   bool          // initialised N(0, 2/(kh·kw·Cout)) rather than PyTorch's default
}

// NewConv2d returns a convolution named name with an in→out k×k kernel, stride and
// padding, with zeroed parameters.
func NewConv2d(name string, in, out, k, stride, pad int, bias bool) *Conv2d {
	c := &Conv2d{base: base{name: name}, op: ops.NewConv2d(stride, pad)}
	c.Weight = NewParam(join(name, "weight"), name, KindWeight, out, in, k, k)
	if bias {
		c.Bias = NewParam(join(name, "bias"), name, KindBias, out)
	}
	return c
}

// Forward implements [Module].
func (c *Conv2d) Forward(x *tensor.Dense, _ bool) *tensor.Dense {
	y := c.op.Forward(x, c.Weight.Value, biasValue(c.Bias))
	c.lastOut = y
	if c.op.Pool2x2 {
		// The layer's own output (before the fused pooling) was never stored.
		s := x.Shape()
		ws := c.Weight.Value.Shape()
		oh, ow := c.op.OutSize(s[2], s[3], ws[2], ws[3])
		c.outShape = [4]int{s[0], ws[0], oh, ow}
		c.recordShapes(x.Shape(), c.outShape[:])
		return y
	}
	c.record(x, y)
	return y
}

// Backward implements [Module].
func (c *Conv2d) Backward(dy *tensor.Dense) *tensor.Dense {
	return c.op.Backward(dy, c.Weight.Value, c.Weight.Grad, biasGrad(c.Bias))
}

// Info implements [Module].
func (c *Conv2d) Info() LayerInfo {
	li := c.info("Conv2d")
	s := c.Weight.Value.Shape()
	li.OutChannels, li.InChannels = s[0], s[1]
	li.Kernel = [2]int{s[2], s[3]}
	li.Stride = [2]int{c.op.StrideH, c.op.StrideW}
	li.Padding = [2]int{c.op.PadH, c.op.PadW}
	li.Bias = c.Bias != nil
	li.FusedReLU = c.op.Relu
	li.FusedPool = c.op.Pool2x2
	return li
}

// Params implements [Module]: weight, then bias.
func (c *Conv2d) Params() []*Param { return paramList(c.Weight, c.Bias) }

// Linear is PyTorch's nn.Linear; its sizes are those of the current weight.
type Linear struct {
	base
	// Weight is Out×In; Bias holds Out values or is nil.
	Weight, Bias *Param
	op           ops.Linear
}

// NewLinear returns a fully connected layer named name, in→out, with zeroed parameters.
func NewLinear(name string, in, out int, bias bool) *Linear {
	l := &Linear{base: base{name: name}}
	l.Weight = NewParam(join(name, "weight"), name, KindWeight, out, in)
	if bias {
		l.Bias = NewParam(join(name, "bias"), name, KindBias, out)
	}
	return l
}

// Forward implements [Module].
func (l *Linear) Forward(x *tensor.Dense, _ bool) *tensor.Dense {
	y := l.op.Forward(x, l.Weight.Value, biasValue(l.Bias))
	l.record(x, y)
	return y
}

// Backward implements [Module].
func (l *Linear) Backward(dy *tensor.Dense) *tensor.Dense {
	return l.op.Backward(dy, l.Weight.Value, l.Weight.Grad, biasGrad(l.Bias))
}

// Info implements [Module].
func (l *Linear) Info() LayerInfo {
	li := l.info("Linear")
	s := l.Weight.Value.Shape()
	li.OutFeatures, li.InFeatures = s[0], s[1]
	li.Bias = l.Bias != nil
	li.FusedReLU = l.op.Relu
	return li
}

// Params implements [Module]: weight, then bias.
func (l *Linear) Params() []*Param { return paramList(l.Weight, l.Bias) }

// BatchNorm2d is PyTorch's nn.BatchNorm2d (affine, running statistics, ε 1e-5,
// momentum 0.1).
type BatchNorm2d struct {
	base
	// Weight (γ) and Bias (β) hold C values each.
	Weight, Bias *Param
	// RunningMean and RunningVar are the running statistics used in evaluation.
	RunningMean, RunningVar *Buffer
	op                      *ops.BatchNorm2d
}

// NewBatchNorm2d returns batch normalisation of c channels named name, with γ = 1,
// β = 0, running mean 0 and running variance 1.
func NewBatchNorm2d(name string, c int) *BatchNorm2d {
	b := &BatchNorm2d{base: base{name: name}, op: ops.NewBatchNorm2d()}
	b.Weight = NewParam(join(name, "weight"), name, KindNormWeight, c)
	b.Bias = NewParam(join(name, "bias"), name, KindNormBias, c)
	b.RunningMean = &Buffer{Name: join(name, "running_mean"), Layer: name, Value: ops.New(c)}
	b.RunningVar = &Buffer{Name: join(name, "running_var"), Layer: name, Value: ops.New(c)}
	fill(b.Weight.Data(), 1)
	fill(ops.F32(b.RunningVar.Value), 1)
	return b
}

// Forward implements [Module].
func (b *BatchNorm2d) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	y := b.op.Forward(x, b.Weight.Value, b.Bias.Value, b.RunningMean.Value, b.RunningVar.Value, train)
	b.record(x, y)
	return y
}

// Backward implements [Module].
func (b *BatchNorm2d) Backward(dy *tensor.Dense) *tensor.Dense {
	return b.op.Backward(dy, b.Weight.Value, b.Weight.Grad, b.Bias.Grad)
}

// Info implements [Module].
func (b *BatchNorm2d) Info() LayerInfo {
	li := b.info("BatchNorm2d")
	li.NumFeatures = b.Weight.Len()
	return li
}

// Params implements [Module]: weight, then bias.
func (b *BatchNorm2d) Params() []*Param { return paramList(b.Weight, b.Bias) }

// Buffers implements [Module]: running_mean, then running_var.
func (b *BatchNorm2d) Buffers() []*Buffer { return []*Buffer{b.RunningMean, b.RunningVar} }

// ReLU is the rectifier. When the layer before it is a Conv2d or Linear, the model fuses
// the two: that layer applies the ReLU and this module passes values through.
type ReLU struct {
	base
	op    ops.ReLU
	fused bool
	conv  *Conv2d // the layer it is fused into when that layer also pools
}

// NewReLU returns a ReLU module named name.
func NewReLU(name string) *ReLU { return &ReLU{base: base{name: name}} }

// Forward implements [Module].
func (r *ReLU) Forward(x *tensor.Dense, _ bool) *tensor.Dense {
	if r.conv != nil && r.conv.op.Pool2x2 && x == r.conv.lastOut {
		r.recordShapes(r.conv.outShape[:], r.conv.outShape[:])
		return x
	}
	y := x
	if !r.fused {
		y = r.op.Forward(x)
	}
	r.record(x, y)
	return y
}

// Backward implements [Module].
func (r *ReLU) Backward(dy *tensor.Dense) *tensor.Dense {
	if r.fused {
		return dy
	}
	return r.op.Backward(dy)
}

// Info implements [Module].
func (r *ReLU) Info() LayerInfo { return r.info("ReLU") }

// MaxPool2d is PyTorch's nn.MaxPool2d.
type MaxPool2d struct {
	base
	op     *ops.MaxPool2d
	conv   *Conv2d // the convolution that pools for it, or nil
	passed bool    // the last Forward passed the convolution's pooled output through
}

// NewMaxPool2d returns k×k max pooling with the given stride and padding.
func NewMaxPool2d(name string, k, stride, pad int) *MaxPool2d {
	return &MaxPool2d{base: base{name: name}, op: ops.NewMaxPool2d(k, stride, pad)}
}

// Forward implements [Module].
// When the convolution before it pools (see [LayerInfo].FusedPool) and x has the shape
// of that convolution's pooled output, x is already pooled and passes through (also
// when a module put between them, such as an activation quantizer, kept the shape); an
// input of any other shape (from code that runs the convolution its own way) is pooled
// here.
func (m *MaxPool2d) Forward(x *tensor.Dense, _ bool) *tensor.Dense {
	m.passed = m.conv != nil && m.conv.op.Pool2x2 && m.conv.lastOut != nil && sameShape(x.Shape(), m.conv.lastOut.Shape())
	if m.passed {
		m.recordShapes(m.conv.outShape[:], x.Shape())
		return x
	}
	y := m.op.Forward(x)
	m.record(x, y)
	return y
}

// Backward implements [Module].
func (m *MaxPool2d) Backward(dy *tensor.Dense) *tensor.Dense {
	if m.passed {
		return dy
	}
	return m.op.Backward(dy)
}

// Info implements [Module].
func (m *MaxPool2d) Info() LayerInfo { return poolInfo(m.info("MaxPool2d"), &m.op.Pool2d) }

// AvgPool2d is PyTorch's nn.AvgPool2d (count_include_pad).
type AvgPool2d struct {
	base
	op *ops.AvgPool2d
}

// NewAvgPool2d returns k×k average pooling with the given stride and padding.
func NewAvgPool2d(name string, k, stride, pad int) *AvgPool2d {
	return &AvgPool2d{base: base{name: name}, op: ops.NewAvgPool2d(k, stride, pad)}
}

// Forward implements [Module].
func (m *AvgPool2d) Forward(x *tensor.Dense, _ bool) *tensor.Dense {
	y := m.op.Forward(x)
	m.record(x, y)
	return y
}

// Backward implements [Module].
func (m *AvgPool2d) Backward(dy *tensor.Dense) *tensor.Dense { return m.op.Backward(dy) }

// Info implements [Module].
func (m *AvgPool2d) Info() LayerInfo { return poolInfo(m.info("AvgPool2d"), &m.op.Pool2d) }

func poolInfo(li LayerInfo, p *ops.Pool2d) LayerInfo {
	li.Kernel = [2]int{p.KH, p.KW}
	li.Stride = [2]int{p.StrideH, p.StrideW}
	li.Padding = [2]int{p.PadH, p.PadW}
	return li
}

// Flatten reshapes N×C×H×W activations to N×(C·H·W) (PyTorch's x.view(N, -1)).
type Flatten struct {
	base
	op ops.Flatten
}

// NewFlatten returns a Flatten module named name.
func NewFlatten(name string) *Flatten { return &Flatten{base: base{name: name}} }

// Forward implements [Module].
func (f *Flatten) Forward(x *tensor.Dense, _ bool) *tensor.Dense {
	y := f.op.Forward(x)
	f.record(x, y)
	return y
}

// Backward implements [Module].
func (f *Flatten) Backward(dy *tensor.Dense) *tensor.Dense { return f.op.Backward(dy) }

// Info implements [Module].
func (f *Flatten) Info() LayerInfo { return f.info("Flatten") }

// Dropout is PyTorch's nn.Dropout, with masks drawn from a seeded PCG.
type Dropout struct {
	base
	op *ops.Dropout
}

// NewDropout returns dropout with probability p whose masks come from PCG(seed, 0).
func NewDropout(name string, p float64, seed uint64) *Dropout {
	return &Dropout{base: base{name: name}, op: ops.NewDropout(p, seed)}
}

// Forward implements [Module].
func (d *Dropout) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	y := d.op.Forward(x, train)
	d.record(x, y)
	return y
}

// Backward implements [Module].
func (d *Dropout) Backward(dy *tensor.Dense) *tensor.Dense { return d.op.Backward(dy) }

// Info implements [Module].
func (d *Dropout) Info() LayerInfo {
	li := d.info("Dropout")
	li.P = d.op.P
	return li
}

// Sequential runs its modules one after the other (PyTorch's nn.Sequential, or the body
// of a model whose forward is a straight line).
type Sequential struct {
	base
	mods []Module
}

// NewSequential returns a container named name ("" for a model's root) running mods in
// order.
func NewSequential(name string, mods ...Module) *Sequential {
	return &Sequential{base: base{name: name}, mods: mods}
}

// Forward implements [Module].
func (s *Sequential) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	y := x
	for _, m := range s.mods {
		y = m.Forward(y, train)
	}
	s.record(x, y)
	return y
}

// Backward implements [Module]. It stops early when a module returns no input gradient.
func (s *Sequential) Backward(dy *tensor.Dense) *tensor.Dense {
	for i := len(s.mods) - 1; i >= 0 && dy != nil; i-- {
		dy = s.mods[i].Backward(dy)
	}
	return dy
}

// Info implements [Module].
func (s *Sequential) Info() LayerInfo { return s.info("Sequential") }

// Children implements [Module].
func (s *Sequential) Children() []Module { return s.mods }

// BasicBlock is the residual block of He et al.'s CIFAR ResNets, as in Distiller's
// resnet_cifar.py: conv1 → bn1 → relu1 → conv2 → bn2, plus the shortcut (the input, or
// Downsample(input) when the block changes width or resolution), then relu2.
type BasicBlock struct {
	base
	Conv1      *Conv2d
	BN1        *BatchNorm2d
	Relu1      *ReLU
	Conv2      *Conv2d
	BN2        *BatchNorm2d
	Relu2      *ReLU
	Downsample *Sequential // nil for an identity shortcut
	res        residual
}

// NewBasicBlock returns a block named name (for example "layer2.0") mapping in to out
// channels with the given stride on its first convolution; a 1×1 strided convolution
// plus batch normalisation ("downsample.0", "downsample.1") forms the shortcut when
// stride ≠ 1 or in ≠ out.
func NewBasicBlock(name string, in, out, stride int) *BasicBlock {
	b := &BasicBlock{
		base:  base{name: name},
		Conv1: NewConv2d(join(name, "conv1"), in, out, 3, stride, 1, false),
		BN1:   NewBatchNorm2d(join(name, "bn1"), out),
		Relu1: NewReLU(join(name, "relu1")),
		Conv2: NewConv2d(join(name, "conv2"), out, out, 3, 1, 1, false),
		BN2:   NewBatchNorm2d(join(name, "bn2"), out),
		Relu2: NewReLU(join(name, "relu2")),
	}
	if stride != 1 || in != out {
		ds := join(name, "downsample")
		b.Downsample = NewSequential(ds,
			NewConv2d(join(ds, "0"), in, out, 1, stride, 0, false),
			NewBatchNorm2d(join(ds, "1"), out))
	}
	return b
}

// Forward implements [Module].
func (b *BasicBlock) Forward(x *tensor.Dense, train bool) *tensor.Dense {
	return b.forwardVia(x, func(m Module, x *tensor.Dense) *tensor.Dense { return m.Forward(x, train) })
}

// forwardVia is the block's wiring, with every child run through run: Forward runs
// them plainly, and the observing and sparse-inference walks substitute their own.
func (b *BasicBlock) forwardVia(x *tensor.Dense, run func(Module, *tensor.Dense) *tensor.Dense) *tensor.Dense {
	y := b.res.forward(x, run, b.main(), b.shortcut(), b.Relu2)
	b.record(x, y)
	return y
}

// Backward implements [Module].
func (b *BasicBlock) Backward(dy *tensor.Dense) *tensor.Dense {
	return b.res.backward(dy, b.main(), b.shortcut(), b.Relu2)
}

// main returns the layers of the block's main path, in order.
func (b *BasicBlock) main() []Module {
	return []Module{b.Conv1, b.BN1, b.Relu1, b.Conv2, b.BN2}
}

// shortcut returns the shortcut's layer, or nil (not a nil *Sequential) for an
// identity shortcut.
func (b *BasicBlock) shortcut() Module {
	if b.Downsample == nil {
		return nil
	}
	return b.Downsample
}

// residual is the wiring a residual block shares: relu(main(x) + shortcut(x)), the
// shortcut being the identity when its layer is nil.
type residual struct {
	add ops.Add
	dx  ops.Buffer
}

// forward runs the block on x, every layer through run.
func (r *residual) forward(x *tensor.Dense, run func(Module, *tensor.Dense) *tensor.Dense, main []Module, shortcut, relu Module) *tensor.Dense {
	h := x
	for _, m := range main {
		h = run(m, h)
	}
	res := x
	if shortcut != nil {
		res = run(shortcut, x)
	}
	return run(relu, r.add.Forward(h, res))
}

// backward back-propagates dy through the block, returning the gradient of its input
// (nil when the main path returns none).
func (r *residual) backward(dy *tensor.Dense, main []Module, shortcut, relu Module) *tensor.Dense {
	gh, gr := r.add.Backward(relu.Backward(dy))
	for i := len(main) - 1; i >= 0; i-- {
		gh = main[i].Backward(gh)
	}
	if shortcut != nil {
		gr = shortcut.Backward(gr)
	}
	if gh == nil {
		return nil
	}
	dx := r.dx.Get(gh.Shape()...)
	kernels.Add(ops.F32(dx), ops.F32(gh), ops.F32(gr))
	return dx
}

// Info implements [Module].
func (b *BasicBlock) Info() LayerInfo { return b.info("BasicBlock") }

// Children implements [Module]: in PyTorch's registration order.
func (b *BasicBlock) Children() []Module {
	ch := []Module{b.Conv1, b.BN1, b.Relu1, b.Conv2, b.BN2, b.Relu2}
	if b.Downsample != nil {
		ch = append(ch, b.Downsample)
	}
	return ch
}

func biasValue(p *Param) *tensor.Dense {
	if p == nil {
		return nil
	}
	return p.Value
}

func biasGrad(p *Param) *tensor.Dense {
	if p == nil {
		return nil
	}
	return p.Grad
}

func paramList(w, b *Param) []*Param {
	if b == nil {
		return []*Param{w}
	}
	return []*Param{w, b}
}

func fill(s []float32, v float32) {
	for i := range s {
		s[i] = v
	}
}

// initUniform fills s with U(−bound, bound) draws from r.
func initUniform(s []float32, bound float64, r *rand.Rand) {
	for i := range s {
		s[i] = float32((2*r.Float64() - 1) * bound)
	}
}

// initPyTorchDefault initialises a Conv2d or Linear layer as PyTorch does:
// kaiming_uniform_(a=√5) for the weight, which is U(±1/√fan_in), and U(±1/√fan_in) for
// the bias.
func initPyTorchDefault(w, b *Param, r *rand.Rand) {
	s := w.Value.Shape()
	fanIn := 1
	for _, d := range s[1:] {
		fanIn *= d
	}
	bound := 1 / math.Sqrt(float64(fanIn))
	initUniform(w.Data(), bound, r)
	if b != nil {
		initUniform(b.Data(), bound, r)
	}
}

// initKaimingNormalFanOut fills a convolution weight with N(0, 2/(kh·kw·Cout)), the
// initialisation of Distiller's CIFAR ResNets.
func initKaimingNormalFanOut(w *Param, r *rand.Rand) {
	s := w.Value.Shape()
	std := math.Sqrt(2 / float64(s[0]*s[2]*s[3]))
	d := w.Data()
	for i := range d {
		d[i] = float32(r.NormFloat64() * std)
	}
}
