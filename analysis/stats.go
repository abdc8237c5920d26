package analysis

// Activation statistics (Distiller's activation collectors, catalog §4.4).
//
// Every layer's output is observed during evaluation-mode forward passes. Values are
// accumulated in float64: each batch's mean and sum of squared deviations are computed
// in two passes over the batch and combined with the running ones by Chan et al.'s
// parallel formula, so the standard deviation does not suffer from cancellation.
// Channels are dimension 1 of the output (a convolution's feature maps, a linear layer's
// features); an output of rank 1 or 0 has no channels.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/ops"
	"github.com/dst-dev/dst/stdlib"
	"gorgonia.org/tensor"
)

// LayerStats are the statistics of one layer's output over the observed samples.
type LayerStats struct {
	// Name is the dotted module name and Type its class name.
	Name string `json:"name"`
	Type string `json:"type"`
	// FusedReLU reports a Conv2d or Linear layer that applies the following ReLU itself:
	// its statistics are those of the rectified output.
	FusedReLU bool `json:"fused_relu,omitempty"`
	// FusedPool reports a Conv2d layer that also applies the following 2×2 max pooling:
	// its statistics are those of the pooled output, the same as the pooling layer's.
	FusedPool bool `json:"fused_pool,omitempty"`
	// Shape is the output shape of one sample (without the batch dimension).
	Shape []int `json:"shape"`
	// Samples is the number of samples and Count the number of values observed.
	Samples int   `json:"samples"`
	Count   int64 `json:"count"`
	// Mean and Std are over all values (Std with the n denominator); Min and Max the
	// extremes.
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
	// AvgMin and AvgMax are the means over samples of each sample's smallest and largest
	// value (Distiller's avg_min/avg_max, read by range calibration).
	AvgMin float64 `json:"avg_min"`
	AvgMax float64 `json:"avg_max"`
	// Sparsity is the fraction of values that are exactly zero.
	Sparsity float64 `json:"sparsity"`
	// ChannelMean holds each channel's mean value, and ChannelAPoZ each channel's
	// fraction of zeros (the average percentage of zeros of Hu et al., as a fraction);
	// both are nil for an output without channels.
	ChannelMean []float64 `json:"channel_mean,omitempty"`
	ChannelAPoZ []float64 `json:"channel_apoz,omitempty"`

	// running sums
	m2             float64
	sumMin, sumMax float64
	zeros          int64
	chSum          []float64
	chZeros        []int64
	chCount        int64
}

// Stats are the activation statistics of a model's layers.
type Stats struct {
	// Model is the model's zoo name.
	Model string `json:"model"`
	// Batches and Samples count what was observed.
	Batches int `json:"batches"`
	Samples int `json:"samples"`
	// Layers holds one entry per layer in the order the layers first ran.
	Layers []*LayerStats `json:"layers"`
}

// CollectStats runs m in evaluation mode over the first batches minibatches of batch
// samples of set (every minibatch when batches is 0) and returns the statistics of every
// layer's output. It checks ctx between minibatches.
func CollectStats(ctx context.Context, m *nn.Model, set *data.Set, batch, batches int) (*Stats, error) {
	if batch < 1 {
		return nil, fmt.Errorf("analysis: stats: batch size %d must be at least 1", batch)
	}
	if batches < 0 {
		return nil, fmt.Errorf("analysis: stats: %d batches", batches)
	}
	if set == nil || set.N == 0 {
		return nil, fmt.Errorf("analysis: stats: empty data set")
	}
	if len(m.Input) != 3 {
		return nil, fmt.Errorf("analysis: stats: model %s takes input %v; only C×H×W image models are supported", m.Name, m.Input)
	}
	if err := m.CheckInput(set.C, set.H, set.W, set.Classes); err != nil {
		return nil, fmt.Errorf("analysis: stats: %w", err)
	}
	loader := data.NewLoader(set, batch, false, 0)
	steps := loader.Steps()
	if batches > 0 {
		steps = min(steps, batches)
	}
	st := &Stats{Model: m.Name}
	byName := map[string]*LayerStats{}
	y := make([]int32, batch)
	for s := range steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := min(batch, set.N-s*batch)
		x := ops.New(n, m.Input[0], m.Input[1], m.Input[2])
		loader.Batch(s, ops.F32(x), y[:n])
		m.ForwardObserved(x, false, func(li nn.LayerInfo, out *tensor.Dense) {
			ls := byName[li.Name]
			if ls == nil {
				ls = &LayerStats{Name: li.Name, Type: li.Type, FusedReLU: li.FusedReLU, FusedPool: li.FusedPool, Min: math.Inf(1), Max: math.Inf(-1)}
				byName[li.Name] = ls
				st.Layers = append(st.Layers, ls)
			}
			ls.add(out)
		})
		st.Batches++
		st.Samples += n
	}
	for _, ls := range st.Layers {
		ls.finish()
	}
	return st, nil
}

