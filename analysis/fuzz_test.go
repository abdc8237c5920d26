package analysis

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzReadCSV checks that any input either fails with an error or reads into a result
// that writes back and reads again to the same points.
func FuzzReadCSV(f *testing.F) {
	var b bytes.Buffer
	testResult().WriteCSV(&b)
	f.Add(b.String())
	f.Add("parameter, sparsity, top1, top5, loss\nmodule.conv1.weight, 0.0, 70.36, 89.58, 1.24\n")
	f.Add("parameter,sparsity,top1,top5,loss\nx,0,1,2,nan\nx,0.5,1,2,inf\n")
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > 1<<14 {
			return
		}
		r, err := ReadCSV(strings.NewReader(in))
		if err != nil {
			return
		}
		if len(r.Points) != len(r.Params)*len(r.Levels) {
			t.Fatalf("%d points for %d params × %d levels", len(r.Points), len(r.Params), len(r.Levels))
		}
		var out bytes.Buffer
		if err := r.WriteCSV(&out); err != nil {
			t.Fatal(err)
		}
		back, err := ReadCSV(&out)
		if err != nil {
			t.Fatalf("re-reading %q: %v", out.String(), err)
		}
		same := func(a, b float64) bool { return a == b || (a != a && b != b) }
		for i, p := range r.Points {
			q := back.Points[i]
			if p.Param != q.Param || !same(p.Sparsity, q.Sparsity) || !same(p.Top1, q.Top1) || !same(p.Top5, q.Top5) || !same(p.Loss, q.Loss) {
				t.Fatalf("point %d: %+v read back as %+v", i, p, q)
			}
		}
	})
}

// FuzzMerge checks that a part file of any content is merged or refused, never panics.
func FuzzMerge(f *testing.F) {
	p := &Part{Version: 1, Model: "m", Granularity: "elements", Levels: []float64{0, 0.5}, Params: []string{"a"}, Shard: 0, Shards: 1,
		Points: []PartPoint{{Index: 0, Top1: 1, Top5: 2, Loss: 3}, {Index: 1, Top1: 1, Top5: 2, Loss: 3}}}
	b, _ := json.Marshal(p)
	f.Add(b)
	f.Add([]byte(`{"version":1,"levels":[0],"params":["a","b"],"shard":1,"shards":2,"points":[{"index":1,"top1":"NaN","top5":"1","loss":"2"}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var p Part
		if json.Unmarshal(in, &p) != nil {
			return
		}
		if r, err := Merge([]*Part{&p}, nil); err == nil && len(r.Points) != len(r.Params)*len(r.Levels) {
			t.Fatalf("%d points for %d × %d", len(r.Points), len(r.Params), len(r.Levels))
		}
	})
}
