package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"github.com/dst-dev/dst/importer"
	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/stdlib"
)

// CheckCmd type-checks .dst scripts without running them.
type CheckCmd struct {
	Files   []string `arg:"" name:"file" help:"Scripts to check: .dst files, Distiller .yaml schedules (imported in memory) or experiment .hcl files (their schedule, model and epochs)." placeholder:"FILE"`
	Model   string   `help:"Resolve selectors and check shapes against this zoo model (see 'dst models'). Without it each file is checked against the model its '# model: NAME' header line names, and a file without one only for syntax, types and windows." placeholder:"NAME"`
	Epochs  int      `help:"Run length in epochs: open windows end there, and windows past it are warned about (0 = unknown)." placeholder:"N"`
	Color   string   `help:"Colour diagnostics: auto (only on a terminal), always or never." enum:"auto,always,never" default:"auto"`
	Verbose bool     `short:"v" help:"List each checked policy: method, parameters and window."`
	Format  string   `help:"Diagnostics as text (on stderr) or as one JSON array on stdout, for editors and CI." enum:"text,json" default:"text"`
}

// Run checks every file and prints all diagnostics to stderr as file:line:col lines
// with the source and an underline. It returns nil when no file has an error (warnings
// are printed but do not fail), an exit status 1 when some file has errors, and status 2
// for usage errors: an unreadable file, an unknown model, a negative --epochs.
func (c *CheckCmd) Run(g *Globals) error {
	if c.Epochs < 0 {
		return usageError("--epochs must be >= 0, got %d", c.Epochs)
	}
	env := lang.Env{Builtins: stdlib.Signatures(), Epochs: c.Epochs}
	if c.Model != "" {
		params, err := modelParams(c.Model)
		if err != nil {
			return err
		}
		env.Params = params
	}
	// A file that cannot be read does not stop the others from being checked; it makes
	// the exit status 2 at the end.
	sources := map[string][]byte{}
	var unreadable []string
	var files []checkInput
	importFailed := 0
	for _, name := range c.Files {
		in, err := c.input(g, name)
		var bad *importError
		switch {
		case errors.As(err, &bad):
			// A Distiller schedule that does not import has errors, as a bad script has.
			fmt.Fprintf(g.Stderr, "dst: %s: %v\n", name, bad.err)
			importFailed++
			continue
		case err != nil:
			fmt.Fprintf(g.Stderr, "dst: %v\n", err)
			unreadable = append(unreadable, name)
			continue
		}
		sources[in.name] = in.src
		files = append(files, in)
	}
	dw := lang.NewDiagnosticWriter(g.Stderr, sources, diagWidth(g), c.useColor(g))
	failed := importFailed
	var all lang.Diagnostics
	for _, in := range files {
		if err := g.Ctx.Err(); err != nil {
			return err
		}
		name := in.name
		fenv := env
		if in.epochs > 0 && c.Epochs == 0 {
			fenv.Epochs = in.epochs
		}
		model := c.Model
		if c.Model == "" {
			mn := in.model
			if mn == "" {
				var err error
				if mn, err = scheduleModel(name, in.src, ""); err != nil {
					// A Distiller schedule's header names its own network (alexnet,
					// resnet50...), which no zoo model stands for: check it without one,
					// as dst import does. dst run refuses it.
					fmt.Fprintf(g.Stderr, "dst: warning: %v; checking it without a model\n", err)
				}
			}
			if mn != "" {
				params, err := modelParams(mn)
				if err != nil {
					return err
				}
				fenv.Params = params
			}
			model = mn
		}
		prog, diags := lang.CheckSource(name, sources[name], fenv)
		if !diags.HasErrors() && model != "" {
			if pd := prepareDiagnostics(prog, model); len(pd) > 0 {
				diags = append(diags, pd...).Sort()
				prog = nil
			}
		}
		all = append(all, diags...)
		if len(diags) > 0 && c.Format != "json" {
			if err := dw.WriteDiagnostics(diags); err != nil {
				return err
			}
		}
		if diags.HasErrors() {
			failed++
			continue
		}
		if c.Verbose && c.Format != "json" {
			printProgram(g, name, prog)
		}
	}
	if c.Format == "json" {
		if err := lang.WriteJSON(g.Stdout, all); err != nil {
			return err
		}
	}
	if failed > 0 && len(c.Files) > 1 && c.Format != "json" {
		fmt.Fprintf(g.Stderr, "%d of %d files have errors\n", failed, len(c.Files))
	}
	if len(unreadable) > 0 {
		return usageError("cannot read %s", strings.Join(unreadable, ", "))
	}
	if failed > 0 {
		return exitCode(1, nil)
	}
	return nil
}

