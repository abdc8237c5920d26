package int8model

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/internal/safetensors"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/ops"
	"github.com/dst-dev/dst/stdlib"
)

func newModel(name string) (*nn.Model, error) { return nn.New(name, 0) }

// quantized returns a PTQ-quantized random model and the synthetic set it was calibrated on.
func quantized(t *testing.T, name string, qs stdlib.QuantSettings, over []stdlib.Override) (*nn.Model, *data.Set) {
	t.Helper()
	m, err := nn.New(name, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.FoldBatchNorms(m); err != nil {
		t.Fatal(err)
	}
	set := data.Synthetic(96, m.Input[0], m.Input[1], m.Input[2], 10, 2)
	stats, err := stdlib.Calibrate(context.Background(), m, set, 32, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&stdlib.PTQ{Default: qs, Overrides: over}).Apply(m, stats); err != nil {
		t.Fatal(err)
	}
	return m, set
}

func logitsOf(m *nn.Model, set *data.Set) []float32 {
	x := ops.New(set.N, set.C, set.H, set.W)
	copy(ops.F32(x), set.X)
	return append([]float32(nil), ops.F32(m.Forward(x, false))...)
}

func TestRoundTrip(t *testing.T) {
	w8 := stdlib.QuantSettings{WeightBits: 8, ActBits: 8, AccumBits: 32}
	for _, tc := range []struct {
		name  string
		model string
		qs    stdlib.QuantSettings
		over  []stdlib.Override
		float []string
	}{
		{"simplenet sym", "simplenet_mnist", w8, nil, nil},
		{"simplenet asym_u per-channel", "simplenet_mnist", stdlib.QuantSettings{WeightBits: 8, ActBits: 8, AccumBits: 32, Mode: stdlib.AsymmetricUnsigned, PerChannel: true}, nil, nil},
		{"simplenet w4 scale bits", "simplenet_mnist", stdlib.QuantSettings{WeightBits: 4, ActBits: 8, AccumBits: 32, ScaleBits: 12}, nil, nil},
		{"lenet300 fc3 float", "lenet300_100", w8, []stdlib.Override{{Pattern: "fc3", Settings: stdlib.QuantSettings{Float: true}}}, []string{"fc3.weight", "fc3.bias"}},
		{"resnet20 folded", "resnet20_cifar", stdlib.QuantSettings{WeightBits: 8, ActBits: 8, AccumBits: 32, PerChannel: true}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, set := quantized(t, tc.model, tc.qs, tc.over)
			want := logitsOf(m, set)
			path := filepath.Join(t.TempDir(), "q.safetensors")
			if err := Save(path, m, map[string]string{"note": "test"}); err != nil {
				t.Fatal(err)
			}
			back, info, err := Load(path, newModel)
			if err != nil {
				t.Fatal(err)
			}
			if info.Model != tc.model || info.Meta["note"] != "test" || info.Meta["dst.int8.dequantize"] == "" || len(info.Layers) == 0 {
				t.Fatalf("info %+v", info)
			}
			got := logitsOf(back, set)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("logit %d: int8 file %v, quantized model %v", i, got[i], want[i])
				}
			}
			var names []string
			for _, p := range back.Params() {
				names = append(names, p.Name)
			}
			if strings.Join(names, ",") != strings.Join(tc.float, ",") {
				t.Fatalf("float parameters %v, want %v", names, tc.float)
			}
			f, _ := safetensors.ReadFile(path)
			if w := f.Tensor(info.Layers[0] + ".weight"); w == nil || w.DType != safetensors.I8 {
				t.Fatalf("weights not stored as I8: %+v", w)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	m, _ := quantized(t, "simplenet_mnist", stdlib.QuantSettings{WeightBits: 8, ActBits: 8, AccumBits: 32}, nil)
	good := filepath.Join(dir, "good.safetensors")
	if err := Save(good, m, nil); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, edit func(f *safetensors.File)) string {
		g := &safetensors.File{Metadata: map[string]string{}, Tensors: append([]safetensors.Tensor(nil), f.Tensors...)}
		for k, v := range f.Metadata {
			g.Metadata[k] = v
		}
		edit(g)
		p := filepath.Join(dir, name)
		if err := safetensors.WriteFile(p, g); err != nil {
			t.Fatal(err)
		}
		return p
	}
	drop := func(name string) func(*safetensors.File) {
		return func(g *safetensors.File) {
			for i, t := range g.Tensors {
				if t.Name == name {
					g.Tensors = append(g.Tensors[:i], g.Tensors[i+1:]...)
					return
				}
			}
		}
	}
	for _, tc := range []struct {
		name string
		path string
		want string
	}{
		{"not int8", write("ckpt", func(g *safetensors.File) { g.Metadata["format"] = "pt" }), "format"},
		{"missing scale", write("noscale", drop("conv2.weight.scale")), "conv2.weight.scale"},
		{"extra tensor", write("extra", func(g *safetensors.File) {
			g.Tensors = append(g.Tensors, safetensors.FromFloat32("junk", []int{1}, []float32{1}))
		}), "junk"},
		{"unknown layer", write("layer", func(g *safetensors.File) { g.Metadata["dst.int8.layers"] += ",conv9" }), "conv9"},
		{"unknown model", write("model", func(g *safetensors.File) { g.Metadata["dst.model"] = "nope" }), "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load(tc.path, newModel)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if _, _, err := Load(write("fmt", func(g *safetensors.File) { g.Metadata["format"] = "pt" }), newModel); !errors.Is(err, ErrFormat) {
		t.Fatalf("error %v, want ErrFormat", err)
	}
	dyn, _ := nn.New("simplenet_mnist", 0)
	if _, err := (&stdlib.PTQ{Default: stdlib.QuantSettings{WeightBits: 8, ActBits: 8, AccumBits: 32}}).Apply(dyn, nil); err != nil {
		t.Fatal(err)
	}
	if err := Save(filepath.Join(dir, "dyn"), dyn, nil); err == nil || !strings.Contains(err.Error(), "calibrate") {
		t.Fatalf("saved a model with dynamic ranges: %v", err)
	}
	plain, _ := nn.New("simplenet_mnist", 0)
	if err := Save(filepath.Join(dir, "plain"), plain, nil); err == nil {
		t.Fatal("saved a model without quantized layers")
	}
}
