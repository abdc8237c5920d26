// Package safetensors reads and writes the safetensors format: an 8-byte little-endian
// header length N, N bytes of JSON header, then the tensors' bytes back to back.
//
// The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}
// (offsets relative to the end of the header) and may hold a "__metadata__" object of
// string pairs. Decode checks everything a hostile or truncated file could get wrong:
// header size, JSON syntax, known dtypes, shape × dtype size = byte length, offsets
// inside the buffer, no overlaps and no holes.
//
// The format is small enough to write carefully here; the one Go library for it
// (nlpodyssey/safetensors) only reads and has been quiet for years.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"sort"

	"github.com/dst-dev/dst/internal/atomicfile"
)

// DType is a tensor element type, spelled as in the safetensors header.
type DType string

// The element types dst writes and reads.
const (
	F32  DType = "F32"
	F64  DType = "F64"
	I8   DType = "I8"
	U8   DType = "U8"
	I16  DType = "I16"
	I32  DType = "I32"
	I64  DType = "I64"
	F16  DType = "F16"
	BF16 DType = "BF16"
)

// Size returns the element size in bytes, or 0 for an unknown type.
func (d DType) Size() int {
	switch d {
	case I8, U8:
		return 1
	case F16, BF16, I16:
		return 2
	case F32, I32:
		return 4
	case F64, I64:
		return 8
	}
	return 0
}

// Tensor is one named tensor: its element type, shape and raw little-endian bytes.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// File is the content of a safetensors file. Tensors keep their order on Encode; Decode
// returns them in the order of their data offsets.
type File struct {
	Metadata map[string]string
	Tensors  []Tensor
}

// Tensor returns the tensor with the given name, or nil.
func (f *File) Tensor(name string) *Tensor {
	for i := range f.Tensors {
		if f.Tensors[i].Name == name {
			return &f.Tensors[i]
		}
	}
	return nil
}

// MaxHeader bounds the JSON header (100 MB, as the reference implementation does).
const MaxHeader = 100 << 20

// ErrFormat is wrapped by every error about a malformed file.
var ErrFormat = errors.New("safetensors: malformed file")

