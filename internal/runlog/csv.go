package runlog

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"

	"github.com/dst-dev/dst/nn"
)

// CSVWriter appends one row per epoch to a CSV file:
//
//	epoch,train_loss,train_top1,test_loss,top1,top5,lr,samples_per_sec,seconds,weight_sparsity,
//	<p1>:nnz,<p1>:sparsity,<p2>:nnz,<p2>:sparsity,…
//
// with one nnz and one sparsity (a fraction in [0, 1]) column per parameter, in the order
// the parameters were given when the file was created. Floats are written in the shortest
// form that reads back exactly. Every row is flushed and synced to disk when written.
type CSVWriter struct {
	path   string
	f      *os.File
	w      *csv.Writer
	names  []string // parameter names of the header, in column order
	header []string
}

// csvHeader returns the header row for the named parameters.
func csvHeader(names []string) []string {
	var m nn.EpochMetrics
	h := []string{"epoch"}
	for _, f := range metricFields(&m) {
		h = append(h, f.name)
	}
	h = append(h, "weight_sparsity")
	for _, n := range names {
		h = append(h, n+":nnz", n+":sparsity")
	}
	return h
}

// paramNames returns the names of params.
func paramNames(params []*nn.Param) []string {
	names := make([]string, len(params))
	for i, p := range params {
		names[i] = p.Name
	}
	return names
}

// CreateCSV creates (or truncates) the CSV file at path and writes its header, with
// columns for params.
func CreateCSV(path string, params []*nn.Param) (*CSVWriter, error) {
	names := paramNames(params)
	header := csvHeader(names)
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.Write(header) // writes to a bytes.Buffer cannot fail
	cw.Flush()
	if err := writeFileAtomic(path, b.Bytes()); err != nil {
		return nil, err
	}
	return openAppend(path, names, header)
}

// AppendCSV continues the CSV file at path for a resumed run whose next epoch is
// nextEpoch: it checks that the header matches params, drops the rows of epochs >=
// nextEpoch (written by the interrupted run after its last checkpoint) and a last line cut
// short by a crash, and appends after the rest. A missing file is created as by
// [CreateCSV].
func AppendCSV(path string, params []*nn.Param, nextEpoch int) (*CSVWriter, error) {
	recs, epochs, err := readLog(path)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && recs == nil) {
		return CreateCSV(path, params) // missing, or not even the header was complete
	}
	if err != nil {
		return nil, err
	}
	names := paramNames(params)
	header := csvHeader(names)
	if !slices.Equal(recs[0], header) {
		return nil, fmt.Errorf("runlog: %s: the header does not match this run's parameters: it has %d columns %q, want %d columns %q",
			path, len(recs[0]), recs[0], len(header), header)
	}
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.Write(header)
	for i, rec := range recs[1:] {
		if epochs[i] < nextEpoch {
			cw.Write(rec)
		}
	}
	cw.Flush()
	if err := writeFileAtomic(path, b.Bytes()); err != nil {
		return nil, err
	}
	return openAppend(path, names, header)
}

// CSVEpochs returns the epochs of the rows of the run log at path, in file order, after
// checking that it starts with a run log's header (a last line cut short by a crash is
// not read, as [AppendCSV] drops it). A missing file is an error that wraps
// fs.ErrNotExist.
func CSVEpochs(path string) ([]int, error) {
	recs, epochs, err := readLog(path)
	if err != nil {
		return nil, err
	}
	if recs == nil {
		return nil, fmt.Errorf("runlog: %s does not start with a run log's header (epoch,train_loss,…)", path)
	}
	return epochs, nil
}

// readCSV reads the run log at path: its records (the header first; nil when not even
// the header line is complete) and the epoch of every row after the header. An
// unterminated last line, cut short by a crash, is dropped.
func readLog(path string) ([][]string, []int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("runlog: %w", err)
	}
	if i := bytes.LastIndexByte(data, '\n'); i+1 != len(data) {
		data = data[:i+1]
	}
	if len(data) == 0 {
		return nil, nil, nil
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1 // AppendCSV compares the header with the run's columns
	var recs [][]string
	var epochs []int
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("runlog: %s: %w", path, err)
		}
		if recs == nil && rec[0] != "epoch" {
			return nil, nil, fmt.Errorf("runlog: %s does not start with a run log's header (epoch,train_loss,…)", path)
		}
		if recs != nil {
			line, _ := r.FieldPos(0)
			e, err := strconv.Atoi(rec[0])
			if err != nil {
				return nil, nil, fmt.Errorf("runlog: %s:%d: epoch %q is not an integer", path, line, rec[0])
			}
			epochs = append(epochs, e)
		}
		recs = append(recs, rec)
	}
	return recs, epochs, nil
}

// openAppend opens path for appending rows.
func openAppend(path string, names, header []string) (*CSVWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("runlog: %w", err)
	}
	return &CSVWriter{path: path, f: f, w: csv.NewWriter(f), names: names, header: header}, nil
}

// Path returns the file the writer appends to.
func (w *CSVWriter) Path() string { return w.path }

// Write appends the row of epoch m.Epoch and syncs the file. params must be the
// parameters the file was created with, in the same order (their shapes may change); it
// returns an error otherwise, and after [CSVWriter.Close].
func (w *CSVWriter) Write(m nn.EpochMetrics, params []*nn.Param) error {
	if w.f == nil {
		return fmt.Errorf("runlog: %s: write after Close", w.path)
	}
	if len(params) != len(w.names) {
		return fmt.Errorf("runlog: %s: epoch %d has %d parameters, the header has %d", w.path, m.Epoch, len(params), len(w.names))
	}
	row := make([]string, 0, len(w.header))
	row = append(row, strconv.Itoa(m.Epoch))
	for _, f := range metricFields(&m) {
		row = append(row, strconv.FormatFloat(*f.p, 'g', -1, 64))
	}
	row = append(row, strconv.FormatFloat(weightSparsity(params), 'g', -1, 64))
	for i, p := range params {
		if p.Name != w.names[i] {
			return fmt.Errorf("runlog: %s: epoch %d: parameter %d is %q, the header has %q", w.path, m.Epoch, i, p.Name, w.names[i])
		}
		s := paramNNZ(p)
		row = append(row, strconv.Itoa(s.NNZ), strconv.FormatFloat(s.Sparsity, 'g', -1, 64))
	}
	if err := w.w.Write(row); err != nil {
		return fmt.Errorf("runlog: %s: %w", w.path, err)
	}
	w.w.Flush()
	if err := w.w.Error(); err != nil {
		return fmt.Errorf("runlog: %s: %w", w.path, err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("runlog: sync %s: %w", w.path, err)
	}
	return nil
}

// Close closes the file. Rows are already on disk; Close only releases the handle.
func (w *CSVWriter) Close() error {
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("runlog: close %s: %w", w.path, err)
	}
	return nil
}
