package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dst-dev/dst/kernels"
)

func TestMaxPool2x2MatchesKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		name     string
		c, h, w  int
		zeroFrac float64
	}{{"even", 3, 8, 6, 0}, {"odd", 2, 7, 5, 0}, {"ties", 4, 6, 6, 0.7}, {"tiny", 1, 2, 3, 0.5}} {
		t.Run(tc.name, func(t *testing.T) {
			src := make([]float32, tc.c*tc.h*tc.w)
			for i := range src {
				if r.Float64() >= tc.zeroFrac {
					src[i] = float32(r.NormFloat64())
				}
			}
			n := tc.c * (tc.h / 2) * (tc.w / 2)
			got, want := make([]float32, n), make([]float32, n)
			ga, wa := make([]int32, n), make([]int32, n)
			maxPool2x2(got, ga, src, tc.c, tc.h, tc.w)
			kernels.MaxPool2d(want, wa, src, tc.c, tc.h, tc.w, 2, 2, 0, 0, 2, 2)
			for i := range want {
				if got[i] != want[i] || ga[i] != wa[i] {
					t.Fatalf("window %d: got %v at %d, want %v at %d", i, got[i], ga[i], want[i], wa[i])
				}
			}
		})
	}
}

func TestReluBranchFree(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	y := []float32{1, 0, negZero, -1, inf, -inf, nan, 1e-45, -1e-45, 3e38}
	dy := make([]float32, len(y))
	for i := range dy {
		dy[i] = float32(i + 1)
	}
	dx := make([]float32, len(y))
	reluGradTo(dx, dy, y)
	for i, v := range y {
		want := float32(0)
		if v > 0 {
			want = dy[i]
		}
		if dx[i] != want {
			t.Errorf("gradient at y=%v: %v, want %v", v, dx[i], want)
		}
	}
	out := make([]float32, len(y))
	reluTo(out, y)
	for i, v := range y {
		want := v
		if v < 0 {
			want = 0
		}
		if !(out[i] == want || (want != want && out[i] != out[i])) {
			t.Errorf("relu(%v) = %v, want %v", v, out[i], want)
		}
	}
}