type entry struct {
	DType   DType    `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// Encode writes f to w. It fails on duplicate or reserved names, unknown dtypes and
// data whose length does not match the shape.
func Encode(w io.Writer, f *File) error {
	header := make(map[string]any, len(f.Tensors)+1)
	if len(f.Metadata) > 0 {
		header["__metadata__"] = f.Metadata
	}
	var off int64
	for _, t := range f.Tensors {
		if t.Name == "__metadata__" || t.Name == "" {
			return fmt.Errorf("safetensors: invalid tensor name %q", t.Name)
		}
		if _, dup := header[t.Name]; dup {
			return fmt.Errorf("safetensors: duplicate tensor name %q", t.Name)
		}
		if err := checkLen(t); err != nil {
			return err
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = entry{t.DType, shape, [2]int64{off, off + int64(len(t.Data))}}
		off += int64(len(t.Data))
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	// Pad the header with spaces so the data starts 8-byte aligned.
	for (8+len(hb))%8 != 0 {
		hb = append(hb, ' ')
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(hb)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(hb); err != nil {
		return err
	}
	for _, t := range f.Tensors {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

func checkLen(t Tensor) error {
	size := t.DType.Size()
	if size == 0 {
		return fmt.Errorf("safetensors: tensor %q: unknown dtype %q", t.Name, t.DType)
	}
	n := int64(size)
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("safetensors: tensor %q: negative dimension in shape %v", t.Name, t.Shape)
		}
		if d > 0 && n > math.MaxInt64/int64(d) {
			return fmt.Errorf("safetensors: tensor %q: shape %v overflows", t.Name, t.Shape)
		}
		n *= int64(d)
	}
	if n != int64(len(t.Data)) {
		return fmt.Errorf("safetensors: tensor %q: shape %v of %s needs %d bytes, has %d", t.Name, t.Shape, t.DType, n, len(t.Data))
	}
	return nil
}

// Decode parses a whole safetensors file held in b. Tensor data aliases b.
func Decode(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the 8-byte header length", ErrFormat, len(b))
	}
	hl := binary.LittleEndian.Uint64(b)
	if hl > MaxHeader || hl > uint64(len(b)-8) {
		return nil, fmt.Errorf("%w: header length %d does not fit in a %d-byte file", ErrFormat, hl, len(b))
	}
	hb := b[8 : 8+hl]
	data := b[8+hl:]
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(hb))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: header is not a JSON object: %v", ErrFormat, err)
	}
	f := &File{}
	type span struct {
		name       string
		begin, end int64
	}
	var spans []span
	// In name order, so that a file with several bad entries always reports the same one.
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		msg := raw[name]
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return nil, fmt.Errorf("%w: __metadata__ must map strings to strings: %v", ErrFormat, err)
			}
			continue
		}
		if name == "" {
			return nil, fmt.Errorf("%w: a tensor has an empty name", ErrFormat)
		}
		var e entry
		d := json.NewDecoder(bytes.NewReader(msg))
		d.DisallowUnknownFields()
		if err := d.Decode(&e); err != nil {
			return nil, fmt.Errorf("%w: tensor %q: %v", ErrFormat, name, err)
		}
		if e.Offsets[0] < 0 || e.Offsets[1] < e.Offsets[0] || e.Offsets[1] > int64(len(data)) {
			return nil, fmt.Errorf("%w: tensor %q: data offsets %v outside the %d data bytes", ErrFormat, name, e.Offsets, len(data))
		}
		t := Tensor{Name: name, DType: e.DType, Shape: e.Shape, Data: data[e.Offsets[0]:e.Offsets[1]]}
		if err := checkLen(t); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFormat, err)
		}
		f.Tensors = append(f.Tensors, t)
		spans = append(spans, span{name, e.Offsets[0], e.Offsets[1]})
	}
	sort.SliceStable(spans, func(i, j int) bool {
		if spans[i].begin != spans[j].begin {
			return spans[i].begin < spans[j].begin
		}
		return spans[i].name < spans[j].name
	})
	var at int64
	for _, s := range spans {
		if s.begin != at {
			return nil, fmt.Errorf("%w: tensor %q starts at byte %d, expected %d (overlap or hole)", ErrFormat, s.name, s.begin, at)
		}
		at = s.end
	}
	if at != int64(len(data)) {
		return nil, fmt.Errorf("%w: %d trailing data bytes belong to no tensor", ErrFormat, int64(len(data))-at)
	}
	order := make(map[string]int, len(spans))
	for i, s := range spans {
		order[s.name] = i
	}
	sort.Slice(f.Tensors, func(i, j int) bool { return order[f.Tensors[i].Name] < order[f.Tensors[j].Name] })
	return f, nil
}

// ReadFile reads and decodes the safetensors file at path.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// WriteFile writes f to path atomically (see atomicfile.Write): a crash leaves either the
// old file or the new one, never a half-written one.
func WriteFile(path string, f *File) error {
	return atomicfile.Write(path, func(w io.Writer) error { return Encode(w, f) })
}

// FromFloat32 returns an F32 tensor holding a copy of v.
func FromFloat32(name string, shape []int, v []float32) Tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return Tensor{Name: name, DType: F32, Shape: append([]int(nil), shape...), Data: b}
}

// Float32s decodes an F32 tensor into dst, which must have the tensor's element count.
func (t *Tensor) Float32s(dst []float32) error {
	if t.DType != F32 {
		return fmt.Errorf("safetensors: tensor %q is %s, want F32", t.Name, t.DType)
	}
	if len(t.Data) != 4*len(dst) {
		return fmt.Errorf("safetensors: tensor %q has %d elements, want %d", t.Name, len(t.Data)/4, len(dst))
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return nil
}

// Len returns the tensor's element count.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}
