package nn

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dst-dev/dst/ops"
)

func TestSparseFileRoundTrip(t *testing.T) {
	for _, name := range []string{"lenet300_100", "resnet20_cifar"} {
		m, _ := New(name, 4)
		pruneRandom(m, 0.9, 5)
		dir := t.TempDir()
		sp, dense := filepath.Join(dir, "sparse.safetensors"), filepath.Join(dir, "dense.safetensors")
		if err := SaveSparse(sp, m); err != nil {
			t.Fatal(err)
		}
		if err := SaveCheckpoint(dense, m, nil, 0, nil); err != nil {
			t.Fatal(err)
		}
		// The checkpoint also holds masks; compare with the weights-only dense size.
		var weights int64
		for _, p := range m.Params() {
			weights += int64(4 * p.Len())
		}
		st, _ := os.Stat(sp)
		if st.Size() > weights/3 {
			t.Errorf("%s: sparse file %d bytes, dense weights %d: not smaller by 3x at 90%% sparsity", name, st.Size(), weights)
		}
		m2, _ := New(name, 9)
		if err := LoadSparse(sp, m2); err != nil {
			t.Fatal(err)
		}
		for i, p := range m.Params() {
			if !equalF32(p.Data(), m2.Params()[i].Data()) {
				t.Fatalf("%s: %s differs after the round trip", name, p.Name)
			}
		}
		if err := LoadSparse(dense, m2); err == nil {
			t.Fatal("a checkpoint loaded as a sparse model file")
		}
	}
}

// TestSparseFileThinned checks that a fresh zoo model takes the sparse file of a thinned
// model (its tensors take the file's shapes) and computes what the thinned model does,
// and that a file that does not fit leaves the model as it was.
func TestSparseFileThinned(t *testing.T) {
	m, _ := New("simplenet_mnist", 4)
	p := m.Param("conv2.weight")
	mask := make([]float32, p.Len())
	per := p.Len() / p.Shape()[0]
	for f := 0; f < p.Shape()[0]; f += 2 { // keep every other filter
		for i := range per {
			mask[f*per+i] = 1
		}
	}
	p.SetMask(mask)
	if _, err := Thin(m, nil, ThinFilters); err != nil {
		t.Fatal(err)
	}
	if got := m.Param("conv2.weight").Shape()[0]; got != 25 {
		t.Fatalf("thinned conv2 has %d filters", got)
	}
	path := filepath.Join(t.TempDir(), "thin.safetensors")
	if err := SaveSparse(path, m); err != nil {
		t.Fatal(err)
	}
	m2, _ := New("simplenet_mnist", 9)
	if err := LoadSparse(path, m2); err != nil {
		t.Fatal(err)
	}
	x := ops.New(2, 1, 28, 28)
	fillRandom(ops.F32(x), 1)
	want := slices.Clone(ops.F32(m.Forward(x, false)))
	if got := ops.F32(m2.Forward(x, false)); !equalF32(got, want) {
		t.Errorf("the reloaded thinned model computes %v, want %v", got[:4], want[:4])
	}
	// lenet300_100's file does not fit simplenet_mnist: nothing changes.
	l, _ := New("lenet300_100", 1)
	lp := filepath.Join(t.TempDir(), "l.safetensors")
	if err := SaveSparse(lp, l); err != nil {
		t.Fatal(err)
	}
	m3, _ := New("simplenet_mnist", 9)
	before := slices.Clone(m3.Param("conv1.weight").Data())
	if err := LoadSparse(lp, m3); err == nil {
		t.Fatal("lenet300_100's file loaded into simplenet_mnist")
	}
	if !equalF32(m3.Param("conv1.weight").Data(), before) {
		t.Error("a failed load changed conv1")
	}
}
