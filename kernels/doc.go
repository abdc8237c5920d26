// Package kernels holds dst's raw numeric loops: dense single-precision
// GEMM, im2col convolution helpers, pooling, elementwise arithmetic,
// reductions and selection. It is the bottom layer of dst and imports only
// the standard library.
//
// # Conventions
//
// Every kernel works on plain []float32 slices in row-major order. The
// destination comes first and is named dst. A kernel's doc comment is its
// reference loop: the Go fallback and the assembly versions compute the same
// thing, up to floating-point reassociation in reductions and GEMM.
//
// # Panics
//
// Kernels panic on programmer errors only: slice lengths that do not match
// the stated shapes, negative sizes or strides smaller than the row width.
// They never return errors.
//
// # Aliasing
//
// Elementwise kernels (Add, Mul, Relu, …) allow dst to be exactly the same
// slice as an input; partially overlapping slices give unspecified results.
// Sgemm, Im2col, Col2im and the pooling kernels require dst not to overlap
// any input.
//
// # Concurrency
//
// All kernels are safe for concurrent use on disjoint destinations. Sgemm
// splits large products across goroutines, never more than
// runtime.GOMAXPROCS(0). The SIMD path (see [Path]) is chosen once at
// package initialisation from CPUID; building with the purego tag, or on a
// non-amd64 architecture, selects the pure-Go loops.
package kernels
