package nn

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
)

// ModelInfo describes a model of the zoo.
type ModelInfo struct {
	// Name is what [New] takes.
	Name string
	// Description is one line on the architecture and its origin.
	Description string
	// Params is the number of learned values (biases and BatchNorm parameters included).
	Params int
	// Input is the shape of one sample: (C, H, W), or (T) for a language model.
	Input []int
	// Classes is the number of outputs.
	Classes int
}

type zooEntry struct {
	name, desc string
	input      []int
	classes    int
	build      func(r *rand.Rand) Module
}

// zoo lists the models in the order [Models] reports them.
var zoo = []zooEntry{
	{"simplenet_mnist", "Distiller's simplenet_mnist: conv 1→20 k5, ReLU, maxpool 2, conv 20→50 k5, ReLU, maxpool 2, fc 800→500, ReLU, fc 500→10",
		[]int{1, 28, 28}, 10, buildSimplenet},
	{"simplenet_v2_mnist", "Distiller's simplenet_v2_mnist: simplenet's conv blocks, avgpool 4, fc 50→10",
		[]int{1, 28, 28}, 10, buildSimplenetV2},
	{"lenet300_100", "LeNet-300-100: fully connected 784→300→100→10 with ReLU",
		[]int{1, 28, 28}, 10, buildLeNet300},
	{"lenet5", "LeNet-5, Caffe variant: conv 1→20 k5, maxpool 2, conv 20→50 k5, maxpool 2, fc 800→500, ReLU, fc 500→10",
		[]int{1, 28, 28}, 10, buildLeNet5},
	{"resnet20_cifar", "ResNet-20 for CIFAR-10 (He et al.; Distiller's resnet_cifar.py): 3 stages × 3 BasicBlocks, widths 16/32/64, BatchNorm, avgpool 8, fc 64→10",
		[]int{3, 32, 32}, 10, buildResNet20},
	{"lstm_char", "character-level LSTM language model (PyTorch's word_language_model RNNModel): embedding 128→64, LSTM 64→128, decoder 128→128; input T×N token ids, T = 35; Go API only (the CLI's datasets are images)",
		[]int{charSeq}, charVocab, buildLSTMChar},
}

// New returns the zoo model called name, initialised as PyTorch initialises it from a
// PCG generator seeded with seed: the same seed gives bit-identical weights. An unknown
// name is an error that lists the models and suggests the nearest one.
func New(name string, seed uint64) (*Model, error) {
	for _, e := range zoo {
		if e.name == name {
			r := rand.New(rand.NewPCG(seed, 0x6473742d6e6e)) // "dst-nn"
			return NewModel(e.name, e.input, e.classes, e.build(r)), nil
		}
	}
	names := ModelNames()
	msg := fmt.Sprintf("nn: unknown model %q", name)
	if s := suggest(name, names); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return nil, fmt.Errorf("%s (models: %s)", msg, strings.Join(names, ", "))
}

// ModelNames returns the names of the zoo's models, in the order [Models] reports them,
// without building them.
func ModelNames() []string {
	names := make([]string, len(zoo))
	for i, e := range zoo {
		names[i] = e.name
	}
	return names
}

// Models describes every model of the zoo.
func Models() []ModelInfo {
	out := make([]ModelInfo, len(zoo))
	for i, e := range zoo {
		m := NewModel(e.name, e.input, e.classes, e.build(rand.New(rand.NewPCG(0, 0))))
		out[i] = ModelInfo{Name: e.name, Description: e.desc, Params: m.NumParams(), Input: clone(e.input), Classes: e.classes}
	}
	return out
}

func conv(r *rand.Rand, name string, in, out, k, stride, pad int) *Conv2d {
	c := NewConv2d(name, in, out, k, stride, pad, true)
	initPyTorchDefault(c.Weight, c.Bias, r)
	return c
}

func linear(r *rand.Rand, name string, in, out int) *Linear {
	l := NewLinear(name, in, out, true)
	initPyTorchDefault(l.Weight, l.Bias, r)
	return l
}

