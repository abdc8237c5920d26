package analysis

import (
	"fmt"

	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// bytesPerValue is the size of a stored float32 value and of a CSR index (int32).
const bytesPerValue = 4

// LayerSummary is one row of a model summary: a layer that has parameters or costs
// MACs (Conv2d, Linear, BatchNorm2d, LSTM, Embedding).
type LayerSummary struct {
	// Name is the dotted module name and Type its PyTorch class name.
	Name string `json:"name"`
	Type string `json:"type"`
	// Attrs holds the layer's attributes as Distiller prints them ("k=(5, 5)"), or "".
	Attrs string `json:"attrs,omitempty"`
	// InShape and OutShape are the input and output shapes of a batch-1 forward pass.
	InShape  []int `json:"in_shape"`
	OutShape []int `json:"out_shape"`
	// Params counts the values of all the layer's parameters (weight, bias, BatchNorm
	// scale and shift).
	Params int `json:"params"`
	// Weights counts the values of a Conv2d or Linear weight (Distiller's "Weights
	// volume"), of an LSTM's two weight matrices or of an embedding table; 0 for
	// BatchNorm2d.
	Weights int `json:"weights"`
	// NNZ counts the non-zero values among the layer's parameters.
	NNZ int `json:"nnz"`
	// WeightNNZ counts the non-zero values of the weight (0 when Weights is 0).
	WeightNNZ int `json:"weight_nnz"`
	// MACs are the dense multiply-accumulates of one sample by Distiller's rules (see
	// [Summarize] for sequence models), and SparseMACs those left when zero weights are
	// skipped: volume(OFM)/C_out·NNZ(weight) for a convolution, NNZ(weight) per row for
	// a linear layer, T·NNZ(weights) for an LSTM.
	MACs       int64 `json:"macs"`
	SparseMACs int64 `json:"sparse_macs"`
	// DenseBytes is the memory of the layer's parameters stored as float32. SparseBytes
	// stores the weight in CSR form instead (float32 values, int32 column indices, one
	// int32 row pointer per filter or output feature plus one), the other parameters
	// dense.
	DenseBytes  int64 `json:"dense_bytes"`
	SparseBytes int64 `json:"sparse_bytes"`
}

// Summary is a model's compute and size summary. Totals sum the rows.
type Summary struct {
	// Model is the model's zoo name.
	Model string `json:"model"`
	// Input is the shape of the batch-1 input the summary was taken with.
	Input []int `json:"input"`
	// Layers holds one row per Conv2d, Linear, BatchNorm2d, LSTM and Embedding layer in
	// definition order.
	Layers []LayerSummary `json:"layers"`
	// Total sums Params, Weights, NNZ, WeightNNZ, MACs, SparseMACs, DenseBytes and
	// SparseBytes over Layers; its other fields are empty.
	Total LayerSummary `json:"total"`
}

// Summarize runs m once on a batch-1 input of zeros (evaluation mode) to learn every
// layer's shapes and returns its summary. A layer quantized after training counts as
// the float layer it replaces. An image model gets a 1×C×H×W input, a
// sequence model (input shape [T]) a T×1 batch of token 0. The forward pass changes
// nothing but the layers' recorded shapes (and a carried LSTM state).
//
// Beyond Distiller's rules, which count only Conv2d and Linear layers of image models,
// a Linear layer applied to R rows at once (a sequence decoder) costs R·in·out, an LSTM
// over T steps T·4h·(in+h) (both gate products of every step; the element-wise gate
// arithmetic is not counted), and an Embedding nothing (a lookup).
func Summarize(m *nn.Model) (*Summary, error) {
	var x *tensor.Dense
	switch len(m.Input) {
	case 3:
		x = ops.New(1, m.Input[0], m.Input[1], m.Input[2])
	case 1:
		x = ops.New(m.Input[0], 1)
	default:
		return nil, fmt.Errorf("analysis: summary: model %s takes input %v, want C×H×W or a sequence length", m.Name, m.Input)
	}
	m.Forward(x, false)
	// A layer quantized after training (nn.RangeLinear) is counted by the float weights
	// it was made from, which are the model's parameters no longer.
	byLayer := map[string][]*nn.Param{}
	for _, p := range nn.CheckpointParams(m) {
		byLayer[p.Layer] = append(byLayer[p.Layer], p)
	}
	s := &Summary{Model: m.Name, Input: x.Shape().Clone()}
	for _, li := range m.Layers() {
		if !weightLayer[li.Type] && li.Type != "BatchNorm2d" {
			continue
		}
		row, err := layerSummary(li, byLayer[li.Name])
		if err != nil {
			return nil, err
		}
		s.Layers = append(s.Layers, row)
		t := &s.Total
		t.Params += row.Params
		t.Weights += row.Weights
		t.NNZ += row.NNZ
		t.WeightNNZ += row.WeightNNZ
		t.MACs += row.MACs
		t.SparseMACs += row.SparseMACs
		t.DenseBytes += row.DenseBytes
		t.SparseBytes += row.SparseBytes
	}
	s.Total.Name = "Total"
	return s, nil
}

// weightLayer lists the layer types whose weights the summary counts as weights.
var weightLayer = map[string]bool{"Conv2d": true, "Linear": true, "LSTM": true, "Embedding": true}

func layerSummary(li nn.LayerInfo, params []*nn.Param) (LayerSummary, error) {
	row := LayerSummary{Name: li.Name, Type: li.Type, InShape: li.InShape, OutShape: li.OutShape}
	if len(li.OutShape) == 0 {
		return row, fmt.Errorf("analysis: summary: layer %s did not run in the forward pass", li.Name)
	}
	for _, p := range params {
		row.Params += p.Len()
		nnz := p.NNZ()
		row.NNZ += nnz
		if p.Kind == nn.KindWeight && weightLayer[li.Type] {
			row.Weights += p.Len()
			row.WeightNNZ += nnz
			rows := p.Shape()[0]
			row.SparseBytes += int64(2*nnz+rows+1) * bytesPerValue
			continue
		}
		row.SparseBytes += int64(p.Len()) * bytesPerValue
	}
	row.DenseBytes = int64(row.Params) * bytesPerValue
	if row.Weights == 0 && li.Type != "BatchNorm2d" {
		return row, fmt.Errorf("analysis: summary: %s layer %s has no weight", li.Type, li.Name)
	}
	switch li.Type {
	case "Conv2d":
		row.Attrs = fmt.Sprintf("k=(%d, %d)", li.Kernel[0], li.Kernel[1])
		if len(li.OutShape) != 4 {
			return row, fmt.Errorf("analysis: summary: convolution %s has output shape %v", li.Name, li.OutShape)
		}
		// volume(OFM)·(C_in/groups)·kh·kw with groups = 1: each output position of each
		// filter reads one filter's C_in·kh·kw weights.
		positions := int64(li.OutShape[2] * li.OutShape[3])
		row.MACs = positions * int64(row.Weights)
		row.SparseMACs = positions * int64(row.WeightNNZ)
	case "Linear":
		// in·out per row; an image model's classifier sees one row per sample.
		rows := int64(volume(li.OutShape) / max(li.OutFeatures, 1))
		row.MACs = rows * int64(li.InFeatures*li.OutFeatures)
		row.SparseMACs = rows * int64(row.WeightNNZ)
	case "LSTM":
		if len(li.InShape) != 3 {
			return row, fmt.Errorf("analysis: summary: LSTM %s has input shape %v", li.Name, li.InShape)
		}
		steps := int64(li.InShape[0])
		row.MACs = steps * int64(row.Weights)
		row.SparseMACs = steps * int64(row.WeightNNZ)
	}
	return row, nil
}

// volume returns the number of elements of a shape.
func volume(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}
