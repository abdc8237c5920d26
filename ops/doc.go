// Package ops holds the differentiable operations of dst's tensor runtime: Linear,
// Conv2d, MaxPool2d, AvgPool2d, ReLU, Flatten, Dropout, BatchNorm2d, element-wise Add,
// LogSoftmax, NLL and cross-entropy, LSTM and Embedding, over float32 *tensor.Dense
// values of gorgonia.org/tensor. Every op's backward pass is checked against central
// finite differences in the tests.
//
// # Shape of an op
//
// An op is a struct that holds its configuration (stride, padding, probability…) and
// the scratch buffers it reuses from one call to the next. Forward takes the input and
// the parameter tensors and returns the output; Backward takes the gradient of the loss
// with respect to that output and returns the gradient with respect to the input.
// Parameter gradients are ACCUMULATED (+=) into the tensors passed to Backward, so a
// caller zeroes them once per minibatch and hooks may add their own terms; input
// gradients are written (overwritten). Backward uses the input saved by the last
// Forward, so the two must be called in pairs, and the input tensor must not be changed
// in between.
//
// Layer dimensions come from the parameter shapes at every call, never from the op's
// configuration, so a layer whose weights are physically shrunk (thinning) keeps
// working with the same op value.
//
// # Fusion
//
// Conv2d can apply a ReLU and a 2×2 max pooling to its own output ([Conv2d].Relu,
// [Conv2d].Pool2x2), and Linear a ReLU, in the pass that adds the bias: the activations
// between them are never written out, and their backward passes fold into the layer's.
// The results equal those of the separate ops.
//
// # Aliasing and allocation
//
// Tensors returned by Forward and Backward are owned by the op and are overwritten by
// its next call; copy them if they must outlive it. Once an op has seen a batch size,
// further calls at that batch size allocate nothing. Ops are not safe for concurrent
// use.
//
// # Panics
//
// Mismatched shapes (a weight that does not fit its input, a gradient of the wrong
// size) and non-float32 tensors are programming errors: the ops panic with a message
// naming the op and the shapes. User input never reaches the ops unchecked.
package ops
