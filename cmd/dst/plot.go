package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dst-dev/dst/analysis"
	"github.com/dst-dev/dst/internal/runlog"
)

// PlotCmd draws the charts of a finished run, or of a sensitivity CSV.
type PlotCmd struct {
	Dir string `arg:"" help:"Run folder holding summary.json (as written by 'dst train' and 'dst run'), the summary.json file, or a sensitivity CSV (dst's or Distiller's)." type:"path" placeholder:"RUN_DIR"`
	Out string `help:"Output folder for the PNG files (default: the folder of the input)." type:"path" placeholder:"DIR"`
}

// Run writes sparsity.png, accuracy.png, loss.png and total_sparsity.png for a run, or
// NAME.png for a sensitivity CSV NAME.csv.
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
	if c.Out != "" {
		dir = c.Out
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return exitCode(2, fmt.Errorf("--out: %w", err))
		}
	}
	if !st.IsDir() && strings.EqualFold(filepath.Ext(path), ".csv") {
		return plotSensitivityCSV(g, path, dir)
	}
	s, err := runlog.ReadSummary(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return usageError("%s holds no summary.json; is it a run folder?", c.Dir)
		}
		return exitCode(2, err)
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

// plotSensitivityCSV draws a sensitivity CSV as dir/NAME.png.
func plotSensitivityCSV(g *Globals, path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return usageError("%v", err)
	}
	defer f.Close()
	res, err := analysis.ReadCSV(f)
	if err != nil {
		return exitCode(2, fmt.Errorf("%s: %w", path, err))
	}
	out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))+".png")
	if err := analysis.PlotSensitivity(res, out); err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.Stdout, "wrote %s (%d parameters × %d levels)\n", out, len(res.Params), len(res.Levels))
	return err
}
