package nn

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/dst-dev/dst/kernels"
	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// Sparse inference.
//
// A pruned model keeps dense tensors full of zeros; training needs them that way, but
// inference does not. [Inference] runs a model for evaluation with each Linear and
// Conv2d weight in the form that is faster on this machine: dense (the blocked SIMD
// GEMM) or sparse. A sparse Linear layer computes yᵀ = W·xᵀ in the features × batch
// layout: at batch 1 with kernels.SpMVBias on the weight's sliced form (no gathers), above
// it with kernels.SpMMPacked on column blocks whose slice of xᵀ fits L1. Consecutive
// sparse Linear layers of a Sequential, with the ReLUs between them, run as one chain
// that stays in that layout (bias and ReLU applied as each row is stored), so a batch
// is transposed once on the way in and once on the way out; at batch 1 the chain stays
// in the sliced kernel's lane order instead (kernels.SpMVLanes), so that only the last
// layer's rows are put back in order. A convolution unrolls
// each image with im2col and computes W·col with kernels.SpMM on the CSR weight, whose
// output is already the image's C×H×W layout. A dense convolution runs on the inference
// path of infer_conv.go rather than the training one.
//
// Which form wins depends on the density, the layer's shape, the batch size and the CPU,
// so in [InferAuto] mode nothing is guessed: each layer is timed both ways on a random
// input of the batch size it will run at, and the faster form is kept. [Crossover]
// measures, for one shape, the density below which the sparse form is faster.

// InferMode selects how [NewInference] chooses each layer's weight format.
type InferMode int

const (
	// InferAuto times each Linear and Conv2d layer dense and sparse and keeps the faster.
	InferAuto InferMode = iota
	// InferDense runs every layer dense: the model's own forward pass.
	InferDense
	// InferSparse runs every Linear and Conv2d layer on a CSR weight.
	InferSparse
)

// String returns the mode's name: "auto", "dense" or "sparse".
func (m InferMode) String() string {
	switch m {
	case InferAuto:
		return "auto"
	case InferDense:
		return "dense"
	case InferSparse:
		return "sparse"
	}
	return fmt.Sprintf("InferMode(%d)", int(m))
}

// LayerChoice reports the format chosen for one Linear or Conv2d layer.
type LayerChoice struct {
	// Name and Type identify the layer ("fc1", "Linear").
	Name, Type string
	// Density is the fraction of non-zero weights.
	Density float64
	// Sparse reports that the layer runs on a CSR weight.
	Sparse bool
	// DenseNs and SparseNs are the measured times of one forward pass of the layer at the
	// inference batch size (zero when not measured).
	DenseNs, SparseNs float64
}

// Inference is a model compiled for evaluation. It shares the model's parameters at the
// time it was built: rebuild it after the weights change. It is not safe for concurrent
// use, and neither are two Inferences of one model, which share the scratch buffers of
// the layers that run as the model's own (pooling, batch normalisation, …): to serve from
// several goroutines, give each its own model and Inference.
type Inference struct {
	m       *Model
	sparse  map[Module]sparseLayer
	chains  map[Module]*sparseChain // keyed by the chain's first module
	dense   map[Module]sparseLayer  // Conv2d and Linear layers on the dense inference path
	pass    map[Module]bool         // ReLU and MaxPool2d modules a dense convolution applies
	choices []LayerChoice
	// plan is the compiled forward pass (see compile).
	plan func(*tensor.Dense) *tensor.Dense
	// folds are the batch normalisations folded into the convolution before them.
	folds map[*Conv2d]bnFold
}

// convParams returns the parameters c runs with, with its batch normalisation folded
// in when it has one.
func (inf *Inference) convParams(c *Conv2d) convParams {
	if f, ok := inf.folds[c]; ok {
		return paramsOf(c, &f)
	}
	return paramsOf(c, nil)
}

// step is one module of a compiled forward pass.
type step func(*tensor.Dense) *tensor.Dense

// sparseLayer is a Linear or Conv2d running on a CSR weight.
type sparseLayer interface {
	forward(x *tensor.Dense) *tensor.Dense
}

