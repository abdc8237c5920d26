package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// level1Sizes reaches every unroll tail of 4-, 8-, 16-, 32- and 64-wide loops.
var level1Sizes = []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000, 1031}

func TestElementwise(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	type binop struct {
		name string
		f    func(dst, a, b []float32)
		ref  func(a, b float32, d float32) float32
	}
	ops := []binop{
		{"Add", Add, func(a, b, _ float32) float32 { return a + b }},
		{"Mul", Mul, func(a, b, _ float32) float32 { return a * b }},
		{"AddTo", func(dst, a, _ []float32) { AddTo(dst, a) }, func(a, _, d float32) float32 { return d + a }},
		{"Axpy", func(dst, a, _ []float32) { Axpy(dst, -0.75, a) }, func(a, _, d float32) float32 { return d - 0.75*a }},
		{"Axpy0", func(dst, a, _ []float32) { Axpy(dst, 0, a) }, func(_, _, d float32) float32 { return d }},
		{"Scale", func(dst, _, _ []float32) { Scale(dst, 1.5) }, func(_, _, d float32) float32 { return 1.5 * d }},
		{"Relu", func(dst, a, _ []float32) { Relu(dst, a) }, func(a, _, _ float32) float32 { return max(a, 0) }},
		{"ReluBackward", ReluBackward, func(a, b, _ float32) float32 {
			if b > 0 {
				return a
			}
			return 0
		}},
	}
	for _, op := range ops {
		for _, n := range level1Sizes {
			t.Run(op.name+"/"+sizeName(n), func(t *testing.T) {
				a, aall := guardedRand(rnd, n)
				b, ball := guardedRand(rnd, n)
				dst, dall := guardedRand(rnd, n)
				want := make([]float32, n)
				for i := range want {
					want[i] = op.ref(a[i], b[i], dst[i])
				}
				op.f(dst, a, b)
				checkClose(t, "dst", dst, want, 1e-6)
				checkGuards(t, "dst", dall)
				checkGuards(t, "a", aall)
				checkGuards(t, "b", ball)
			})
		}
	}
}

func TestElementwiseInPlace(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{0, 1, 17, 100} {
		x := make([]float32, n)
		fillRand(rnd, x)
		want := make([]float32, n)
		for i, v := range x {
			want[i] = v + v
		}
		Add(x, x, x)
		checkClose(t, "Add in place", x, want, 1e-6)
		for i, v := range x {
			want[i] = max(v, 0)
		}
		Relu(x, x)
		checkClose(t, "Relu in place", x, want, 0)
	}
}

func TestReluNaN(t *testing.T) {
	// Long enough to run through the vector loops as well as the tails.
	var src, dy, wantRelu, wantBack []float32
	special := []float32{nan32, -1, 2, float32(math.Inf(1)), float32(math.Inf(-1)), 0}
	for i := 0; i < 70; i++ {
		v := special[i%len(special)]
		src = append(src, v)
		dy = append(dy, float32(i))
		if v > 0 {
			wantRelu = append(wantRelu, v)
			wantBack = append(wantBack, float32(i))
		} else {
			wantRelu = append(wantRelu, 0)
			wantBack = append(wantBack, 0)
		}
	}
	dst := make([]float32, len(src))
	Relu(dst, src)
	checkClose(t, "Relu", dst, wantRelu, 0)
	ReluBackward(dst, dy, src)
	checkClose(t, "ReluBackward", dst, wantBack, 0)
}

func TestAddBiasRelu(t *testing.T) {
	src := []float32{-3, -0.5, 0, 0.25, 4, nan32}
	for _, tc := range []struct {
		relu bool
		want []float32
	}{
		{false, []float32{-2, 0.5, 1, 1.25, 5}},
		{true, []float32{0, 0.5, 1, 1.25, 5}},
	} {
		dst := make([]float32, len(src))
		AddBiasRelu(dst, src, 1, tc.relu)
		checkClose(t, "AddBiasRelu", dst[:5], tc.want, 0)
		if dst[5] == dst[5] {
			t.Errorf("AddBiasRelu(relu=%v) of NaN = %v, want NaN", tc.relu, dst[5])
		}
		in := append([]float32(nil), src...)
		AddBiasRelu(in, in, 1, tc.relu) // in place
		checkClose(t, "AddBiasRelu in place", in[:5], tc.want, 0)
	}
}

