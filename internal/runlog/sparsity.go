package runlog

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/dst-dev/dst/nn"
)

// The structure sparsities of a tensor, as Distiller defines them (distiller/utils.py),
// with one deliberate difference in naming (see ParamSparsity.Rows):
//
//	2-D weight, stored out×in (Linear):
//	  Rows  % of all-zero rows    = output units whose every weight is zero
//	  Cols  % of all-zero columns = inputs no output unit reads any more
//	  2D    % of all-zero rows (Distiller treats each row as the 2-D structure)
//	4-D weight, stored F×C×kh×kw (Conv2d):
//	  Ch    % of all-zero input channels (w[:, c, :, :] == 0)
//	  2D    % of all-zero kh×kw kernels   (w[f, c, :, :] == 0)
//	  3D    % of all-zero filters         (w[f, :, :, :] == 0)
//
// Columns that do not apply to a tensor's rank are 0, as in Distiller.

// ParamSparsity is one row of the sparsity table: the shape, non-zeros, structure
// sparsities and statistics of one weight tensor. Percentages are in [0, 100].
type ParamSparsity struct {
	// Name is the parameter's name.
	Name string `json:"name"`
	// Shape is the parameter's shape.
	Shape []int `json:"shape"`
	// Dense is the element count (Distiller's "NNZ (dense)").
	Dense int `json:"nnz_dense"`
	// NNZ is the number of non-zero elements (Distiller's "NNZ (sparse)").
	NNZ int `json:"nnz_sparse"`
	// Cols is the percentage of all-zero columns of a 2-D (out×in) weight, that is of
	// inputs that no output reads; 0 for 4-D weights.
	//
	// Distiller's current code swaps the names (its "Cols" counts zero rows); dst uses the
	// intuitive meaning.
	Cols float64 `json:"cols_pct"`
	// Rows is the percentage of all-zero rows of a 2-D (out×in) weight, that is of output
	// units (neurons) with no remaining weight; 0 for 4-D weights.
	Rows float64 `json:"rows_pct"`
	// Channels is the percentage of all-zero input channels of a 4-D weight; 0 for 2-D.
	Channels float64 `json:"ch_pct"`
	// Kernels is the percentage of all-zero 2-D structures: kh×kw kernels of a 4-D weight,
	// rows of a 2-D weight.
	Kernels float64 `json:"2d_pct"`
	// Filters is the percentage of all-zero filters (3-D structures) of a 4-D weight; 0
	// for 2-D.
	Filters float64 `json:"3d_pct"`
	// Fine is the element sparsity, 100·(Dense − NNZ)/Dense.
	Fine float64 `json:"fine_pct"`
	// Std is the sample standard deviation of the values (n−1 in the denominator, as
	// torch.std; 0 for a single element).
	Std float64 `json:"std"`
	// Mean is the mean of the values.
	Mean float64 `json:"mean"`
	// AbsMean is the mean of the absolute values.
	//
	// Std, Mean and AbsMean are NaN if a value is NaN (a diverged run); encoding/json
	// refuses such a row, so check them before marshaling a table of a broken model.
	AbsMean float64 `json:"abs_mean"`
}

// SparsityTable is the sparsity table of a model's weights with its "Total sparsity" row.
type SparsityTable struct {
	// Params holds one row per weight tensor, in the order the parameters were given.
	Params []ParamSparsity `json:"params"`
	// Dense is the total element count of the rows' tensors.
	Dense int `json:"nnz_dense"`
	// NNZ is their total number of non-zeros.
	NNZ int `json:"nnz_sparse"`
	// Sparsity is 100·(Dense − NNZ)/Dense, or 0 when the table is empty.
	Sparsity float64 `json:"sparsity_pct"`
}

