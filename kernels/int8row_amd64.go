//go:build amd64 && !purego

package kernels

// gemmS8KernelVNNIRow computes one row of a gemmS8KernelVNNI tile (mr is
// ignored): a points at the row's first 4-byte group in the 12-row A panel.
//
//go:noescape
func gemmS8KernelVNNIRow(kq int, a *int8, b *uint8, c *int32, ldc int, corr *int32, mr, nr int)

// s8RowKernel runs the panels of gemmS8Panels that hold few rows (a batch of
// one, a batch's last panel) a row at a time: the 12-row kernel would compute
// all twelve.
var s8RowKernel = selectS8Row()

func selectS8Row() int8MicroKernel {
	if hasVNNI() {
		return gemmS8KernelVNNIRow
	}
	return nil
}

// hasVNNI reports AVX-512 with the VNNI extension (VPDPBUSD).
func hasVNNI() bool {
	_, hasAVX512 := cpuFeatures()
	_, _, ecx7, _ := cpuid(7, 0)
	return hasAVX512 && ecx7&(1<<11) != 0
}
