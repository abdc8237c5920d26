package stdlib

import (
	"fmt"
	"math"

	"github.com/dst-dev/dst/kernels"
	"github.com/dst-dev/dst/nn"
)

// Granularity names the structures a structured pruner or regularizer acts on. Weights
// are 4-D convolutions F×C×kh×kw or 2-D linear layers stored out×in.
type Granularity int

// The granularities. Their names (String) are those of the language.
const (
	// Elements are single weights.
	Elements Granularity = iota
	// Filters are the slices along dim 0 (a convolution's output channel, a linear
	// layer's row); any rank >= 2.
	Filters
	// Channels are the slices along dim 1 (a convolution's input channel across all
	// filters; a linear layer's column, i.e. an input feature); any rank >= 2.
	Channels
	// Rows are the rows of a 2-D weight as stored (out×in): one output feature each.
	// Distiller's ranked pruners route "Rows" to the channel routine and zero columns
	// instead; dst's Rows are always stored rows.
	Rows
	// Cols are the columns of a 2-D weight as stored (out×in): one input feature each.
	Cols
	// Kernels are the kh×kw kernels of a 4-D weight, one per (filter, channel) pair
	// (Distiller's "2D").
	Kernels
	// Blocks are the tiles of a block shape given separately (Distiller's block_shape
	// [repetitions, depth, h, w]: depth consecutive channels of repetitions consecutive
	// filters); every dimension of the block must divide the weight's. dst also accepts
	// h, w > 1 and 2-D weights. Distiller's code tiles differently when both repetitions
	// and depth exceed 1 and depth is less than the channel count (it groups
	// repetitions·depth consecutive filter-channel pairs); dst follows its documented
	// meaning, and the two agree in every other case.
	Blocks
	// Layers is the whole tensor as one group (Distiller's "4D").
	Layers
)

var granularityNames = [...]string{
	Elements: "elements",
	Filters:  "filters",
	Channels: "channels",
	Rows:     "rows",
	Cols:     "cols",
	Kernels:  "kernels",
	Blocks:   "blocks",
	Layers:   "layers",
}

// String returns the granularity's name in the language.
func (g Granularity) String() string {
	if g >= 0 && int(g) < len(granularityNames) {
		return granularityNames[g]
	}
	return fmt.Sprintf("Granularity(%d)", int(g))
}

// ParseGranularity returns the granularity called name: a language name (elements,
// filters, channels, rows, cols, kernels, blocks, layers) or one of Distiller's group
// types (3D = filters, 2D = kernels, 4D = layers), case-insensitively.
func ParseGranularity(name string) (Granularity, error) {
	switch lower(name) {
	case "elements", "element", "fine":
		return Elements, nil
	case "filters", "3d":
		return Filters, nil
	case "channels":
		return Channels, nil
	case "rows":
		return Rows, nil
	case "cols", "columns":
		return Cols, nil
	case "kernels", "2d":
		return Kernels, nil
	case "blocks":
		return Blocks, nil
	case "layers", "4d":
		return Layers, nil
	}
	return 0, fmt.Errorf("stdlib: unknown granularity %q (want elements, filters, channels, rows, cols, kernels, blocks or layers)", name)
}

// lower folds ASCII letters to lower case.
func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// groups describes how a tensor splits into equal, disjoint, box-shaped groups. The
// shape is padded with leading 1s to four dimensions; block is the group's box and grid
// the number of boxes along each dimension.
type groups struct {
	dims, block, grid [4]int
	n, size           int
}

// newGroups splits a tensor of the given shape by g. block is read only for Blocks; it
// has the tensor's rank, or is 4-D with trailing 1s for a 2-D tensor
// (Distiller's [repetitions, depth, 1, 1]).
func newGroups(shape []int, g Granularity, block []int) (groups, error) {
	r := len(shape)
	if r == 0 || r > 4 {
		return groups{}, fmt.Errorf("%s needs a weight of rank 1 to 4", g)
	}
	b := make([]int, r)
	copy(b, shape)
	switch g {
	case Elements:
		fill1(b)
	case Filters:
		if r < 2 {
			return groups{}, fmt.Errorf("filters need a weight of rank 2 or more")
		}
		b[0] = 1
	case Channels:
		if r < 2 {
			return groups{}, fmt.Errorf("channels need a weight of rank 2 or more")
		}
		b[1] = 1
	case Rows:
		if r != 2 {
			return groups{}, fmt.Errorf("rows need a 2-D weight")
		}
		b[0] = 1
	case Cols:
		if r != 2 {
			return groups{}, fmt.Errorf("cols need a 2-D weight")
		}
		b[1] = 1
	case Kernels:
		if r != 4 {
			return groups{}, fmt.Errorf("kernels need a 4-D weight")
		}
		b[0], b[1] = 1, 1
	case Blocks:
		bs := block
		if len(bs) == 4 && r == 2 && bs[2] == 1 && bs[3] == 1 {
			bs = bs[:2]
		}
		if len(bs) != r {
			return groups{}, fmt.Errorf("block shape %v does not match a weight of rank %d", block, r)
		}
		for i, v := range bs {
			if v < 1 || shape[i]%v != 0 {
				return groups{}, fmt.Errorf("block shape %v does not divide the weight", block)
			}
		}
		copy(b, bs)
	case Layers:
	default:
		return groups{}, fmt.Errorf("unknown granularity %v", g)
	}
	var gs groups
	off := 4 - r
	gs.n, gs.size = 1, 1
	for i := range 4 {
		gs.dims[i], gs.block[i] = 1, 1
		if i >= off {
			gs.dims[i], gs.block[i] = shape[i-off], b[i-off]
		}
		if gs.dims[i] == 0 {
			return groups{}, fmt.Errorf("the weight has no elements")
		}
		gs.grid[i] = gs.dims[i] / gs.block[i]
		gs.n *= gs.grid[i]
		gs.size *= gs.block[i]
	}
	return gs, nil
}

