package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sample() *File {
	return &File{
		Metadata: map[string]string{"format": "pt", "epoch": "3"},
		Tensors: []Tensor{
			FromFloat32("conv1.weight", []int{2, 1, 2, 2}, []float32{1, 2, 3, 4, 5, 6, 7, 8}),
			{Name: "q", DType: I8, Shape: []int{3}, Data: []byte{0xff, 0, 7}},
			FromFloat32("scalar", nil, []float32{2.5}),
		},
	}
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := Encode(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	hl := binary.LittleEndian.Uint64(buf.Bytes())
	if (8+hl)%8 != 0 {
		t.Errorf("data starts at %d, not 8-byte aligned", 8+hl)
	}
	f, err := Decode(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["epoch"] != "3" || len(f.Tensors) != 3 {
		t.Fatalf("decoded %+v", f)
	}
	for i, name := range []string{"conv1.weight", "q", "scalar"} {
		if f.Tensors[i].Name != name {
			t.Fatalf("tensor %d is %q, want %q (file order)", i, f.Tensors[i].Name, name)
		}
	}
	got := make([]float32, 8)
	if err := f.Tensor("conv1.weight").Float32s(got); err != nil || got[7] != 8 {
		t.Fatalf("%v %v", got, err)
	}
	if err := f.Tensor("q").Float32s(got); err == nil {
		t.Fatal("I8 decoded as F32")
	}
}

func TestDecodeRejects(t *testing.T) {
	var good bytes.Buffer
	Encode(&good, sample())
	header := func(h string, data int) []byte {
		b := make([]byte, 8, 8+len(h)+data)
		binary.LittleEndian.PutUint64(b, uint64(len(h)))
		b = append(b, h...)
		return append(b, make([]byte, data)...)
	}
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "shorter than the 8-byte"},
		{"truncated", good.Bytes()[:good.Len()-3], "outside"},
		{"huge header", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'}, "does not fit"},
		{"not json", header("nonsense", 0), "not a JSON object"},
		{"bad dtype", header(`{"a":{"dtype":"X9","shape":[1],"data_offsets":[0,4]}}`, 4), "unknown dtype"},
		{"shape mismatch", header(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 4), "needs 8 bytes"},
		{"hole", header(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8), "overlap or hole"},
		{"overlap", header(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 4), "overlap or hole"},
		{"trailing", header(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 8), "trailing"},
		{"unknown field", header(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, 4), "unknown field"},
		{"bad metadata", header(`{"__metadata__":{"a":1}}`, 0), "__metadata__"},
		{"negative dim", header(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}`, 0), "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.in)
			if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrFormat containing %q", err, tc.want)
			}
		})
	}
}

func TestEncodeRejects(t *testing.T) {
	for _, f := range []*File{
		{Tensors: []Tensor{FromFloat32("a", []int{1}, []float32{1}), FromFloat32("a", []int{1}, []float32{1})}},
		{Tensors: []Tensor{{Name: "a", DType: F32, Shape: []int{2}, Data: make([]byte, 4)}}},
		{Tensors: []Tensor{FromFloat32("__metadata__", []int{1}, []float32{1})}},
	} {
		if err := Encode(&bytes.Buffer{}, f); err == nil {
			t.Errorf("encoded %+v", f.Tensors)
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "ckpt.safetensors")
	if err := WriteFile(p, sample()); err != nil {
		t.Fatal(err)
	}
	// A failing write (invalid content) must leave the old file intact and no temp file.
	bad := &File{Tensors: []Tensor{{Name: "a", DType: F32, Shape: []int{2}, Data: make([]byte, 4)}}}
	if err := WriteFile(p, bad); err == nil {
		t.Fatal("invalid file written")
	}
	f, err := ReadFile(p)
	if err != nil || f.Metadata["epoch"] != "3" {
		t.Fatalf("old checkpoint damaged: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left %d files behind", len(entries))
	}
}

func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	Encode(&buf, sample())
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Decode(b)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := Encode(&out, file); err != nil {
			t.Fatalf("decoded file does not re-encode: %v", err)
		}
		if _, err := Decode(out.Bytes()); err != nil {
			t.Fatalf("re-encoded file does not decode: %v", err)
		}
	})
}

// TestDecodeReportsFirstBadName checks that of several bad entries the error names the
// first by name, every time (the header is a JSON object, read in map order before).
func TestDecodeReportsFirstBadName(t *testing.T) {
	header := `{"b":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"c":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`
	buf := make([]byte, 8, 8+len(header)+4)
	binary.LittleEndian.PutUint64(buf, uint64(len(header)))
	buf = append(append(buf, header...), 0, 0, 0, 0) // 4 data bytes: every tensor is cut short
	for range 20 {
		if _, err := Decode(buf); err == nil || !strings.Contains(err.Error(), `tensor "a"`) {
			t.Fatalf("error %v, want one about tensor \"a\"", err)
		}
	}
}