// NewInference compiles m for evaluation at the given batch size (used by InferAuto's
// timing; any batch size may be run later). Except in InferDense mode it runs one
// forward pass of m at that batch size to learn the layers' input shapes, which
// replaces the outputs of m's last Forward and the shapes m.Layers reports.
func NewInference(m *Model, batch int, mode InferMode) (*Inference, error) {
	if batch < 1 {
		return nil, fmt.Errorf("nn: NewInference: batch must be >= 1, got %d", batch)
	}
	if mode != InferAuto && mode != InferDense && mode != InferSparse {
		return nil, fmt.Errorf("nn: NewInference: unknown mode %d", mode)
	}
	inf := &Inference{m: m, sparse: map[Module]sparseLayer{}, chains: map[Module]*sparseChain{},
		dense: map[Module]sparseLayer{}, pass: map[Module]bool{}, folds: foldsOf(m.root)}
	// The batch normalisations folded into a convolution, and the ReLUs it applies
	// instead, pass their input through.
	for _, f := range inf.folds {
		inf.pass[f.bn] = true
		if f.relu != nil {
			inf.pass[f.relu] = true
		}
	}
	if mode == InferDense {
		inf.addDenseConvs()
		return inf, nil
	}
	// Run one forward pass so that every layer knows its input shape: random values, or
	// token 0 for a model that starts with an embedding, whose inputs are token ids.
	x := ops.New(append([]int{batch}, m.Input...)...)
	if _, ok := firstParamLeaf(m.root).(*Embedding); !ok {
		fillRandom(ops.F32(x), 1)
	}
	m.Forward(x, false)
	var err error
	walk(m.root, func(mod Module) {
		if err != nil {
			return
		}
		var sl, dl sparseLayer
		var w []float32
		var after []Module // the modules a dense convolution fuses, which the sparse one runs
		switch l := mod.(type) {
		case *Linear:
			sl, dl, w = newSparseLinear(l, batch), &denseLinear{l: l}, l.Weight.Data()
		case *Conv2d:
			p := inf.convParams(l)
			sl, dl, w = newSparseConv(l, p), &denseConv{c: l, convParams: p}, p.w
			if l.op.Pool2x2 {
				after = fusedWith(m.root, l)
			}
		default:
			return
		}
		info := mod.Info()
		c := LayerChoice{Name: info.Name, Type: info.Type, Density: density(w), Sparse: true}
		if mode == InferAuto {
			if info.InShape == nil {
				err = fmt.Errorf("nn: NewInference: layer %s saw no input", info.Name)
				return
			}
			in := ops.New(append([]int{batch}, info.InShape[1:]...)...)
			fillRandom(ops.F32(in), 2)
			// Each side runs what Forward would: the dense path with its fused ReLU and
			// pooling, the sparse one followed by those modules.
			c.SparseNs, c.DenseNs = timePair(func() {
				y := sl.forward(in)
				for _, a := range after {
					y = a.Forward(y, false)
				}
			}, func() { dl.forward(in) })
			c.Sparse = c.SparseNs < c.DenseNs
		}
		if c.Sparse {
			inf.sparse[mod] = sl
		}
		inf.choices = append(inf.choices, c)
	})
	if err != nil {
		return nil, err
	}
	walk(m.root, func(mod Module) {
		if sq, ok := mod.(*Sequential); ok {
			inf.findChains(sq)
		}
	})
	inf.addDenseConvs()
	return inf, nil
}

// addDenseConvs puts every Conv2d and Linear layer that does not run sparse on the
// dense inference path (infer_conv.go), with the ReLU and MaxPool2d modules fused into
// a convolution, and the Flatten modules before a Linear layer, passing their input
// through.
func (inf *Inference) addDenseConvs() {
	walk(inf.m.root, func(mod Module) {
		if _, sparse := inf.sparse[mod]; sparse {
			return
		}
		switch l := mod.(type) {
		case *Conv2d:
			inf.dense[l] = &denseConv{c: l, convParams: inf.convParams(l)}
		case *Linear:
			inf.dense[l] = &denseLinear{l: l}
		}
	})
	walk(inf.m.root, func(mod Module) {
		switch l := mod.(type) {
		case *Sequential:
			// A Flatten before a Linear layer passes its input through: every Linear
			// runs on a compiled path, which reads a batch as rows of features
			// whatever its shape. Its view would otherwise be a new tensor for every
			// new input tensor (a third of a microsecond at batch 1).
			for i, m := range l.mods[:max(len(l.mods)-1, 0)] {
				if _, ok := m.(*Flatten); ok {
					if _, ok := l.mods[i+1].(*Linear); ok {
						inf.pass[m] = true
					}
				}
			}
		case *ReLU:
			if l.conv != nil && l.conv.op.Pool2x2 && inf.dense[l.conv] != nil {
				inf.pass[l] = true
			}
		case *MaxPool2d:
			if l.conv != nil && l.conv.op.Pool2x2 && inf.dense[l.conv] != nil {
				inf.pass[l] = true
			}
		}
	})
}

