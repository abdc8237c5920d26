package stdlib

import (
	"math"
	"slices"
	"testing"

	"github.com/dst-dev/dst/nn"
)

// lossOnly evaluates a regularizer's loss without keeping the gradient it adds.
func lossOnly(r Regularizer, p *nn.Param) float64 {
	g := slices.Clone(p.GradData())
	l := r.Regularize([]*nn.Param{p})
	copy(p.GradData(), g)
	return l
}

// checkGradient compares the gradient r adds with central finite differences of its
// loss, element by element.
func checkGradient(t *testing.T, r Regularizer, p *nn.Param) {
	t.Helper()
	if err := r.Check([]*nn.Param{p}); err != nil {
		t.Fatalf("Check: %v", err)
	}
	clear(p.GradData())
	r.Regularize([]*nn.Param{p})
	analytic := slices.Clone(p.GradData())
	w := p.Data()
	const h = 1e-2
	for i := range w {
		orig := w[i]
		w[i] = orig + h
		up, hi := lossOnly(r, p), float64(w[i])
		w[i] = orig - h
		down, lo := lossOnly(r, p), float64(w[i])
		w[i] = orig
		numeric := (up - down) / (hi - lo)
		if d := math.Abs(numeric - float64(analytic[i])); d > 2e-3*max(1, math.Abs(numeric)) {
			t.Fatalf("element %d: gradient %v, finite difference %v", i, analytic[i], numeric)
		}
	}
}

func TestRegularizerGradients(t *testing.T) {
	crit := MaxAbs
	tests := []struct {
		name  string
		r     Regularizer
		shape []int
	}{
		{"l1", &L1Regularizer{Strength: 0.3}, []int{5, 4}},
		{"l2", &L2Regularizer{Strength: 0.7}, []int{5, 4}},
		{"lasso_kernels", &GroupLasso{Strength: 0.4, Groups: []Granularity{Kernels}}, []int{3, 4, 2, 2}},
		{"lasso_rows", &GroupLasso{Strength: 0.4, Groups: []Granularity{Rows}}, []int{5, 4}},
		{"lasso_cols", &GroupLasso{Strength: 0.4, Groups: []Granularity{Cols}}, []int{5, 4}},
		{"lasso_rows_cols", &GroupLasso{Strength: 0.4, Groups: []Granularity{Rows, Cols}, Threshold: &crit}, []int{5, 4}},
		{"lasso_channels", &GroupLasso{Strength: 0.4, Groups: []Granularity{Channels}}, []int{3, 4, 2, 2}},
		{"lasso_channels2d", &GroupLasso{Strength: 0.4, Groups: []Granularity{Channels}}, []int{5, 4}},
		{"lasso_filters", &GroupLasso{Strength: 0.4, Groups: []Granularity{Filters}}, []int{3, 4, 2, 2}},
		{"lasso_layers", &GroupLasso{Strength: 0.4, Groups: []Granularity{Layers}}, []int{3, 4, 2, 2}},
		{"lasso_channels_layers", &GroupLasso{Strength: 0.4, Groups: []Granularity{Channels, Layers}}, []int{3, 4, 2, 2}},
		{"lasso_blocks", &GroupLasso{Strength: 0.4, Groups: []Granularity{Blocks}, Block: []int{1, 2, 2, 2}}, []int{3, 4, 2, 2}},
		{"variance", &GroupVariance{Strength: 0.05}, []int{3, 5, 2, 2}},
		{"variance2d", &GroupVariance{Strength: 0.05}, []int{4, 6}},
	}
	r := newRand()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkGradient(t, tc.r, randParam(t, r, "w", tc.shape...))
		})
	}
}

func TestRegularizerValues(t *testing.T) {
	// 2×3 matrix: rows (3, 4, 0) and (0, 0, 0); columns (3, 0), (4, 0), (0, 0).
	w := []float32{3, 4, 0, 0, 0, 0}
	tests := []struct {
		name string
		r    Regularizer
		want float64
	}{
		{"l1", &L1Regularizer{Strength: 0.5}, 3.5},
		{"l2", &L2Regularizer{Strength: 0.5}, 12.5},
		{"rows", &GroupLasso{Strength: 2, Groups: []Granularity{Rows}}, 10},
		{"cols", &GroupLasso{Strength: 2, Groups: []Granularity{Cols}}, 14},
		{"rows_cols", &GroupLasso{Strength: 2, Groups: []Granularity{Rows, Cols}}, 24},
		{"layers", &GroupLasso{Strength: 2, Groups: []Granularity{Layers}}, 10},
		{"channels", &GroupLasso{Strength: 1, Groups: []Granularity{Channels}}, 3 + 4 + math.Sqrt(1e-8)},
		{"channels_layers", &GroupLasso{Strength: 1, Groups: []Granularity{Channels, Layers}}, 3 + 4 + math.Sqrt(1e-8) + 5},
	}
	for _, tc := range tests {
		p := paramOf(t, w, 2, 3)
		if got := tc.r.Regularize([]*nn.Param{p}); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("%s: loss %v, want %v", tc.name, got, tc.want)
		}
		for i, g := range p.GradData() {
			if w[i] == 0 && tc.name != "channels" && tc.name != "channels_layers" && g != 0 {
				t.Errorf("%s: gradient %v at a zero weight of a zero-norm group", tc.name, g)
			}
		}
	}
	// Channel norms of a 2×2 matrix (columns): 1 and 3 (+eps); var = 2; loss = λ/2.
	p := paramOf(t, []float32{1, 3, 0, 0}, 2, 2)
	if got := (&GroupVariance{Strength: 1}).Regularize([]*nn.Param{p}); math.Abs(got-0.5) > 1e-6 {
		t.Errorf("group variance: loss %v, want 0.5", got)
	}
	eq := paramOf(t, []float32{1, 1, 1, 1}, 2, 2)
	if got := (&GroupVariance{Strength: 1}).Regularize([]*nn.Param{eq}); !math.IsInf(got, 1) {
		t.Errorf("group variance of equal norms: loss %v, want +Inf", got)
	}
}

