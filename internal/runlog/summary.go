package runlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"

	"github.com/dst-dev/dst/nn"
)

// ParamNNZ is the size and sparsity of one parameter after an epoch.
type ParamNNZ struct {
	// Name is the parameter's name.
	Name string `json:"name"`
	// Shape is the parameter's shape (it can shrink between epochs when a layer is thinned).
	Shape []int `json:"shape"`
	// NNZ is the number of non-zero values.
	NNZ int `json:"nnz"`
	// Sparsity is the fraction of zero values, (size − NNZ)/size, in [0, 1] (0 for an empty
	// tensor).
	Sparsity float64 `json:"sparsity"`
}

// paramNNZ returns the ParamNNZ of p.
func paramNNZ(p *nn.Param) ParamNNZ {
	r := ParamNNZ{Name: p.Name, Shape: p.Shape(), NNZ: p.NNZ()}
	if n := p.Len(); n > 0 {
		r.Sparsity = float64(n-r.NNZ) / float64(n)
	}
	return r
}

// weightSparsity returns the total element sparsity of the sparsity table's parameters as
// a fraction (see [InTable]), or 0 if there are none.
func weightSparsity(params []*nn.Param) float64 {
	var n, nnz int
	for _, p := range params {
		if InTable(p) {
			n += p.Len()
			nnz += p.NNZ()
		}
	}
	if n == 0 {
		return 0
	}
	return float64(n-nnz) / float64(n)
}

// EpochSummary is the record of one epoch in summary.json. In JSON its metrics are
// flattened into the object ("epoch", "train_loss", …, "lr", …), followed by
// "weight_sparsity" and "params"; non-finite metrics are written as null and read back as
// NaN.
type EpochSummary struct {
	// Metrics are the epoch's metrics, learning rate included.
	Metrics nn.EpochMetrics
	// WeightSparsity is the total element sparsity, as a fraction, of the parameters the
	// sparsity table lists (2-D and 4-D weights; see [InTable]).
	WeightSparsity float64
	// Params holds the size and sparsity of every parameter given to
	// [SummaryWriter.AddEpoch], in that order.
	Params []ParamNNZ
}

// appendJSONFloat appends v as a JSON number, or null if it is NaN or infinite.
func appendJSONFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	nb, _ := json.Marshal(v) // a finite float64 always marshals
	return append(b, nb...)
}

// appendHead appends the epoch's object up to, not including, its "params" member:
// {"epoch":0,"train_loss":…,"weight_sparsity":…
func (e *EpochSummary) appendHead(b []byte) []byte {
	b = append(b, `{"epoch":`...)
	b = strconv.AppendInt(b, int64(e.Metrics.Epoch), 10)
	for _, f := range metricFields(&e.Metrics) {
		b = append(b, `,"`+f.name+`":`...)
		b = appendJSONFloat(b, *f.p)
	}
	b = append(b, `,"weight_sparsity":`...)
	return appendJSONFloat(b, e.WeightSparsity)
}

// MarshalJSON implements [json.Marshaler].
func (e EpochSummary) MarshalJSON() ([]byte, error) {
	params := e.Params
	if params == nil {
		params = []ParamNNZ{}
	}
	pb, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	b := append(e.appendHead(nil), `,"params":`...)
	b = append(b, pb...)
	return append(b, '}'), nil
}

// jsonFloat decodes a JSON number or null (NaN).
func jsonFloat(raw json.RawMessage) (float64, error) {
	if string(bytes.TrimSpace(raw)) == "null" {
		return math.NaN(), nil
	}
	var v float64
	err := json.Unmarshal(raw, &v)
	return v, err
}

// UnmarshalJSON implements [json.Unmarshaler]. Missing fields are left zero; unknown
// fields are ignored.
func (e *EpochSummary) UnmarshalJSON(data []byte) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return err
	}
	var r EpochSummary
	if raw, ok := obj["epoch"]; ok {
		if err := json.Unmarshal(raw, &r.Metrics.Epoch); err != nil {
			return fmt.Errorf("epoch: %w", err)
		}
	}
	for _, f := range metricFields(&r.Metrics) {
		if raw, ok := obj[f.name]; ok {
			v, err := jsonFloat(raw)
			if err != nil {
				return fmt.Errorf("epoch %d: %s: %w", r.Metrics.Epoch, f.name, err)
			}
			*f.p = v
		}
	}
	if raw, ok := obj["weight_sparsity"]; ok {
		v, err := jsonFloat(raw)
		if err != nil {
			return fmt.Errorf("epoch %d: weight_sparsity: %w", r.Metrics.Epoch, err)
		}
		r.WeightSparsity = v
	}
	if raw, ok := obj["params"]; ok {
		if err := json.Unmarshal(raw, &r.Params); err != nil {
			return fmt.Errorf("epoch %d: params: %w", r.Metrics.Epoch, err)
		}
	}
	*e = r
	return nil
}

// Summary is the content of summary.json.
type Summary struct {
	// Meta holds free-form facts about the run set by the host (model, schedule file, …).
	Meta map[string]string `json:"meta,omitempty"`
	// Epochs holds one record per finished epoch, in increasing epoch order.
	Epochs []EpochSummary `json:"epochs"`
	// FinalTop1 is the final model's top-1 accuracy (%), or nil until the run has ended.
	FinalTop1 *float64 `json:"final_top1,omitempty"`
}

// ReadSummary reads a summary.json file.
func ReadSummary(path string) (*Summary, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("runlog: %w", err)
	}
	s := new(Summary)
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("runlog: %s: %w", path, err)
	}
	return s, nil
}