func buildSimplenet(r *rand.Rand) Module {
	return NewSequential("",
		conv(r, "conv1", 1, 20, 5, 1, 0), NewReLU("relu1"), NewMaxPool2d("pool1", 2, 2, 0),
		conv(r, "conv2", 20, 50, 5, 1, 0), NewReLU("relu2"), NewMaxPool2d("pool2", 2, 2, 0),
		NewFlatten("flatten"),
		linear(r, "fc1", 800, 500), NewReLU("relu3"),
		linear(r, "fc2", 500, 10))
}

func buildSimplenetV2(r *rand.Rand) Module {
	return NewSequential("",
		conv(r, "conv1", 1, 20, 5, 1, 0), NewReLU("relu1"), NewMaxPool2d("pool1", 2, 2, 0),
		conv(r, "conv2", 20, 50, 5, 1, 0), NewReLU("relu2"), NewMaxPool2d("pool2", 2, 2, 0),
		NewAvgPool2d("avgpool", 4, 1, 0),
		NewFlatten("flatten"),
		linear(r, "fc", 50, 10))
}

func buildLeNet300(r *rand.Rand) Module {
	return NewSequential("",
		NewFlatten("flatten"),
		linear(r, "fc1", 784, 300), NewReLU("relu1"),
		linear(r, "fc2", 300, 100), NewReLU("relu2"),
		linear(r, "fc3", 100, 10))
}

// buildLeNet5 is Caffe's examples/mnist/lenet.prototxt: no ReLU after the convolutions.
func buildLeNet5(r *rand.Rand) Module {
	return NewSequential("",
		conv(r, "conv1", 1, 20, 5, 1, 0), NewMaxPool2d("pool1", 2, 2, 0),
		conv(r, "conv2", 20, 50, 5, 1, 0), NewMaxPool2d("pool2", 2, 2, 0),
		NewFlatten("flatten"),
		linear(r, "fc1", 800, 500), NewReLU("relu1"),
		linear(r, "fc2", 500, 10))
}

// buildResNet20 follows Distiller's resnet_cifar.py: convolutions without bias,
// initialised N(0, 2/(k·k·Cout)); BatchNorm γ 1, β 0; the fc layer keeps PyTorch's
// default initialisation.
func buildResNet20(r *rand.Rand) Module {
	mods := []Module{
		NewConv2d("conv1", 3, 16, 3, 1, 1, false),
		NewBatchNorm2d("bn1", 16),
		NewReLU("relu"),
	}
	in := 16
	for stage, width := range []int{16, 32, 64} {
		name := fmt.Sprintf("layer%d", stage+1)
		var blocks []Module
		for i := 0; i < 3; i++ {
			stride := 1
			if i == 0 && stage > 0 {
				stride = 2
			}
			blocks = append(blocks, NewBasicBlock(fmt.Sprintf("%s.%d", name, i), in, width, stride))
			in = width
		}
		mods = append(mods, NewSequential(name, blocks...))
	}
	mods = append(mods, NewAvgPool2d("avgpool", 8, 8, 0), NewFlatten("flatten"), NewLinear("fc", 64, 10, true))
	root := NewSequential("", mods...)
	walk(root, func(m Module) {
		if c, ok := m.(*Conv2d); ok {
			c.fanOutInit = true
			initKaimingNormalFanOut(c.Weight, r)
		}
	})
	fc := mods[len(mods)-1].(*Linear)
	initPyTorchDefault(fc.Weight, fc.Bias, r)
	return root
}

// suggest returns the candidate nearest to name by edit distance (case and '_'/'-'
// folded) among those within a third of the name's length (at least 2) or starting
// with it, or "" when none is. Ties go to the alphabetically first.
func suggest(name string, candidates []string) string {
	fold := func(s string) string {
		return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(s))
	}
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	best, bestD := "", 0
	n := fold(name)
	for _, c := range sorted {
		fc := fold(c)
		d := editDistance(n, fc)
		close := d <= max(2, len(n)/3) || (len(n) >= 3 && strings.HasPrefix(fc, n))
		if close && (best == "" || d < bestD) {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
