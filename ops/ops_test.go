package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dst-dev/dst/kernels"

	"gorgonia.org/tensor"
)

// randTensor returns a tensor of the given shape with values uniform in [-1, 1).
func randTensor(t *testing.T, r *rand.Rand, shape ...int) *tensor.Dense {
	t.Helper()
	x := New(shape...)
	for i := range F32(x) {
		F32(x)[i] = float32(2*r.Float64() - 1)
	}
	return x
}

// spaced returns a tensor whose values are a random permutation of evenly spaced values
// 0.01 apart, centred on 0, and shifted away from 0: max pooling and ReLU then have no
// near-ties or near-kinks for finite differences to trip over.
func spaced(t *testing.T, r *rand.Rand, shape ...int) *tensor.Dense {
	t.Helper()
	x := New(shape...)
	d := F32(x)
	for i, j := range r.Perm(len(d)) {
		v := float32(j-len(d)/2) * 0.01
		if v >= 0 {
			v += 0.005
		} else {
			v -= 0.005
		}
		d[i] = v
	}
	return x
}

// dotLoss returns Σ y·r in float64: a scalar loss whose gradient with respect to y is r.
func dotLoss(y, r *tensor.Dense) float64 {
	var s float64
	rd := F32(r)
	for i, v := range F32(y) {
		s += float64(v) * float64(rd[i])
	}
	return s
}

// checkGrad compares grad, the analytic gradient of loss with respect to x, with central
// finite differences, perturbing x in place. loss must recompute the forward pass.
func checkGrad(t *testing.T, what string, x, grad *tensor.Dense, loss func() float64, eps, atol, rtol float64) {
	t.Helper()
	xd, gd := F32(x), F32(grad)
	if len(xd) != len(gd) {
		t.Fatalf("%s: gradient has %d values, want %d", what, len(gd), len(xd))
	}
	bad := 0
	for i := range xd {
		orig := xd[i]
		xd[i] = orig + float32(eps)
		lp := loss()
		xd[i] = orig - float32(eps)
		lm := loss()
		xd[i] = orig
		num := (lp - lm) / (float64(float32(orig+float32(eps))) - float64(float32(orig-float32(eps))))
		ana := float64(gd[i])
		if math.Abs(num-ana) > atol+rtol*math.Abs(num) || math.IsNaN(ana) {
			if bad < 5 {
				t.Errorf("%s[%d]: analytic %.6g, numerical %.6g", what, i, ana, num)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d gradient values differ", what, bad, len(xd))
	}
}

func zeros(t *testing.T, like *tensor.Dense) *tensor.Dense {
	t.Helper()
	return New(like.Shape()...)
}

// naiveConv is the reference convolution loop.
func naiveConv(x, w, b []float32, n, c, h, wd, cout, kh, kw, sh, sw, ph, pw int) ([]float32, int, int) {
	oh := (h+2*ph-kh)/sh + 1
	ow := (wd+2*pw-kw)/sw + 1
	y := make([]float32, n*cout*oh*ow)
	for i := 0; i < n; i++ {
		for o := 0; o < cout; o++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s float64
					if b != nil {
						s = float64(b[o])
					}
					for ch := 0; ch < c; ch++ {
						for ki := 0; ki < kh; ki++ {
							for kj := 0; kj < kw; kj++ {
								iy, ix := oy*sh-ph+ki, ox*sw-pw+kj
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								s += float64(x[((i*c+ch)*h+iy)*wd+ix]) * float64(w[((o*c+ch)*kh+ki)*kw+kj])
							}
						}
					}
					y[((i*cout+o)*oh+oy)*ow+ox] = float32(s)
				}
			}
		}
	}
	return y, oh, ow
}