// InTable reports whether p gets a row in the sparsity table: it must be 2-D or 4-D and its
// name must contain "weight". Distiller also lists 2-D and 4-D biases, which no standard
// layer has; dst leaves out biases and batch-norm parameters (1-D) so that the total is the
// sparsity of the weights that pruning acts on.
func InTable(p *nn.Param) bool {
	r := len(p.Value.Shape())
	return (r == 2 || r == 4) && strings.Contains(p.Name, "weight")
}

// Sparsity returns the sparsity table of the parameters for which [InTable] is true.
func Sparsity(params []*nn.Param) *SparsityTable {
	t := &SparsityTable{Params: []ParamSparsity{}}
	for _, p := range params {
		if !InTable(p) {
			continue
		}
		row := paramSparsity(p.Name, p.Shape(), p.Data())
		t.Params = append(t.Params, row)
		t.Dense += row.Dense
		t.NNZ += row.NNZ
	}
	t.Sparsity = pct(t.Dense-t.NNZ, t.Dense)
	return t
}

// pct returns 100·zero/n, or 0 when n is 0.
func pct(zero, n int) float64 {
	if n == 0 {
		return 0
	}
	return 100 * float64(zero) / float64(n)
}

// countZero returns how many of the flags are false.
func countZero(nonzero []bool) int {
	n := 0
	for _, nz := range nonzero {
		if !nz {
			n++
		}
	}
	return n
}

// paramSparsity computes the table row of one 2-D or 4-D tensor with values v.
// It panics if len(v) does not match shape; that is a programming error.
func paramSparsity(name string, shape []int, v []float32) ParamSparsity {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if n != len(v) {
		panic(fmt.Sprintf("runlog: %s has %d values for shape %v", name, len(v), shape))
	}
	r := ParamSparsity{Name: name, Shape: shape, Dense: n}
	var sum, abs float64
	for _, x := range v {
		if x != 0 {
			r.NNZ++
		}
		sum += float64(x)
		abs += math.Abs(float64(x))
	}
	if n > 0 {
		r.Fine = pct(n-r.NNZ, n)
		r.Mean = sum / float64(n)
		r.AbsMean = abs / float64(n)
	}
	if n > 1 {
		var ss float64
		for _, x := range v {
			d := float64(x) - r.Mean
			ss += d * d
		}
		r.Std = math.Sqrt(ss / float64(n-1))
	}
	switch len(shape) {
	case 2:
		rows, cols := shape[0], shape[1]
		rowNZ, colNZ := make([]bool, rows), make([]bool, cols)
		for i := range rows {
			for j, x := range v[i*cols : (i+1)*cols] {
				if x != 0 {
					rowNZ[i], colNZ[j] = true, true
				}
			}
		}
		r.Rows = pct(countZero(rowNZ), rows)
		r.Cols = pct(countZero(colNZ), cols)
		r.Kernels = r.Rows
	case 4:
		f, c, k := shape[0], shape[1], shape[2]*shape[3]
		kernNZ, filtNZ, chNZ := make([]bool, f*c), make([]bool, f), make([]bool, c)
		for i := range f * c {
			for _, x := range v[i*k : (i+1)*k] {
				if x != 0 {
					kernNZ[i], filtNZ[i/c], chNZ[i%c] = true, true, true
					break
				}
			}
		}
		r.Kernels = pct(countZero(kernNZ), f*c)
		r.Filters = pct(countZero(filtNZ), f)
		r.Channels = pct(countZero(chNZ), c)
	}
	return r
}

// shapeString formats a shape as Distiller does: "(20, 1, 5, 5)".
func shapeString(shape []int) string {
	s := make([]string, len(shape))
	for i, d := range shape {
		s[i] = strconv.Itoa(d)
	}
	return "(" + strings.Join(s, ", ") + ")"
}

// tableHeader holds the column titles; numeric columns (all but Name and Shape) are
// right-aligned.
var tableHeader = []string{"", "Name", "Shape", "NNZ (dense)", "NNZ (sparse)", "Cols (%)", "Rows (%)",
	"Ch (%)", "2D (%)", "3D (%)", "Fine (%)", "Std", "Mean", "Abs-Mean"}

