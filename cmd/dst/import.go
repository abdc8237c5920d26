package main

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/dst-dev/dst/importer"
	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/stdlib"
)

// ImportCmd converts a Distiller YAML schedule into a .dst script.
type ImportCmd struct {
	File    string `arg:"" help:"Distiller YAML schedule to import." type:"existingfile" placeholder:"FILE.yaml"`
	Out     string `short:"o" help:"Write the .dst script to this file instead of standard output." type:"path" placeholder:"FILE.dst"`
	Model   string `help:"Check the script against this zoo model (default: the model the file names, when dst has it; otherwise a synthetic parameter table built from the names the file mentions)." placeholder:"NAME"`
	NoCheck bool   `help:"Convert and format only; do not check the script."`
	Force   bool   `help:"Overwrite --out if it exists."`
}

// Run imports the file, checks the script, and writes it. Problems in the YAML are
// printed as file:line:col lines and exit with status 1; files that are not schedules
// (AMC layer lists, activation statistics) are reported as such, also with status 1.
func (c *ImportCmd) Run(g *Globals) error {
	if c.Out != "" && absPath(c.Out) == absPath(c.File) {
		return usageError("-o %s would overwrite the YAML file being imported", c.Out)
	}
	if c.Out != "" && !c.Force && outExists(c.Out) {
		return usageError("-o %s exists; pass --force to overwrite it", c.Out)
	}
	if c.NoCheck && c.Model != "" {
		return usageError("--model names the model to check against; it cannot be combined with --no-check")
	}
	src, err := os.ReadFile(c.File)
	if err != nil {
		return usageError("%v", err)
	}
	opts := importer.Options{}
	if !c.NoCheck {
		opts.Builtins = stdlib.Signatures()
	}
	res, err := importer.Import(c.File, src, opts)
	if err != nil {
		return importFailure(g, err)
	}
	against := "no model (--no-check)"
	if !c.NoCheck {
		params, desc, err := importParams(c.Model, res)
		if err != nil {
			return err
		}
		opts.Params = params
		against = desc
		if res, err = importer.Import(c.File, src, opts); err != nil {
			return importFailure(g, err)
		}
	}
	if c.Out == "" {
		_, err = g.Stdout.Write(res.Source)
		return err
	}
	if err := os.WriteFile(c.Out, res.Source, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(g.Stderr, "wrote %s: %d statements, checked against %s\n", c.Out, res.Statements, against)
	return nil
}

// importParams picks the parameter table an import is checked against: the --model
// given, else the model the file names when the zoo has it, else a synthetic table.
func importParams(model string, res *importer.Result) ([]lang.ParamInfo, string, error) {
	if model != "" {
		p, err := modelParams(model)
		return p, "model " + model, err
	}
	if res.Arch != "" {
		if slices.Contains(nn.ModelNames(), res.Arch) {
			p, err := modelParams(res.Arch)
			return p, "model " + res.Arch + " (named by " + res.ArchFrom + ")", err
		}
	}
	desc := fmt.Sprintf("a synthetic table of the %d parameters the file names", len(res.Params)+len(res.Layers))
	if res.Arch != "" {
		desc += " (dst has no model " + res.Arch + ")"
	}
	return res.Synthetic(), desc, nil
}

// importFailure prints every positioned error of a failed import and exits with 1.
func importFailure(g *Globals, err error) error {
	return exitCode(1, printImportErrors(g, err))
}

// printImportErrors prints the positioned errors of a failed import, one a line, and
// returns an error that counts them (err itself when it is not a list of them).
func printImportErrors(g *Globals, err error) error {
	var list importer.ErrorList
	if !errors.As(err, &list) {
		return err
	}
	for _, e := range list {
		fmt.Fprintf(g.Stderr, "%s\n", e)
	}
	return fmt.Errorf("import failed: %d error(s)", len(list))
}
