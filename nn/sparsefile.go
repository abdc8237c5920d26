package nn

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/dst-dev/dst/internal/safetensors"
	"github.com/dst-dev/dst/kernels"
)

// Sparse model files.
//
// SaveSparse writes a model for deployment with each pruned weight in compressed sparse
// row form, so the file shrinks with the sparsity (a dense checkpoint of a 90%-sparse
// model is as large as the dense one). A weight W of shape (d0, d1, ...) is viewed as a
// d0 × (d1·...) matrix and stored as three tensors:
//
//	<name>.csr_values   F32, the non-zero values row by row
//	<name>.csr_col_idx  I16 when the matrix has at most 32,767 columns, else I32
//	<name>.csr_row_ptr  I32, d0+1 offsets into the two above
//
// with metadata "dst.csr.<name>" holding the original shape as JSON. A weight whose CSR
// form would not be smaller than its dense form, every bias and every buffer is stored
// dense under its own name, as in a checkpoint. LoadSparse restores the dense values
// into a model of the same architecture.

// sparseFormat is the metadata "format" of a sparse model file.
const sparseFormat = "dst-sparse"

// SaveSparse writes m's parameters and buffers to path atomically, with every weight
// that gets smaller in CSR form stored that way.
func SaveSparse(path string, m *Model) error {
	f := &safetensors.File{Metadata: map[string]string{"format": sparseFormat, "dst.model": m.Name}}
	for _, p := range m.Params() {
		shape := p.Shape()
		if p.Kind == KindWeight && len(shape) >= 2 {
			rows := shape[0]
			cols := p.Len() / rows
			csr := kernels.CSRFromDense(p.Data(), rows, cols)
			idxSize := 4
			if cols <= 32767 {
				idxSize = 2
			}
			if csr.NNZ()*(4+idxSize)+4*(rows+1) < 4*p.Len() {
				js, _ := json.Marshal(shape)
				f.Metadata["dst.csr."+p.Name] = string(js)
				f.Tensors = append(f.Tensors,
					safetensors.FromFloat32(p.Name+".csr_values", []int{csr.NNZ()}, csr.Val),
					intTensor(p.Name+".csr_col_idx", csr.ColIdx, idxSize),
					intTensor(p.Name+".csr_row_ptr", csr.RowPtr, 4))
				continue
			}
		}
		f.Tensors = append(f.Tensors, safetensors.FromFloat32(p.Name, shape, p.Data()))
	}
	for _, b := range m.Buffers() {
		f.Tensors = append(f.Tensors, safetensors.FromFloat32(b.Name, b.Value.Shape(), b.Value.Data().([]float32)))
	}
	if err := safetensors.WriteFile(path, f); err != nil {
		return fmt.Errorf("nn: save sparse model %s: %w", path, err)
	}
	return nil
}

func intTensor(name string, v []int32, size int) safetensors.Tensor {
	t := safetensors.Tensor{Name: name, DType: safetensors.I32, Shape: []int{len(v)}, Data: make([]byte, size*len(v))}
	if size == 2 {
		t.DType = safetensors.I16
	}
	for i, x := range v {
		if size == 2 {
			binary.LittleEndian.PutUint16(t.Data[2*i:], uint16(int16(x)))
		} else {
			binary.LittleEndian.PutUint32(t.Data[4*i:], uint32(x))
		}
	}
	return t
}

