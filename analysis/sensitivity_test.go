package analysis

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/stdlib"
	"github.com/google/go-cmp/cmp"
)

// testSet returns a small MNIST-shaped synthetic set.
func testSet(t *testing.T, n int) *data.Set {
	t.Helper()
	return data.Synthetic(n, 1, 28, 28, 10, 3)
}

// sameParams reports the first parameter whose values or mask differ bit for bit
// between two snapshots, or "".
func sameParams(a, b map[string][2][]float32) string {
	for name, v := range a {
		w, ok := b[name]
		if !ok {
			return name + " missing"
		}
		for k := range 2 {
			if len(v[k]) != len(w[k]) || (v[k] == nil) != (w[k] == nil) {
				return name
			}
			for i := range v[k] {
				if math.Float32bits(v[k][i]) != math.Float32bits(w[k][i]) {
					return name
				}
			}
		}
	}
	return ""
}

// snapshot copies every parameter's values and mask.
func snapshot(m *nn.Model) map[string][2][]float32 {
	out := map[string][2][]float32{}
	for _, p := range m.Params() {
		out[p.Name] = [2][]float32{slices.Clone(p.Data()), slices.Clone(p.MaskData())}
	}
	return out
}

func TestParseLevels(t *testing.T) {
	tests := []struct {
		in   string
		want []float64
		err  string
	}{
		{"0:0.95:0.05", []float64{0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9}, ""},
		{"0.1:0.4:0.1", []float64{0.1, 0.2, 0.3}, ""},
		{"0, 0.5,0.9", []float64{0, 0.5, 0.9}, ""},
		{"0.3", []float64{0.3}, ""},
		{"0:1:0", nil, "step must be positive"},
		{"0:x:0.1", nil, `"x" is not a number`},
		{"0.5,1", nil, "outside [0, 1)"},
		{"-0.1", nil, "outside [0, 1)"},
		{"0.5:0.5:0.1", nil, "no levels"},
		{"1:2", nil, "start:stop:step"},
		{"0,0.5,0.5", nil, "level 0.5 is given twice"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseLevels(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("levels (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSelectParams(t *testing.T) {
	eligible := []string{"conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight"}
	tests := []struct {
		sel  string
		want []string
		err  string
	}{
		{"conv*", []string{"conv1.weight", "conv2.weight"}, ""},
		{"fc2, conv1", []string{"conv1.weight", "fc2.weight"}, ""},
		{"*.weight", eligible, ""},
		{"module.fc1.weight,module.conv?", []string{"conv1.weight", "conv2.weight", "fc1.weight"}, ""},
		{"fc3", nil, `"fc3" matches none of conv1.weight`},
		{"[", nil, "syntax error"},
		{" , ", nil, "empty parameter selector"},
	}
	for _, tc := range tests {
		t.Run(tc.sel, func(t *testing.T) {
			got, err := SelectParams(eligible, tc.sel)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSweepParams(t *testing.T) {
	m := newModel(t, "simplenet_mnist")
	for _, tc := range []struct {
		g    stdlib.Granularity
		want []string
	}{
		{stdlib.Elements, []string{"conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight"}},
		{stdlib.Filters, []string{"conv1.weight", "conv2.weight"}},
		{stdlib.Channels, []string{"conv1.weight", "conv2.weight"}},
	} {
		got, err := SweepParams(m, tc.g)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tc.g, diff)
		}
	}
	if _, err := SweepParams(m, stdlib.Kernels); err == nil {
		t.Error("kernels: no error")
	}
}

// TestSweepShardsMerge checks that four shards, run in any order and merged, give the
// unsharded result and CSV exactly, and that the model is restored bit for bit.
func TestSweepShardsMerge(t *testing.T) {
	ctx := context.Background()
	set := testSet(t, 16)
	for _, g := range []stdlib.Granularity{stdlib.Elements, stdlib.Filters} {
		t.Run(g.String(), func(t *testing.T) {
			if testing.Short() && g != stdlib.Elements {
				t.Skip("one granularity in -short mode")
			}
			m := newModel(t, "simplenet_mnist")
			// A pre-existing mask on fc1 must survive the sweep.
			mask := make([]float32, m.Param("fc1.weight").Len())
			r := rand.New(rand.NewPCG(1, 1))
			for i := range mask {
				if r.IntN(4) > 0 {
					mask[i] = 1
				}
			}
			m.Param("fc1.weight").SetMask(mask)
			before := snapshot(m)
			cfg := SweepConfig{Levels: []float64{0, 0.3, 0.6}, Granularity: g, Batch: 8, Meta: map[string]string{"k": "v"}}
			whole, err := Sweep(ctx, m, set, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := sameParams(before, snapshot(m)); diff != "" {
				t.Fatalf("model not restored: %s differs", diff)
			}
			want, err := Merge([]*Part{whole}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var parts []*Part
			for _, shard := range []int{2, 0, 3, 1} {
				c := cfg
				c.Shard, c.Shards = shard, 4
				p, err := Sweep(ctx, m, set, c)
				if err != nil {
					t.Fatal(err)
				}
				// Through the file format and back.
				path := t.TempDir() + "/" + PartName(shard, 4)
				if err := WritePart(path, p); err != nil {
					t.Fatal(err)
				}
				if p, err = ReadPart(path); err != nil {
					t.Fatal(err)
				}
				parts = append(parts, p)
			}
			got, err := Merge(parts, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("merged shards differ (-whole +merged):\n%s", diff)
			}
			var a, b bytes.Buffer
			if err := want.WriteCSV(&a); err != nil {
				t.Fatal(err)
			}
			if err := got.WriteCSV(&b); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatalf("CSV differs:\n%s\nvs\n%s", a.String(), b.String())
			}
			wantRows := 1 + len(want.Params)*3
			if n := strings.Count(a.String(), "\n"); n != wantRows {
				t.Errorf("%d CSV lines, want %d", n, wantRows)
			}
			// Level 0 is the unpruned model.
			base, err := nn.Evaluate(ctx, m, set, 8)
			if err != nil {
				t.Fatal(err)
			}
			for _, pt := range want.Points {
				if pt.Sparsity == 0 && (pt.Top1 != base.Top1 || pt.Loss != base.Loss) {
					t.Errorf("%s at 0: top1 %v loss %v, want the unpruned %v %v", pt.Param, pt.Top1, pt.Loss, base.Top1, base.Loss)
				}
				if pt.Sparsity == 0.6 && pt.Loss == base.Loss {
					t.Errorf("%s at 0.6: loss unchanged (%v); was anything pruned?", pt.Param, pt.Loss)
				}
			}
		})
	}
}

func TestSweepErrors(t *testing.T) {
	ctx := context.Background()
	m := newModel(t, "simplenet_mnist")
	set := testSet(t, 8)
	tests := []struct {
		name string
		cfg  SweepConfig
		err  string
	}{
		{"no levels", SweepConfig{}, "no levels"},
		{"bad level", SweepConfig{Levels: []float64{1}}, "outside [0, 1)"},
		{"bias", SweepConfig{Levels: []float64{0.5}, Params: []string{"fc1.bias"}}, "cannot be swept"},
		{"fc filters", SweepConfig{Levels: []float64{0.5}, Granularity: stdlib.Filters, Params: []string{"fc1.weight"}}, "cannot be swept"},
		{"twice", SweepConfig{Levels: []float64{0.5}, Params: []string{"fc1.weight", "fc1.weight"}}, "listed twice"},
		{"shard", SweepConfig{Levels: []float64{0.5}, Shard: 4, Shards: 4}, "shard 4 of 4 does not exist"},
		{"granularity", SweepConfig{Levels: []float64{0.5}, Granularity: stdlib.Rows}, "not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Sweep(ctx, m, set, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
		})
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	before := snapshot(m)
	if _, err := Sweep(cctx, m, set, SweepConfig{Levels: []float64{0.5}}); err == nil {
		t.Error("cancelled context: no error")
	}
	if diff := sameParams(before, snapshot(m)); diff != "" {
		t.Errorf("model not restored after cancellation: %s differs", diff)
	}
}

func TestMergeErrors(t *testing.T) {
	mk := func(shard, shards int, idx ...int) *Part {
		p := &Part{Version: 1, Model: "m", Granularity: "elements", Levels: []float64{0, 0.5}, Params: []string{"a", "b", "c"}, Shard: shard, Shards: shards}
		for _, i := range idx {
			p.Points = append(p.Points, PartPoint{Index: i, Top1: 1, Top5: 2, Loss: 3})
		}
		return p
	}
	other := mk(1, 2, 1, 3, 5)
	other.Levels = []float64{0, 0.6}
	meta := mk(1, 2, 1, 3, 5)
	meta.Meta = map[string]string{"checkpoint": "x"}
	tests := []struct {
		name  string
		parts []*Part
		err   string
	}{
		{"ok", []*Part{mk(1, 2, 1, 3, 5), mk(0, 2, 0, 2, 4)}, ""},
		{"none", nil, "no parts"},
		{"missing", []*Part{mk(0, 3, 0, 3)}, "shards 1, 2 (of 0 to 2) are missing"},
		{"twice", []*Part{mk(0, 2, 0, 2, 4), mk(0, 2, 0, 2, 4)}, "appears twice"},
		{"short", []*Part{mk(0, 2, 0, 2), mk(1, 2, 1, 3, 5)}, "holds 2 points, want 3"},
		{"foreign point", []*Part{mk(0, 2, 0, 2, 5), mk(1, 2, 1, 3, 5)}, "not one of shard 0's"},
		{"levels", []*Part{mk(0, 2, 0, 2, 4), other}, "different sweeps (levels"},
		{"meta", []*Part{mk(0, 2, 0, 2, 4), meta}, "different sweeps (checkpoint"},
		{"shards", []*Part{mk(0, 2, 0, 2, 4), mk(1, 3, 1, 4)}, "2 vs 3 shards"},
		{"bad shard", []*Part{mk(5, 2)}, "claims shard 5 of 2"},
		{"too many shards", []*Part{mk(0, 1<<20)}, "claims 1048576 shards"},
		{"more shards than points", []*Part{mk(0, 8, 0), mk(1, 8, 1), mk(2, 8, 2), mk(3, 8, 3), mk(4, 8, 4), mk(5, 8, 5), mk(6, 8), mk(7, 8)}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Merge(tc.parts, nil)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(r.Points) != 6 || r.Points[5].Param != "c" || r.Points[5].Sparsity != 0.5 {
					t.Errorf("points %+v", r.Points)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
		})
	}
}

func TestReadCSV(t *testing.T) {
	r := testResult()
	var b bytes.Buffer
	if err := r.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCSV(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var b2 bytes.Buffer
	if err := got.WriteCSV(&b2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), b2.Bytes()) {
		t.Errorf("round trip:\n%s\nvs\n%s", b.String(), b2.String())
	}
	if diff := cmp.Diff(r.Levels, got.Levels); diff != "" {
		t.Errorf("levels (-want +got):\n%s", diff)
	}
	// Distiller's spelling: Python floats, spaces after commas.
	distiller := "parameter, sparsity, top1, top5, loss\nmodule.conv1.weight, 0.0, 70.36, 89.58, 1.24\nmodule.conv1.weight, 0.05, 70.1, 89.5, 1.25\n"
	if d, err := ReadCSV(strings.NewReader(distiller)); err != nil || len(d.Points) != 2 || d.Params[0] != "module.conv1.weight" {
		t.Errorf("Distiller CSV: %+v, %v", d, err)
	}
	for _, tc := range []struct{ in, err string }{
		{"", "no data"},
		{"a,b\n", "header"},
		{"\x89PNG\r\n\x1a\n\x00\x00", "line 1 is not text (a binary file?)"},
		{"parameter,sparsity,top1,top5,loss\nx,0,1,2\n", "line 2: 4 fields"},
		{"parameter,sparsity,top1,top5,loss\nx,0,1,2,z\n", `line 2: "z" is not a number`},
		{"parameter,sparsity,top1,top5,loss\nx,0,1,2,3\ny,0,1,2,3\nx,0.5,1,2,3\n", "not together"},
		{"parameter,sparsity,top1,top5,loss\nx,0,1,2,3\nx,0.5,1,2,3\ny,0,1,2,3\n", "y has other levels than x"},
		{"parameter,sparsity,top1,top5,loss\nx,0,1,2,3\nx,0.5,1,2,3\ny,0,1,2,3\ny,0.6,1,2,3\nz,0,1,2,3\n", "y has other levels"},
	} {
		if _, err := ReadCSV(strings.NewReader(tc.in)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
		}
	}
}