// SummaryWriter maintains a run's summary.json. Every method that changes the summary
// rewrites the whole file atomically; a crash leaves the previous complete version.
// Its zero value is not usable; call [NewSummaryWriter] or [OpenSummaryWriter].
type SummaryWriter struct {
	path string
	sum  Summary
}

// NewSummaryWriter returns a writer of a new summary at path with the given meta facts
// (copied; nil for none). Nothing is written before the first change; an existing file is
// replaced then.
func NewSummaryWriter(path string, meta map[string]string) *SummaryWriter {
	w := &SummaryWriter{path: path, sum: Summary{Epochs: []EpochSummary{}}}
	if len(meta) > 0 {
		w.sum.Meta = make(map[string]string, len(meta))
		for k, v := range meta {
			w.sum.Meta[k] = v
		}
	}
	return w
}

// OpenSummaryWriter returns a writer that continues the summary at path, for a resumed
// run; a missing file gives an empty summary. The next [SummaryWriter.AddEpoch] drops the
// records of the epochs the resumed run redoes.
func OpenSummaryWriter(path string) (*SummaryWriter, error) {
	s, err := ReadSummary(path)
	if errors.Is(err, fs.ErrNotExist) {
		return NewSummaryWriter(path, nil), nil
	}
	if err != nil {
		return nil, err
	}
	if s.Epochs == nil {
		s.Epochs = []EpochSummary{}
	}
	return &SummaryWriter{path: path, sum: *s}, nil
}

// Path returns the file the writer writes.
func (w *SummaryWriter) Path() string { return w.path }

// Summary returns the summary as last written. The epoch list is a copy, so later calls
// of AddEpoch do not change it; the records' Params and Shape slices and the Meta map are
// shared with the writer and must be treated as read-only.
func (w *SummaryWriter) Summary() Summary {
	s := w.sum
	s.Epochs = append([]EpochSummary(nil), w.sum.Epochs...)
	if w.sum.FinalTop1 != nil {
		v := *w.sum.FinalTop1
		s.FinalTop1 = &v
	}
	return s
}

// AddEpoch records the epoch m.Epoch with the size and sparsity of params (all of them,
// in the given order; pass the model's parameters) and rewrites the file. Records of
// epochs >= m.Epoch already present (left by an interrupted run that is being resumed)
// are dropped first, and so is a final top-1, since the run goes on.
func (w *SummaryWriter) AddEpoch(m nn.EpochMetrics, params []*nn.Param) error {
	rec := EpochSummary{Metrics: m, WeightSparsity: weightSparsity(params), Params: make([]ParamNNZ, len(params))}
	for i, p := range params {
		rec.Params[i] = paramNNZ(p)
	}
	keep := w.sum.Epochs[:0:0]
	for _, e := range w.sum.Epochs {
		if e.Metrics.Epoch < m.Epoch {
			keep = append(keep, e)
		}
	}
	old := w.sum
	w.sum.Epochs = append(keep, rec)
	w.sum.FinalTop1 = nil
	if err := w.write(); err != nil {
		w.sum = old
		return err
	}
	return nil
}

// SetFinalTop1 records the final model's top-1 accuracy (%) and rewrites the file. It
// returns an error for a NaN or infinite value.
func (w *SummaryWriter) SetFinalTop1(top1 float64) error {
	if math.IsNaN(top1) || math.IsInf(top1, 0) {
		return fmt.Errorf("runlog: %s: final top-1 is %v", w.path, top1)
	}
	old := w.sum.FinalTop1
	w.sum.FinalTop1 = &top1
	if err := w.write(); err != nil {
		w.sum.FinalTop1 = old
		return err
	}
	return nil
}

// write encodes the summary and replaces the file atomically.
func (w *SummaryWriter) write() error {
	data, err := encodeSummary(&w.sum)
	if err != nil {
		return fmt.Errorf("runlog: %s: %w", w.path, err)
	}
	return writeFileAtomic(w.path, data)
}

// encodeSummary encodes s as JSON laid out for reading: one line for an epoch's metrics
// and one per parameter.
//
//	{
//	  "meta": {"model":"lenet5"},
//	  "epochs": [
//	    {"epoch":0,"train_loss":0.5,…,"weight_sparsity":0.31,"params":[
//	      {"name":"conv1.weight","shape":[20,1,5,5],"nnz":350,"sparsity":0.3},
//	      …
//	    ]}
//	  ],
//	  "final_top1": 99.1
//	}
func encodeSummary(s *Summary) ([]byte, error) {
	b := []byte("{\n")
	if len(s.Meta) > 0 {
		mb, err := json.Marshal(s.Meta)
		if err != nil {
			return nil, err
		}
		b = append(b, `  "meta": `...)
		b = append(b, mb...)
		b = append(b, ",\n"...)
	}
	b = append(b, `  "epochs": [`...)
	for i := range s.Epochs {
		e := &s.Epochs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n    "...)
		b = append(e.appendHead(b), `,"params":[`...)
		for j, p := range e.Params {
			pb, err := json.Marshal(p)
			if err != nil {
				return nil, err
			}
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, "\n      "...)
			b = append(b, pb...)
		}
		if len(e.Params) > 0 {
			b = append(b, "\n    "...)
		}
		b = append(b, "]}"...)
	}
	if len(s.Epochs) > 0 {
		b = append(b, "\n  "...)
	}
	b = append(b, ']')
	if s.FinalTop1 != nil {
		b = append(b, ",\n  \"final_top1\": "...)
		b = appendJSONFloat(b, *s.FinalTop1)
	}
	return append(b, "\n}\n"...), nil
}
