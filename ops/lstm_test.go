package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

func TestLSTM(t *testing.T) {
	cases := []struct {
		name          string
		t, n, in, hid int
		state, bias   bool
	}{
		{"zero-state", 4, 2, 3, 5, false, true},
		{"given-state", 3, 3, 2, 4, true, true},
		{"no-bias", 2, 1, 4, 3, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 1))
			x := randTensor(t, r, tc.t, tc.n, tc.in)
			wih := randTensor(t, r, 4*tc.hid, tc.in)
			whh := randTensor(t, r, 4*tc.hid, tc.hid)
			var bih, bhh, h0, c0 *tensor.Dense
			if tc.bias {
				bih, bhh = randTensor(t, r, 4*tc.hid), randTensor(t, r, 4*tc.hid)
			}
			if tc.state {
				h0, c0 = randTensor(t, r, tc.n, tc.hid), randTensor(t, r, tc.n, tc.hid)
			}
			var l LSTM
			y, hT, cT := l.Forward(x, h0, c0, wih, whh, bih, bhh)
			// Reference: the step equations in float64.
			h := make([]float64, tc.n*tc.hid)
			c := make([]float64, tc.n*tc.hid)
			if tc.state {
				for i := range h {
					h[i], c[i] = float64(F32(h0)[i]), float64(F32(c0)[i])
				}
			}
			sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
			for s := 0; s < tc.t; s++ {
				nh := make([]float64, len(h))
				for b := 0; b < tc.n; b++ {
					for j := 0; j < tc.hid; j++ {
						var g [4]float64
						for q := 0; q < 4; q++ {
							row := q*tc.hid + j
							if tc.bias {
								g[q] = float64(F32(bih)[row] + F32(bhh)[row])
							}
							for k := 0; k < tc.in; k++ {
								g[q] += float64(F32(wih)[row*tc.in+k]) * float64(F32(x)[(s*tc.n+b)*tc.in+k])
							}
							for k := 0; k < tc.hid; k++ {
								g[q] += float64(F32(whh)[row*tc.hid+k]) * h[b*tc.hid+k]
							}
						}
						k := b*tc.hid + j
						c[k] = sig(g[1])*c[k] + sig(g[0])*math.Tanh(g[2])
						nh[k] = sig(g[3]) * math.Tanh(c[k])
						if got := F32(y)[(s*tc.n+b)*tc.hid+j]; math.Abs(float64(got)-nh[k]) > 1e-5 {
							t.Fatalf("y[%d][%d][%d] = %v, want %v", s, b, j, got, nh[k])
						}
					}
				}
				h = nh
			}
			for i := range h {
				if math.Abs(float64(F32(hT)[i])-h[i]) > 1e-5 || math.Abs(float64(F32(cT)[i])-c[i]) > 1e-5 {
					t.Fatalf("final state %d: %v, %v; want %v, %v", i, F32(hT)[i], F32(cT)[i], h[i], c[i])
				}
			}
			ry, rh, rc := randTensor(t, r, y.Shape()...), randTensor(t, r, tc.n, tc.hid), randTensor(t, r, tc.n, tc.hid)
			loss := func() float64 {
				y, hT, cT := l.Forward(x, h0, c0, wih, whh, bih, bhh)
				return dotLoss(y, ry) + dotLoss(hT, rh) + dotLoss(cT, rc)
			}
			dwih, dwhh := zeros(t, wih), zeros(t, whh)
			var dbih, dbhh *tensor.Dense
			if tc.bias {
				dbih, dbhh = zeros(t, bih), zeros(t, bhh)
			}
			dx, dh0, dc0 := l.Backward(ry, rh, rc, wih, whh, dwih, dwhh, dbih, dbhh)
			keep := func(d *tensor.Dense) *tensor.Dense {
				c := New(d.Shape()...)
				copy(F32(c), F32(d))
				return c
			}
			dx, dh0, dc0 = keep(dx), keep(dh0), keep(dc0)
			checkGrad(t, "dx", x, dx, loss, 1e-3, 2e-3, 1e-2)
			checkGrad(t, "dweight_ih", wih, dwih, loss, 1e-3, 2e-3, 1e-2)
			checkGrad(t, "dweight_hh", whh, dwhh, loss, 1e-3, 2e-3, 1e-2)
			if tc.bias {
				checkGrad(t, "dbias_ih", bih, dbih, loss, 1e-3, 2e-3, 1e-2)
				checkGrad(t, "dbias_hh", bhh, dbhh, loss, 1e-3, 2e-3, 1e-2)
			}
			if tc.state {
				checkGrad(t, "dh0", h0, dh0, loss, 1e-3, 2e-3, 1e-2)
				checkGrad(t, "dc0", c0, dc0, loss, 1e-3, 2e-3, 1e-2)
			}
		})
	}
}

func TestEmbedding(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	table := randTensor(t, r, 5, 3)
	idx := []int32{4, 0, 4, 2, 1, 1}
	var e Embedding
	y := e.Forward(idx, table, 3, 2)
	if !shapeIs(y.Shape(), []int{3, 2, 3}) {
		t.Fatalf("shape %v, want [3 2 3]", y.Shape())
	}
	for i, k := range idx {
		for j := 0; j < 3; j++ {
			if F32(y)[i*3+j] != F32(table)[int(k)*3+j] {
				t.Fatalf("row %d differs from table row %d", i, k)
			}
		}
	}
	rr := randTensor(t, r, 3, 2, 3)
	dt := zeros(t, table)
	e.Backward(rr, dt)
	checkGrad(t, "dtable", table, dt, func() float64 { return dotLoss(e.Forward(idx, table, 3, 2), rr) }, 1e-3, 2e-3, 1e-2)
}
