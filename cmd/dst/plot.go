package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dst-dev/dst/analysis"
	"github.com/dst-dev/dst/internal/runlog"
)

// PlotCmd draws the charts of a finished run.
type PlotCmd struct {
	Dir string `arg:"" help:"Run folder holding summary.json (as written by 'dst train' and 'dst run'), or the summary.json file." type:"path" placeholder:"RUN_DIR"`
	Out string `help:"Output folder for the PNG files (default: the run folder)." type:"path" placeholder:"DIR"`
}

// Run reads summary.json and writes sparsity.png, accuracy.png, loss.png and
// total_sparsity.png.
func (c *PlotCmd) Run(g *Globals) error {
	path, dir := c.Dir, c.Dir
	st, err := os.Stat(c.Dir)
	if err != nil {
		return usageError("%v", err)
	}
	if st.IsDir() {
		path = filepath.Join(c.Dir, "summary.json")
	} else {
		dir = filepath.Dir(c.Dir)
	}
	s, err := runlog.ReadSummary(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return usageError("%s holds no summary.json; is it a run folder?", c.Dir)
		}
		return exitCode(2, err)
	}
	if c.Out != "" {
		dir = c.Out
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return exitCode(2, fmt.Errorf("--out: %w", err))
		}
	}
	paths, err := analysis.PlotRun(s, dir)
	for _, p := range paths {
		fmt.Fprintf(g.Stdout, "wrote %s\n", p)
	}
	if err != nil {
		return exitCode(2, err)
	}
	return nil
}
