# LeNet-300-100 with the PyTorch anchors' recipe (see lenet300_agp95.dst):
#   dst run cmd/dst/testdata/run/lenet300_agp95.hcl --seed 1 --out DIR
model    = "lenet300_100"
schedule = "lenet300_agp95.dst"
epochs   = 8
batch    = 64
seed     = 1

data {
  dataset = "mnist"
}

optimizer "sgd" {
  lr       = 0.01
  momentum = 0.9
  wd       = 5e-4
}
