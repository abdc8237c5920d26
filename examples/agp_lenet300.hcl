# Experiment: AGP to 90% sparsity on lenet300_100 (the schedule in agp_lenet300.dst), eight
# epochs on MNIST, about 15 s on one core. Its checkpoint is the input of
#
#   dst run examples/agp_lenet300.hcl
#   dst bench --checkpoint runs/agp_lenet300/checkpoint.safetensors

model    = "lenet300_100"
schedule = "agp_lenet300.dst"
out      = "../runs/agp_lenet300"
epochs   = 8
batch    = 64
seed     = 1

data {
  dataset = "mnist"
}

optimizer "sgd" {
  lr       = 0.01
  momentum = 0.9
  wd       = 1e-4
}
