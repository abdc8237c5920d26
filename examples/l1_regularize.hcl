# Experiment: L1 regularization with a threshold, then level pruning (l1_regularize.dst),
# on a 10,000-sample subset of MNIST so it finishes in a minute.
#
#   dst run examples/l1_regularize.hcl

model    = "simplenet_mnist"
schedule = "l1_regularize.dst"
out      = "../runs/l1_regularize"
epochs   = 8
batch    = 64

data {
  dataset     = "mnist"
  limit_train = 10000
  limit_test  = 2000
}

optimizer "sgd" {
  lr       = 0.01
  momentum = 0.9
  wd       = 0
}
