//go:build !unix

package kernels

// cpuSeconds is not available here; the CPU-time metrics are then omitted.
func cpuSeconds() float64 { return 0 }
