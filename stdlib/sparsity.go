package stdlib

import "github.com/dst-dev/dst/nn"

// Sparsity holds the sparsity figures of one parameter, as Distiller's weights sparsity
// summary reports them (catalog §4.1). The structure fractions count structures whose
// elements are all zero, as fractions in [0, 1], and are 0 where the structure does not
// apply to the parameter's rank.
//
// Rows and Cols have their intuitive meaning — all-zero rows and all-zero columns of the
// stored out×in matrix — whereas Distiller's current code reports them swapped (the
// "transposed GEMM" convention).
type Sparsity struct {
	// Name is the parameter's name and Shape its shape.
	Name  string
	Shape []int
	// Numel is the number of elements and NNZ the number of non-zero ones.
	Numel, NNZ int
	// Elements is the element sparsity 1 − NNZ/Numel (Distiller's "Fine").
	Elements float64
	// Rows and Cols are the fractions of all-zero rows and columns of a 2-D weight.
	Rows, Cols float64
	// Channels is the fraction of all-zero input channels (dim 1) of a 4-D weight.
	Channels float64
	// Kernels is the fraction of all-zero kh×kw kernels of a 4-D weight (Distiller's "2D").
	Kernels float64
	// Filters is the fraction of all-zero filters (dim 0) of a 4-D weight (Distiller's "3D").
	Filters float64
	// Std (n−1 denominator, as torch.std), Mean and AbsMean summarise the values.
	Std, Mean, AbsMean float64
}

// ParamSparsity returns the sparsity figures of p's current values.
func ParamSparsity(p *nn.Param) Sparsity {
	w := p.Data()
	s := Sparsity{Name: p.Name, Shape: p.Shape(), Numel: len(w), NNZ: len(w) - countZeros(w)}
	if s.Numel > 0 {
		s.Elements = 1 - float64(s.NNZ)/float64(s.Numel)
	}
	s.Mean, s.Std = meanStd(w, false)
	s.AbsMean, _ = meanStd(w, true)
	frac := func(g Granularity) float64 {
		n, err := NumGroups(s.Shape, g, nil)
		if err != nil || n == 0 {
			return 0
		}
		z, err := ZeroGroups(w, s.Shape, g, nil)
		if err != nil {
			return 0
		}
		return float64(len(z)) / float64(n)
	}
	switch len(s.Shape) {
	case 2:
		s.Rows, s.Cols = frac(Rows), frac(Cols)
	case 4:
		s.Channels, s.Kernels, s.Filters = frac(Channels), frac(Kernels), frac(Filters)
	}
	return s
}

// TotalSparsity returns 1 − Σ NNZ / Σ Numel over params, Distiller's "Total sparsity"
// (as a fraction), or 0 when they hold no elements.
func TotalSparsity(params []*nn.Param) float64 {
	var n, nnz int
	for _, p := range params {
		w := p.Data()
		n += len(w)
		nnz += len(w) - countZeros(w)
	}
	if n == 0 {
		return 0
	}
	return 1 - float64(nnz)/float64(n)
}

// MaskSparsity returns the fraction of zeros in p's mask, or 0 for a dense parameter
// (Distiller's mask sparsity table).
func MaskSparsity(p *nn.Param) float64 {
	m := p.MaskData()
	if len(m) == 0 {
		return 0
	}
	return float64(countZeros(m)) / float64(len(m))
}