func TestConv2d(t *testing.T) {
	cases := []struct {
		name                     string
		n, c, h, w, cout, kh, kw int
		sh, sw, ph, pw           int
		bias, relu               bool
	}{
		{"k3s1p1", 2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, true, false},
		{"k3s2p1", 2, 2, 7, 8, 3, 3, 3, 2, 2, 1, 1, true, false},
		{"k2x3s2p0", 3, 2, 6, 7, 2, 2, 3, 2, 2, 0, 0, true, false},
		{"k5nobias", 2, 1, 9, 9, 3, 5, 5, 1, 1, 0, 0, false, false},
		{"k1s2nobias", 2, 4, 6, 6, 5, 1, 1, 2, 2, 0, 0, false, false},
		{"stride2x1pad2x0relu", 2, 2, 7, 6, 3, 3, 2, 2, 1, 2, 0, true, true},
		{"k3s1p1relu", 1, 3, 5, 5, 4, 3, 3, 1, 1, 1, 1, true, true},
		// Stride 1 without padding takes a fast path: rows of 16+ values (copy) and
		// of 8+2 values (array moves and a tail).
		{"valid-ow16", 2, 2, 6, 20, 3, 3, 5, 1, 1, 0, 0, true, true},
		{"valid-ow10", 2, 3, 5, 12, 2, 3, 3, 1, 1, 0, 0, true, false},
		{"valid-ow68", 1, 1, 3, 70, 2, 1, 3, 1, 1, 0, 0, true, false},
	}
	for _, tc := range cases {
		for _, chunked := range []bool{false, true} {
			name := tc.name
			if chunked {
				name += "-chunked"
			}
			t.Run(name, func(t *testing.T) {
				r := rand.New(rand.NewPCG(1, 1))
				x := randTensor(t, r, tc.n, tc.c, tc.h, tc.w)
				w := randTensor(t, r, tc.cout, tc.c, tc.kh, tc.kw)
				var b, db *tensor.Dense
				var bd []float32
				if tc.bias {
					b = randTensor(t, r, tc.cout)
					db = zeros(t, b)
					bd = F32(b)
				}
				cv := &Conv2d{StrideH: tc.sh, StrideW: tc.sw, PadH: tc.ph, PadW: tc.pw, Relu: tc.relu}
				if chunked {
					cv.colTarget = 1 // one sample per chunk
				}
				y := cv.Forward(x, w, b)
				if chunked && tc.n > 1 && cv.chunk != 1 {
					t.Fatalf("chunk %d, want 1", cv.chunk)
				}
				want, oh, ow := naiveConv(F32(x), F32(w), bd, tc.n, tc.c, tc.h, tc.w, tc.cout, tc.kh, tc.kw, tc.sh, tc.sw, tc.ph, tc.pw)
				if tc.relu {
					for i, v := range want {
						want[i] = max(v, 0)
					}
				}
				if got := y.Shape(); !shapeIs(got, []int{tc.n, tc.cout, oh, ow}) {
					t.Fatalf("output shape %v, want %v", got, []int{tc.n, tc.cout, oh, ow})
				}
				for i, v := range F32(y) {
					if math.Abs(float64(v-want[i])) > 1e-5 {
						t.Fatalf("y[%d] = %v, want %v", i, v, want[i])
					}
				}
				rr := randTensor(t, r, y.Shape()...)
				dw := zeros(t, w)
				dx := cv.Backward(rr, w, dw, db)
				dxc := New(dx.Shape()...)
				copy(F32(dxc), F32(dx))
				loss := func() float64 { return dotLoss(cv.Forward(x, w, b), rr) }
				checkGrad(t, "dx", x, dxc, loss, 1e-3, 2e-3, 1e-2)
				checkGrad(t, "dw", w, dw, loss, 1e-3, 2e-3, 1e-2)
				if tc.bias {
					checkGrad(t, "db", b, db, loss, 1e-3, 2e-3, 1e-2)
				}
			})
		}
	}
}

func TestConv2dAccumulatesAndSkipsInputGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	x := randTensor(t, r, 2, 2, 5, 5)
	w := randTensor(t, r, 3, 2, 3, 3)
	b := randTensor(t, r, 3)
	cv := NewConv2d(1, 1)
	y := cv.Forward(x, w, b)
	dy := randTensor(t, r, y.Shape()...)
	dw1, db1 := zeros(t, w), zeros(t, b)
	cv.Backward(dy, w, dw1, db1)
	cv.NoInputGrad = true
	cv.Forward(x, w, b)
	dw2, db2 := zeros(t, w), zeros(t, b)
	copy(F32(dw2), F32(dw1))
	copy(F32(db2), F32(db1))
	if dx := cv.Backward(dy, w, dw2, db2); dx != nil {
		t.Fatalf("NoInputGrad: got an input gradient")
	}
	for i, v := range F32(dw2) {
		if math.Abs(float64(v-2*F32(dw1)[i])) > 1e-5 {
			t.Fatalf("dw[%d] = %v after two backward passes, want %v", i, v, 2*F32(dw1)[i])
		}
	}
	for i, v := range F32(db2) {
		if math.Abs(float64(v-2*F32(db1)[i])) > 1e-5 {
			t.Fatalf("db[%d] = %v after two backward passes, want %v", i, v, 2*F32(db1)[i])
		}
	}
}

