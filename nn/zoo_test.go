package nn

import (
	"slices"
	"strings"
	"testing"

	"github.com/dst-dev/dst/ops"
	"github.com/google/go-cmp/cmp"
)

func mustNew(t testing.TB, name string, seed uint64) *Model {
	t.Helper()
	m, err := New(name, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func paramNames(m *Model) []string {
	var out []string
	for _, p := range m.Params() {
		out = append(out, p.Name)
	}
	return out
}

// distillerMACs counts multiply-accumulates Distiller's way: a convolution costs its output
// volume times C_in·kh·kw, a linear layer in·out.
func distillerMACs(t *testing.T, m *Model) int {
	t.Helper()
	total := 0
	for _, l := range m.Layers() {
		switch l.Type {
		case "Conv2d":
			if l.OutShape == nil {
				t.Fatalf("%s: no output shape after a forward pass", l.Name)
			}
			vol := 1
			for _, d := range l.OutShape[1:] {
				vol *= d
			}
			total += vol * l.InChannels * l.Kernel[0] * l.Kernel[1]
		case "Linear":
			total += l.InFeatures * l.OutFeatures
		}
	}
	return total
}

func TestZoo(t *testing.T) {
	cases := []struct {
		name            string
		params, weights int
		macs            int
		names           []string
	}{
		{"simplenet_mnist", 431080, 430500, 2293000,
			[]string{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}},
		{"simplenet_v2_mnist", 26080, 26000, 288000 + 1600000 + 500,
			[]string{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc.weight", "fc.bias"}},
		{"lenet300_100", 266610, 266200, 266200,
			[]string{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"}},
		{"lenet5", 431080, 430500, 2293000,
			[]string{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}},
		// Distiller's figures for ResNet-20: 270,896 weights (its summaries count
		// convolution and fc weights only), 40,813,184 MACs.
		{"resnet20_cifar", 272474, 270896, 40813184, nil},
		{"lstm_char", 124032, 8192 + 98304 + 16384, 0,
			[]string{"encoder.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0", "decoder.weight", "decoder.bias"}},
	}
	infos := Models()
	if len(infos) != len(cases) {
		t.Fatalf("Models() lists %d models, want %d", len(infos), len(cases))
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if infos[i].Name != tc.name || infos[i].Params != tc.params || infos[i].Description == "" {
				t.Errorf("Models()[%d] = %+v, want %s with %d params", i, infos[i], tc.name, tc.params)
			}
			m := mustNew(t, tc.name, 1)
			if got := m.NumParams(); got != tc.params {
				t.Errorf("NumParams = %d, want %d", got, tc.params)
			}
			if got := m.NumWeights(); got != tc.weights {
				t.Errorf("NumWeights = %d, want %d", got, tc.weights)
			}
			if tc.names != nil {
				if diff := cmp.Diff(tc.names, paramNames(m)); diff != "" {
					t.Errorf("parameter names (-want +got):\n%s", diff)
				}
			}
			for _, p := range m.Params() {
				if m.Param(p.Name) != p {
					t.Errorf("Param(%q) does not return the parameter", p.Name)
				}
			}
			if len(m.Input) == 1 {
				// A language model: T×N token ids in, T·N rows of logits out.
				x := ops.New(m.Input[0], 2)
				if s := m.Forward(x, false).Shape(); len(s) != 2 || s[0] != 2*m.Input[0] || s[1] != m.Classes {
					t.Fatalf("logits shape %v, want [%d %d]", s, 2*m.Input[0], m.Classes)
				}
				return
			}
			x := ops.New(2, m.Input[0], m.Input[1], m.Input[2])
			logits := m.Forward(x, false)
			if s := logits.Shape(); len(s) != 2 || s[0] != 2 || s[1] != m.Classes {
				t.Fatalf("logits shape %v, want [2 %d]", s, m.Classes)
			}
			if got := distillerMACs(t, m); got != tc.macs {
				t.Errorf("MACs = %d, want %d", got, tc.macs)
			}
		})
	}
}

func TestResNet20Structure(t *testing.T) {
	m := mustNew(t, "resnet20_cifar", 1)
	names := paramNames(m)
	wantPrefix := []string{"conv1.weight", "bn1.weight", "bn1.bias",
		"layer1.0.conv1.weight", "layer1.0.bn1.weight", "layer1.0.bn1.bias",
		"layer1.0.conv2.weight", "layer1.0.bn2.weight", "layer1.0.bn2.bias"}
	if diff := cmp.Diff(wantPrefix, names[:len(wantPrefix)]); diff != "" {
		t.Errorf("first parameters (-want +got):\n%s", diff)
	}
	i := indexOf(names, "layer2.0.bn2.bias")
	want := []string{"layer2.0.downsample.0.weight", "layer2.0.downsample.1.weight", "layer2.0.downsample.1.bias", "layer2.1.conv1.weight"}
	if i < 0 || !cmp.Equal(names[i+1:i+5], want) {
		t.Errorf("after layer2.0.bn2.bias: %v, want %v", names[i+1:min(i+5, len(names))], want)
	}
	if got := names[len(names)-2:]; !cmp.Equal(got, []string{"fc.weight", "fc.bias"}) {
		t.Errorf("last parameters %v, want fc.weight, fc.bias", got)
	}
	if m.Param("layer1.0.downsample.0.weight") != nil {
		t.Errorf("layer1.0 must have an identity shortcut")
	}
	var bufs []string
	for _, b := range m.Buffers() {
		bufs = append(bufs, b.Name)
	}
	if len(bufs) != 2*(1+9*2+2) || bufs[0] != "bn1.running_mean" || bufs[1] != "bn1.running_var" ||
		indexOf(bufs, "layer3.0.downsample.1.running_var") < 0 {
		t.Errorf("buffers: %v", bufs)
	}
	for _, p := range m.Params() {
		switch p.Kind {
		case KindNormWeight:
			for _, v := range p.Data() {
				if v != 1 {
					t.Fatalf("%s not initialised to 1", p.Name)
				}
			}
		case KindNormBias:
			if p.NNZ() != 0 {
				t.Fatalf("%s not initialised to 0", p.Name)
			}
		case KindBias:
			if !strings.HasPrefix(p.Name, "fc.") {
				t.Errorf("unexpected bias %s: ResNet convolutions have none", p.Name)
			}
		}
	}
	// Kaiming normal (fan out): conv weight standard deviation √(2/(9·Cout)).
	w := m.Param("layer3.1.conv1.weight").Data()
	var s2 float64
	for _, v := range w {
		s2 += float64(v) * float64(v)
	}
	if std, want := sqrt(s2/float64(len(w))), sqrt(2.0/(9*64)); std < 0.95*want || std > 1.05*want {
		t.Errorf("layer3.1.conv1.weight std %.4f, want %.4f", std, want)
	}
}

func TestInitBounds(t *testing.T) {
	m := mustNew(t, "simplenet_mnist", 3)
	for _, tc := range []struct {
		name  string
		fanIn int
	}{{"conv1.weight", 25}, {"conv1.bias", 25}, {"conv2.weight", 500}, {"fc1.weight", 800}, {"fc2.bias", 500}} {
		bound := 1 / sqrt(float64(tc.fanIn))
		var mx float64
		for _, v := range m.Param(tc.name).Data() {
			mx = max(mx, abs(float64(v)))
		}
		if mx > bound || mx < 0.8*bound {
			t.Errorf("%s: max |w| = %.4f, want just under %.4f", tc.name, mx, bound)
		}
	}
	a, b := mustNew(t, "lenet5", 7), mustNew(t, "lenet5", 7)
	c := mustNew(t, "lenet5", 8)
	if !slices.Equal(a.Param("fc1.weight").Data(), b.Param("fc1.weight").Data()) {
		t.Errorf("same seed, different weights")
	}
	if slices.Equal(a.Param("fc1.weight").Data(), c.Param("fc1.weight").Data()) {
		t.Errorf("different seeds, same weights")
	}
}

func TestUnknownModel(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"lenet", `did you mean "lenet5"?`},
		{"simplenet-mnist", `did you mean "simplenet_mnist"?`},
		{"resnet20", `did you mean "resnet20_cifar"?`},
		{"vgg16", "models: simplenet_mnist, simplenet_v2_mnist, lenet300_100, lenet5, resnet20_cifar, lstm_char"},
		{"lstm", `did you mean "lstm_char"?`},
	} {
		_, err := New(tc.name, 0)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q) error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	if _, err := New("vgg16", 0); strings.Contains(err.Error(), "did you mean") {
		t.Errorf("New(vgg16) suggests a distant name: %v", err)
	}
}

func TestLayers(t *testing.T) {
	m := mustNew(t, "simplenet_mnist", 1)
	m.Forward(ops.New(3, 1, 28, 28), false)
	var got []string
	for _, l := range m.Layers() {
		got = append(got, l.Name+":"+l.Type)
	}
	want := []string{"conv1:Conv2d", "relu1:ReLU", "pool1:MaxPool2d", "conv2:Conv2d", "relu2:ReLU", "pool2:MaxPool2d",
		"flatten:Flatten", "fc1:Linear", "relu3:ReLU", "fc2:Linear"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("layers (-want +got):\n%s", diff)
	}
	l := m.Layers()[3]
	if l.InChannels != 20 || l.OutChannels != 50 || l.Kernel != [2]int{5, 5} || l.Stride != [2]int{1, 1} ||
		!cmp.Equal(l.InShape, []int{3, 20, 12, 12}) || !cmp.Equal(l.OutShape, []int{3, 50, 8, 8}) || !l.Bias || !l.FusedReLU {
		t.Errorf("conv2 info %+v", l)
	}
	if p := m.Layers()[5]; p.Kernel != [2]int{2, 2} || p.Stride != [2]int{2, 2} {
		t.Errorf("pool2 info %+v", p)
	}
	// Resnet's containers appear in Modules, not in Layers.
	r := mustNew(t, "resnet20_cifar", 1)
	mods := r.Modules()
	if mods[3].Name != "layer1" || mods[3].Type != "Sequential" || mods[4].Name != "layer1.0" || mods[4].Type != "BasicBlock" {
		t.Errorf("modules %v %v", mods[3], mods[4])
	}
}

// TestFirstLayerSkipsInputGradient checks that the first layer with parameters skips
// its input gradient, also behind parameter-free layers such as Flatten.
func TestFirstLayerSkipsInputGradient(t *testing.T) {
	for _, tc := range []struct {
		model string
		index int
	}{{"lenet300_100", 1}, {"simplenet_mnist", 0}, {"resnet20_cifar", 0}} {
		m := mustNew(t, tc.model, 1)
		mods := m.Root().Children()
		var skip bool
		switch l := mods[tc.index].(type) {
		case *Linear:
			skip = l.op.NoInputGrad
		case *Conv2d:
			skip = l.op.NoInputGrad
		}
		if !skip {
			t.Errorf("%s: %s computes an input gradient nobody needs", tc.model, mods[tc.index].Info().Name)
		}
		n := 0
		for _, mod := range mods {
			if l, ok := mod.(*Linear); ok && l.op.NoInputGrad {
				n++
			}
			if l, ok := mod.(*Conv2d); ok && l.op.NoInputGrad {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d layers skip their input gradient, want 1", tc.model, n)
		}
	}
}

// TestThinnedLayer shrinks conv2's filters and fc1's inputs, as thinning does, and checks
// that the model keeps working with the new shapes.
func TestThinnedLayer(t *testing.T) {
	m := mustNew(t, "simplenet_mnist", 1)
	keep := 40
	resize := func(name string, shape ...int) {
		p := m.Param(name)
		old := p.Data()
		p.Value, p.Grad = ops.New(shape...), ops.New(shape...)
		copy(p.Data(), old)
	}
	resize("conv2.weight", keep, 20, 5, 5)
	resize("conv2.bias", keep)
	resize("fc1.weight", 500, keep*16)
	x := ops.New(2, 1, 28, 28)
	logits := m.Forward(x, true)
	var ce ops.CrossEntropy
	ce.Forward(logits, []int32{1, 2})
	m.Backward(ce.Backward())
	l := m.Layers()[3]
	if l.OutChannels != keep || m.Layers()[7].InFeatures != keep*16 {
		t.Errorf("after thinning conv2 has %d filters and fc1 %d inputs", l.OutChannels, m.Layers()[7].InFeatures)
	}
}

func indexOf(s []string, x string) int {
	for i, v := range s {
		if v == x {
			return i
		}
	}
	return -1
}
