package nn

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dst-dev/dst/internal/safetensors"
	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// loadFixture writes a checkpoint of the zoo model name (seed 1) with SGD momentum and
// a 0/1 mask on its second weight, and returns its path.
func loadFixture(t *testing.T, name string) string {
	t.Helper()
	m, err := New(name, 1)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := NewSGD(m.Params(), SGDConfig{LR: 0.1, Momentum: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		fillRandom(p.GradData(), 3)
	}
	opt.Step()
	var ws []*Param
	for _, p := range m.Params() {
		if p.Kind == KindWeight {
			ws = append(ws, p)
		}
	}
	mask := make([]float32, ws[1].Len())
	for i := range mask {
		mask[i] = float32(i % 2)
	}
	ws[1].SetMask(mask)
	path := filepath.Join(t.TempDir(), name+".safetensors")
	if err := SaveCheckpoint(path, m, opt, 2, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

// setTensor replaces f's tensor name (or adds it) with an F32 tensor of shape whose
// values are v(i).
func setTensor(f *safetensors.File, name string, shape []int, v func(i int) float32) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = v(i)
	}
	t := safetensors.FromFloat32(name, shape, data)
	for i := range f.Tensors {
		if f.Tensors[i].Name == name {
			f.Tensors[i] = t
			return
		}
	}
	f.Tensors = append(f.Tensors, t)
}

// reshape gives f's tensor name another shape of the same size.
func reshape(f *safetensors.File, name string, shape ...int) {
	f.Tensor(name).Shape = shape
}

// tensorValues returns f's tensor name as float32 values.
func tensorValues(t *testing.T, f *safetensors.File, name string) []float32 {
	t.Helper()
	tn := f.Tensor(name)
	v := make([]float32, tn.Len())
	if err := tn.Float32s(v); err != nil {
		t.Fatal(err)
	}
	return v
}

// modelState records m's parameter and buffer tensors and returns a check that they
// are as recorded: same tensors, shapes, values and masks.
func modelState(t *testing.T, m *Model) func() {
	t.Helper()
	type rec struct {
		value, mask *tensor.Dense
		shape       []int
		data        []float32
	}
	ps := map[string]rec{}
	for _, p := range m.Params() {
		ps[p.Name] = rec{value: p.Value, mask: p.Mask, shape: p.Shape(), data: slices.Clone(p.Data())}
	}
	bs := map[string]rec{}
	for _, b := range m.Buffers() {
		bs[b.Name] = rec{value: b.Value, shape: b.Value.Shape().Clone(), data: slices.Clone(ops.F32(b.Value))}
	}
	return func() {
		t.Helper()
		for _, p := range m.Params() {
			r := ps[p.Name]
			if p.Value != r.value || p.Mask != r.mask || !slices.Equal(p.Shape(), r.shape) || !equalF32(p.Data(), r.data) {
				t.Errorf("%s changed by a failed load (shape %v, was %v)", p.Name, p.Shape(), r.shape)
			}
		}
		for _, b := range m.Buffers() {
			r := bs[b.Name]
			if b.Value != r.value || !equalF32(ops.F32(b.Value), r.data) {
				t.Errorf("%s changed by a failed load", b.Name)
			}
		}
	}
}

// TestLoadCheckpointRefuses loads broken copies of valid checkpoints: each must fail
// with an error that names the tensor and says what is wrong, and leave the model (and
// its optimizer) as it was; none may panic.
func TestLoadCheckpointRefuses(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	for _, tc := range []struct {
		name  string
		model string
		edit  func(t *testing.T, f *safetensors.File)
		opt   bool  // load with an SGD optimizer
		is    error // the sentinel the error wraps (nil: none)
		want  string
	}{
		{
			name: "transposed weight", model: "lenet300_100",
			edit: func(t *testing.T, f *safetensors.File) { reshape(f, "fc1.weight", 784, 300) },
			is:   ErrCheckpointMismatch,
			want: "fc1.weight has shape [784 300]; lenet300_100 needs [300 784] (or a thinned or widened shape of it)",
		},
		{
			name: "flattened weight", model: "lenet300_100",
			edit: func(t *testing.T, f *safetensors.File) { reshape(f, "fc1.weight", 300*784) },
			is:   ErrCheckpointMismatch,
			want: "fc1.weight has shape [235200]; lenet300_100 needs [300 784]",
		},
		{
			name: "short bias", model: "lenet300_100",
			edit: func(t *testing.T, f *safetensors.File) {
				setTensor(f, "fc1.bias", []int{299}, func(int) float32 { return 0.1 })
			},
			is:   ErrCheckpointMismatch,
			want: "the tensors do not fit together: layer fc1 (fc1.weight [300 784], fc1.bias [299]) fails on an input of shape [1 784]",
		},
		{
			name: "one layer thinned alone", model: "lenet300_100",
			edit: func(t *testing.T, f *safetensors.File) {
				setTensor(f, "fc1.weight", []int{200, 784}, func(int) float32 { return 0.01 })
			},
			opt:  true,
			is:   ErrCheckpointMismatch,
			want: "layer fc1 (fc1.weight [200 784], fc1.bias [300])",
		},
		{
			name: "bias with two dimensions", model: "lenet300_100",
			edit: func(t *testing.T, f *safetensors.File) { reshape(f, "fc3.bias", 5, 2) },
			is:   ErrCheckpointMismatch,
			want: "fc3.bias has shape [5 2]; lenet300_100 needs [10]: ",
		},
		{
			name: "fewer classes", model: "lenet300_100",
			edit: func(t *testing.T, f *safetensors.File) {
				setTensor(f, "fc3.weight", []int{5, 100}, func(int) float32 { return 0.01 })
				setTensor(f, "fc3.bias", []int{5}, func(int) float32 { return 0 })
			},
			is:   ErrCheckpointMismatch,
			want: "fc3.weight has shape [5 100]; lenet300_100 needs [10 100] (or a thinned or widened shape of it)",
		},
		{
			name: "NaN weight", model: "lenet300_100",
			edit: func(t *testing.T, f *safetensors.File) {
				v := tensorValues(t, f, "fc1.weight")
				v[7] = nan
				setTensor(f, "fc1.weight", []int{300, 784}, func(i int) float32 { return v[i] })
			},
			is:   ErrCheckpointValues,
			want: "fc1.weight has 1 NaN or infinite value (of 235200)",
		},
		{
			name: "infinite bias", model: "lenet300_100",
			edit: func(t *testing.T, f *safetensors.File) {
				setTensor(f, "fc2.bias", []int{100}, func(i int) float32 { return inf * float32(1-2*(i%2)) })
			},
			is:   ErrCheckpointValues,
			want: "fc2.bias has 100 NaN or infinite values (of 100)",
		},
		{
			name: "mask of halves", model: "lenet300_100",
			edit: func(t *testing.T, f *safetensors.File) {
				setTensor(f, maskPrefix+"fc2.weight", []int{100, 300}, func(int) float32 { return 0.5 })
			},
			is:   ErrCheckpointValues,
			want: "__mask__.fc2.weight, the mask of fc2.weight, has 30000 values other than 0 and 1 (of 30000)",
		},
		{
			name: "mask with a NaN", model: "lenet300_100",
			edit: func(t *testing.T, f *safetensors.File) {
				setTensor(f, maskPrefix+"fc2.weight", []int{100, 300}, func(i int) float32 {
					if i == 17 {
						return nan
					}
					return float32(i % 2)
				})
			},
			is:   ErrCheckpointValues,
			want: "has 1 value other than 0 and 1",
		},
		{
			name: "NaN momentum", model: "lenet300_100",
			edit: func(t *testing.T, f *safetensors.File) {
				setTensor(f, optimPrefix+"momentum_buffer.fc3.bias", []int{10}, func(int) float32 { return nan })
			},
			opt:  true,
			is:   ErrCheckpointValues,
			want: "__optim__.momentum_buffer.fc3.bias has 10 NaN or infinite values",
		},
		{
			name: "int8 model file", model: "lenet300_100",
			edit: func(t *testing.T, f *safetensors.File) {
				f.Metadata["format"] = "dst-int8"
				f.Metadata["dst.source"] = "run/checkpoint.safetensors"
			},
			want: "this is an int8 model file written by dst export --int8, not a float checkpoint; load the float checkpoint it was exported from (run/checkpoint.safetensors)",
		},
		{
			name: "int8 tensors without metadata", model: "lenet300_100",
			edit: func(t *testing.T, f *safetensors.File) {
				delete(f.Metadata, "format")
				for i := range f.Tensors {
					if f.Tensors[i].Name == "fc1.weight" {
						f.Tensors[i] = safetensors.Tensor{Name: "fc1.weight", DType: safetensors.I8, Shape: []int{300, 784}, Data: make([]byte, 300*784)}
					}
				}
				setTensor(f, "fc1.weight.scale", []int{1}, func(int) float32 { return 100 })
			},
			want: "int8 model file written by dst export --int8",
		},
		{
			name: "sparse model file", model: "lenet300_100",
			edit: func(t *testing.T, f *safetensors.File) { f.Metadata["format"] = "dst-sparse" },
			want: "sparse model file",
		},
		{
			name: "permuted convolution", model: "simplenet_mnist",
			edit: func(t *testing.T, f *safetensors.File) { reshape(f, "conv1.weight", 20, 5, 5, 1) },
			is:   ErrCheckpointMismatch,
			want: "conv1.weight has shape [20 5 5 1]; simplenet_mnist needs [20 1 5 5] (or a thinned or widened shape of it)",
		},
		{
			name: "input channels", model: "simplenet_mnist",
			edit: func(t *testing.T, f *safetensors.File) {
				setTensor(f, "conv1.weight", []int{20, 3, 5, 5}, func(int) float32 { return 0.01 })
			},
			is:   ErrCheckpointMismatch,
			want: "conv1.weight has shape [20 3 5 5]; simplenet_mnist needs [20 1 5 5]",
		},
		{
			name: "kernel size", model: "simplenet_mnist",
			edit: func(t *testing.T, f *safetensors.File) {
				setTensor(f, "conv2.weight", []int{50, 20, 3, 3}, func(int) float32 { return 0.01 })
			},
			is:   ErrCheckpointMismatch,
			want: "conv2.weight has shape [50 20 3 3]; simplenet_mnist needs [50 20 5 5]",
		},
		{
			name: "filters thinned without their reader", model: "simplenet_mnist",
			edit: func(t *testing.T, f *safetensors.File) {
				setTensor(f, "conv1.weight", []int{15, 1, 5, 5}, func(int) float32 { return 0.01 })
				setTensor(f, "conv1.bias", []int{15}, func(int) float32 { return 0 })
			},
			is:   ErrCheckpointMismatch,
			want: "layer conv2 (conv2.weight [50 20 5 5], conv2.bias [50]) fails on an input of shape [1 15 12 12]",
		},
		{
			name: "negative running variance", model: "resnet20_cifar",
			edit: func(t *testing.T, f *safetensors.File) {
				setTensor(f, "bn1.running_var", []int{16}, func(int) float32 { return -1 })
			},
			is:   ErrCheckpointValues,
			want: "bn1.running_var has 16 values below 0 (of 16)",
		},
		{
			name: "NaN running mean", model: "resnet20_cifar",
			edit: func(t *testing.T, f *safetensors.File) {
				setTensor(f, "layer3.2.bn2.running_mean", []int{64}, func(i int) float32 { return []float32{0, nan}[i%2] })
			},
			is:   ErrCheckpointValues,
			want: "layer3.2.bn2.running_mean has 32 NaN or infinite values (of 64)",
		},
		{
			name: "one side of a residual add", model: "resnet20_cifar",
			edit: func(t *testing.T, f *safetensors.File) {
				setTensor(f, "layer1.0.conv2.weight", []int{12, 16, 3, 3}, func(int) float32 { return 0.01 })
				for _, n := range []string{"weight", "bias", "running_mean", "running_var"} {
					setTensor(f, "layer1.0.bn2."+n, []int{12}, func(int) float32 { return 1 })
				}
			},
			is:   ErrCheckpointMismatch,
			want: "the tensors do not fit together: what follows layer layer1.0.bn2 (layer1.0.bn2.weight [12], layer1.0.bn2.bias [12], layer1.0.bn2.running_mean [12], layer1.0.bn2.running_var [12]) does not take its output",
		},
		{
			name: "decoder scores fewer tokens", model: "lstm_char",
			edit: func(t *testing.T, f *safetensors.File) {
				setTensor(f, "decoder.weight", []int{100, 128}, func(int) float32 { return 0.01 })
				setTensor(f, "decoder.bias", []int{100}, func(int) float32 { return 0 })
			},
			is:   ErrCheckpointMismatch,
			want: "the model's output has shape [35 100], where lstm_char scores 128 classes",
		},
		{
			name: "LSTM hidden size", model: "lstm_char",
			edit: func(t *testing.T, f *safetensors.File) {
				setTensor(f, "rnn.weight_hh_l0", []int{512, 100}, func(int) float32 { return 0.01 })
			},
			is:   ErrCheckpointMismatch,
			want: "rnn.weight_hh_l0 has shape [512 100]; lstm_char needs [512 128]: ",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := safetensors.ReadFile(loadFixture(t, tc.model))
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(t, f)
			path := filepath.Join(t.TempDir(), "broken.safetensors")
			if err := safetensors.WriteFile(path, f); err != nil {
				t.Fatal(err)
			}
			m, _ := New(tc.model, 2)
			var opt Optimizer
			if tc.opt {
				opt, _ = NewSGD(m.Params(), SGDConfig{LR: 0.1, Momentum: 0.9})
			}
			unchanged := modelState(t, m)
			var state map[string][]*tensor.Dense
			if opt != nil {
				state = opt.State()
			}
			_, err = LoadCheckpoint(path, m, opt)
			switch {
			case err == nil:
				t.Fatal("loaded")
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Errorf("error %v, want one wrapping %v", err, tc.is)
			case !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path):
				t.Errorf("error %q, want one naming the file and saying %q", err, tc.want)
			}
			unchanged()
			if opt != nil {
				for name, ts := range opt.State() {
					for i, st := range ts {
						if st != state[name][i] || slices.ContainsFunc(ops.F32(st), func(v float32) bool { return v != 0 }) {
							t.Errorf("a failed load changed the optimizer state of %s", name)
						}
					}
				}
			}
		})
	}
}