func TestLinear(t *testing.T) {
	cases := []struct {
		name       string
		shape      []int
		out        int
		bias, relu bool
	}{
		{"2d", []int{3, 5}, 4, true, false},
		{"4d-input", []int{2, 2, 2, 3}, 3, true, false},
		{"nobias", []int{4, 6}, 2, false, false},
		{"relu", []int{5, 7}, 6, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 1))
			var x *tensor.Dense
			if tc.relu {
				x = spaced(t, r, tc.shape...)
			} else {
				x = randTensor(t, r, tc.shape...)
			}
			n, in := rows(x)
			w := randTensor(t, r, tc.out, in)
			var b, db *tensor.Dense
			if tc.bias {
				b = randTensor(t, r, tc.out)
				db = zeros(t, b)
			}
			li := &Linear{Relu: tc.relu}
			y := li.Forward(x, w, b)
			for i := 0; i < n; i++ {
				for o := 0; o < tc.out; o++ {
					var s float64
					if b != nil {
						s = float64(F32(b)[o])
					}
					for k := 0; k < in; k++ {
						s += float64(F32(x)[i*in+k]) * float64(F32(w)[o*in+k])
					}
					if tc.relu {
						s = max(s, 0)
					}
					if got := F32(y)[i*tc.out+o]; math.Abs(float64(got)-s) > 1e-5 {
						t.Fatalf("y[%d][%d] = %v, want %v", i, o, got, s)
					}
				}
			}
			rr := randTensor(t, r, n, tc.out)
			dw := zeros(t, w)
			dx := li.Backward(rr, w, dw, db)
			if !shapeIs(dx.Shape(), tc.shape) {
				t.Fatalf("dx shape %v, want %v", dx.Shape(), tc.shape)
			}
			dxc := New(dx.Shape()...)
			copy(F32(dxc), F32(dx))
			loss := func() float64 { return dotLoss(li.Forward(x, w, b), rr) }
			checkGrad(t, "dx", x, dxc, loss, 1e-3, 2e-3, 1e-2)
			checkGrad(t, "dw", w, dw, loss, 1e-3, 2e-3, 1e-2)
			if tc.bias {
				checkGrad(t, "db", b, db, loss, 1e-3, 2e-3, 1e-2)
			}
		})
	}
}

func TestPooling(t *testing.T) {
	cases := []struct {
		name    string
		avg     bool
		k, s, p int
		h, w    int
	}{
		{"max-k2s2", false, 2, 2, 0, 6, 6},
		{"max-k3s2p1", false, 3, 2, 1, 7, 6},
		{"max-k2s1", false, 2, 1, 0, 4, 5},
		{"avg-k2s2", true, 2, 2, 0, 6, 6},
		{"avg-k3s1p1", true, 3, 1, 1, 5, 4},
		{"avg-k4s1", true, 4, 1, 0, 4, 4},
		{"avg-k3s2p1", true, 3, 2, 1, 7, 7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 1))
			x := spaced(t, r, 2, 3, tc.h, tc.w)
			var fwd func() *tensor.Dense
			var bwd func(dy *tensor.Dense) *tensor.Dense
			if tc.avg {
				op := NewAvgPool2d(tc.k, tc.s, tc.p)
				fwd = func() *tensor.Dense { return op.Forward(x) }
				bwd = op.Backward
			} else {
				op := NewMaxPool2d(tc.k, tc.s, tc.p)
				fwd = func() *tensor.Dense { return op.Forward(x) }
				bwd = op.Backward
			}
			y := fwd()
			rr := randTensor(t, r, y.Shape()...)
			dx := bwd(rr)
			dxc := New(dx.Shape()...)
			copy(F32(dxc), F32(dx))
			checkGrad(t, "dx", x, dxc, func() float64 { return dotLoss(fwd(), rr) }, 1e-3, 2e-3, 1e-2)
		})
	}
}

