# Issue 4's AGP acceptance run: dst run cmd/dst/testdata/run/agp_simplenet_issue4.hcl --out DIR
model    = "simplenet_mnist"
schedule = "agp_simplenet_issue4.dst"
epochs   = 5
batch    = 64
seed     = 0

data {
  dataset = "mnist"
}

optimizer "sgd" {
  lr       = 0.01
  momentum = 0.9
  wd       = 1e-4
}
