// Command embed shows a Go program embedding dst's interpreter: it trains a zoo model with
// nn.Train and lets a .dst schedule — inline, or a file named on the command line — drive
// pruning, regularization and the learning rate through the Scheduler's hooks. It also
// registers a host builtin, `prune SELECTOR keep_top K`, that keeps the K largest weights
// of each row.
//
//	go run ./examples/embed                 # the inline schedule, on synthetic data
//	go run ./examples/embed my.dst 4        # a schedule file, 4 epochs
package main

import (
	"context"
	"fmt"
	"log"
	"math"
	"os"
	"sort"
	"strconv"

	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/interp"
	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/stdlib"
)

const inline = `# Prune the hidden layers gradually, keep the 3 largest inputs of every output unit,
# regularize, and decay the learning rate.
prune [fc1, fc2] agp 10% -> 80% from epoch 0 to 3
prune fc3 keep_top 3 at epoch 3
regularize fc1 l1 1e-6
lr exponential 0.7 from epoch 1
`

// keepTop is the host builtin: keep the k largest |w| of every row of a 2-D weight.
var keepTop = interp.Builtin{
	Signature: lang.Signature{
		Statement: "prune", Method: "keep_top", Masks: true,
		Doc: "Keep the k largest-magnitude weights of every row (output unit) and prune the rest.",
		Args: []lang.ArgSpec{{Name: "k", Type: lang.TypeInteger, Required: true, Positional: true,
			Doc: "Weights kept per row."}},
	},
	Func: func(c *interp.Call) error {
		k := c.Policy.Args["k"].Int()
		for _, p := range c.Params {
			shape := p.Shape()
			if len(shape) != 2 {
				return fmt.Errorf("keep_top: %s is not a matrix", p.Name)
			}
			rows, cols := shape[0], shape[1]
			mask := make([]float32, p.Len())
			idx := make([]int, cols)
			for r := range rows {
				w := p.Data()[r*cols : (r+1)*cols]
				for i := range idx {
					idx[i] = i
				}
				sort.SliceStable(idx, func(a, b int) bool { return math.Abs(float64(w[idx[a]])) > math.Abs(float64(w[idx[b]])) })
				for _, i := range idx[:min(k, cols)] {
					mask[r*cols+i] = 1
				}
			}
			p.SetMask(mask)
		}
		return nil
	},
}

func main() {
	src, name, epochs := []byte(inline), "inline.dst", 5
	if len(os.Args) > 1 {
		b, err := os.ReadFile(os.Args[1])
		if err != nil {
			log.Fatal(err)
		}
		src, name = b, os.Args[1]
	}
	if len(os.Args) > 2 {
		n, err := strconv.Atoi(os.Args[2])
		if err != nil || n < 1 {
			log.Fatalf("epochs: want a positive integer, got %q", os.Args[2])
		}
		epochs = n
	}

	model, err := nn.New("lenet300_100", 1)
	if err != nil {
		log.Fatal(err)
	}
	opt, err := nn.NewSGD(model.Params(), nn.SGDConfig{LR: 0.05, Momentum: 0.9})
	if err != nil {
		log.Fatal(err)
	}
	all := data.Synthetic(3000, 1, 28, 28, 10, 1)
	train, test := split(all, 2500)

	// Check and compile the schedule against this model; print diagnostics as dst does.
	opts := interp.Options{Params: model.Params(), Optimizer: opt, Epochs: epochs, OptimizerMasks: true,
		Builtins: []interp.Builtin{keepTop}}
	prog, diags := interp.Check(name, src, opts)
	if len(diags) > 0 {
		_ = lang.NewDiagnosticWriter(os.Stderr, map[string][]byte{name: src}, 0, false).WriteDiagnostics(diags)
	}
	if diags.HasErrors() {
		os.Exit(1)
	}
	sched, err := interp.Compile(prog, opts)
	if err != nil {
		log.Fatal(err)
	}

	_, err = nn.Train(context.Background(), model, opt, train, test, nn.TrainConfig{
		Epochs: epochs, Batch: 64, Seed: 1, Hooks: sched,
		OnEpoch: func(m *nn.EpochMetrics) error {
			fmt.Printf("epoch %d: loss %.4f, top-1 %.2f%%, lr %.4g, weight sparsity %.1f%%\n",
				m.Epoch, m.TrainLoss, m.Top1, m.LR, 100*stdlib.TotalSparsity(model.Params()))
			return nil
		},
	})
	if err != nil {
		log.Fatal(err) // a policy's runtime error names its file:line:col, event, epoch and step
	}
	for _, p := range model.Params() {
		fmt.Printf("%-12s %6d of %6d non-zero\n", p.Name, p.NNZ(), p.Len())
	}
}

// split cuts a synthetic set into its first n samples and the rest.
func split(s *data.Set, n int) (a, b *data.Set) {
	sz := s.SampleSize()
	a, b = new(data.Set), new(data.Set)
	*a, *b = *s, *s
	a.N, b.N = n, s.N-n
	a.X, b.X = s.X[:n*sz], s.X[n*sz:]
	a.Y, b.Y = s.Y[:n], s.Y[n:]
	return a, b
}
