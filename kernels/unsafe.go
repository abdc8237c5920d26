package kernels

import "unsafe"

// unsafeSlice views n float32 values starting at p.
func unsafeSlice(p *float32, n int) []float32 {
	return unsafe.Slice(p, n)
}
