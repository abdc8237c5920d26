package kernels

// Path reports which implementation the kernels run: "avx512" or "avx2"
// for the amd64 assembly paths chosen from CPUID at start-up, or "purego"
// for the portable Go loops (non-amd64, the purego build tag, or a CPU
// without AVX2 and FMA).
func Path() string {
	return path
}