func readInts(t *safetensors.Tensor) ([]int32, error) {
	switch t.DType {
	case safetensors.I16:
		out := make([]int32, len(t.Data)/2)
		for i := range out {
			out[i] = int32(int16(binary.LittleEndian.Uint16(t.Data[2*i:])))
		}
		return out, nil
	case safetensors.I32:
		out := make([]int32, len(t.Data)/4)
		for i := range out {
			out[i] = int32(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
		return out, nil
	}
	return nil, fmt.Errorf("tensor %s is %s, want I16 or I32", t.Name, t.DType)
}

// LoadSparse restores a file written by [SaveSparse] into m, the same architecture. A
// tensor whose shape is a thinned or widened form of m's (the file of a thinned model)
// replaces the model's tensor with one of the saved shape, as [LoadCheckpoint] does, so
// that a fresh zoo model takes a thinned file. The file is read and checked whole first, as
// [LoadCheckpoint] checks a checkpoint: on any error m is left as it was.
func LoadSparse(path string, m *Model) error {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return fmt.Errorf("nn: load sparse model: %w", err)
	}
	if f.Metadata["format"] != sparseFormat {
		return fmt.Errorf("nn: load sparse model %s: not a dst sparse model file (format %q)", path, f.Metadata["format"])
	}
	if saved := f.Metadata["dst.model"]; saved != "" && m.Name != "" && saved != m.Name {
		return fmt.Errorf("nn: load sparse model %s: it holds a %s, not a %s: %w", path, saved, m.Name, ErrCheckpointMismatch)
	}
	specs := tensorSpecs(m)
	// dense reads a tensor stored as is.
	dense := func(name string, model []int) (*loaded, error) {
		l, err := readLoaded(f, name)
		switch {
		case err != nil:
			return nil, fmt.Errorf("nn: load sparse model %s: %w", path, err)
		case l == nil:
			return nil, fmt.Errorf("nn: load sparse model %s: tensor %q is missing: %w", path, name, ErrCheckpointMismatch)
		}
		if err := l.check(m, specs[name], model); err != nil {
			return nil, fmt.Errorf("nn: load sparse model %s: %w", path, err)
		}
		return l, nil
	}
	params := make([]*loaded, len(m.Params()))
	for i, p := range m.Params() {
		js, ok := f.Metadata["dst.csr."+p.Name]
		if !ok {
			if params[i], err = dense(p.Name, p.Shape()); err != nil {
				return err
			}
			continue
		}
		var shape []int
		if err := json.Unmarshal([]byte(js), &shape); err != nil || len(shape) == 0 {
			return fmt.Errorf("nn: load sparse model %s: %s has shape %s, the model %v: %w", path, p.Name, js, p.Shape(), ErrCheckpointMismatch)
		}
		// The shape first (no values yet): it sizes what follows.
		params[i] = &loaded{name: p.Name, shape: shape}
		if err := params[i].check(m, specs[p.Name], p.Shape()); err != nil {
			return fmt.Errorf("nn: load sparse model %s: %w", path, err)
		}
		vt, ct, rt := f.Tensor(p.Name+".csr_values"), f.Tensor(p.Name+".csr_col_idx"), f.Tensor(p.Name+".csr_row_ptr")
		if vt == nil || ct == nil || rt == nil {
			return fmt.Errorf("nn: load sparse model %s: CSR tensors of %s are incomplete", path, p.Name)
		}
		vals := make([]float32, vt.Len())
		if err := vt.Float32s(vals); err != nil {
			return err
		}
		cols, err1 := readInts(ct)
		ptr, err2 := readInts(rt)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("nn: load sparse model %s: %v %v", path, err1, err2)
		}
		rows := shape[0]
		n := 1
		for _, d := range shape {
			n *= d
		}
		ncols := n / rows
		if len(ptr) != rows+1 || len(cols) != len(vals) || int(ptr[rows]) != len(vals) {
			return fmt.Errorf("nn: load sparse model %s: CSR of %s is inconsistent", path, p.Name)
		}
		d := make([]float32, n)
		for i := 0; i < rows; i++ {
			lo, hi := ptr[i], ptr[i+1]
			if lo < 0 || hi < lo || int(hi) > len(vals) {
				return fmt.Errorf("nn: load sparse model %s: CSR row %d of %s is out of range", path, i, p.Name)
			}
			for e := lo; e < hi; e++ {
				c := int(cols[e])
				if c < 0 || c >= ncols {
					return fmt.Errorf("nn: load sparse model %s: column %d of %s is out of range", path, c, p.Name)
				}
				d[i*ncols+c] = vals[e]
			}
		}
		params[i].value = d
		if err := finite(p.Name, d); err != nil {
			return fmt.Errorf("nn: load sparse model %s: %w", path, err)
		}
	}
	buffers := make([]*loaded, len(m.Buffers()))
	for i, b := range m.Buffers() {
		if buffers[i], err = dense(b.Name, b.Value.Shape()); err != nil {
			return err
		}
	}
	reshaped := reshapes(m, params, buffers)
	undo := snapshot(m)
	for i, p := range m.Params() {
		params[i].setParam(p)
	}
	for i, b := range m.Buffers() {
		buffers[i].setBuffer(b)
	}
	if reshaped {
		if err := probe(m); err != nil {
			undo()
			return fmt.Errorf("nn: load sparse model %s: %w", path, err)
		}
	}
	return nil
}
