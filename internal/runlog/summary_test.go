package runlog

import (
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// onlyFile fails the test unless dir holds exactly the file name (no temporary files).
func onlyFile(t *testing.T, dir, name string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{name}, names); diff != "" {
		t.Fatalf("files in %s (-want +got):\n%s", dir, diff)
	}
}

// writeSummaryRun writes a 3-epoch summary of the test model to dir/summary.json.
func writeSummaryRun(t *testing.T, dir string) *SummaryWriter {
	t.Helper()
	params := testModel(t)
	w := NewSummaryWriter(filepath.Join(dir, "summary.json"), map[string]string{"model": "test", "schedule": "agp.dst"})
	for e := range 3 {
		pruneStep(params, e)
		if err := w.AddEpoch(metrics(e), params); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.SetFinalTop1(96.25); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestSummaryGolden(t *testing.T) {
	dir := t.TempDir()
	w := writeSummaryRun(t, dir)
	onlyFile(t, dir, "summary.json")
	data, err := os.ReadFile(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.json", data)

	got, err := ReadSummary(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(w.Summary(), *got); diff != "" {
		t.Fatalf("read back (-written +read):\n%s", diff)
	}
}

func TestSummaryContents(t *testing.T) {
	params := testModel(t)
	w := NewSummaryWriter(filepath.Join(t.TempDir(), "summary.json"), nil)
	for e := range 2 {
		pruneStep(params, e)
		if err := w.AddEpoch(metrics(e), params); err != nil {
			t.Fatal(err)
		}
	}
	s, err := ReadSummary(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Epochs) != 2 || s.FinalTop1 != nil || s.Meta != nil {
		t.Fatalf("summary %+v", s)
	}
	last := s.Epochs[1]
	if last.Metrics != metrics(1) {
		t.Errorf("metrics %+v, want %+v", last.Metrics, metrics(1))
	}
	var n, nnz int
	for i, p := range params {
		got := last.Params[i]
		want := ParamNNZ{Name: p.Name, Shape: p.Shape(), NNZ: p.NNZ(), Sparsity: float64(p.Len()-p.NNZ()) / float64(p.Len())}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("param %d (-want +got):\n%s", i, diff)
		}
		if InTable(p) {
			n += p.Len()
			nnz += p.NNZ()
		}
	}
	if want := float64(n-nnz) / float64(n); last.WeightSparsity != want {
		t.Errorf("weight sparsity %v, want %v", last.WeightSparsity, want)
	}
	// The table's total and the summary's agree (percent vs fraction).
	if tab := Sparsity(params); math.Abs(tab.Sparsity-100*last.WeightSparsity) > 1e-9 {
		t.Errorf("table total %v%%, summary %v", tab.Sparsity, last.WeightSparsity)
	}
}

func TestSummaryNonFinite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "summary.json")
	w := NewSummaryWriter(path, nil)
	m := metrics(0)
	m.TrainLoss, m.TestLoss, m.LR = math.NaN(), math.Inf(1), math.Inf(-1)
	if err := w.AddEpoch(m, testModel(t)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"train_loss":null`, `"test_loss":null`, `"lr":null`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("summary.json lacks %s", key)
		}
	}
	s, err := ReadSummary(path)
	if err != nil {
		t.Fatal(err)
	}
	got := s.Epochs[0].Metrics
	if !math.IsNaN(got.TrainLoss) || !math.IsNaN(got.TestLoss) || !math.IsNaN(got.LR) || got.Top1 != m.Top1 {
		t.Errorf("read back %+v", got)
	}
	if err := w.SetFinalTop1(math.NaN()); err == nil {
		t.Error("SetFinalTop1(NaN): no error")
	}
}

func TestSummaryResume(t *testing.T) {
	dir := t.TempDir()
	first := writeSummaryRun(t, dir) // epochs 0, 1, 2 and a final top-1
	w, err := OpenSummaryWriter(first.Path())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first.Summary(), w.Summary()); diff != "" {
		t.Fatalf("opened summary differs (-written +opened):\n%s", diff)
	}
	// The resumed run restarts at epoch 1 (its last checkpoint was after epoch 0).
	params := testModel(t)
	m := metrics(1)
	m.Top1 = 42
	if err := w.AddEpoch(m, params); err != nil {
		t.Fatal(err)
	}
	s, err := ReadSummary(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	var epochs []int
	for _, e := range s.Epochs {
		epochs = append(epochs, e.Metrics.Epoch)
	}
	if diff := cmp.Diff([]int{0, 1}, epochs); diff != "" {
		t.Errorf("epochs after resume (-want +got):\n%s", diff)
	}
	if s.Epochs[1].Metrics.Top1 != 42 || s.FinalTop1 != nil {
		t.Errorf("epoch 1 top1 %v, final %v", s.Epochs[1].Metrics.Top1, s.FinalTop1)
	}
	if s.Meta["model"] != "test" {
		t.Errorf("meta lost: %v", s.Meta)
	}
	onlyFile(t, dir, "summary.json")

	// A missing file opens as an empty summary.
	w2, err := OpenSummaryWriter(filepath.Join(dir, "none.json"))
	if err != nil || len(w2.Summary().Epochs) != 0 {
		t.Fatalf("missing file: %v, %+v", err, w2)
	}
}

func TestSummaryErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"epochs": [{"epoch": 0, "top1": "x"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenSummaryWriter(bad); err == nil || !strings.Contains(err.Error(), "top1") {
		t.Errorf("bad field: err = %v, want one naming top1", err)
	}
	if err := os.WriteFile(bad, []byte(`{"epochs": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSummary(bad); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("truncated file: err = %v, want one naming the file", err)
	}
	// A directory that does not exist: an error, the in-memory summary unchanged.
	w := NewSummaryWriter(filepath.Join(dir, "no", "such", "summary.json"), nil)
	if err := w.AddEpoch(metrics(0), nil); err == nil {
		t.Error("AddEpoch into a missing directory: no error")
	}
	if n := len(w.Summary().Epochs); n != 0 {
		t.Errorf("a failed AddEpoch left %d epochs", n)
	}
}

func TestSummaryAtomicReplace(t *testing.T) {
	// A reader that opened the old file keeps reading the complete old contents while
	// the writer replaces it: the file is renamed over, never rewritten in place.
	dir := t.TempDir()
	path := filepath.Join(dir, "summary.json")
	w := NewSummaryWriter(path, nil)
	params := testModel(t)
	if err := w.AddEpoch(metrics(0), params); err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := w.AddEpoch(metrics(1), params); err != nil {
		t.Fatal(err)
	}
	held, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if string(held) != string(old) {
		t.Error("the file was rewritten in place")
	}
	s, err := ReadSummary(path)
	if err != nil || len(s.Epochs) != 2 {
		t.Fatalf("after replace: %v, %d epochs", err, len(s.Epochs))
	}
	onlyFile(t, dir, "summary.json")
}