func TestReLUFlattenAdd(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	x := spaced(t, r, 2, 3, 4, 4)
	x2 := randTensor(t, r, 2, 3, 4, 4)
	var relu ReLU
	var fl Flatten
	var add Add
	fwd := func() *tensor.Dense { return fl.Forward(add.Forward(relu.Forward(x), x2)) }
	y := fwd()
	if !shapeIs(y.Shape(), []int{2, 48}) {
		t.Fatalf("flattened shape %v, want [2 48]", y.Shape())
	}
	rr := randTensor(t, r, 2, 48)
	g := fl.Backward(rr)
	if !shapeIs(g.Shape(), []int{2, 3, 4, 4}) {
		t.Fatalf("flatten gradient shape %v, want [2 3 4 4]", g.Shape())
	}
	da, db := add.Backward(g)
	dx := relu.Backward(da)
	dxc, db2 := New(dx.Shape()...), New(db.Shape()...)
	copy(F32(dxc), F32(dx))
	copy(F32(db2), F32(db))
	loss := func() float64 { return dotLoss(fwd(), rr) }
	checkGrad(t, "dx", x, dxc, loss, 1e-3, 2e-3, 1e-2)
	checkGrad(t, "dx2", x2, db2, loss, 1e-3, 2e-3, 1e-2)
}

func TestDropout(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	x := randTensor(t, r, 4, 50)
	d := NewDropout(0.3, 7)
	if y := d.Forward(x, false); y != x {
		t.Fatalf("eval mode must return the input")
	}
	fwd := func() *tensor.Dense {
		d.Rand = rand.New(rand.NewPCG(7, 0))
		return d.Forward(x, true)
	}
	y := fwd()
	zeroed := 0
	for i, v := range F32(y) {
		switch {
		case v == 0:
			zeroed++
		case math.Abs(float64(v-F32(x)[i]/0.7)) > 1e-6:
			t.Fatalf("kept value %v, want %v", v, F32(x)[i]/0.7)
		}
	}
	if zeroed < 30 || zeroed > 90 {
		t.Fatalf("%d of 200 values dropped, want about 60", zeroed)
	}
	rr := randTensor(t, r, 4, 50)
	dx := d.Backward(rr)
	dxc := New(dx.Shape()...)
	copy(F32(dxc), F32(dx))
	checkGrad(t, "dx", x, dxc, func() float64 { return dotLoss(fwd(), rr) }, 1e-3, 2e-3, 1e-2)
}

func TestBatchNorm2d(t *testing.T) {
	for _, train := range []bool{true, false} {
		name := "eval"
		if train {
			name = "train"
		}
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 1))
			n, c, h, w := 3, 4, 3, 2
			x := randTensor(t, r, n, c, h, w)
			for i := range F32(x) {
				F32(x)[i] = F32(x)[i]*2 + 0.5
			}
			gamma, beta := randTensor(t, r, c), randTensor(t, r, c)
			rm, rv := randTensor(t, r, c), randTensor(t, r, c)
			for i := range F32(rv) {
				F32(rv)[i] = 0.5 + F32(rv)[i]*F32(rv)[i]
			}
			rm0, rv0 := append([]float32(nil), F32(rm)...), append([]float32(nil), F32(rv)...)
			bn := NewBatchNorm2d()
			y := bn.Forward(x, gamma, beta, rm, rv, train)
			// Reference statistics and output.
			m := float64(n * h * w)
			for ch := 0; ch < c; ch++ {
				var s, q float64
				for i := 0; i < n; i++ {
					for j := 0; j < h*w; j++ {
						s += float64(F32(x)[(i*c+ch)*h*w+j])
					}
				}
				mean := s / m
				for i := 0; i < n; i++ {
					for j := 0; j < h*w; j++ {
						d := float64(F32(x)[(i*c+ch)*h*w+j]) - mean
						q += d * d
					}
				}
				variance := q / m
				wantRM, wantRV := float64(rm0[ch]), float64(rv0[ch])
				if train {
					wantRM = 0.9*wantRM + 0.1*mean
					wantRV = 0.9*wantRV + 0.1*variance*m/(m-1)
				} else {
					mean, variance = wantRM, wantRV
				}
				if math.Abs(float64(F32(rm)[ch])-wantRM) > 1e-6 || math.Abs(float64(F32(rv)[ch])-wantRV) > 1e-6 {
					t.Fatalf("channel %d running stats %v, %v; want %v, %v", ch, F32(rm)[ch], F32(rv)[ch], wantRM, wantRV)
				}
				for i := 0; i < n; i++ {
					for j := 0; j < h*w; j++ {
						k := (i*c+ch)*h*w + j
						want := (float64(F32(x)[k])-mean)/math.Sqrt(variance+1e-5)*float64(F32(gamma)[ch]) + float64(F32(beta)[ch])
						if math.Abs(float64(F32(y)[k])-want) > 1e-5 {
							t.Fatalf("y[%d] = %v, want %v", k, F32(y)[k], want)
						}
					}
				}
			}
			rr := randTensor(t, r, y.Shape()...)
			dg, db := zeros(t, gamma), zeros(t, beta)
			dx := bn.Backward(rr, gamma, dg, db)
			dxc := New(dx.Shape()...)
			copy(F32(dxc), F32(dx))
			loss := func() float64 { return dotLoss(bn.Forward(x, gamma, beta, rm, rv, train), rr) }
			checkGrad(t, "dx", x, dxc, loss, 1e-3, 2e-3, 1e-2)
			checkGrad(t, "dgamma", gamma, dg, loss, 1e-3, 2e-3, 1e-2)
			checkGrad(t, "dbeta", beta, db, loss, 1e-3, 2e-3, 1e-2)
		})
	}
}

