package runlog

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/dst-dev/dst/nn"
)

func TestParamSparsity(t *testing.T) {
	tests := []struct {
		name   string
		shape  []int
		values []float32
		want   ParamSparsity
	}{
		{
			name:  "2-D dense",
			shape: []int{2, 2}, values: []float32{1, 2, 3, 4},
			want: ParamSparsity{Dense: 4, NNZ: 4, Std: math.Sqrt(5.0 / 3), Mean: 2.5, AbsMean: 2.5},
		},
		{
			name:  "2-D zero row and column",
			shape: []int{3, 4},
			values: []float32{
				1, -1, 0, 2,
				0, 0, 0, 0,
				3, 0, 0, -3,
			},
			// Row 1 (an output unit) and column 2 (an input) are all zero.
			want: ParamSparsity{Dense: 12, NNZ: 5, Rows: 100.0 / 3, Cols: 25, Kernels: 100.0 / 3,
				Fine: 100 * 7.0 / 12, Mean: 2.0 / 12, AbsMean: 10.0 / 12},
		},
		{
			name:  "2-D zero column only",
			shape: []int{2, 3}, values: []float32{1, 0, 2, 3, 0, 4},
			want: ParamSparsity{Dense: 6, NNZ: 4, Cols: 100.0 / 3, Fine: 100.0 / 3, Mean: 10.0 / 6, AbsMean: 10.0 / 6},
		},
		{
			name:  "2-D all zero",
			shape: []int{2, 3}, values: make([]float32, 6),
			want: ParamSparsity{Dense: 6, Rows: 100, Cols: 100, Kernels: 100, Fine: 100},
		},
		{
			name:  "4-D structures",
			shape: []int{2, 3, 1, 2},
			values: []float32{
				0, 0, 0, 0, 0, 0, // filter 0: all zero (kernels of 1×2)
				0, 0, 1, 0, 0, -1, // filter 1: kernel (1,0) zero
			},
			// Channel 0 is zero in both filters; kernels (0,0) (0,1) (0,2) (1,0) are zero.
			want: ParamSparsity{Dense: 12, NNZ: 2, Channels: 100.0 / 3, Kernels: 100 * 4.0 / 6,
				Filters: 50, Fine: 100 * 10.0 / 12, AbsMean: 2.0 / 12},
		},
		{
			name:  "4-D single element",
			shape: []int{1, 1, 1, 1}, values: []float32{-2},
			want: ParamSparsity{Dense: 1, NNZ: 1, Mean: -2, AbsMean: 2},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := paramSparsity("w", tc.shape, tc.values)
			tc.want.Name, tc.want.Shape = "w", tc.shape
			if tc.want.Std == 0 && tc.want.NNZ > 0 && tc.want.Dense > 1 {
				tc.want.Std = refStd(tc.values)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// refStd is the sample standard deviation by the textbook formula.
func refStd(v []float32) float64 {
	var s, ss float64
	for _, x := range v {
		s += float64(x)
	}
	m := s / float64(len(v))
	for _, x := range v {
		ss += (float64(x) - m) * (float64(x) - m)
	}
	return math.Sqrt(ss / float64(len(v)-1))
}

func TestParamSparsityPanicsOnLength(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a value slice that does not match the shape")
		}
	}()
	paramSparsity("w", []int{2, 2}, make([]float32, 3))
}

func TestInTable(t *testing.T) {
	tests := []struct {
		name  string
		shape []int
		want  bool
	}{
		{"conv1.weight", []int{4, 1, 3, 3}, true},
		{"fc1.weight", []int{8, 24}, true},
		{"lstm.weight_ih_l0", []int{16, 4}, true},
		{"fc1.bias", []int{8}, false},
		{"bn1.weight", []int{8}, false},
		{"emb.table", []int{10, 4}, false},
		{"conv3d.weight", []int{2, 2, 2, 2, 2}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := InTable(newParam(t, tc.name, nn.KindWeight, nil, tc.shape...)); got != tc.want {
				t.Errorf("InTable = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSparsityTotals(t *testing.T) {
	params := testModel(t)
	pruneStep(params, 0)
	tab := Sparsity(params)
	var names []string
	dense, nnz := 0, 0
	for _, p := range params {
		if InTable(p) {
			names = append(names, p.Name)
			dense += p.Len()
			nnz += p.NNZ()
		}
	}
	var got []string
	for _, r := range tab.Params {
		got = append(got, r.Name)
	}
	if diff := cmp.Diff(names, got); diff != "" {
		t.Fatalf("rows (-want +got):\n%s", diff)
	}
	if tab.Dense != dense || tab.NNZ != nnz || math.Abs(tab.Sparsity-100*float64(dense-nnz)/float64(dense)) > 1e-12 {
		t.Fatalf("totals %d %d %v, want %d %d", tab.Dense, tab.NNZ, tab.Sparsity, dense, nnz)
	}
	if tab.Sparsity <= 0 {
		t.Fatalf("pruned model has sparsity %v", tab.Sparsity)
	}
	if empty := Sparsity(nil); empty.Sparsity != 0 || len(empty.Params) != 0 {
		t.Fatalf("empty table %+v", empty)
	}
}

func TestSparsityTableGolden(t *testing.T) {
	params := testModel(t)
	pruneStep(params, 0)
	pruneStep(params, 1)
	golden(t, "sparsity_table.txt", []byte(Sparsity(params).String()))
}

func TestSparsityTableAligned(t *testing.T) {
	params := testModel(t)
	pruneStep(params, 0)
	lines := strings.Split(strings.TrimSuffix(Sparsity(params).String(), "\n"), "\n")
	table, last := lines[:len(lines)-1], lines[len(lines)-1]
	for i, l := range table {
		if len(l) != len(table[0]) {
			t.Errorf("line %d has width %d, line 0 has %d:\n%s", i, len(l), len(table[0]), l)
		}
	}
	if len(table) != 1+1+1+4+1+1 { // rule, header, rule, 4 weights, total, rule
		t.Errorf("%d table lines", len(table))
	}
	if !strings.HasPrefix(last, "Total sparsity: ") {
		t.Errorf("last line %q", last)
	}
}

func TestScalars(t *testing.T) {
	params := testModel(t)
	for e := range 3 {
		pruneStep(params, e)
	}
	tab := Sparsity(params)
	got := tab.Scalars()
	want := []Scalar{
		{"sparsity/weights/conv1.weight", tab.Params[0].Fine},
		{"sparsity-2D/weights/conv1.weight", tab.Params[0].Kernels},
		{"sparsity/weights/conv2.weight", tab.Params[1].Fine},
		{"sparsity-2D/weights/conv2.weight", tab.Params[1].Kernels},
		{"sparsity/weights/fc1.weight", tab.Params[2].Fine},
		{"sparsity-2D/weights/fc1.weight", tab.Params[2].Kernels},
		{"sparsity/weights/fc2.weight", tab.Params[3].Fine},
		{"sparsity-2D/weights/fc2.weight", tab.Params[3].Kernels},
		{"sparsity/weights/total", tab.Sparsity},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	// conv2 lost filters 0..2 (of 6) and channel 2: its 2-D sparsity is at least 3/6 of
	// the kernels plus channel 2 of the other three filters.
	if k := tab.Params[1].Kernels; k < 100*(12+3)/24.0 {
		t.Errorf("conv2 2D sparsity %v, want at least %v", k, 100*(12+3)/24.0)
	}
}

func TestMetricFieldsCoverEpochMetrics(t *testing.T) {
	var m nn.EpochMetrics
	var want []string
	rt := reflect.TypeOf(m)
	for i := range rt.NumField() {
		f := rt.Field(i)
		switch f.Type.Kind() {
		case reflect.Float64:
			want = append(want, strings.Split(f.Tag.Get("json"), ",")[0])
		case reflect.Int:
			if f.Name != "Epoch" {
				t.Errorf("nn.EpochMetrics.%s (int) is not written by runlog", f.Name)
			}
		default:
			t.Errorf("nn.EpochMetrics.%s has type %s, which runlog does not write", f.Name, f.Type)
		}
	}
	var got []string
	for _, f := range metricFields(&m) {
		got = append(got, f.name)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("metricFields does not match nn.EpochMetrics (-want +got):\n%s", diff)
	}
	// Each pointer must point at its own field.
	for i, f := range metricFields(&m) {
		*f.p = float64(i + 1)
	}
	v := reflect.ValueOf(m)
	for i, f := range metricFields(&m) {
		if got := v.FieldByIndex(rt.Field(fieldIndex(t, rt, f.name)).Index).Float(); got != float64(i+1) {
			t.Errorf("%s points at the wrong field", f.name)
		}
	}
}

// fieldIndex returns the index of the field of rt whose JSON name is name.
func fieldIndex(t *testing.T, rt reflect.Type, name string) int {
	t.Helper()
	for i := range rt.NumField() {
		if strings.Split(rt.Field(i).Tag.Get("json"), ",")[0] == name {
			return i
		}
	}
	t.Fatalf("no field %q", name)
	return -1
}

func TestMetricScalarsAndLine(t *testing.T) {
	m := metrics(3)
	s := MetricScalars(m)
	byTag := map[string]float64{}
	for _, x := range s {
		byTag[x.Tag] = x.Value
	}
	for tag, want := range map[string]float64{
		"Performance/Training/Overall Loss": m.TrainLoss,
		"Performance/Training/Top1":         m.TrainTop1,
		"Performance/Training/LR":           m.LR,
		"Performance/Training/Time":         m.Seconds,
		"Performance/Validation/Loss":       m.TestLoss,
		"Performance/Validation/Top1":       m.Top1,
		"Performance/Validation/Top5":       m.Top5,
	} {
		if got, ok := byTag[tag]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", tag, got, ok, want)
		}
	}
	const want = "Epoch 3 ==> Top1: 96.250    Top5: 99.750    Loss: 0.062    (train: loss 0.1250 top1 93.00; lr 0.0025; 12.5 s, 4096 samples/s)"
	if got := MetricsLine(m); got != want {
		t.Errorf("MetricsLine:\n got %q\nwant %q", got, want)
	}
}
