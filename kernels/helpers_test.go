package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

const guardLen = 17

var nan32 = float32(math.NaN())

// guarded returns a slice of length n whose backing array has guardLen NaN
// elements on both sides, and the backing array.
func guarded(n int) (s, all []float32) {
	all = make([]float32, n+2*guardLen)
	for i := range all {
		all[i] = nan32
	}
	return all[guardLen : guardLen+n : guardLen+n], all
}

// guardedRand returns a guarded slice filled with uniform values in [-1, 1).
func guardedRand(rnd *rand.Rand, n int) (s, all []float32) {
	s, all = guarded(n)
	fillRand(rnd, s)
	return s, all
}

func fillRand(rnd *rand.Rand, s []float32) {
	for i := range s {
		s[i] = 2*rnd.Float32() - 1
	}
}

// fillS8 fills s with uniform random int8 values, -128 to 127.
func fillS8(rnd *rand.Rand, s []int8) {
	for i := range s {
		s[i] = int8(rnd.IntN(256) - 128)
	}
}

// checkGuards fails the test if any guard element of all is not NaN.
func checkGuards(t *testing.T, name string, all []float32) {
	t.Helper()
	n := len(all) - 2*guardLen
	for i := 0; i < guardLen; i++ {
		if !math.IsNaN(float64(all[i])) {
			t.Errorf("%s: guard before region overwritten at -%d: %v", name, guardLen-i, all[i])
		}
		if v := all[guardLen+n+i]; !math.IsNaN(float64(v)) {
			t.Errorf("%s: guard after region overwritten at +%d: %v", name, i, v)
		}
	}
}

// close32 reports whether got is within a relative-or-absolute tolerance of
// want; NaN matches NaN.
func close32(got, want, tol float32) bool {
	if math.IsNaN(float64(want)) {
		return math.IsNaN(float64(got))
	}
	if math.IsInf(float64(want), 0) {
		return got == want
	}
	d := math.Abs(float64(got - want))
	return d <= float64(tol)*math.Max(1, math.Abs(float64(want)))
}

// checkClose compares two slices elementwise and reports the first few
// differences.
func checkClose(t *testing.T, name string, got, want []float32, tol float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", name, len(got), len(want))
	}
	bad := 0
	for i := range want {
		if !close32(got[i], want[i], tol) {
			if bad < 5 {
				t.Errorf("%s: [%d] = %v, want %v", name, i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d mismatches in total", name, bad)
	}
}

func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: did not panic", name)
		}
	}()
	f()
}

func sizeName(sizes ...int) string {
	s := ""
	for i, v := range sizes {
		if i > 0 {
			s += "x"
		}
		s += fmt.Sprint(v)
	}
	return s
}