func TestLosses(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	x := randTensor(t, r, 5, 7)
	for i := range F32(x) {
		F32(x)[i] *= 3
	}
	labels := []int32{0, 6, 3, 3, 1}

	t.Run("cross-entropy", func(t *testing.T) {
		var ce CrossEntropy
		l := ce.Forward(x, labels)
		var want float64
		for i, lab := range labels {
			var s float64
			for j := 0; j < 7; j++ {
				s += math.Exp(float64(F32(x)[i*7+j]))
			}
			want += math.Log(s) - float64(F32(x)[i*7+int(lab)])
		}
		want /= 5
		if math.Abs(l-want) > 1e-5 {
			t.Fatalf("loss %v, want %v", l, want)
		}
		dx := ce.Backward()
		dxc := New(dx.Shape()...)
		copy(F32(dxc), F32(dx))
		checkGrad(t, "dx", x, dxc, func() float64 { return ce.Forward(x, labels) }, 1e-3, 1e-4, 1e-2)
	})

	t.Run("log-softmax+nll", func(t *testing.T) {
		var ls LogSoftmax
		var nl NLLLoss
		var ce CrossEntropy
		loss := func() float64 { return nl.Forward(ls.Forward(x), labels) }
		l := loss()
		if want := ce.Forward(x, labels); math.Abs(l-want) > 1e-6 {
			t.Fatalf("log-softmax+nll %v, cross-entropy %v", l, want)
		}
		dx := ls.Backward(nl.Backward())
		dxc := New(dx.Shape()...)
		copy(F32(dxc), F32(dx))
		checkGrad(t, "dx", x, dxc, loss, 1e-3, 1e-4, 1e-2)
		// LogSoftmax alone, against a random upstream gradient.
		rr := randTensor(t, r, 5, 7)
		ls.Forward(x)
		dx = ls.Backward(rr)
		copy(F32(dxc), F32(dx))
		checkGrad(t, "logsoftmax dx", x, dxc, func() float64 { return dotLoss(ls.Forward(x), rr) }, 1e-3, 2e-3, 1e-2)
	})
}

