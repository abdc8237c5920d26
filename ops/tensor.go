package ops

import (
	"fmt"

	"gorgonia.org/tensor"
)

// F32 returns the values of t as a flat slice aliasing its storage, without allocating
// (unlike t.Data(), which boxes a new slice header). It panics if t is not float32.
func F32(t *tensor.Dense) []float32 {
	if t.Dtype() != tensor.Float32 {
		panic(fmt.Sprintf("ops: tensor of %v, want float32", t.Dtype()))
	}
	return t.Float32s()
}

// New returns a zeroed float32 tensor of the given shape.
func New(shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
}

// FromSlice returns a tensor of the given shape backed by data (not copied). It panics
// if len(data) differs from the shape's size.
func FromSlice(data []float32, shape ...int) *tensor.Dense {
	if len(data) != volume(shape) {
		panic(fmt.Sprintf("ops: FromSlice: %d values for shape %v", len(data), append([]int(nil), shape...)))
	}
	return tensor.New(tensor.WithShape(append([]int(nil), shape...)...), tensor.WithBacking(data))
}

// Buffer is a reusable float32 tensor. [Buffer.Get] returns a tensor of the requested
// shape over storage that is kept between calls, so code that asks for the same shape
// again and again allocates only once. The zero value is an empty buffer.
type Buffer struct {
	data []float32
	t    *tensor.Dense
}

// Get returns a tensor of the given shape backed by the buffer's storage. It returns
// the same tensor as the previous call when the shape is unchanged; otherwise earlier
// tensors may share storage with the new one. The values are not cleared.
func (b *Buffer) Get(shape ...int) *tensor.Dense {
	if b.t != nil && shapeIs(b.t.Shape(), shape) {
		return b.t
	}
	n := volume(shape)
	if cap(b.data) < n {
		b.data = make([]float32, n)
	}
	s := append([]int(nil), shape...)
	b.t = tensor.New(tensor.WithShape(s...), tensor.WithBacking(b.data[:n]))
	return b.t
}

// View returns tensors that share another tensor's storage under a different shape,
// caching the last one so that repeated views allocate nothing. The zero value is ready
// to use.
type View struct {
	src *tensor.Dense
	t   *tensor.Dense
}

// Of returns a tensor with src's storage and the given shape. It panics if the shape's
// size differs from src's.
func (v *View) Of(src *tensor.Dense, shape ...int) *tensor.Dense {
	if v.t != nil && v.src == src && shapeIs(v.t.Shape(), shape) && v.t.Uintptr() == src.Uintptr() {
		return v.t
	}
	d := F32(src)
	if len(d) != volume(shape) {
		// Format a copy, so that shape does not escape and callers' variadic
		// arguments can stay on the stack.
		panic(fmt.Sprintf("ops: view of %v as %v: sizes differ", src.Shape(), append([]int(nil), shape...)))
	}
	s := append([]int(nil), shape...)
	v.src = src
	v.t = tensor.New(tensor.WithShape(s...), tensor.WithBacking(d))
	return v.t
}

// grow returns s resliced to n elements, reallocating when its capacity is too small.
// The values are not cleared.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func growInt32(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

func volume(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func shapeIs(s tensor.Shape, want []int) bool {
	if len(s) != len(want) {
		return false
	}
	for i, d := range s {
		if d != want[i] {
			return false
		}
	}
	return true
}

// dims4 returns the four dimensions of an N×C×H×W tensor; it panics otherwise.
func dims4(op string, t *tensor.Dense) (n, c, h, w int) {
	s := t.Shape()
	if len(s) != 4 {
		panic(fmt.Sprintf("ops: %s: input shape %v, want N×C×H×W", op, s))
	}
	return s[0], s[1], s[2], s[3]
}

// rows returns the first dimension of t and the product of the others.
func rows(t *tensor.Dense) (n, rest int) {
	s := t.Shape()
	if len(s) == 0 {
		return 1, 1
	}
	rest = 1
	for _, d := range s[1:] {
		rest *= d
	}
	return s[0], rest
}

func checkSize(op, what string, t *tensor.Dense, want int) []float32 {
	d := F32(t)
	if len(d) != want {
		panic(fmt.Sprintf("ops: %s: %s has shape %v (%d values), want %d values", op, what, t.Shape(), len(d), want))
	}
	return d
}