func fill1(b []int) {
	for i := range b {
		b[i] = 1
	}
}

// paramGroups is newGroups for a parameter, with errors wrapping ErrShape.
func paramGroups(p *nn.Param, g Granularity, block []int) (groups, error) {
	gs, err := newGroups(p.Shape(), g, block)
	if err != nil {
		return gs, shapeErr(p, "%v", err)
	}
	return gs, nil
}

// each calls fn for every contiguous run of elements that belong to one group, with the
// run's offset, its length and the group's index. Groups are numbered in row-major order
// of the grid.
func (gs *groups) each(fn func(off, n, id int)) {
	d, b, g := gs.dims, gs.block, gs.grid
	for i0 := range d[0] {
		g0 := i0 / b[0] * g[1]
		for i1 := range d[1] {
			g1 := (g0 + i1/b[1]) * g[2]
			for i2 := range d[2] {
				g2 := (g1 + i2/b[2]) * g[3]
				base := ((i0*d[1]+i1)*d[2] + i2) * d[3]
				for j := range g[3] {
					fn(base+j*b[3], b[3], g2+j)
				}
			}
		}
	}
}

// perElement reports that consecutive elements of the innermost dimension belong to
// consecutive groups (runs of length 1, as for the columns of a 2-D weight); the hot
// loops then use eachRow instead of a call per element.
func (gs *groups) perElement() bool { return gs.block[3] == 1 && gs.dims[3] > 1 }

// eachRow calls fn for every row of the innermost dimension with the row's offset and
// the group of its first element; with perElement, element j of the row is in group
// id+j.
func (gs *groups) eachRow(fn func(off, id int)) {
	d, b, g := gs.dims, gs.block, gs.grid
	for i0 := range d[0] {
		g0 := i0 / b[0] * g[1]
		for i1 := range d[1] {
			g1 := (g0 + i1/b[1]) * g[2]
			for i2 := range d[2] {
				fn(((i0*d[1]+i1)*d[2]+i2)*d[3], (g1+i2/b[2])*g[3])
			}
		}
	}
}

// sumAbs adds Σ|x| of each group into dst (len gs.n).
func (gs *groups) sumAbs(dst []float64, x []float32) {
	if gs.perElement() {
		n := gs.dims[3]
		gs.eachRow(func(off, id int) {
			d := dst[id : id+n]
			for j, v := range x[off : off+n] {
				d[j] += math.Abs(float64(v))
			}
		})
		return
	}
	gs.each(func(off, n, id int) { dst[id] += float64(kernels.SumAbs(x[off : off+n])) })
}

// sumSq adds Σx² of each group into dst (len gs.n).
func (gs *groups) sumSq(dst []float64, x []float32) {
	if gs.perElement() {
		n := gs.dims[3]
		gs.eachRow(func(off, id int) {
			d := dst[id : id+n]
			for j, v := range x[off : off+n] {
				d[j] += float64(v) * float64(v)
			}
		})
		return
	}
	gs.each(func(off, n, id int) { dst[id] += float64(kernels.SumSq(x[off : off+n])) })
}

// maxAbs stores max |x| of each group into dst (len gs.n, zeroed by the caller).
func (gs *groups) maxAbs(dst []float64, x []float32) {
	gs.each(func(off, n, id int) { dst[id] = math.Max(dst[id], float64(kernels.MaxAbs(x[off:off+n]))) })
}

// expand writes keep[group] (1 or 0) into every element of dst.
func (gs *groups) expand(dst []float32, keep []bool) {
	if gs.perElement() {
		n := gs.dims[3]
		gs.eachRow(func(off, id int) {
			k := keep[id : id+n]
			for j := range dst[off : off+n] {
				dst[off+j] = b2f(k[j])
			}
		})
		return
	}
	gs.each(func(off, n, id int) { fill(dst[off:off+n], b2f(keep[id])) })
}

// scaleAdd adds c[group]·x to dst for every element.
func (gs *groups) scaleAdd(dst, x []float32, c []float32) {
	if gs.perElement() {
		n := gs.dims[3]
		gs.eachRow(func(off, id int) {
			cs := c[id : id+n]
			xs := x[off : off+n]
			for j := range dst[off : off+n] {
				dst[off+j] += cs[j] * xs[j]
			}
		})
		return
	}
	gs.each(func(off, n, id int) {
		if c[id] != 0 {
			kernels.Axpy(dst[off:off+n], c[id], x[off:off+n])
		}
	})
}

