package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dst-dev/dst/analysis"
	"github.com/dst-dev/dst/stdlib"
	"github.com/schollz/progressbar/v3"
)

// SensitivityCmd groups the sweep (the default) and the merge of sharded sweeps.
type SensitivityCmd struct {
	Sweep SensitivitySweepCmd `cmd:"" default:"withargs" help:"Run the sweep, or one shard of it (the default sub-command)."`
	Merge SensitivityMergeCmd `cmd:"" help:"Join the parts written by 'dst sensitivity --shard i/n' into sensitivity.csv and sensitivity.png."`
}

// SensitivitySweepCmd runs a sensitivity sweep (Distiller's --sense).
type SensitivitySweepCmd struct {
	Model       string `help:"Model from the zoo (default: the one the checkpoint names)." placeholder:"NAME"`
	Checkpoint  string `help:"Trained checkpoint (.safetensors) to analyse." required:"" type:"existingfile" placeholder:"FILE"`
	Levels      string `help:"Sparsity levels: start:stop:step (stop excluded, as NumPy's arange) or a comma-separated list." default:"0:0.95:0.05" placeholder:"LEVELS"`
	Granularity string `help:"What to prune: elements (exactly floor(s*n) smallest weights), filters or channels (by L1, 4-D weights only)." default:"elements" enum:"elements,filters,channels" placeholder:"G"`
	Params      string `help:"Comma-separated globs of the parameters to sweep (default: every 2-D and 4-D weight; 4-D only for filters and channels)." placeholder:"SELECTOR"`
	Out         string `help:"Output folder for sensitivity.csv and sensitivity.png, or for this shard's part." required:"" type:"path" placeholder:"DIR"`
	Shard       string `help:"Run only shard i of n (0-based), e.g. 3/8, and write its part; merge the parts with 'dst sensitivity merge'." placeholder:"I/N"`
	Batch       int    `help:"Evaluation minibatch size." default:"256" placeholder:"N"`
	Threads     int    `help:"Worker threads (0 = all cores)." default:"0" placeholder:"N"`
	Force       bool   `help:"Overwrite a sweep already in --out (a shard always rewrites its own part, so that a retried job succeeds)."`
	DataFlags
}

// parseShard parses "i/n" with 0 <= i < n.
func parseShard(s string) (i, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	if ok {
		i, err = strconv.Atoi(strings.TrimSpace(a))
		if err == nil {
			n, err = strconv.Atoi(strings.TrimSpace(b))
		}
	}
	if !ok || err != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, usageError("--shard %q: want i/n with 0 <= i < n, e.g. 0/4", s)
	}
	return i, n, nil
}

// fileDigest returns the hex SHA-256 of a file, so merged parts are known to come from
// the same checkpoint.
func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Run runs the sweep (or its shard) and writes the results.
func (c *SensitivitySweepCmd) Run(g *Globals) error {
	if err := setThreads(c.Threads); err != nil {
		return err
	}
	if c.Batch < 1 {
		return usageError("--batch must be >= 1, got %d", c.Batch)
	}
	shard, shards := 0, 1
	if c.Shard != "" {
		var err error
		if shard, shards, err = parseShard(c.Shard); err != nil {
			return err
		}
		// A shard rewrites only its own part (a retried job must succeed), but a folder
		// that cannot take it fails now, not after the work.
		if err := checkOutFolder(c.Out, "", nil, true); err != nil {
			return err
		}
	} else if err := checkOutFolder(c.Out, "a sensitivity sweep", sensitivityFiles, c.Force); err != nil {
		return err
	}
	levels, err := analysis.ParseLevels(c.Levels)
	if err != nil {
		return usageError("--levels: %v", err)
	}
	gran, err := stdlib.ParseGranularity(c.Granularity)
	if err != nil {
		return usageError("--granularity: %v", err)
	}
	m, err := loadModel(c.Model, c.Checkpoint)
	if err != nil {
		return err
	}
	eligible, err := analysis.SweepParams(m, gran)
	if err != nil {
		return usageError("%v", err)
	}
	params := eligible
	if c.Params != "" {
		if params, err = analysis.SelectParams(eligible, c.Params); err != nil {
			return usageError("--params: %v", err)
		}
	}
	_, test, err := c.load(m)
	if err != nil {
		return err
	}
	digest, err := fileDigest(c.Checkpoint)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return exitCode(2, fmt.Errorf("--out: %w", err))
	}
	points := len(params) * len(levels)
	what := "sweeping"
	if shards > 1 {
		what = fmt.Sprintf("shard %d/%d:", shard, shards)
	}
	fmt.Fprintf(g.Stdout, "%s %d parameters × %d levels of %s (%s) on %s (%d samples)\n",
		what, len(params), len(levels), m.Name, gran, test.Name, test.N)
	start := time.Now()
	part, err := analysis.Sweep(g.Ctx, m, test, analysis.SweepConfig{
		Levels: levels, Granularity: gran, Params: params, Batch: c.Batch,
		Shard: shard, Shards: shards,
		Meta: map[string]string{
			"checkpoint_sha256": digest, "dataset": test.Name,
			"samples": strconv.Itoa(test.N), "batch": strconv.Itoa(c.Batch),
		},
		Progress: pointBar(g.Stderr, (points-shard+shards-1)/shards),
	})
	if err != nil {
		return err
	}
	elapsed := time.Since(start).Round(time.Millisecond)
	if shards > 1 {
		path := filepath.Join(c.Out, analysis.PartName(shard, shards))
		if err := analysis.WritePart(path, part); err != nil {
			return err
		}
		fmt.Fprintf(g.Stdout, "wrote %s (%d points in %v)\n", path, len(part.Points), elapsed)
		return nil
	}
	res, err := analysis.Merge([]*analysis.Part{part}, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "%d points in %v\n", len(res.Points), elapsed)
	return writeSensitivity(g, res, c.Out)
}

