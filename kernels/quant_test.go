package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// quantSpecials are inputs that must clamp or round exactly: infinities,
// huge values, signed zeros and halves (ties go to even).
var quantSpecials = []float32{
	float32(math.Inf(1)), float32(math.Inf(-1)), math.MaxFloat32, -math.MaxFloat32, 1e30, -1e30,
	0, float32(math.Copysign(0, -1)), 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, 127.5, 128.5,
	-127.5, -128.5, -129.5, 254.5, 255.5, 1 << 22, -1 << 22, 3e-39,
}

// quantInput returns n inputs: random values spread over a few quantization
// ranges, with specials at random positions.
func quantInput(rnd *rand.Rand, n int, spread float32) []float32 {
	src := make([]float32, n)
	for i := range src {
		switch rnd.IntN(4) {
		case 0:
			src[i] = quantSpecials[rnd.IntN(len(quantSpecials))]
		case 1:
			src[i] = float32(rnd.IntN(600)-300) / 2 // exact halves
		default:
			src[i] = (2*rnd.Float32() - 1) * spread
		}
	}
	return src
}

// quantizeS8Naive is QuantizeS8 written with math.RoundToEven and without
// the clamp-then-round shortcut, to check the reference loop.
func quantizeS8Naive(dst []int8, src []float32, scale, zp, lo, hi float32, add int32) (sum int32) {
	for i, x := range src {
		t := float64(float32(scale*x) - zp)
		r := math.Min(math.Max(math.RoundToEven(t), float64(lo)), float64(hi))
		dst[i] = int8(int32(r) + add)
		sum += int32(dst[i])
	}
	return sum
}

func TestQuantizeS8(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		name              string
		scale, zp, lo, hi float32
		add               int32
		spread            float32
	}{
		{"symmetric unit scale", 1, 0, -127, 127, 0, 200},
		{"symmetric", 127.0 / 4, 0, -127, 127, 0, 5},
		{"unsigned input shifted by ox", 255.0 / 8, 0, 0, 255, -128, 10},
		{"asymmetric zero point", 255.0 / 8, -128, 0, 255, -128, 10},
		{"fractional product", 0.1, 3, -128, 127, 0, 2000},
		{"wrapping int8", 1, 0, -1000, 1000, 7, 2000},
		{"wide clamp range", 3, -5, -1 << 22, 1 << 22, 0, 1e7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for n := 0; n <= 100; n++ {
				if n > 40 && n%16 != 3 {
					continue
				}
				src := quantInput(rnd, n, tc.spread)
				const guard = 0x5a
				all := make([]int8, n+2*guardLen)
				for i := range all {
					all[i] = guard
				}
				dst := all[guardLen : guardLen+n]
				sum := QuantizeS8(dst, src, tc.scale, tc.zp, tc.lo, tc.hi, tc.add)
				want := make([]int8, n)
				wantSum := quantizeS8Go(want, src, tc.scale, tc.zp, tc.lo, tc.hi, tc.add)
				naive := make([]int8, n)
				naiveSum := quantizeS8Naive(naive, src, tc.scale, tc.zp, tc.lo, tc.hi, tc.add)
				for i := range want {
					if dst[i] != want[i] || want[i] != naive[i] {
						t.Fatalf("n=%d: x[%d]=%v: got %d, reference %d, naive %d", n, i, src[i], dst[i], want[i], naive[i])
					}
				}
				if sum != wantSum || wantSum != naiveSum {
					t.Fatalf("n=%d: sum %d, reference %d, naive %d", n, sum, wantSum, naiveSum)
				}
				for i := 0; i < guardLen; i++ {
					if all[i] != guard || all[guardLen+n+i] != guard {
						t.Fatalf("n=%d: guard overwritten", n)
					}
				}
			}
		})
	}
	mustPanic(t, "lengths", func() { QuantizeS8(make([]int8, 3), make([]float32, 4), 1, 0, -1, 1, 0) })
	mustPanic(t, "range", func() { QuantizeS8(make([]int8, 3), make([]float32, 3), 1, 0, -1<<23, 1, 0) })
	mustPanic(t, "empty range", func() { QuantizeS8(make([]int8, 3), make([]float32, 3), 1, 0, 1, -1, 0) })
}

