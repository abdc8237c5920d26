package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Experiment is the content of an experiment.hcl file: everything a `dst run` needs
// besides the command line. Every attribute is optional; what is missing comes from the
// flags' defaults, and a flag given on the command line overrides the file.
//
//	model    = "simplenet_mnist"
//	schedule = "agp_simplenet.dst"   # relative to this file
//	out      = "runs/agp"            # relative to this file
//	epochs   = 5
//	batch    = 64
//	seed     = 0
//
//	data {
//	  dataset     = "mnist"
//	  dir         = "/usr/share/mnist"
//	  limit_train = 0
//	}
//
//	optimizer "sgd" {
//	  lr       = 0.01
//	  momentum = 0.9
//	  wd       = 1e-4
//	}
type Experiment struct {
	// Model is the zoo model's name.
	Model *string `hcl:"model,optional"`
	// Schedule is the .dst file, relative to the experiment file.
	Schedule *string `hcl:"schedule,optional"`
	// Out is the output folder, relative to the experiment file.
	Out *string `hcl:"out,optional"`
	// Epochs, Batch, Seed and Threads are as the flags of the same names.
	Epochs  *int   `hcl:"epochs,optional"`
	Batch   *int   `hcl:"batch,optional"`
	Seed    *int64 `hcl:"seed,optional"` // int64, so that HCL refuses 1.5 (uint64 truncated it)
	Threads *int   `hcl:"threads,optional"`
	// Data chooses the dataset.
	Data *ExperimentData `hcl:"data,block"`
	// Optimizer chooses and configures the optimizer; its label is sgd or adam.
	Optimizer *ExperimentOptimizer `hcl:"optimizer,block"`
}

// ExperimentData is the data block of an experiment.
type ExperimentData struct {
	// Dataset is mnist, fashion-mnist or synthetic.
	Dataset *string `hcl:"dataset,optional"`
	// Dir is the folder of the IDX files, relative to the experiment file.
	Dir *string `hcl:"dir,optional"`
	// LimitTrain and LimitTest keep only the first N samples (0 = all).
	LimitTrain *int `hcl:"limit_train,optional"`
	LimitTest  *int `hcl:"limit_test,optional"`
}

// ExperimentOptimizer is the optimizer block of an experiment.
type ExperimentOptimizer struct {
	// Name is the block's label: sgd or adam.
	Name string `hcl:"name,label"`
	// LR, Momentum, WD and Nesterov are as the flags of the same names.
	LR       *float64 `hcl:"lr,optional"`
	Momentum *float64 `hcl:"momentum,optional"`
	WD       *float64 `hcl:"wd,optional"`
	Nesterov *bool    `hcl:"nesterov,optional"`
}

// loadExperiment parses and decodes an experiment file. HCL diagnostics are printed to
// stderr with their source snippets and returned as a usage error.
func loadExperiment(path string, stderr io.Writer) (*Experiment, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError("experiment: %v", err)
	}
	p := hclparse.NewParser()
	f, diags := p.ParseHCL(src, path)
	var exp Experiment
	if !diags.HasErrors() {
		diags = append(diags, gohcl.DecodeBody(f.Body, nil, &exp)...)
	}
	if !diags.HasErrors() && exp.Optimizer != nil && exp.Optimizer.Name != "sgd" && exp.Optimizer.Name != "adam" {
		d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown optimizer",
			Detail: fmt.Sprintf("The optimizer block's label is %q; want \"sgd\" or \"adam\".", exp.Optimizer.Name)}
		if body, ok := f.Body.(*hclsyntax.Body); ok {
			for _, b := range body.Blocks {
				if b.Type == "optimizer" && len(b.LabelRanges) > 0 {
					d.Subject = &b.LabelRanges[0]
				}
			}
		}
		diags = append(diags, d)
	}
	if !diags.HasErrors() && exp.Seed != nil && *exp.Seed < 0 {
		d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid seed",
			Detail: fmt.Sprintf("The seed is %d; want a whole number >= 0.", *exp.Seed)}
		if body, ok := f.Body.(*hclsyntax.Body); ok && body.Attributes["seed"] != nil {
			d.Subject = body.Attributes["seed"].Expr.Range().Ptr()
		}
		diags = append(diags, d)
	}
	if diags.HasErrors() {
		w := hcl.NewDiagnosticTextWriter(stderr, p.Files(), 80, isTerminal(stderr))
		_ = w.WriteDiagnostics(diags)
		return nil, exitCode(2, fmt.Errorf("experiment %s: %d error(s)", path, len(diags.Errs())))
	}
	base := filepath.Dir(path)
	rel := func(s *string) {
		if s != nil && *s != "" && !filepath.IsAbs(*s) {
			*s = filepath.Join(base, *s)
		}
	}
	rel(exp.Schedule)
	rel(exp.Out)
	if exp.Data != nil {
		rel(exp.Data.Dir)
	}
	return &exp, nil
}

// apply copies the experiment's settings into c, except those whose flag set reports
// as given on the command line.
func (e *Experiment) apply(c *RunCmd, set func(flag string) bool) {
	str := func(flag string, dst *string, v *string) {
		if v != nil && !set(flag) {
			*dst = *v
		}
	}
	num := func(flag string, dst *int, v *int) {
		if v != nil && !set(flag) {
			*dst = *v
		}
	}
	f64 := func(flag string, dst *float64, v *float64) {
		if v != nil && !set(flag) {
			*dst = *v
		}
	}
	str("model", &c.Model, e.Model)
	str("out", &c.Out, e.Out)
	num("epochs", &c.Epochs, e.Epochs)
	num("batch", &c.Batch, e.Batch)
	num("threads", &c.Threads, e.Threads)
	if e.Seed != nil && !set("seed") {
		c.Seed = uint64(*e.Seed) // >= 0: checked when the file was read
	}
	if d := e.Data; d != nil {
		str("dataset", &c.Dataset, d.Dataset)
		str("data", &c.Data, d.Dir)
		num("limit-train", &c.LimitTrain, d.LimitTrain)
		num("limit-test", &c.LimitTest, d.LimitTest)
	}
	if o := e.Optimizer; o != nil {
		if !set("optimizer") {
			c.Optimizer = o.Name
		}
		f64("lr", &c.LR, o.LR)
		f64("momentum", &c.Momentum, o.Momentum)
		f64("wd", &c.WD, o.WD)
		if o.Nesterov != nil && !set("nesterov") {
			c.Nesterov = *o.Nesterov
		}
	}
}
