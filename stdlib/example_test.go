package stdlib_test

import (
	"fmt"

	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/stdlib"
)

// LevelMask zeroes exactly k weights; of the three tied at 0.5 the two lowest-indexed
// are pruned.
func ExampleLevelMask() {
	w := []float32{0.5, -0.1, 0.5, 0.3, -0.5, 0.9}
	mask := make([]float32, len(w))
	stdlib.LevelMask(mask, w, nil, 4)
	fmt.Println(mask)
	// Output: [0 0 0 0 1 1]
}

// The AGP schedule of the DESIGN example: 5% → 70% from epoch 0 to 4, every epoch.
func ExampleAGP_Target() {
	agp := stdlib.AGP{Initial: 0.05, Final: 0.70, Start: 0, End: 4, Freq: 1}
	for e := range 4 {
		fmt.Printf("epoch %d: %.4f\n", e, agp.Target(stdlib.Point{Epoch: e}))
	}
	// Output:
	// epoch 0: 0.0500
	// epoch 1: 0.5074
	// epoch 2: 0.6759
	// epoch 3: 0.7000
}

// Pruning 40% of a convolution's filters by L1, then listing the zero filters that
// thinning would remove.
func ExampleStructurePruner() {
	conv := nn.NewParam("conv2.weight", "conv2", nn.KindWeight, 5, 1, 2, 2)
	for i := range conv.Data() {
		conv.Data()[i] = float32(i%7) - 3 // filter L1 means: 1.5, 2.25, 1, 2.5, 1
	}
	pr := &stdlib.StructurePruner{Granularity: stdlib.Filters, Ranking: stdlib.L1, Fraction: 0.4}
	if err := pr.Check([]*nn.Param{conv}); err != nil {
		fmt.Println(err)
		return
	}
	if err := pr.Prune([]*nn.Param{conv}, stdlib.Point{Epoch: 3}); err != nil {
		fmt.Println(err)
		return
	}
	zero, _ := stdlib.ZeroGroups(conv.Data(), conv.Shape(), stdlib.Filters, nil)
	fmt.Println("zero filters:", zero)
	// Output: zero filters: [2 4]
}

// A group-lasso penalty on the rows and the columns of a linear weight adds its
// gradient to the parameter's.
func ExampleGroupLasso() {
	fc := nn.NewParam("fc.weight", "fc", nn.KindWeight, 2, 2)
	copy(fc.Data(), []float32{3, 0, 4, 0}) // rows (3,0) (4,0); columns (3,4) (0,0)
	gl := &stdlib.GroupLasso{Strength: 0.1, Groups: []stdlib.Granularity{stdlib.Rows, stdlib.Cols}}
	loss := gl.Regularize([]*nn.Param{fc})
	fmt.Printf("loss %.2f, grad %.2f\n", loss, fc.GradData())
	// Output: loss 1.20, grad [0.16 0.00 0.18 0.00]
}

// An interpreter builds a pruner from a checked policy — here `prune fc1.weight agp
// 5% -> 70% from epoch 0 to 3` — and calls it at each epoch of the window.
func ExampleNewPruner() {
	pol := &lang.Policy{
		Kind: lang.KindPrune, Method: "agp", Granularity: "elements",
		Args:   map[string]lang.Value{"sparsity": {Type: lang.TypeFractionRange, From: 0.05, To: 0.70}},
		Window: lang.Window{Kind: lang.WindowEpochs, Start: 0, End: 3, Every: 1},
	}
	pr, err := stdlib.NewPruner(pol, stdlib.BuildOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fc1 := nn.NewParam("fc1.weight", "fc1", nn.KindWeight, 10, 10)
	for i := range fc1.Data() {
		fc1.Data()[i] = float32(i%13) - 6
	}
	params := []*nn.Param{fc1}
	if err := pr.Check(params); err != nil {
		fmt.Println(err)
		return
	}
	for e := range 3 {
		if err := pr.Prune(params, stdlib.Point{Epoch: e}); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("epoch %d: %d of %d non-zero\n", e, fc1.NNZ(), fc1.Len())
	}
	// Output:
	// epoch 0: 92 of 100 non-zero
	// epoch 1: 39 of 100 non-zero
	// epoch 2: 30 of 100 non-zero
}