// requantCases are the output stages the requantization tests run.
var requantCases = []struct {
	name string
	rq   Requant
	mult float32
}{
	{"scale only", Requant{}, 0.0123},
	{"relu", Requant{ReLU: true}, 1.0 / 3},
	{"out symmetric", Requant{Out: true, Scale: 20, Lo: -128, Hi: 127}, 0.5},
	{"out relu", Requant{ReLU: true, Out: true, Scale: 20, Lo: -128, Hi: 127}, 0.5},
	{"out asymmetric", Requant{Out: true, Scale: 3.7, ZeroPoint: -128, Lo: 0, Hi: 255}, 0.0371},
	{"out negative zero point", Requant{Out: true, Scale: 1.5, ZeroPoint: float32(math.Copysign(0, -1)), Lo: -128, Hi: 127}, 0.5},
	{"out wide range", Requant{Out: true, Scale: 0.25, ZeroPoint: 7, Lo: -1 << 22, Hi: 1 << 22}, 3.5},
}

// requantAcc returns n accumulators: mostly small, with odd values (ties
// after a multiplier of 0.5) and extremes.
func requantAcc(rnd *rand.Rand, n int) []int32 {
	acc := make([]int32, n)
	for i := range acc {
		switch rnd.IntN(8) {
		case 0:
			acc[i] = []int32{0, 1, -1, 255, -255, 1 << 24, -1 << 24, 1<<24 + 1, 1<<30 + 3, -1<<30 - 3}[rnd.IntN(10)]
		case 1:
			acc[i] = int32(rnd.Uint32())
		default:
			acc[i] = int32(rnd.IntN(1<<12) - 1<<11)
		}
	}
	return acc
}

