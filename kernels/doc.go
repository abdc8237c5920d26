// Package kernels holds dst's raw numeric loops: dense single-precision
// GEMM, im2col convolution helpers, pooling, elementwise arithmetic,
// reductions, selection, sparse (CSR) × dense products, sliced sparse
// matrix-vector products ([SpMV]), int8 GEMM with weights packed once
// ([PackS8], [GemmS8S8S32Packed]) and the quantization loops around it
// ([QuantizeS8], [RequantizeS32]). It is the bottom layer of dst and imports
// only the standard library.
//
// # Conventions
//
// Every kernel works on plain slices in row-major order. The destination
// comes first and is named dst. A kernel's doc comment is its reference
// loop: the Go fallback and the assembly versions compute the same thing,
// up to floating-point reassociation in reductions, GEMM and SpMM.
//
// # Implementations
//
// On amd64 the package chooses, once at initialisation and from CPUID, an
// AVX-512 (12×32 tile) or AVX2+FMA (6×16 tile) SGEMM micro-kernel, AVX2
// loops for the elementwise kernels and reductions, AVX-512 transposes for
// GEMM packing, AVX-512 VNNI (or, without it, AVX2 int16 multiply-adds)
// for [GemmS8S8S32], and AVX-512 kernels for [SpMM], [SpMV] and the int8
// quantize/requantize loops. [Path] names the GEMM path in use. Building with the purego tag,
// or for another architecture, selects portable Go loops everywhere; the
// tests pass on every path. The assembly is written by internal/asmgen
// (go generate).
//
// # Panics
//
// Kernels panic on programmer errors only: slice lengths that do not match
// the stated shapes, negative sizes, strides smaller than the row width or
// malformed sparse matrices. They never return errors.
//
// # Aliasing
//
// Elementwise kernels (Add, Mul, Relu, …) allow dst to be exactly the same
// slice as an input; partially overlapping slices give unspecified results.
// Sgemm, GemmS8S8S32, SpMM, Im2col, Col2im and the pooling kernels require
// dst not to overlap any input.
//
// # Concurrency and memory
//
// All kernels are safe for concurrent use on disjoint destinations. Sgemm
// splits large products into stripes of C across goroutines, never more
// than runtime.GOMAXPROCS(0); GemmS8S8S32 and SpMM do the same over row
// panels. Packing and scratch buffers come from sync.Pools, one per
// power-of-two size, so a training loop that repeats the same products
// does not allocate in steady state (a couple of small allocations per
// extra goroutine when a product runs in parallel).
package kernels
