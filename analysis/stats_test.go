package analysis

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"

	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/stdlib"
)

// tinyModel is flatten → linear 4→3 → ReLU (fused into the linear layer).
func tinyModel(t *testing.T) *nn.Model {
	t.Helper()
	fc := nn.NewLinear("fc", 4, 3, true)
	copy(fc.Weight.Data(), []float32{1, -1, 0.5, 0, -1, 1, 0, 2, 0, 0, 0, 0})
	copy(fc.Bias.Data(), []float32{0, 0.1, 0})
	return nn.NewModel("tiny", []int{1, 2, 2}, 3, nn.NewSequential("", nn.NewFlatten("flatten"), fc, nn.NewReLU("relu")))
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-6*(1+math.Abs(b)) }

func TestCollectStats(t *testing.T) {
	m := tinyModel(t)
	set := data.Synthetic(10, 1, 2, 2, 3, 5)
	// Expected values, computed directly.
	w, b := m.Param("fc.weight").Data(), m.Param("fc.bias").Data()
	var all []float64
	chSum, chZero := make([]float64, 3), make([]float64, 3)
	var sumMin, sumMax float64
	x := make([]float32, 4)
	for i := range set.N {
		set.Sample(i, x)
		lo, hi := math.Inf(1), math.Inf(-1)
		for o := range 3 {
			v := float64(b[o])
			for k := range 4 {
				v += float64(w[o*4+k]) * float64(x[k])
			}
			v = math.Max(v, 0)
			all = append(all, v)
			chSum[o] += v
			if v == 0 {
				chZero[o]++
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		sumMin += lo
		sumMax += hi
	}
	var mean, zeros float64
	for _, v := range all {
		mean += v
		if v == 0 {
			zeros++
		}
	}
	mean /= float64(len(all))
	var ss float64
	for _, v := range all {
		ss += (v - mean) * (v - mean)
	}
	std := math.Sqrt(ss / float64(len(all)))

	// Batches of 3 over 10 samples: 3, 3, 3, 1.
	st, err := CollectStats(context.Background(), m, set, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Samples != 10 || st.Batches != 4 || len(st.Layers) != 3 {
		t.Fatalf("samples %d, batches %d, layers %d", st.Samples, st.Batches, len(st.Layers))
	}
	fc := st.Layer("fc")
	if fc == nil || !fc.FusedReLU {
		t.Fatalf("fc stats %+v", fc)
	}
	for _, l := range []*LayerStats{fc, st.Layer("relu")} {
		checks := []struct {
			name      string
			got, want float64
		}{
			{"mean", l.Mean, mean}, {"std", l.Std, std}, {"avg_min", l.AvgMin, sumMin / 10}, {"avg_max", l.AvgMax, sumMax / 10},
			{"sparsity", l.Sparsity, zeros / 30}, {"count", float64(l.Count), 30},
		}
		for c := range 3 {
			checks = append(checks, struct {
				name      string
				got, want float64
			}{"channel mean", l.ChannelMean[c], chSum[c] / 10}, struct {
				name      string
				got, want float64
			}{"channel apoz", l.ChannelAPoZ[c], chZero[c] / 10})
		}
		for _, c := range checks {
			if !near(c.got, c.want) {
				t.Errorf("%s %s = %v, want %v", l.Name, c.name, c.got, c.want)
			}
		}
	}
	// The third output feature has weight 0 and bias 0: always zero, a dead channel.
	if fc.ChannelAPoZ[2] != 1 {
		t.Errorf("dead channel APoZ %v", fc.ChannelAPoZ[2])
	}
	var csv bytes.Buffer
	if err := st.WriteCSV(&csv); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csv.String()), "\n")
	if len(lines) != 4 || lines[0] != StatsCSVHeader || !strings.HasSuffix(lines[2], ",1") {
		t.Errorf("CSV:\n%s", csv.String())
	}
	var js bytes.Buffer
	if err := st.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	back, err := ReadStats(&js)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Layer("fc"); got == nil || got.Mean != fc.Mean || len(got.ChannelAPoZ) != 3 {
		t.Errorf("JSON round trip: %+v", got)
	}
	// Only the first batch.
	one, err := CollectStats(context.Background(), m, set, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if one.Samples != 3 || one.Layer("fc").Count != 9 {
		t.Errorf("1 batch: %d samples, %d values", one.Samples, one.Layer("fc").Count)
	}
}

func TestStatsActivations(t *testing.T) {
	ctx := context.Background()
	t.Run("fused", func(t *testing.T) {
		m := newModel(t, "simplenet_mnist")
		st, err := CollectStats(ctx, m, testSet(t, 4), 4, 0)
		if err != nil {
			t.Fatal(err)
		}
		apoz, err := st.Activations(stdlib.APoZ)(m.Param("conv2.weight"))
		if err != nil {
			t.Fatal(err)
		}
		if len(apoz) != 50 || apoz[0] != st.Layer("conv2").ChannelAPoZ[0] {
			t.Errorf("conv2 APoZ %v", apoz)
		}
		// The pruner reads them.
		sp := &stdlib.StructurePruner{Granularity: stdlib.Filters, Ranking: stdlib.APoZ, Fraction: 0.5, Activations: st.Activations(stdlib.APoZ)}
		ps := []*nn.Param{m.Param("conv2.weight")}
		if err := sp.Check(ps); err != nil {
			t.Fatal(err)
		}
		if err := sp.Prune(ps, stdlib.Point{}); err != nil {
			t.Fatal(err)
		}
		if s := stdlib.ParamSparsity(m.Param("conv2.weight")); s.Filters != 0.5 {
			t.Errorf("filters pruned: %v, want 0.5", s.Filters)
		}
		if _, err := st.Activations(stdlib.L1)(m.Param("conv2.weight")); err == nil {
			t.Error("L1: no error")
		}
	})
	t.Run("relu after batchnorm", func(t *testing.T) {
		if testing.Short() {
			t.Skip("resnet20 forward")
		}
		m := newModel(t, "resnet20_cifar")
		st, err := CollectStats(ctx, m, data.Synthetic(2, 3, 32, 32, 10, 1), 2, 0)
		if err != nil {
			t.Fatal(err)
		}
		mean, err := st.Activations(stdlib.MeanActivation)(m.Param("layer1.0.conv1.weight"))
		if err != nil {
			t.Fatal(err)
		}
		relu := st.Layer("layer1.0.relu1")
		for c := range mean {
			if mean[c] != relu.ChannelMean[c] || mean[c] < 0 {
				t.Fatalf("channel %d: %v, want relu1's %v", c, mean[c], relu.ChannelMean[c])
			}
		}
	})
}