// Label is the layer's type with what it fuses: "Conv2d+ReLU+MaxPool2d" for a
// convolution whose statistics are of its rectified, pooled output.
func (ls *LayerStats) Label() string {
	t := ls.Type
	if ls.FusedReLU {
		t += "+ReLU"
	}
	if ls.FusedPool {
		t += "+MaxPool2d"
	}
	return t
}

// add accumulates one batch of outputs.
func (ls *LayerStats) add(out *tensor.Dense) {
	shape := out.Shape()
	v := ops.F32(out)
	if len(v) == 0 {
		return
	}
	if len(shape) > 0 {
		ls.Shape = append(ls.Shape[:0], shape[1:]...)
	}
	n := shape[0]
	if len(shape) == 0 {
		n = 1
	}
	// Mean and M2 of the batch in two passes, then Chan's combination.
	var sum float64
	for _, x := range v {
		sum += float64(x)
	}
	nb := int64(len(v))
	mb := sum / float64(nb)
	var m2b float64
	for _, x := range v {
		d := float64(x) - mb
		m2b += d * d
	}
	if ls.Count == 0 {
		ls.Mean, ls.m2 = mb, m2b
	} else {
		na, nt := float64(ls.Count), float64(ls.Count+nb)
		d := mb - ls.Mean
		ls.Mean += d * float64(nb) / nt
		ls.m2 += m2b + d*d*na*float64(nb)/nt
	}
	ls.Count += nb
	// Per-sample extremes, zeros, per-channel sums.
	per := len(v) / n
	channels, spatial := 0, 0
	if len(shape) >= 2 {
		channels = shape[1]
		spatial = per / channels
		if ls.chSum == nil || len(ls.chSum) != channels {
			ls.chSum, ls.chZeros, ls.chCount = make([]float64, channels), make([]int64, channels), 0
		}
	}
	for i := range n {
		sample := v[i*per : (i+1)*per]
		lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
		for _, x := range sample {
			lo, hi = min(lo, x), max(hi, x)
			if x == 0 {
				ls.zeros++
			}
		}
		ls.sumMin += float64(lo)
		ls.sumMax += float64(hi)
		ls.Min, ls.Max = math.Min(ls.Min, float64(lo)), math.Max(ls.Max, float64(hi))
		for c := range channels {
			var cs float64
			var cz int64
			for _, x := range sample[c*spatial : (c+1)*spatial] {
				cs += float64(x)
				if x == 0 {
					cz++
				}
			}
			ls.chSum[c] += cs
			ls.chZeros[c] += cz
		}
	}
	if channels > 0 {
		ls.chCount += int64(n * spatial)
	}
	ls.Samples += n
}

// finish turns the running sums into the exported figures.
func (ls *LayerStats) finish() {
	if ls.Count == 0 {
		ls.Min, ls.Max = 0, 0
		return
	}
	ls.Std = math.Sqrt(ls.m2 / float64(ls.Count))
	ls.AvgMin = ls.sumMin / float64(ls.Samples)
	ls.AvgMax = ls.sumMax / float64(ls.Samples)
	ls.Sparsity = float64(ls.zeros) / float64(ls.Count)
	if ls.chCount > 0 {
		ls.ChannelMean = make([]float64, len(ls.chSum))
		ls.ChannelAPoZ = make([]float64, len(ls.chSum))
		for c := range ls.chSum {
			ls.ChannelMean[c] = ls.chSum[c] / float64(ls.chCount)
			ls.ChannelAPoZ[c] = float64(ls.chZeros[c]) / float64(ls.chCount)
		}
	}
}