// TestLoadCheckpointShapes loads the files of thinned models, and a full file into a
// thinned model: they load, and the model computes what the saved one did.
func TestLoadCheckpointShapes(t *testing.T) {
	// thinned returns a zoo model with some channels removed by Thin.
	thinned := func(t *testing.T, name string, seed uint64) *Model {
		t.Helper()
		m, _ := New(name, seed)
		thinRandomBN(m, seed)
		for _, p := range m.Params() {
			s := p.Shape()
			if p.Kind != KindWeight || len(s) != 4 || s[1] < 4 || (name == "resnet20_cifar" && !thinHasSuffix(p.Name, ".conv2.weight")) {
				continue
			}
			thinZeroChannels(p, []int{0, 2, 3})
		}
		if rep, err := Thin(m, nil, ThinChannels); err != nil || rep.Empty() {
			t.Fatalf("thin: %v %v", rep, err)
		}
		return m
	}
	for _, tc := range []struct {
		name string
		// saved is the model whose checkpoint is loaded into into.
		saved, into func(t *testing.T) *Model
		// observe wraps into's convolutions in taps, and its ReLUs in activation
		// quantizers, that loading must not run.
		observe bool
	}{
		{name: "thinned simplenet_mnist",
			saved: func(t *testing.T) *Model { return thinned(t, "simplenet_mnist", 1) },
			into:  func(t *testing.T) *Model { m, _ := New("simplenet_mnist", 2); return m }},
		{name: "thinned resnet20_cifar",
			saved: func(t *testing.T) *Model { return thinned(t, "resnet20_cifar", 1) },
			into:  func(t *testing.T) *Model { m, _ := New("resnet20_cifar", 2); return m }},
		{name: "full file into a thinned model",
			saved: func(t *testing.T) *Model { m, _ := New("resnet20_cifar", 3); thinRandomBN(m, 3); return m },
			into:  func(t *testing.T) *Model { return thinned(t, "resnet20_cifar", 1) }},
		{name: "thinned file into a model with taps and quantizers", observe: true,
			saved: func(t *testing.T) *Model { return thinned(t, "simplenet_mnist", 1) },
			into:  func(t *testing.T) *Model { m, _ := New("simplenet_mnist", 2); return m }},
		{name: "lstm_char",
			saved: func(t *testing.T) *Model { m, _ := New("lstm_char", 1); return m },
			into:  func(t *testing.T) *Model { m, _ := New("lstm_char", 2); return m }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			saved := tc.saved(t)
			path := filepath.Join(t.TempDir(), "ckpt.safetensors")
			if err := SaveCheckpoint(path, saved, nil, 0, nil); err != nil {
				t.Fatal(err)
			}
			m := tc.into(t)
			observed := 0
			if tc.observe {
				if err := ReplaceModules(m, func(mod Module) (Module, error) {
					switch l := mod.(type) {
					case *Conv2d:
						return &Tap{Inner: mod, Observe: func(string, *tensor.Dense, *tensor.Dense) { observed++ }}, nil
					case *ReLU:
						return NewActQuant(l, &countQuant{n: &observed}), nil
					}
					return nil, nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := LoadCheckpoint(path, m, nil); err != nil {
				t.Fatal(err)
			}
			if observed != 0 {
				t.Errorf("loading ran taps or quantizers %d times", observed)
			}
			for i, p := range saved.Params() {
				if got := m.Params()[i].Shape(); !slices.Equal(got, p.Shape()) {
					t.Errorf("%s has shape %v after load, want %v", p.Name, got, p.Shape())
				}
			}
			var x *tensor.Dense
			if len(saved.Input) == 3 {
				x = thinBatch(saved, 2, 7)
			} else {
				x = ops.New(saved.Input[0], 2)
				for i, v := range rand.New(rand.NewPCG(1, 1)).Perm(x.Shape().TotalSize()) {
					ops.F32(x)[i] = float32(v % saved.Classes)
				}
			}
			thinClose(t, "logits", thinLogits(m, x), thinLogits(saved, x), 0)
		})
	}
}

// TestLoadSparseRefuses loads broken copies of a sparse model file: each must fail with
// an error naming the tensor and leave the model as it was.
func TestLoadSparseRefuses(t *testing.T) {
	src, _ := New("lenet300_100", 1)
	for _, p := range src.Params() {
		if p.Kind == KindWeight {
			mask := make([]float32, p.Len())
			for i := range mask {
				mask[i] = float32(min(i%10, 1) * (i % 2)) // 40% dense: stored as CSR
			}
			p.SetMask(mask)
		}
	}
	good := filepath.Join(t.TempDir(), "sparse.safetensors")
	if err := SaveSparse(good, src); err != nil {
		t.Fatal(err)
	}
	if f, _ := safetensors.ReadFile(good); f.Metadata["dst.csr.fc1.weight"] == "" {
		t.Fatal("fc1.weight is not stored as CSR")
	}
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, f *safetensors.File)
		is   error
		want string
	}{
		{
			name: "transposed CSR weight",
			edit: func(t *testing.T, f *safetensors.File) { f.Metadata["dst.csr.fc1.weight"] = "[784,300]" },
			is:   ErrCheckpointMismatch,
			want: "fc1.weight has shape [784 300]; lenet300_100 needs [300 784] (or a thinned or widened shape of it)",
		},
		{
			name: "bias with two dimensions",
			edit: func(t *testing.T, f *safetensors.File) { reshape(f, "fc3.bias", 5, 2) },
			is:   ErrCheckpointMismatch,
			want: "fc3.bias has shape [5 2]; lenet300_100 needs [10]: ",
		},
		{
			name: "short bias",
			edit: func(t *testing.T, f *safetensors.File) {
				setTensor(f, "fc1.bias", []int{299}, func(int) float32 { return 0 })
			},
			is:   ErrCheckpointMismatch,
			want: "layer fc1 (fc1.weight [300 784], fc1.bias [299]) fails on an input of shape [1 784]",
		},
		{
			name: "NaN among the CSR values",
			edit: func(t *testing.T, f *safetensors.File) {
				v := tensorValues(t, f, "fc2.weight.csr_values")
				v[3] = float32(math.NaN())
				setTensor(f, "fc2.weight.csr_values", []int{len(v)}, func(i int) float32 { return v[i] })
			},
			is:   ErrCheckpointValues,
			want: "fc2.weight has 1 NaN or infinite value (of 30000)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := safetensors.ReadFile(good)
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(t, f)
			path := filepath.Join(t.TempDir(), "broken.safetensors")
			if err := safetensors.WriteFile(path, f); err != nil {
				t.Fatal(err)
			}
			m, _ := New("lenet300_100", 2)
			unchanged := modelState(t, m)
			err = LoadSparse(path, m)
			switch {
			case err == nil:
				t.Fatal("loaded")
			case !errors.Is(err, tc.is):
				t.Errorf("error %v, want one wrapping %v", err, tc.is)
			case !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path):
				t.Errorf("error %q, want one naming the file and saying %q", err, tc.want)
			}
			unchanged()
		})
	}
}

// countQuant is an activation quantizer that counts its forward passes and quantizes
// nothing.
type countQuant struct{ n *int }

func (c *countQuant) Forward(dst, x []float32, _ bool) { *c.n++; copy(dst, x) }
func (c *countQuant) Backward(dx, dy, _ []float32)     { copy(dx, dy) }
func (c *countQuant) Params() []*Param                 { return nil }