// b2f returns 1 for true and 0 for false.
func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

// NumGroups returns how many structures of granularity g a tensor of the given shape
// has (block is read only for Blocks), or an error saying why g does not apply.
func NumGroups(shape []int, g Granularity, block []int) (int, error) {
	gs, err := newGroups(shape, g, block)
	if err != nil {
		return 0, fmt.Errorf("stdlib: %w", err)
	}
	return gs.n, nil
}

// ZeroGroups returns, in increasing order, the indices of the structures of granularity
// g (block is read only for Blocks) whose elements in x are all zero. x is a tensor of
// the given shape — a parameter's values or its mask. Thinning uses it with Filters and
// Channels to find the output and input channels it can remove.
func ZeroGroups(x []float32, shape []int, g Granularity, block []int) ([]int, error) {
	gs, err := newGroups(shape, g, block)
	if err != nil {
		return nil, fmt.Errorf("stdlib: %w", err)
	}
	if len(x) != gs.n*gs.size {
		return nil, fmt.Errorf("stdlib: ZeroGroups: %d values for shape %v", len(x), shape)
	}
	nz := make([]bool, gs.n)
	gs.each(func(off, n, id int) {
		if !nz[id] {
			for _, v := range x[off : off+n] {
				if v != 0 {
					nz[id] = true
					break
				}
			}
		}
	})
	out := []int{}
	for i, b := range nz {
		if !b {
			out = append(out, i)
		}
	}
	return out, nil
}

// Criterion is the norm by which a group threshold mask measures a structure
// (Distiller's threshold_criteria).
type Criterion int

// The criteria.
const (
	// MaxAbs is max |w| over the structure (Distiller's Max).
	MaxAbs Criterion = iota
	// MeanAbs is Σ|w| / size (Distiller's Mean_Abs and Mean_L1).
	MeanAbs
	// L1Norm is Σ|w| (Distiller's L1).
	L1Norm
	// L2Norm is sqrt(Σw²) (Distiller's L2).
	L2Norm
	// MeanL2 is sqrt(Σw²) / size (Distiller's Mean_L2).
	MeanL2
)

var criterionNames = [...]string{MaxAbs: "max", MeanAbs: "mean_abs", L1Norm: "l1", L2Norm: "l2", MeanL2: "mean_l2"}

// String returns the criterion's name.
func (c Criterion) String() string {
	if c >= 0 && int(c) < len(criterionNames) {
		return criterionNames[c]
	}
	return fmt.Sprintf("Criterion(%d)", int(c))
}

// ParseCriterion returns the criterion called name: max, mean_abs, mean_l1, l1, l2 or
// mean_l2, case-insensitively (Distiller's spellings Max, Mean_Abs, … included).
func ParseCriterion(name string) (Criterion, error) {
	switch lower(name) {
	case "max":
		return MaxAbs, nil
	case "mean_abs", "mean_l1":
		return MeanAbs, nil
	case "l1":
		return L1Norm, nil
	case "l2":
		return L2Norm, nil
	case "mean_l2":
		return MeanL2, nil
	}
	return 0, fmt.Errorf("stdlib: unknown threshold criterion %q (want max, mean_abs, l1, l2 or mean_l2)", name)
}

// norms returns the criterion's value for every group of x.
func (gs *groups) norms(x []float32, c Criterion) []float64 {
	v := make([]float64, gs.n)
	switch c {
	case MaxAbs:
		gs.maxAbs(v, x)
	case MeanAbs, L1Norm:
		gs.sumAbs(v, x)
	default:
		gs.sumSq(v, x)
		for i := range v {
			v[i] = math.Sqrt(v[i])
		}
	}
	if c == MeanAbs || c == MeanL2 {
		for i := range v {
			v[i] /= float64(gs.size)
		}
	}
	return v
}

// GroupThresholdMask writes into dst the mask that keeps the structures of granularity
// g (block is read only for Blocks) of the tensor w (of the given shape) whose norm by c
// exceeds threshold, and zeroes the others (Distiller's group threshold, §1.3). It
// returns an error if g does not apply to the shape, and panics if len(dst) != len(w).
func GroupThresholdMask(dst, w []float32, shape []int, g Granularity, block []int, c Criterion, threshold float64) error {
	if len(dst) != len(w) {
		panic("stdlib: GroupThresholdMask: length mismatch")
	}
	gs, err := newGroups(shape, g, block)
	if err != nil {
		return fmt.Errorf("stdlib: %w", err)
	}
	if len(w) != gs.n*gs.size {
		return fmt.Errorf("stdlib: GroupThresholdMask: %d values for shape %v", len(w), shape)
	}
	v := gs.norms(w, c)
	keep := make([]bool, gs.n)
	for i, x := range v {
		keep[i] = x > threshold
	}
	gs.expand(dst, keep)
	return nil
}