// Layer returns the statistics of the named layer, or nil.
func (s *Stats) Layer(name string) *LayerStats {
	for _, l := range s.Layers {
		if l.Name == name {
			return l
		}
	}
	return nil
}

// Activations returns the per-filter statistics a [stdlib.StructurePruner] ranking by r
// reads: for [stdlib.APoZ] each channel's fraction of zeros, for
// [stdlib.MeanActivation] each channel's mean. A weight's filters are the channels of
// its layer's activation: the layer's own output when it applies a fused ReLU, else the
// output of the first ReLU that follows it (before any other Conv2d or Linear layer)
// with as many channels, else the layer's own output — as Distiller's collectors, which
// hook the ReLU modules.
func (s *Stats) Activations(r stdlib.Ranking) stdlib.ActivationStats {
	return func(p *nn.Param) ([]float64, error) {
		i := -1
		for k, l := range s.Layers {
			if l.Name == p.Layer {
				i = k
				break
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("analysis: no activation statistics for layer %s (of %s)", p.Layer, p.Name)
		}
		src := s.Layers[i]
		if !src.FusedReLU {
			for _, l := range s.Layers[i+1:] {
				if l.Type == "Conv2d" || l.Type == "Linear" {
					break
				}
				if l.Type == "ReLU" && len(l.ChannelMean) == len(src.ChannelMean) {
					src = l
					break
				}
			}
		}
		var v []float64
		switch r {
		case stdlib.APoZ:
			v = src.ChannelAPoZ
		case stdlib.MeanActivation:
			v = src.ChannelMean
		default:
			return nil, fmt.Errorf("analysis: ranking %v does not read activation statistics", r)
		}
		if filters := p.Shape()[0]; len(v) != filters {
			return nil, fmt.Errorf("analysis: activation statistics of %s have %d channels, %s has %d filters", src.Name, len(v), p.Name, filters)
		}
		return append([]float64(nil), v...), nil
	}
}

// WriteJSON writes the statistics, per-channel figures included, as indented JSON.
func (s *Stats) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("analysis: stats: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadStats reads statistics written by [Stats.WriteJSON].
func ReadStats(r io.Reader) (*Stats, error) {
	s := new(Stats)
	if err := json.NewDecoder(r).Decode(s); err != nil {
		return nil, fmt.Errorf("analysis: stats: %w", err)
	}
	return s, nil
}

// StatsCSVHeader is the header line of [Stats.WriteCSV].
const StatsCSVHeader = "layer,type,shape,samples,mean,std,min,max,avg_min,avg_max,sparsity,apoz_mean,apoz_max,dead_channels"

// WriteCSV writes one line per layer: the scalar statistics, and over channels the mean
// and largest APoZ and the number of channels that were zero on every value observed.
func (s *Stats) WriteCSV(w io.Writer) error {
	var sb strings.Builder
	sb.WriteString(StatsCSVHeader + "\n")
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	for _, l := range s.Layers {
		shape := make([]string, len(l.Shape))
		for i, d := range l.Shape {
			shape[i] = strconv.Itoa(d)
		}
		apozMean, apozMax, dead := "", "", ""
		if len(l.ChannelAPoZ) > 0 {
			var sum, hi float64
			nd := 0
			for _, a := range l.ChannelAPoZ {
				sum += a
				hi = math.Max(hi, a)
				if a == 1 {
					nd++
				}
			}
			apozMean, apozMax, dead = f(sum/float64(len(l.ChannelAPoZ))), f(hi), strconv.Itoa(nd)
		}
		fmt.Fprintf(&sb, "%s,%s,%s,%d,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", l.Name, l.Label(), strings.Join(shape, "x"), l.Samples,
			f(l.Mean), f(l.Std), f(l.Min), f(l.Max), f(l.AvgMin), f(l.AvgMax), f(l.Sparsity), apozMean, apozMax, dead)
	}
	_, err := io.WriteString(w, sb.String())
	return err
}
