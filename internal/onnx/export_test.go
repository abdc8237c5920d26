package onnx

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/dst-dev/dst/internal/onnx/onnxpb"
	"github.com/dst-dev/dst/nn"
	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"
)

func TestExportStructure(t *testing.T) {
	m, err := nn.New("resnet20_cifar", 1)
	if err != nil {
		t.Fatal(err)
	}
	mp, err := Export(m)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, n := range mp.Graph.Node {
		count[n.GetOpType()]++
	}
	// 19 convolutions + 2 downsample convolutions, 21 batch norms, 9 residual adds, 1 Gemm.
	want := map[string]int{"Conv": 21, "BatchNormalization": 21, "Add": 9, "Gemm": 1, "AveragePool": 1}
	for op, n := range want {
		if count[op] != n {
			t.Errorf("%d %s nodes, want %d", count[op], op, n)
		}
	}
	if len(mp.Graph.Initializer) != len(m.Params())+len(m.Buffers()) {
		t.Errorf("%d initializers, want %d", len(mp.Graph.Initializer), len(m.Params())+len(m.Buffers()))
	}
	// The file must round-trip through the protobuf decoder.
	b, err := proto.Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	var back onnxpb.ModelProto
	if err := proto.Unmarshal(b, &back); err != nil || len(back.Graph.Node) != len(mp.Graph.Node) {
		t.Fatalf("round trip: %v", err)
	}
}

// TestIndependentRunner exports every zoo model, runs the file with tools/onnxrun.py
// (onnx.checker plus a numpy evaluator that shares nothing with dst) and compares its
// logits with dst's forward pass.
func TestIndependentRunner(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import onnx, numpy").Run(); err != nil {
		t.Skip("needs /usr/bin/python3 with Debian's python3-onnx and python3-numpy")
	}
	if testing.Short() {
		t.Skip("runs Python")
	}
	script, _ := filepath.Abs("../../tools/onnxrun.py")
	for _, name := range []string{"simplenet_mnist", "simplenet_v2_mnist", "lenet300_100", "lenet5", "resnet20_cifar"} {
		t.Run(name, func(t *testing.T) {
			m, err := nn.New(name, 3)
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 2))
			// Give BatchNorm non-trivial statistics so the test sees them.
			for _, b := range m.Buffers() {
				for i, v := range b.Value.Data().([]float32) {
					b.Value.Data().([]float32)[i] = v + 0.5*r.Float32()
				}
			}
			const n = 3
			shape := append([]int{n}, m.Input...)
			x := tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
			xs := x.Data().([]float32)
			for i := range xs {
				xs[i] = float32(r.NormFloat64())
			}
			dir := t.TempDir()
			writeF32(t, filepath.Join(dir, "in.bin"), xs)
			want := append([]float32(nil), m.Forward(x, false).Data().([]float32)...)
			path := filepath.Join(dir, name+".onnx")
			if err := WriteFile(path, m); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("/usr/bin/python3", script, path, filepath.Join(dir, "in.bin"), filepath.Join(dir, "out.bin"), strconv.Itoa(n)).CombinedOutput()
			if err != nil {
				t.Fatalf("onnxrun.py: %v\n%s", err, out)
			}
			got := readF32(t, filepath.Join(dir, "out.bin"))
			if len(got) != len(want) {
				t.Fatalf("%d outputs, want %d", len(got), len(want))
			}
			for i := range got {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-3*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("logit %d: onnx %v, dst %v", i, got[i], want[i])
				}
			}
		})
	}
}

func writeF32(t *testing.T, path string, v []float32) {
	t.Helper()
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}