// TestNoAllocs runs a small CNN step (conv, pool, BN, linear, loss) at a fixed batch
// size and checks that, once the buffers exist, forward and backward allocate nothing.
func TestNoAllocs(t *testing.T) {
	// The GEMM kernel is another package's; if it allocates by itself, this test cannot
	// see whether the ops do.
	a, c := make([]float32, 64*256), make([]float32, 64*64)
	if n := testing.AllocsPerRun(3, func() { kernels.Sgemm(false, true, 64, 64, 256, 1, a, 256, a, 256, 0, c, 64) }); n > 0 {
		t.Skipf("kernels.Sgemm allocates %v times per call", n)
	}
	r := rand.New(rand.NewPCG(1, 1))
	x := randTensor(t, r, 4, 1, 12, 12)
	w1, b1 := randTensor(t, r, 6, 1, 3, 3), randTensor(t, r, 6)
	g, be, rm, rv := randTensor(t, r, 6), randTensor(t, r, 6), New(6), New(6)
	for i := range F32(rv) {
		F32(rv)[i] = 1
	}
	w2, b2 := randTensor(t, r, 10, 6*6*6), randTensor(t, r, 10)
	dw1, db1, dg, dbe, dw2, db2 := zeros(t, w1), zeros(t, b1), zeros(t, g), zeros(t, be), zeros(t, w2), zeros(t, b2)
	labels := []int32{1, 2, 3, 4}
	conv := NewConv2d(1, 1)
	conv.Relu = true
	bn := NewBatchNorm2d()
	pool := NewMaxPool2d(2, 2, 0)
	var fl Flatten
	var relu ReLU
	var fc Linear
	var ce CrossEntropy
	step := func() {
		h := conv.Forward(x, w1, b1)
		h = bn.Forward(h, g, be, rm, rv, true)
		h = relu.Forward(h)
		h = pool.Forward(h)
		h = fl.Forward(h)
		h = fc.Forward(h, w2, b2)
		ce.Forward(h, labels)
		d := ce.Backward()
		d = fc.Backward(d, w2, dw2, db2)
		d = fl.Backward(d)
		d = pool.Backward(d)
		d = relu.Backward(d)
		d = bn.Backward(d, g, dg, dbe)
		conv.Backward(d, w1, dw1, db1)
	}
	step()
	if a := testing.AllocsPerRun(10, step); a != 0 {
		t.Fatalf("%v allocations per step, want 0", a)
	}
}

// TestConv2dPool2x2 checks the fused convolution + ReLU + 2×2 max pooling against the
// separate ops and against finite differences.
func TestConv2dPool2x2(t *testing.T) {
	for _, tc := range []struct {
		name          string
		h, w          int
		relu, chunked bool
	}{{"relu", 9, 8, true, false}, {"no-relu", 8, 8, false, false}, {"odd-chunked", 7, 9, true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 1))
			x := randTensor(t, r, 3, 2, tc.h, tc.w)
			w := randTensor(t, r, 4, 2, 3, 3)
			b := randTensor(t, r, 4)
			fused := &Conv2d{StrideH: 1, StrideW: 1, PadH: 0, PadW: 0, Relu: tc.relu, Pool2x2: true}
			if tc.chunked {
				fused.colTarget = 1
			}
			plain := &Conv2d{StrideH: 1, StrideW: 1, Relu: tc.relu}
			pool := NewMaxPool2d(2, 2, 0)
			y := fused.Forward(x, w, b)
			want := pool.Forward(plain.Forward(x, w, b))
			if !shapeIs(y.Shape(), want.Shape()) {
				t.Fatalf("shape %v, want %v", y.Shape(), want.Shape())
			}
			for i, v := range F32(y) {
				if v != F32(want)[i] {
					t.Fatalf("y[%d] = %v, separate ops give %v", i, v, F32(want)[i])
				}
			}
			rr := randTensor(t, r, y.Shape()...)
			dw, db := zeros(t, w), zeros(t, b)
			dx := fused.Backward(rr, w, dw, db)
			// The separate ops' gradients must agree.
			pdw, pdb := zeros(t, w), zeros(t, b)
			pdx := plain.Backward(pool.Backward(rr), w, pdw, pdb)
			for _, c := range []struct {
				name      string
				got, want *tensor.Dense
			}{{"dx", dx, pdx}, {"dw", dw, pdw}, {"db", db, pdb}} {
				for i, v := range F32(c.got) {
					if math.Abs(float64(v-F32(c.want)[i])) > 1e-5 {
						t.Fatalf("%s[%d] = %v, separate ops give %v", c.name, i, v, F32(c.want)[i])
					}
				}
			}
			dxc := New(dx.Shape()...)
			copy(F32(dxc), F32(dx))
			loss := func() float64 { return dotLoss(fused.Forward(x, w, b), rr) }
			checkGrad(t, "dx", x, dxc, loss, 1e-3, 2e-3, 1e-2)
			checkGrad(t, "dw", w, dw, loss, 1e-3, 2e-3, 1e-2)
			checkGrad(t, "db", b, db, loss, 1e-3, 2e-3, 1e-2)
		})
	}
}
