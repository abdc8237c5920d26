package analysis_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/dst-dev/dst/analysis"
	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/stdlib"
)

// Counting MACs with Distiller's rules.
func ExampleSummarize() {
	m, err := nn.New("resnet20_cifar", 0)
	if err != nil {
		panic(err)
	}
	s, err := analysis.Summarize(m)
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Total.MACs, "MACs,", s.Total.Weights, "weights")
	first := s.Layers[0]
	fmt.Println(first.Name, first.Type, first.Attrs, first.OutShape, first.MACs)
	// Output:
	// 40813184 MACs, 270896 weights
	// conv1 Conv2d k=(3, 3) [1 16 32 32] 442368
}

// A sweep split into two shards, run separately (on two machines, say) and merged: the
// result is the one an unsharded sweep gives.
func ExampleMerge() {
	m, err := nn.New("simplenet_mnist", 0)
	if err != nil {
		panic(err)
	}
	set := data.Synthetic(8, 1, 28, 28, 10, 1)
	cfg := analysis.SweepConfig{Levels: []float64{0, 0.5}, Granularity: stdlib.Filters, Batch: 8, Shards: 2}
	var parts []*analysis.Part
	for shard := range 2 {
		cfg.Shard = shard
		p, err := analysis.Sweep(context.Background(), m, set, cfg)
		if err != nil {
			panic(err)
		}
		fmt.Println(analysis.PartName(shard, 2), len(p.Points), "points")
		parts = append(parts, p)
	}
	res, err := analysis.Merge(parts, nil)
	if err != nil {
		panic(err)
	}
	var csv strings.Builder
	res.WriteCSV(&csv)
	for _, line := range strings.Split(strings.TrimSpace(csv.String()), "\n") {
		f := strings.Split(line, ",")
		fmt.Println(f[0], f[1]) // parameter, sparsity; the accuracies depend on the weights
	}
	// Output:
	// sensitivity.part-0000-of-0002.json 2 points
	// sensitivity.part-0001-of-0002.json 2 points
	// parameter sparsity
	// conv1.weight 0
	// conv1.weight 0.5
	// conv2.weight 0
	// conv2.weight 0.5
}