// sameBits reports whether two float slices hold the same bits.
func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: [%d] = %v (%#x), want %v (%#x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

// requantNaive is the epilogue of one element in int64 and float64 with
// math.RoundToEven; it agrees with the reference loops whenever a fits in
// an int32.
func requantNaive(a int64, mult float32, rq *Requant) (float32, uint32) {
	if rq.ReLU && a < 0 {
		a = 0
	}
	m := uint32(min(max(a, -a), 1<<31))
	y := float32(float32(a) * mult)
	if rq.Out {
		t := float64(y - rq.ZeroPoint)
		r := float32(math.Min(math.Max(math.RoundToEven(t), float64(rq.Lo)), float64(rq.Hi)))
		y = float32(r+rq.ZeroPoint) / rq.Scale
	}
	return y, m
}

func TestRequantizeS32(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, tc := range requantCases {
		t.Run(tc.name, func(t *testing.T) {
			for n := 0; n <= 100; n++ {
				if n > 40 && n%16 != 5 {
					continue
				}
				acc := requantAcc(rnd, n)
				bias, zw, mult := make([]int32, n), make([]int32, n), make([]float32, n)
				for i := range bias {
					bias[i] = int32(rnd.IntN(1<<16) - 1<<15)
					zw[i] = int32(rnd.IntN(11) - 5)
					mult[i] = tc.mult * float32(1+rnd.IntN(3))
				}
				sum := int32(rnd.IntN(1<<14) - 1<<13)
				dst, all := guarded(n)
				m := RequantizeS32(dst, acc, bias, zw, sum, mult, tc.rq)
				want := make([]float32, n)
				wantM := requantS32Go(want, acc, bias, zw, sum, mult, &tc.rq)
				sameBits(t, "asm against reference", dst, want)
				if m != wantM {
					t.Fatalf("n=%d: max |acc| %d, reference %d", n, m, wantM)
				}
				checkGuards(t, "RequantizeS32", all)
				var naiveM uint32
				for i := range want {
					a := int64(acc[i]) + int64(bias[i]) + int64(zw[i])*int64(sum)
					if a != int64(int32(a)) {
						continue // wraps: the reference's int32 arithmetic is the contract
					}
					y, am := requantNaive(a, mult[i], &tc.rq)
					naiveM = max(naiveM, am)
					sameBits(t, "reference against naive", want[i:i+1], []float32{y})
				}
				if naiveM > wantM {
					t.Fatalf("n=%d: max |acc| %d below naive %d", n, wantM, naiveM)
				}
			}
		})
	}
	mustPanic(t, "lengths", func() {
		RequantizeS32(make([]float32, 3), make([]int32, 3), make([]int32, 2), make([]int32, 3), 0, make([]float32, 3), Requant{})
	})
	mustPanic(t, "range", func() {
		RequantizeS32(nil, nil, nil, nil, 0, nil, Requant{Out: true, Scale: 1, Lo: -1 << 23, Hi: 0})
	})
}

func TestRequantizeS32Chan(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 3))
	for _, tc := range requantCases {
		t.Run(tc.name, func(t *testing.T) {
			for n := 0; n <= 100; n++ {
				if n > 40 && n%16 != 7 {
					continue
				}
				acc := requantAcc(rnd, n)
				sums := make([]int32, n)
				for i := range sums {
					sums[i] = int32(rnd.IntN(1<<14) - 1<<13)
				}
				bias, zw := int32(rnd.IntN(1<<16)-1<<15), int32(rnd.IntN(11)-5)
				dst, all := guarded(n)
				m := RequantizeS32Chan(dst, acc, sums, bias, zw, tc.mult, tc.rq)
				want := make([]float32, n)
				wantM := requantS32ChanGo(want, acc, sums, bias, zw, tc.mult, &tc.rq)
				sameBits(t, "asm against reference", dst, want)
				if m != wantM {
					t.Fatalf("n=%d: max |acc| %d, reference %d", n, m, wantM)
				}
				checkGuards(t, "RequantizeS32Chan", all)
				for i := range want {
					a := int64(acc[i]) + int64(bias) + int64(zw)*int64(sums[i])
					if a != int64(int32(a)) {
						continue
					}
					y, _ := requantNaive(a, tc.mult, &tc.rq)
					sameBits(t, "reference against naive", want[i:i+1], []float32{y})
				}
			}
		})
	}
	mustPanic(t, "lengths", func() {
		RequantizeS32Chan(make([]float32, 3), make([]int32, 3), make([]int32, 2), 0, 0, 1, Requant{})
	})
}

// TestRequantizeS32MinInt32 checks |MinInt32| = 2³¹ in the unsigned maximum.
func TestRequantizeS32MinInt32(t *testing.T) {
	for _, n := range []int{1, 17} {
		acc := make([]int32, n)
		acc[n-1] = math.MinInt32
		dst := make([]float32, n)
		if m := RequantizeS32Chan(dst, acc, make([]int32, n), 0, 0, 1, Requant{}); m != 1<<31 {
			t.Errorf("n=%d: max |acc| %d, want 2³¹", n, m)
		}
	}
}

func BenchmarkQuantizeS8(b *testing.B) {
	rnd := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1024, 262144} {
		src := make([]float32, n)
		fillRand(rnd, src)
		dst := make([]int8, n)
		for _, impl := range []struct {
			name string
			f    func(dst []int8, src []float32, scale, zp, lo, hi float32, add int32) int32
		}{{"Go", quantizeS8Go}, {"Dispatch", QuantizeS8}} {
			b.Run(impl.name+sizeName(n), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(5 * n))
				for b.Loop() {
					impl.f(dst, src, 100, 3, 0, 255, -128)
				}
			})
		}
	}
}

