package nn

import (
	"os"
	"path/filepath"
	"testing"
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