// pointBar returns a Progress callback drawing a bar on stderr when it is a terminal,
// and nil otherwise.
func pointBar(stderr io.Writer, total int) func(done, total int) {
	if !isTerminal(stderr) || total < 1 {
		return nil
	}
	bar := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription("sensitivity"),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowCount(),
	)
	return func(done, _ int) {
		bar.Set(done)
		if done == total {
			bar.Finish()
		}
	}
}

// writeSensitivity writes sensitivity.csv and sensitivity.png into dir and prints the
// top-1 table.
func writeSensitivity(g *Globals, res *analysis.Result, dir string) error {
	csvPath := filepath.Join(dir, "sensitivity.csv")
	if err := res.WriteCSVFile(csvPath); err != nil {
		return err
	}
	pngPath := filepath.Join(dir, "sensitivity.png")
	if err := analysis.PlotSensitivity(res, pngPath); err != nil {
		return err
	}
	if err := printTop1Table(g.Stdout, res); err != nil {
		return err
	}
	_, err := fmt.Fprintf(g.Stdout, "wrote %s and %s\n", csvPath, pngPath)
	return err
}

// printTop1Table prints top-1 accuracy with one row per parameter and one column per
// level.
func printTop1Table(w io.Writer, res *analysis.Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "top-1 (%) at sparsity\t")
	for _, l := range res.Levels {
		fmt.Fprintf(tw, "%s%%\t", strconv.FormatFloat(math.Round(l*1e6)/1e4, 'f', -1, 64))
	}
	fmt.Fprintln(tw)
	n := len(res.Levels)
	for i, p := range res.Params {
		fmt.Fprintf(tw, "%s\t", p)
		for j := range n {
			fmt.Fprintf(tw, "%.2f\t", res.Points[i*n+j].Top1)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// sensitivityFiles are the files a sweep (or a merge) writes into its output folder.
var sensitivityFiles = []string{"sensitivity.csv", "sensitivity.png"}

// SensitivityMergeCmd joins the parts of a sharded sweep.
type SensitivityMergeCmd struct {
	Parts []string `arg:"" help:"Folders holding part files (sensitivity.part-*-of-*.json), or the files." type:"path" placeholder:"DIR"`
	Out   string   `help:"Output folder for sensitivity.csv and sensitivity.png (default: the first folder)." type:"path" placeholder:"DIR"`
	Force bool     `help:"Overwrite a sweep's results already in the output folder."`
}

// Run merges the parts and writes the same files as an unsharded sweep.
func (c *SensitivityMergeCmd) Run(g *Globals) error {
	files, err := analysis.FindParts(c.Parts)
	if err != nil {
		return exitCode(2, err)
	}
	parts := make([]*analysis.Part, len(files))
	for i, f := range files {
		if parts[i], err = analysis.ReadPart(f); err != nil {
			return exitCode(2, err)
		}
	}
	res, err := analysis.Merge(parts, files)
	if err != nil {
		return exitCode(2, err)
	}
	out := c.Out
	if out == "" {
		out = c.Parts[0]
		if st, err := os.Stat(out); err == nil && !st.IsDir() {
			out = filepath.Dir(out)
		}
	}
	if err := checkOutFolder(out, "a sensitivity sweep", sensitivityFiles, c.Force); err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "merged %d parts of %s (%s): %d points\n", len(parts), res.Model, res.Granularity, len(res.Points))
	return writeSensitivity(g, res, out)
}