// TestAddBiasReluSizes checks the vector loops of AddBiasRelu against the scalar
// definition on every length of level1Sizes, with NaNs, infinities and zeros of both
// signs among the values: a NaN stays NaN, with and without the ReLU.
func TestAddBiasReluSizes(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 9))
	special := []float32{nan32, float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), -1.5}
	for _, n := range level1Sizes {
		src := make([]float32, n)
		fillRand(rnd, src)
		for i := 0; i < n; i += 7 {
			src[i] = special[i%len(special)]
		}
		for _, relu := range []bool{false, true} {
			for _, bias := range []float32{0, 0.75, -0.25} {
				want := make([]float32, n)
				for i, v := range src {
					want[i] = v + bias
					if relu {
						want[i] = max(want[i], 0)
					}
				}
				dst, all := guardedRand(rnd, n)
				AddBiasRelu(dst, src, bias, relu)
				checkGuards(t, "AddBiasRelu dst", all)
				for i := range want {
					if dst[i] != want[i] && !(dst[i] != dst[i] && want[i] != want[i]) {
						t.Fatalf("n=%d relu=%v bias=%v: dst[%d] = %v, want %v (src %v)", n, relu, bias, i, dst[i], want[i], src[i])
					}
				}
			}
		}
	}
}

func TestReductions(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	for _, n := range level1Sizes {
		t.Run(sizeName(n), func(t *testing.T) {
			x, xall := guardedRand(rnd, n)
			y, yall := guardedRand(rnd, n)
			var sum, dot, abs, sq, mx float64
			for i := range x {
				sum += float64(x[i])
				dot += float64(x[i]) * float64(y[i])
				abs += math.Abs(float64(x[i]))
				sq += float64(x[i]) * float64(x[i])
				mx = math.Max(mx, math.Abs(float64(x[i])))
			}
			tol := float32(1e-5) * float32(max(1, n/64))
			for _, c := range []struct {
				name      string
				got, want float32
			}{
				{"Sum", Sum(x), float32(sum)},
				{"Dot", Dot(x, y), float32(dot)},
				{"SumAbs", SumAbs(x), float32(abs)},
				{"SumSq", SumSq(x), float32(sq)},
				{"MaxAbs", MaxAbs(x), float32(mx)},
			} {
				if !close32(c.got, c.want, tol) {
					t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
				}
			}
			checkGuards(t, "x", xall)
			checkGuards(t, "y", yall)
		})
	}
}

func TestMaxAbsNaN(t *testing.T) {
	if v := MaxAbs([]float32{1, nan32, 3}); !math.IsNaN(float64(v)) {
		t.Errorf("MaxAbs with NaN = %v, want NaN", v)
	}
	if v := MaxAbs([]float32{-5, 3}); v != 5 {
		t.Errorf("MaxAbs = %v, want 5", v)
	}
	// Long enough for the vector loops: a NaN anywhere wins, -Inf counts
	// as +Inf.
	for _, at := range []int{0, 5, 31, 32, 39, 44} {
		x := make([]float32, 45)
		for i := range x {
			x[i] = float32(i%7) - 3
		}
		x[at] = nan32
		if v := MaxAbs(x); !math.IsNaN(float64(v)) {
			t.Errorf("MaxAbs with NaN at %d = %v, want NaN", at, v)
		}
		x[at] = float32(math.Inf(-1))
		if v := MaxAbs(x); !math.IsInf(float64(v), 1) {
			t.Errorf("MaxAbs with -Inf at %d = %v, want +Inf", at, v)
		}
		x[at] = -100
		if v := MaxAbs(x); v != 100 {
			t.Errorf("MaxAbs with -100 at %d = %v, want 100", at, v)
		}
	}
}