// fusedWith returns the ReLU and MaxPool2d modules of root fused into conv, in model
// order.
func fusedWith(root Module, conv *Conv2d) []Module {
	var out []Module
	walk(root, func(mod Module) {
		switch l := mod.(type) {
		case *ReLU:
			if l.conv == conv {
				out = append(out, l)
			}
		case *MaxPool2d:
			if l.conv == conv {
				out = append(out, l)
			}
		}
	})
	return out
}

// findChains records every run of sparse Linear layers and ReLUs in sq that starts with
// a sparse Linear layer.
func (inf *Inference) findChains(sq *Sequential) {
	for i := 0; i < len(sq.mods); i++ {
		if _, ok := inf.sparse[sq.mods[i]].(*sparseLinear); !ok {
			continue
		}
		ch := &sparseChain{}
		j := i
		for ; j < len(sq.mods); j++ {
			switch mod := sq.mods[j].(type) {
			case *ReLU:
				ch.layers[len(ch.layers)-1].relu = true
				continue
			case *Linear:
				if sl, ok := inf.sparse[mod].(*sparseLinear); ok {
					ch.layers = append(ch.layers, chainLayer{s: sl, relu: sl.relu})
					continue
				}
			}
			break
		}
		ch.mods = j - i
		inf.chains[sq.mods[i]] = ch
		i = j - 1
	}
}

// Choices returns the format chosen for every Linear and Conv2d layer, in model order
// (empty in InferDense mode).
func (inf *Inference) Choices() []LayerChoice { return inf.choices }

// Forward runs the model on a batch in evaluation mode and returns the logits, owned by
// the Inference until its next Forward. x holds n ≥ 1 samples of the model's input
// shape, (n, Input...); any other shape is a programming error, and Forward panics
// with a message that gives the shape it wants.
func (inf *Inference) Forward(x *tensor.Dense) *tensor.Dense {
	if x == nil {
		panic("nn: Inference.Forward: nil input")
	}
	if s := x.Shape(); len(s) != len(inf.m.Input)+1 || s[0] < 1 || !slices.Equal(s[1:], inf.m.Input) {
		panic(fmt.Sprintf("nn: Inference.Forward: input of shape %s, want n×%s for %s", shapeString(s), shapeString(inf.m.Input), inf.m.Name))
	}
	if inf.plan == nil {
		inf.plan = inf.compile(inf.m.root)
		if len(inf.sparse) == 0 && len(inf.dense) == 0 {
			inf.plan = func(x *tensor.Dense) *tensor.Dense { return inf.m.Forward(x, false) }
		}
	}
	return inf.plan(x)
}

// compile returns mod's forward pass as run would take it, with the choice of path made
// once: a pass at batch 1 takes a few microseconds, in which looking modules up in
// run's maps would cost a tenth.
func (inf *Inference) compile(mod Module) step {
	if sl, ok := inf.sparse[mod]; ok {
		return sl.forward
	}
	if dc, ok := inf.dense[mod]; ok {
		return dc.forward
	}
	if inf.pass[mod] {
		return func(x *tensor.Dense) *tensor.Dense { return x }
	}
	sq, ok := mod.(*Sequential)
	if !ok {
		return func(x *tensor.Dense) *tensor.Dense { return inf.run(mod, x) }
	}
	var steps []step
	for i := 0; i < len(sq.mods); i++ {
		if ch, ok := inf.chains[sq.mods[i]]; ok {
			steps = append(steps, ch.forward)
			i += ch.mods - 1
			continue
		}
		if !inf.pass[sq.mods[i]] {
			steps = append(steps, inf.compile(sq.mods[i]))
		}
	}
	return func(x *tensor.Dense) *tensor.Dense {
		for _, f := range steps {
			x = f(x)
		}
		return x
	}
}

func (inf *Inference) run(mod Module, x *tensor.Dense) *tensor.Dense {
	if sl, ok := inf.sparse[mod]; ok {
		return sl.forward(x)
	}
	if dc, ok := inf.dense[mod]; ok {
		return dc.forward(x)
	}
	if inf.pass[mod] {
		return x
	}
	switch l := mod.(type) {
	case *Sequential:
		for i := 0; i < len(l.mods); i++ {
			if ch, ok := inf.chains[l.mods[i]]; ok {
				x = ch.forward(x)
				i += ch.mods - 1
				continue
			}
			x = inf.run(l.mods[i], x)
		}
		return x
	case *BasicBlock:
		return l.forwardVia(x, inf.run)
	}
	return mod.Forward(x, false)
}

