# Experiment: AGP on simplenet_mnist (the schedule in agp_simplenet.dst) for 14 epochs on
# MNIST with Distiller's recipe (the lr step at epoch 10 needs a run past epoch 13). Run it with
#
#   dst run examples/agp_simplenet.hcl
#
# Flags given on the command line override the file: `--epochs 2 --limit-train 2000`.

model    = "simplenet_mnist"
schedule = "agp_simplenet.dst"
out      = "../runs/agp_simplenet"
epochs   = 14
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