// f5 formats a table float as Distiller does (floatfmt=".5f").
func f5(v float64) string { return strconv.FormatFloat(v, 'f', 5, 64) }

// WriteText prints the table in Distiller's layout (tabulate's "psql" format, five
// decimals), ending with the "Total sparsity" row and a "Total sparsity: x.xx" line:
//
//	+----+--------------+---------------+-------------+--------------+-- …
//	|    | Name         | Shape         | NNZ (dense) | NNZ (sparse) |   …
//	|----+--------------+---------------+-------------+--------------+-- …
//	|  0 | conv1.weight | (20, 1, 5, 5) |         500 |          150 |   …
//	|  1 | Total sparsity: | -          |         500 |          150 |   …
//	+----+--------------+---------------+-------------+--------------+-- …
//	Total sparsity: 70.00
//
// Cells that do not apply to the total row are "-".
func (t *SparsityTable) WriteText(w io.Writer) error {
	rows := [][]string{tableHeader}
	for i, p := range t.Params {
		rows = append(rows, []string{strconv.Itoa(i), p.Name, shapeString(p.Shape),
			strconv.Itoa(p.Dense), strconv.Itoa(p.NNZ), f5(p.Cols), f5(p.Rows), f5(p.Channels),
			f5(p.Kernels), f5(p.Filters), f5(p.Fine), f5(p.Std), f5(p.Mean), f5(p.AbsMean)})
	}
	rows = append(rows, []string{strconv.Itoa(len(t.Params)), "Total sparsity:", "-",
		strconv.Itoa(t.Dense), strconv.Itoa(t.NNZ), "-", "-", "-", "-", "-", f5(t.Sparsity), "-", "-", "-"})

	width := make([]int, len(tableHeader))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	var b strings.Builder
	// rule draws a horizontal line: +----+----+ around the table, |----+----| under the
	// header, as tabulate's psql format does.
	rule := func(edge byte) {
		b.WriteByte(edge)
		for i, wd := range width {
			if i > 0 {
				b.WriteByte('+')
			}
			b.WriteString(strings.Repeat("-", wd+2))
		}
		b.WriteByte(edge)
		b.WriteByte('\n')
	}
	rule('+')
	for ri, r := range rows {
		b.WriteByte('|')
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-len(c))
			b.WriteByte(' ')
			if i == 1 || i == 2 {
				b.WriteString(c + pad)
			} else {
				b.WriteString(pad + c)
			}
			b.WriteString(" |")
		}
		b.WriteByte('\n')
		if ri == 0 {
			rule('|')
		}
	}
	rule('+')
	fmt.Fprintf(&b, "Total sparsity: %.2f\n", t.Sparsity)
	_, err := io.WriteString(w, b.String())
	return err
}

// String returns the table as [SparsityTable.WriteText] prints it.
func (t *SparsityTable) String() string {
	var b strings.Builder
	t.WriteText(&b) // a strings.Builder never fails
	return b.String()
}

// Scalar is one TensorBoard scalar: a tag and its value for the current epoch.
type Scalar struct {
	// Tag is the TensorBoard tag, for example "sparsity/weights/fc1.weight".
	Tag string
	// Value is the scalar's value.
	Value float64
}

// Scalars returns the table's TensorBoard scalars under Distiller's tags, in percent:
// "sparsity/weights/<name>" (element sparsity) and "sparsity-2D/weights/<name>" (the 2D
// column) for every row, then "sparsity/weights/total".
func (t *SparsityTable) Scalars() []Scalar {
	s := make([]Scalar, 0, 2*len(t.Params)+1)
	for _, p := range t.Params {
		s = append(s,
			Scalar{"sparsity/weights/" + p.Name, p.Fine},
			Scalar{"sparsity-2D/weights/" + p.Name, p.Kernels})
	}
	return append(s, Scalar{"sparsity/weights/total", t.Sparsity})
}