// sparseLinear is a Linear layer on a CSR weight. It multiplies in the features × batch
// layout: kernels.SpMV on the sliced form at batch 1, where that layout is the input's
// own, and kernels.SpMMPacked (column blocks sized for the batch) above it.
type sparseLinear struct {
	l      *Linear
	csr    *kernels.CSR
	sliced *kernels.SlicedCSR
	packed *kernels.PackedCSR // for batches above 1; packed for the first one seen
	relu   bool
	xt, yt []float32
	out    ops.Buffer
}

func newSparseLinear(l *Linear, batch int) *sparseLinear {
	s := l.Weight.Value.Shape()
	csr := kernels.CSRFromDense(l.Weight.Data(), s[0], s[1])
	sl := &sparseLinear{l: l, csr: csr, sliced: kernels.SliceCSR(csr), relu: l.op.Relu}
	if batch > 1 {
		sl.packed = kernels.PackCSR(sl.csr, batch)
	}
	return sl
}

// product sets dst (out×n) = W·xt, where xt is in×n.
func (s *sparseLinear) product(dst, xt []float32, n int) {
	if n == 1 {
		kernels.SpMV(dst, s.sliced, xt)
		return
	}
	kernels.SpMMPacked(dst, s.packedFor(n), xt, n)
}

// packedFor returns the packed weight, packing it for n columns the first time.
func (s *sparseLinear) packedFor(n int) *kernels.PackedCSR {
	if s.packed == nil {
		s.packed = kernels.PackCSR(s.csr, n)
	}
	return s.packed
}

func (s *sparseLinear) forward(x *tensor.Dense) *tensor.Dense {
	n := x.Shape()[0]
	in, outF := s.csr.Cols, s.csr.Rows
	xs := ops.F32(x)
	if len(xs) != n*in {
		panic(fmt.Sprintf("nn: sparse %s: input %v, want %d features", s.l.name, x.Shape(), in))
	}
	y := s.out.Get(n, outF)
	ys := ops.F32(y)
	if n == 1 && s.l.Bias != nil {
		// Bias and ReLU as each row is read from its lane.
		kernels.SpMVBias(ys, s.sliced, xs, s.l.Bias.Data(), s.relu)
		return y
	}
	if n == 1 {
		s.product(ys, xs, 1)
	} else {
		s.xt = growF32(s.xt, in*n)
		s.yt = growF32(s.yt, outF*n)
		kernels.Transpose(s.xt, xs, n, in)
		s.product(s.yt, s.xt, n)
		kernels.Transpose(ys, s.yt, outF, n)
	}
	if s.l.Bias != nil {
		kernels.AddRowVector(ys, n, outF, s.l.Bias.Data())
	}
	if s.relu {
		kernels.Relu(ys, ys)
	}
	return y
}

// sparseChain runs consecutive sparse Linear layers of a Sequential, and the ReLUs
// between them, in the features × batch layout that kernels.SpMM works in: the input is
// transposed once on entry and the output once on exit, so
// each layer's output is the next one's SpMM operand as it stands.
//
// At batch 1 the chain runs in lane order (kernels.SpMVLanes): each layer's product stays
// in the order its sliced form computes it, the next layer's columns are renumbered to
// match (laneForms), and only the last layer's rows are put back in order.
type sparseChain struct {
	layers []chainLayer
	mods   int // modules of the Sequential the chain replaces
	bufs   [2][]float32
	out    ops.Buffer
	lanes  []laneLayer // built on the first batch of 1
}

// laneLayer is a chain layer in lane order: its weight with the columns renumbered by the
// previous layer's lanes, and its bias in its own lane order (nil without a bias).
type laneLayer struct {
	a    *kernels.SlicedCSR
	bias []float32
	relu bool
}

// laneForms returns the chain's layers in lane order, building them the first time.
func (ch *sparseChain) laneForms() []laneLayer {
	if ch.lanes != nil {
		return ch.lanes
	}
	var prev *kernels.SlicedCSR
	for _, cl := range ch.layers {
		a := cl.s.sliced
		if prev != nil {
			c := *cl.s.csr
			c.Cols = prev.Width()
			c.ColIdx = make([]int32, len(c.ColIdx))
			for e, j := range cl.s.csr.ColIdx {
				c.ColIdx[e] = int32(prev.Lane(int(j)))
			}
			a = kernels.SliceCSR(&c)
		}
		ll := laneLayer{a: a, relu: cl.relu}
		if cl.s.l.Bias != nil {
			ll.bias = make([]float32, a.Width())
			for r, v := range cl.s.l.Bias.Data() {
				ll.bias[a.Lane(r)] = v
			}
		}
		ch.lanes = append(ch.lanes, ll)
		prev = a
	}
	return ch.lanes
}

