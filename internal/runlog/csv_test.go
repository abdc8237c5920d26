package runlog

import (
	"encoding/csv"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dst-dev/dst/nn"
)

// writeCSVRun writes epochs [0, n) of the test model to a new CSV at path.
func writeCSVRun(t *testing.T, path string, n int) {
	t.Helper()
	params := testModel(t)
	w, err := CreateCSV(path, params)
	if err != nil {
		t.Fatal(err)
	}
	for e := range n {
		pruneStep(params, e)
		if err := w.Write(metrics(e), params); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// readCSV returns the records of the CSV file at path.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// column returns column name of recs (after the header).
func column(t *testing.T, recs [][]string, name string) []string {
	t.Helper()
	for i, h := range recs[0] {
		if h == name {
			var col []string
			for _, r := range recs[1:] {
				col = append(col, r[i])
			}
			return col
		}
	}
	t.Fatalf("no column %q in %q", name, recs[0])
	return nil
}

func TestCSVGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.csv")
	writeCSVRun(t, path, 3)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "run.csv", data)
}

func TestCSVMatchesSummary(t *testing.T) {
	// The CSV and summary.json report the same figures for every epoch.
	dir := t.TempDir()
	params := testModel(t)
	cw, err := CreateCSV(filepath.Join(dir, "run.csv"), params)
	if err != nil {
		t.Fatal(err)
	}
	defer cw.Close()
	sw := NewSummaryWriter(filepath.Join(dir, "summary.json"), nil)
	for e := range 3 {
		pruneStep(params, e)
		if err := cw.Write(metrics(e), params); err != nil {
			t.Fatal(err)
		}
		if err := sw.AddEpoch(metrics(e), params); err != nil {
			t.Fatal(err)
		}
	}
	recs := readCSV(t, cw.Path())
	if len(recs) != 4 {
		t.Fatalf("%d records, want a header and 3 rows", len(recs))
	}
	for i, e := range sw.Summary().Epochs {
		row := recs[i+1]
		if got := row[0]; got != strconv.Itoa(e.Metrics.Epoch) {
			t.Errorf("row %d epoch %s", i, got)
		}
		for _, f := range metricFields(&e.Metrics) {
			if got := column(t, recs, f.name)[i]; got != strconv.FormatFloat(*f.p, 'g', -1, 64) {
				t.Errorf("epoch %d %s: CSV %s, summary %v", i, f.name, got, *f.p)
			}
		}
		for _, p := range e.Params {
			if got := column(t, recs, p.Name+":nnz")[i]; got != strconv.Itoa(p.NNZ) {
				t.Errorf("epoch %d %s nnz: CSV %s, summary %d", i, p.Name, got, p.NNZ)
			}
			got, err := strconv.ParseFloat(column(t, recs, p.Name+":sparsity")[i], 64)
			if err != nil || got != p.Sparsity {
				t.Errorf("epoch %d %s sparsity: CSV %v (%v), summary %v", i, p.Name, got, err, p.Sparsity)
			}
		}
		if got := column(t, recs, "weight_sparsity")[i]; got != strconv.FormatFloat(e.WeightSparsity, 'g', -1, 64) {
			t.Errorf("epoch %d weight_sparsity: CSV %s, summary %v", i, got, e.WeightSparsity)
		}
	}
}

func TestCSVRowIsOnDiskAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.csv")
	params := testModel(t)
	w, err := CreateCSV(path, params)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for e := range 2 {
		if err := w.Write(metrics(e), params); err != nil {
			t.Fatal(err)
		}
		if n := len(readCSV(t, path)); n != e+2 {
			t.Fatalf("after epoch %d the file has %d records, want %d", e, n, e+2)
		}
	}
}

func TestCSVWriteErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.csv")
	params := testModel(t)
	w, err := CreateCSV(path, params)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		params []*nn.Param
		want   string
	}{
		{"fewer", params[:3], "has 3 parameters, the header has 8"},
		{"reordered", append([]*nn.Param{params[1], params[0]}, params[2:]...), `parameter 0 is "conv1.bias", the header has "conv1.weight"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := w.Write(metrics(0), tc.params)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(metrics(0), params); err == nil {
		t.Error("Write after Close: no error")
	}
	if n := len(readCSV(t, path)); n != 1 {
		t.Errorf("failed writes left %d records, want only the header", n)
	}
}

func TestAppendCSV(t *testing.T) {
	tests := []struct {
		name      string
		epochs    int    // rows written by the interrupted run
		tail      string // bytes appended after them, as a crash would leave
		next      int    // the resumed run's first epoch
		wantAfter []string
	}{
		{"clean", 3, "", 3, []string{"0", "1", "2", "3"}},
		{"redo two epochs", 4, "", 2, []string{"0", "1", "2"}},
		{"cut last line", 3, "3,0.1,0.2", 3, []string{"0", "1", "2", "3"}},
		{"restart", 2, "", 0, []string{"0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "run.csv")
			writeCSVRun(t, path, tc.epochs)
			full := readCSV(t, path)
			if tc.tail != "" {
				f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					t.Fatal(err)
				}
				f.WriteString(tc.tail)
				f.Close()
			}
			params := testModel(t)
			w, err := AppendCSV(path, params, tc.next)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(metrics(tc.next), params); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			recs := readCSV(t, path)
			if diff := cmp.Diff(tc.wantAfter, column(t, recs, "epoch")); diff != "" {
				t.Errorf("epochs (-want +got):\n%s", diff)
			}
			// Kept rows are unchanged byte for byte.
			for i := 1; i <= tc.next && i < len(full); i++ {
				if diff := cmp.Diff(full[i], recs[i]); diff != "" {
					t.Errorf("row %d changed (-before +after):\n%s", i, diff)
				}
			}
			onlyFile(t, filepath.Dir(path), "run.csv")
		})
	}
}

func TestAppendCSVErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.csv")
	writeCSVRun(t, path, 2)
	params := testModel(t)
	if _, err := AppendCSV(path, params[:2], 2); err == nil || !strings.Contains(err.Error(), "header does not match") {
		t.Errorf("other parameters: err = %v", err)
	}
	bad := filepath.Join(dir, "bad.csv")
	header := strings.Join(csvHeader(paramNames(params)), ",")
	if err := os.WriteFile(bad, []byte(header+"\nx"+strings.Repeat(",1", len(csvHeader(paramNames(params)))-1)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := AppendCSV(bad, params, 2); err == nil || !strings.Contains(err.Error(), `bad.csv:2: epoch "x"`) {
		t.Errorf("bad epoch: err = %v, want one naming bad.csv:2", err)
	}
	// A missing file, or one cut inside its header, is created afresh.
	for name, content := range map[string]string{"missing.csv": "", "cut.csv": "epoch,train_lo"} {
		p := filepath.Join(dir, name)
		if content != "" {
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		w, err := AppendCSV(p, params, 5)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		w.Close()
		if recs := readCSV(t, p); len(recs) != 1 || len(recs[0]) != len(csvHeader(paramNames(params))) {
			t.Errorf("%s: %d records", name, len(recs))
		}
	}
}

func TestCSVEpochs(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content string
		want          []int
		err           string
	}{
		{"rows", "epoch,train_loss\n0,1.5\n1,1.2\n", []int{0, 1}, ""},
		{"cut short", "epoch,train_loss\n0,1.5\n1,1.", []int{0}, ""},
		{"header only", "epoch,train_loss\n", nil, ""},
		{"not a log", "parameter,sparsity\nfc1,0.5\n", nil, "does not start with a run log's header"},
		{"bad epoch", "epoch,train_loss\nx,1\n", nil, `log.csv:2: epoch "x" is not an integer`},
		{"empty", "", nil, "does not start with a run log's header"},
	} {
		path := filepath.Join(dir, "log.csv")
		if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := CSVEpochs(path)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if _, err := CSVEpochs(filepath.Join(dir, "none.csv")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
}