func BenchmarkRequantizeS32(b *testing.B) {
	rnd := rand.New(rand.NewPCG(1, 1))
	const n = 1024
	acc := requantAcc(rnd, n)
	bias, zw, mult := make([]int32, n), make([]int32, n), make([]float32, n)
	for i := range mult {
		mult[i] = 0.01
	}
	dst := make([]float32, n)
	for _, out := range []bool{false, true} {
		rq := Requant{ReLU: true, Out: out, Scale: 20, Lo: -128, Hi: 127}
		name := "Scale"
		if out {
			name = "Out"
		}
		for _, impl := range []struct {
			name string
			f    func(dst []float32, acc, bias, zw []int32, sum int32, mult []float32, rq *Requant) uint32
		}{{"Go", requantS32Go}, {"Dispatch", requantS32}} {
			b.Run(impl.name+name+sizeName(n), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(20 * n))
				for b.Loop() {
					impl.f(dst, acc, bias, zw, 7, mult, &rq)
				}
			})
		}
	}
}

func TestGemmS8S8S32Packed(t *testing.T) {
	testGemmS8(t, func(m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
		p := PackS8(b, n, k, ldb)
		if p.Rows() != n || p.Cols() != k {
			t.Fatalf("packed %d×%d, want %d×%d", p.Rows(), p.Cols(), n, k)
		}
		GemmS8S8S32Packed(m, a, lda, p, c, ldc)
	})
	p := PackS8(make([]int8, 6), 2, 3, 3)
	mustPanic(t, "short c", func() { GemmS8S8S32Packed(2, make([]int8, 6), 3, p, make([]int32, 3), 2) })
	mustPanic(t, "short lda", func() { GemmS8S8S32Packed(2, make([]int8, 6), 2, p, make([]int32, 4), 2) })
	mustPanic(t, "short b", func() { PackS8(make([]int8, 5), 2, 3, 3) })
}

// TestGemmS8S8S32PackedFunc checks that done sees every row once, complete.
func TestGemmS8S8S32PackedFunc(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 4))
	for _, sz := range [][3]int{{1, 1, 1}, {13, 33, 17}, {100, 200, 300}, {256, 1024, 64}} {
		m, n, k := sz[0], sz[1], sz[2]
		t.Run(sizeName(m, n, k), func(t *testing.T) {
			a, b := make([]int8, m*k), make([]int8, n*k)
			fillS8(rnd, a)
			fillS8(rnd, b)
			want := make([]int32, m*n)
			gemmS8Go(m, n, k, a, k, b, k, want, n)
			c := make([]int32, m*n)
			var mu sync.Mutex
			seen := make([]int, m)
			bad := -1
			GemmS8S8S32PackedFunc(m, a, k, PackS8(b, n, k, k), c, n, func(i0, i1 int) {
				mu.Lock()
				defer mu.Unlock()
				for i := i0; i < i1; i++ {
					seen[i]++
					if !slices.Equal(c[i*n:(i+1)*n], want[i*n:(i+1)*n]) {
						bad = i
					}
				}
			})
			if bad >= 0 {
				t.Fatalf("row %d incomplete when done was called", bad)
			}
			for i, s := range seen {
				if s != 1 {
					t.Fatalf("row %d passed to done %d times", i, s)
				}
			}
		})
	}
}

// BenchmarkGemmS8S8S32Packed1024 runs a 256×1024 by 1024×1024 int8 product
// (a Linear layer's batch) with B packed on every call and packed once.
func BenchmarkGemmS8S8S32Packed1024(b *testing.B) {
	const m, n, k = 256, 1024, 1024
	rnd := rand.New(rand.NewPCG(1, 1))
	a, w := make([]int8, m*k), make([]int8, n*k)
	fillS8(rnd, a)
	fillS8(rnd, w)
	c := make([]int32, m*n)
	p := PackS8(w, n, k, k)
	for _, impl := range []struct {
		name string
		f    func()
	}{
		{"PackEachCall", func() { GemmS8S8S32(m, n, k, a, k, w, k, c, n) }},
		{"Prepacked", func() { GemmS8S8S32Packed(m, a, k, p, c, n) }},
	} {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				impl.f()
			}
			b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
		})
	}
}
