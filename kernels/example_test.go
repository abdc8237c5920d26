package kernels_test

import (
	"fmt"

	"github.com/dst-dev/dst/kernels"
)

// A Linear layer's forward pass, y = x·Wᵀ + b, on a batch of two inputs.
func ExampleSgemm() {
	x := []float32{ // batch 2 × in 3
		1, 2, 3,
		4, 5, 6,
	}
	w := []float32{ // out 2 × in 3
		1, 0, 0,
		0, 1, 1,
	}
	bias := []float32{10, 20}
	y := make([]float32, 2*2)
	kernels.Sgemm(false, true, 2, 2, 3, 1, x, 3, w, 3, 0, y, 2)
	kernels.AddRowVector(y, 2, 2, bias)
	fmt.Println(y)
	// Output: [11 25 14 31]
}

// Magnitude pruning picks the threshold below which a fraction of the
// weights fall.
func ExampleSelect() {
	w := []float32{0.5, -0.1, 0.9, 0.05, -0.7, 0.3}
	mags := make([]float32, len(w))
	for i, v := range w {
		mags[i] = max(v, -v)
	}
	sparsity := 0.5
	k := int(sparsity * float64(len(mags)))
	fmt.Println(kernels.Select(mags, k))
	// Output: 0.5
}

// A pruned weight matrix in CSR form times an input vector.
func ExampleSpMM() {
	w := kernels.CSRFromDense([]float32{
		0, 2, 0,
		1, 0, 3,
	}, 2, 3)
	x := []float32{1, 10, 100}
	y := make([]float32, 2)
	kernels.SpMM(y, w, x, 1)
	fmt.Println(w.NNZ(), y)
	// Output: 3 [20 301]
}

// The int8 product behind a quantized Linear layer: int32 accumulators
// from int8 inputs and weights.
func ExampleGemmS8S8S32() {
	x := []int8{1, -2, 3, 127}             // 1 × 4
	w := []int8{-128, 1, 1, 1, 2, 2, 2, 2} // 2 × 4
	y := make([]int32, 2)
	kernels.GemmS8S8S32(1, 2, 4, x, 4, w, 4, y, 2)
	fmt.Println(y)
	// Output: [0 258]
}
