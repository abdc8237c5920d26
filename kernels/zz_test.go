package kernels
import "testing"
func BenchmarkZZ(b *testing.B) {
	for _, s := range []int{960, 1000, 1024} {
		b.Run(sizeName(s), func(b *testing.B) { benchSgemm(b, Sgemm, false, false, s, s, s) })
	}
}