// forward1 runs the chain on one sample xs in lane order and writes the rows of the last
// layer to ys.
func (ch *sparseChain) forward1(ys, xs []float32) {
	cur := xs
	lanes := ch.laneForms()
	for k, ll := range lanes {
		b := k % 2
		ch.bufs[b] = growF32(ch.bufs[b], ll.a.Width())
		kernels.SpMVLanes(ch.bufs[b], ll.a, cur, ll.bias, ll.relu)
		cur = ch.bufs[b]
	}
	last := lanes[len(lanes)-1].a
	for r := range ys {
		ys[r] = cur[last.Lane(r)]
	}
}

// chainLayer is one layer of a sparseChain; relu is set when its own fused ReLU or a
// ReLU module follows it.
type chainLayer struct {
	s    *sparseLinear
	relu bool
}

func (ch *sparseChain) forward(x *tensor.Dense) *tensor.Dense {
	n := x.Shape()[0]
	first := ch.layers[0].s
	xs := ops.F32(x)
	if len(xs) != n*first.csr.Cols {
		panic(fmt.Sprintf("nn: sparse %s: input %v, want %d features", first.l.name, x.Shape(), first.csr.Cols))
	}
	last := ch.layers[len(ch.layers)-1].s.csr.Rows
	y := ch.out.Get(n, last)
	if n == 1 {
		ch.forward1(ops.F32(y), xs)
		return y
	}
	var cur []float32
	for k, cl := range ch.layers {
		rows := cl.s.csr.Rows
		b := k % 2
		ch.bufs[b] = growF32(ch.bufs[b], rows*n)
		dst := ch.bufs[b]
		var bias []float32
		if cl.s.l.Bias != nil {
			bias = cl.s.l.Bias.Data()
		}
		// Bias and ReLU as each row is stored. The first layer reads the batch as it
		// comes, a sample per row, transposing it block by block as it goes.
		if k == 0 {
			kernels.SpMMPackedRows(dst, cl.s.packedFor(n), xs, n, bias, cl.relu)
			if bias == nil && cl.relu { // the epilogue comes with a bias
				kernels.Relu(dst, dst)
			}
		} else if bias != nil {
			kernels.SpMMPackedBias(dst, cl.s.packedFor(n), cur, n, bias, cl.relu)
		} else {
			cl.s.product(dst, cur, n)
			if cl.relu {
				kernels.Relu(dst, dst)
			}
		}
		cur = dst
	}
	kernels.Transpose(ops.F32(y), cur, last, n)
	return y
}

// sparseConv is a Conv2d layer on a CSR weight (filters × C·kh·kw).
type sparseConv struct {
	c        *Conv2d
	csr      *kernels.CSR
	bias     []float32
	relu     bool
	kh, kw   int
	sh, sw   int
	ph, pw   int
	cols     [][]float32
	out      ops.Buffer
	nWorkers int
}

func newSparseConv(c *Conv2d, p convParams) *sparseConv {
	s := c.Weight.Value.Shape()
	return &sparseConv{
		c: c, csr: kernels.CSRFromDense(p.w, s[0], s[1]*s[2]*s[3]), bias: p.bias, relu: p.relu,
		kh: s[2], kw: s[3], sh: c.op.StrideH, sw: c.op.StrideW, ph: c.op.PadH, pw: c.op.PadW,
		nWorkers: runtime.GOMAXPROCS(0),
	}
}