func TestBroadcasts(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	for _, sz := range [][2]int{{0, 0}, {0, 5}, {5, 0}, {1, 1}, {3, 7}, {7, 17}, {16, 33}, {2, 257}} {
		r, c := sz[0], sz[1]
		t.Run(sizeName(r, c), func(t *testing.T) {
			dst, dall := guardedRand(rnd, r*c)
			v, vall := guardedRand(rnd, c)
			want := make([]float32, r*c)
			for i := range want {
				want[i] = dst[i] + v[i%c]
			}
			AddRowVector(dst, r, c, v)
			checkClose(t, "AddRowVector", dst, want, 1e-6)
			checkGuards(t, "AddRowVector dst", dall)
			checkGuards(t, "AddRowVector v", vall)

			// Treat r as channels and c as spatial size.
			bias, ball := guardedRand(rnd, r)
			for i := range want {
				want[i] = dst[i] + bias[i/c]
			}
			AddChannelBias(dst, r, c, bias)
			checkClose(t, "AddChannelBias", dst, want, 1e-6)
			checkGuards(t, "AddChannelBias dst", dall)
			checkGuards(t, "AddChannelBias bias", ball)

			cs, call := guardedRand(rnd, c)
			wantCols := make([]float64, c)
			for i := range wantCols {
				wantCols[i] = float64(cs[i])
			}
			for i, x := range dst {
				wantCols[i%c] += float64(x)
			}
			SumRowsTo(cs, dst, r, c)
			for i := range cs {
				if !close32(cs[i], float32(wantCols[i]), 1e-5) {
					t.Errorf("SumRowsTo[%d] = %v, want %v", i, cs[i], wantCols[i])
				}
			}
			checkGuards(t, "SumRowsTo", call)

			chs, chall := guardedRand(rnd, r)
			wantCh := make([]float64, r)
			for i := range wantCh {
				wantCh[i] = float64(chs[i])
			}
			for i, x := range dst {
				wantCh[i/c] += float64(x)
			}
			SumChannelsTo(chs, dst, r, c)
			for i := range chs {
				if !close32(chs[i], float32(wantCh[i]), 1e-5) {
					t.Errorf("SumChannelsTo[%d] = %v, want %v", i, chs[i], wantCh[i])
				}
			}
			checkGuards(t, "SumChannelsTo", chall)
		})
	}
}

func TestLevel1Panics(t *testing.T) {
	a, b := make([]float32, 3), make([]float32, 4)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"Axpy", func() { Axpy(a, 1, b) }},
		{"Add", func() { Add(a, a, b) }},
		{"AddTo", func() { AddTo(a, b) }},
		{"Mul", func() { Mul(b, a, b) }},
		{"Relu", func() { Relu(a, b) }},
		{"ReluBackward", func() { ReluBackward(a, a, b) }},
		{"AddBiasRelu", func() { AddBiasRelu(a, b, 1, true) }},
		{"Dot", func() { Dot(a, b) }},
		{"AddRowVector", func() { AddRowVector(b, 2, 2, a) }},
		{"AddRowVectorNeg", func() { AddRowVector(nil, -1, 0, nil) }},
		{"AddChannelBias", func() { AddChannelBias(b, 2, 2, a) }},
		{"SumRowsTo", func() { SumRowsTo(a, b, 2, 2) }},
		{"SumChannelsTo", func() { SumChannelsTo(a, b, 2, 2) }},
	} {
		mustPanic(t, c.name, c.f)
	}
}

func TestDot4(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{0, 1, 7, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 100, 784} {
		for _, pad := range []int{0, 3} {
			ldy := n + pad
			x, xall := guardedRand(rnd, n)
			y, yall := guardedRand(rnd, 3*ldy+n)
			var got [4]float32
			dot4(&got, x, y, ldy)
			for r := range got {
				var want float64
				for p := 0; p < n; p++ {
					want += float64(x[p]) * float64(y[r*ldy+p])
				}
				if !close32(got[r], float32(want), 1e-5*float32(max(1, n/64))) {
					t.Errorf("dot4 n=%d pad=%d row %d = %v, want %v", n, pad, r, got[r], want)
				}
			}
			checkGuards(t, "x", xall)
			checkGuards(t, "y", yall)
		}
	}
}
