//go:build !amd64 || purego

package kernels

const path = "purego"

var gemmKern = goKernel

// availableKernels lists every micro-kernel this build can run.
func availableKernels() map[string]microKernel {
	return map[string]microKernel{"purego": goKernel}
}