func (s *sparseConv) forward(x *tensor.Dense) *tensor.Dense {
	sh := x.Shape()
	n, c, h, w := sh[0], sh[1], sh[2], sh[3]
	if c*s.kh*s.kw != s.csr.Cols {
		panic(fmt.Sprintf("nn: sparse %s: input %v does not match the weight", s.c.name, sh))
	}
	oh := kernels.ConvOutSize(h, s.kh, s.ph, s.sh)
	ow := kernels.ConvOutSize(w, s.kw, s.pw, s.sw)
	f := s.csr.Rows
	y := s.out.Get(n, f, oh, ow)
	xs, ys := ops.F32(x), ops.F32(y)
	workers := min(s.nWorkers, n)
	for len(s.cols) < workers {
		s.cols = append(s.cols, nil)
	}
	image := func(wk, i int) {
		col := growF32(s.cols[wk], s.csr.Cols*oh*ow)
		s.cols[wk] = col
		kernels.Im2col(col, xs[i*c*h*w:(i+1)*c*h*w], c, h, w, s.kh, s.kw, s.ph, s.pw, s.sh, s.sw)
		dst := ys[i*f*oh*ow : (i+1)*f*oh*ow]
		kernels.SpMM(dst, s.csr, col, oh*ow)
		if s.bias != nil {
			kernels.AddChannelBias(dst, f, oh*ow, s.bias)
		}
		if s.relu {
			kernels.Relu(dst, dst)
		}
	}
	if workers <= 1 {
		for i := 0; i < n; i++ {
			image(0, i)
		}
		return y
	}
	var wg sync.WaitGroup
	for wk := 0; wk < workers; wk++ {
		wg.Add(1)
		go func(wk int) {
			defer wg.Done()
			for i := wk; i < n; i += workers {
				image(wk, i)
			}
		}(wk)
	}
	wg.Wait()
	return y
}

// Crossover measures, for a rows×cols weight applied to batch columns, the density at
// which the sparse product a sparse Linear layer runs (kernels.SpMV at batch 1,
// kernels.SpMMPacked above) and the dense GEMM take the same time: below it the sparse form
// is faster. It returns a value in [0, 1]; 0 means sparse never wins, 1 that it always
// does. It takes a few hundred milliseconds.
func Crossover(rows, cols, batch int) float64 {
	r := rand.New(rand.NewPCG(7, 7))
	w := make([]float32, rows*cols)
	b := make([]float32, cols*batch)
	dst := make([]float32, rows*batch)
	for i := range b {
		b[i] = r.Float32()
	}
	dense := func() { kernels.Sgemm(false, false, rows, batch, cols, 1, w, cols, b, batch, 0, dst, batch) }
	// Each comparison times the dense product again, alternating with the sparse
	// one, so that a change in the machine's load falls on both.
	sparseFaster := func(d float64) bool {
		for i := range w {
			w[i] = 0
			if r.Float64() < d {
				w[i] = r.Float32() + 0.1
			}
		}
		csr := kernels.CSRFromDense(w, rows, cols)
		if batch == 1 {
			sl := kernels.SliceCSR(csr)
			s, d := timePair(func() { kernels.SpMV(dst, sl, b) }, dense)
			return s < d
		}
		p := kernels.PackCSR(csr, batch)
		s, d := timePair(func() { kernels.SpMMPacked(dst, p, b, batch) }, dense)
		return s < d
	}
	lo, hi := 0.0, 1.0
	if !sparseFaster(0.001) {
		return 0
	}
	if sparseFaster(1) {
		return 1
	}
	for i := 0; i < 8; i++ {
		mid := (lo + hi) / 2
		if sparseFaster(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// timePair returns the median times of f and g in nanoseconds, timed in turns over
// enough runs to fill ~20 ms. Each timing is of enough calls to last a few
// microseconds, so that the clock's cost does not weigh on short products.
func timePair(f, g func()) (fNs, gNs float64) {
	calls := func(h func()) int {
		h() // warm up: allocate buffers, fault pages
		t0 := time.Now()
		h()
		return max(1, int(5000/max(1, time.Since(t0).Nanoseconds())))
	}
	nf, ng := calls(f), calls(g)
	timeN := func(h func(), n int) float64 {
		t0 := time.Now()
		for range n {
			h()
		}
		return float64(time.Since(t0).Nanoseconds()) / float64(n)
	}
	var fs, gs []float64
	deadline := time.Now().Add(20 * time.Millisecond)
	for len(fs) < 5 || (time.Now().Before(deadline) && len(fs) < 200) {
		fs = append(fs, timeN(f, nf))
		gs = append(gs, timeN(g, ng))
	}
	sort.Float64s(fs)
	sort.Float64s(gs)
	return fs[len(fs)/2], gs[len(gs)/2]
}

func density(w []float32) float64 {
	if len(w) == 0 {
		return 0
	}
	nz := 0
	for _, v := range w {
		if v != 0 {
			nz++
		}
	}
	return float64(nz) / float64(len(w))
}

func growF32(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func fillRandom(x []float32, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 99))
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
}