func TestRegularizerAccumulates(t *testing.T) {
	p := paramOf(t, []float32{1, -2}, 2)
	copy(p.GradData(), []float32{10, 10})
	(&L1Regularizer{Strength: 1}).Regularize([]*nn.Param{p})
	if want := []float32{11, 9}; !slices.Equal(p.GradData(), want) {
		t.Errorf("gradient %v, want %v (added, not replaced)", p.GradData(), want)
	}
}

func TestRegularizerThresholdMasks(t *testing.T) {
	p := paramOf(t, []float32{0.1, -0.5, 0.3, 0}, 2, 2)
	dst := make([]float32, 4)
	if ok, err := (&L1Regularizer{Strength: 0.3}).ThresholdMask(dst, p); ok || err != nil {
		t.Errorf("L1 without threshold: %v, %v", ok, err)
	}
	if ok, _ := (&L1Regularizer{Strength: 0.3, Threshold: true}).ThresholdMask(dst, p); !ok || !slices.Equal(dst, []float32{0, 1, 0, 0}) {
		t.Errorf("L1 threshold mask %v, want [0 1 0 0]", dst)
	}
	// 3×3 with max-criterion rows and cols at λ = 0.5: row 2 and column 0 are weak.
	q := paramOf(t, []float32{0.1, 1, 1, 0.2, 1, 1, 0.1, 0.2, 0.3}, 3, 3)
	c := MaxAbs
	gl := &GroupLasso{Strength: 0.5, Groups: []Granularity{Rows, Cols}, Threshold: &c}
	dst = make([]float32, 9)
	if ok, err := gl.ThresholdMask(dst, q); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if want := []float32{0, 1, 1, 0, 1, 1, 0, 0, 0}; !slices.Equal(dst, want) {
		t.Errorf("rows+cols threshold mask %v, want %v", dst, want)
	}
}

func TestRegularizerCheck(t *testing.T) {
	r := newRand()
	fc, bias := randParam(t, r, "fc", 4, 3), randParam(t, r, "b", 4)
	for name, tc := range map[string]struct {
		r Regularizer
		p *nn.Param
	}{
		"negative":      {&L1Regularizer{Strength: -1}, fc},
		"nan":           {&L2Regularizer{Strength: math.NaN()}, fc},
		"no groups":     {&GroupLasso{Strength: 1}, fc},
		"kernels on 2d": {&GroupLasso{Strength: 1, Groups: []Granularity{Kernels}}, fc},
		"rows on bias":  {&GroupLasso{Strength: 1, Groups: []Granularity{Rows}}, bias},
		"variance bias": {&GroupVariance{Strength: 1}, bias},
		"one channel":   {&GroupVariance{Strength: 1}, randParam(t, r, "x", 4, 1)},
	} {
		if err := tc.r.Check([]*nn.Param{tc.p}); err == nil {
			t.Errorf("%s: Check accepted it", name)
		}
	}
}

// BenchmarkRegularizeLeNetFC1 measures one minibatch's regularization of LeNet-300-100's
// 300×784 first layer: what a regularize policy adds to every training step.
func BenchmarkRegularizeLeNetFC1(b *testing.B) {
	r := newRand()
	p := randParam(b, r, "fc1.weight", 300, 784)
	for _, bc := range []struct {
		name string
		reg  Regularizer
	}{
		{"l1", &L1Regularizer{Strength: 1e-4}},
		{"l2", &L2Regularizer{Strength: 1e-4}},
		{"lasso_rows", &GroupLasso{Strength: 1e-4, Groups: []Granularity{Rows}}},
		{"lasso_rows_cols", &GroupLasso{Strength: 1e-4, Groups: []Granularity{Rows, Cols}}},
		{"variance", &GroupVariance{Strength: 1e-4}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(8 * p.Len())) // reads w, updates grad
			params := []*nn.Param{p}
			cpu := cpuTime()
			for b.Loop() {
				bc.reg.Regularize(params)
			}
			cpu = cpuTime() - cpu
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(p.Len()), "ns/param")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(p.Len()), "cpu-ns/param")
		})
	}
}