// prepareDiagnostics prepares a fresh copy of model for each quantization-aware training
// policy of prog, as dst run does when it compiles the schedule, and reports the
// policies that cannot be installed (the checker's parameter table does not show that
// a model's ReLUs sit inside residual blocks, which quantization-aware training cannot
// replace).
func prepareDiagnostics(prog *lang.Program, model string) lang.Diagnostics {
	var out lang.Diagnostics
	for _, p := range prog.Policies {
		if p.Signature == nil || !p.Signature.PreparesModel {
			continue
		}
		m, err := nn.New(model, 0)
		if err != nil {
			return nil // reported where the parameter table was built
		}
		if _, _, err := stdlib.InstallQAT(p, m, 0); err != nil {
			detail := fmt.Sprintf("%s %s cannot prepare %s: %v.", p.Kind, p.Method, model, err)
			if strings.Contains(err.Error(), "residual block") {
				detail += " Quantization-aware training replaces every ReLU of the model, and dst cannot replace the layers inside a residual block; train it on a model without residual blocks, such as simplenet_mnist or lenet300_100."
			}
			r := p.Range
			out = append(out, &lang.Diagnostic{Severity: lang.Error, Summary: "Model cannot be prepared", Detail: detail, Subject: &r})
		}
	}
	return out
}

func (c *CheckCmd) useColor(g *Globals) bool {
	switch c.Color {
	case "always":
		return true
	case "never":
		return false
	}
	return isTerminal(g.Stderr) && os.Getenv("NO_COLOR") == ""
}

// diagWidth is the terminal's width when stderr is one, else 80.
func diagWidth(g *Globals) uint {
	if f, ok := g.Stderr.(*os.File); ok && isTerminal(f) {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w >= 40 {
			return uint(min(w, 120))
		}
	}
	return 80
}

func printProgram(g *Globals, name string, prog *lang.Program) {
	fmt.Fprintf(g.Stdout, "%s: %d policies\n", name, len(prog.Policies))
	for _, p := range prog.Policies {
		fmt.Fprintf(g.Stdout, "  %s:%d: %s\n", name, p.Range.Start.Line, p)
	}
}

// checkInput is one schedule dst check checks: name (as diagnostics cite it), its .dst
// text, and the model and run length an experiment file gives it ("" and 0 otherwise).
type checkInput struct {
	name, model string
	src         []byte
	epochs      int
}

// input reads the schedule a command-line file stands for: a .dst script itself, a
// Distiller YAML schedule imported in memory (diagnostics cite "FILE.yaml (imported)"),
// or the schedule an experiment .hcl names, with its model and epochs.
func (c *CheckCmd) input(g *Globals, name string) (checkInput, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".hcl":
		exp, err := loadExperiment(name, g.Stderr)
		if err != nil {
			return checkInput{}, err
		}
		if exp.Schedule == nil {
			return checkInput{}, fmt.Errorf("experiment %s names no schedule", name)
		}
		in, err := c.input(g, *exp.Schedule)
		if err != nil {
			return checkInput{}, fmt.Errorf("experiment %s: %w", name, err)
		}
		if exp.Model != nil {
			in.model = *exp.Model
		}
		if exp.Epochs != nil {
			in.epochs = *exp.Epochs
		}
		return in, nil
	case ".yaml", ".yml":
		raw, err := os.ReadFile(name)
		if err != nil {
			return checkInput{}, err
		}
		src, err := importer.Convert(name, raw, importer.Options{})
		if err != nil {
			return checkInput{}, &importError{printImportErrors(g, err)}
		}
		return checkInput{name: name + " (imported)", src: src}, nil
	}
	src, err := os.ReadFile(name)
	if err != nil {
		return checkInput{}, err
	}
	return checkInput{name: name, src: src}, nil
}

// importError is a Distiller schedule that does not import; its positioned errors have
// been printed.
type importError struct{ err error }

func (e *importError) Error() string { return e.err.Error() }
