// Package nn is dst's neural-network layer: named parameters with gradients and masks,
// a module tree, the model zoo, optimizers, the training and evaluation loop, and
// checkpoints.
//
// # Models
//
// A [Model] is a tree of [Module] values (Conv2d, Linear, BatchNorm2d, ReLU, pooling,
// Flatten, Dropout, Sequential, BasicBlock, Embedding, LSTM) built by [New] from the zoo
// ([Models] lists it) or by [NewModel] from modules. Parameters are named exactly as
// PyTorch and Distiller name them ("conv1.weight", "layer1.0.conv2.weight",
// "rnn.weight_ih_l0") and come back from [Model.Params] in PyTorch's named_parameters
// order; BatchNorm running statistics are [Buffer] values ([Model.Buffers]). Layer
// dimensions are read from the parameter shapes at every call, so a layer whose weights
// are replaced by smaller ones (thinning) keeps working. [Model.Layers] describes every
// layer — type, kernel, stride, padding, channel or feature counts, and the input and
// output shapes of the last forward pass — for summaries that count MACs the way
// Distiller does.
//
// A ReLU that directly follows a Conv2d or Linear layer is fused into it (the layer
// clamps its own output, the ReLU module passes values through); the first layer skips
// its input gradient.
//
// # Training
//
// [Train] runs minibatch SGD (or Adam) with cross-entropy loss over a [data.Set],
// firing the [Hooks] in the order their doc gives, and [Evaluate] measures loss,
// top-1 and top-5. A training step allocates nothing once its buffers exist at a batch
// size, and the same seeds give bit-identical weights: no map iteration and no
// goroutine-order-dependent reduction touches a result.
//
// Optimizers ([SGD], [Adam]) follow PyTorch's update rules, expose their per-parameter
// state by parameter name for checkpoints, and mask both the weights and their state
// after every step, so a pruned weight stays exactly zero.
//
// # Concurrency and panics
//
// Models, modules and optimizers are not safe for concurrent use. Shape mismatches
// inside a forward or backward pass are programming errors and panic (in package ops);
// user input — unknown model names, data sets that do not fit a model, invalid
// hyper-parameters, checkpoints whose shapes or values the model cannot take
// ([LoadCheckpoint] checks them before the model changes) — gives errors.
package nn
