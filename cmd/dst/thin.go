package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/dst-dev/dst/nn"
)

// ThinCmd removes the zeroed filters and channels of a finished checkpoint (Distiller's
// --thinnify) and writes the smaller dense model.
type ThinCmd struct {
	Checkpoint string `help:"Checkpoint to thin (.safetensors)." required:"" type:"existingfile" placeholder:"FILE"`
	Out        string `short:"o" help:"Output checkpoint." required:"" type:"path" placeholder:"FILE"`
	Model      string `help:"Model from the zoo (default: the one the checkpoint names)." placeholder:"NAME"`
	Mode       string `help:"What to remove: contract (zero filters and unread channels), filters or channels." default:"contract" enum:"contract,filters,channels" placeholder:"MODE"`
	Force      bool   `help:"Overwrite --out if it exists."`
}

// Run loads the checkpoint, thins the model, prints what was removed and the weight
// counts, and saves the thinned checkpoint (parameters, buffers and masks; optimizer
// state is not carried over).
func (c *ThinCmd) Run(g *Globals) error {
	if absPath(c.Out) == absPath(c.Checkpoint) {
		return usageError("-o %s would overwrite the input checkpoint", c.Out)
	}
	if !c.Force && outExists(c.Out) {
		return usageError("-o %s exists; pass --force to overwrite it", c.Out)
	}
	mode, err := nn.ParseThinMode(c.Mode)
	if err != nil {
		return usageError("%v", err)
	}
	m, err := loadModel(c.Model, c.Checkpoint)
	if err != nil {
		return err
	}
	ci, err := nn.ReadCheckpointInfo(c.Checkpoint)
	if err != nil {
		return usageError("%v", err)
	}
	before := m.NumParams()
	rep, err := nn.Thin(m, nil, mode)
	if err != nil {
		return exitCode(1, err)
	}
	fmt.Fprint(g.Stdout, rep.String())
	meta := map[string]string{}
	for k, v := range ci.Meta {
		meta[k] = v
	}
	meta["dst.thinned"] = mode.String()
	meta["dst.thinned_from"] = filepath.Base(c.Checkpoint)
	if err := nn.SaveCheckpoint(c.Out, m, nil, ci.Epoch, meta); err != nil {
		return err
	}
	after := m.NumParams()
	fmt.Fprintf(g.Stdout, "%s: %d → %d parameters (%.1f%%); wrote %s\n", m.Name, before, after,
		100*float64(after)/float64(before), c.Out)
	return nil
}

// absPath returns p made absolute (p itself when that fails).
func absPath(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// outExists reports whether something already exists at path.
func outExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
