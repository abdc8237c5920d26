package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/alecthomas/kong"
	"github.com/dst-dev/dst/analysis"
	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/importer"
	"github.com/dst-dev/dst/internal/runlog"
	"github.com/dst-dev/dst/internal/tfevents"
	"github.com/dst-dev/dst/interp"
	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/stdlib"
)

// Checkpoint metadata keys of a dst run.
const (
	metaRun       = "dst.run"                 // the run's settings (runConfig as JSON)
	metaScheduler = interp.MetaSchedulerState // the Scheduler's state (interp.MarshalState)
	metaFinished  = "dst.finished"            // "true" once training and after-training policies ran
	metaSchedule  = interp.MetaSchedule       // the schedule's source, so a quantization-aware model can be rebuilt
)

// Files a run writes into its output folder.
const (
	runSchedule   = "schedule.dst"
	runExperiment = "experiment.hcl"
	runCheckpoint = "checkpoint.safetensors"
	runSummary    = "summary.json"
	runCSV        = "run.csv"
	runEvents     = "events.out.tfevents.*" // a glob: TensorBoard names its files
)

// runFiles returns the files (and the glob of the TensorBoard files) a new run writes
// into its output folder, or replaces or deletes there; withExperiment adds
// experiment.hcl, which only a run of an experiment file writes.
func runFiles(withExperiment bool) []string {
	files := []string{runCheckpoint, runSummary, runCSV, runSchedule, runEvents}
	if withExperiment {
		files = append(files, runExperiment)
	}
	return files
}

// RunCmd trains a model under a .dst compression schedule.
type RunCmd struct {
	File string `arg:"" optional:"" help:"The .dst schedule, a Distiller .yaml schedule (imported in memory), or an experiment .hcl file naming one." placeholder:"FILE" type:"path"`
	TrainFlags
	DataFlags
	Out        string `help:"Output folder (default runs/<model>-<time>)." type:"path" placeholder:"DIR"`
	Force      bool   `help:"Allow writing into an --out folder that already holds a run, or any file a run writes (its checkpoint, summary and TensorBoard files are deleted at the start)."`
	Resume     string `help:"Continue the run in DIR from its last checkpoint (its settings and schedule come from DIR)." type:"path" placeholder:"DIR"`
	Verbose    bool   `help:"Log every mask, learning-rate and thinning change of the schedule."`
	PrintSteps bool   `hidden:"" help:"Print 'step EPOCH STEP' after every minibatch (for tests)."`
	// LRDrop is dst train's flag, hidden here so that the error can say what to do.
	LRDrop float64 `name:"lr-drop" hidden:"" help:"Not for dst run: write an lr policy in the schedule."`
}

// runConfig is a run's resolved settings, saved in every checkpoint so --resume needs
// nothing else.
type runConfig struct {
	Model      string  `json:"model"`
	Schedule   string  `json:"schedule"`
	Dataset    string  `json:"dataset"`
	Data       string  `json:"data"`
	LimitTrain int     `json:"limit_train"`
	LimitTest  int     `json:"limit_test"`
	Epochs     int     `json:"epochs"`
	Batch      int     `json:"batch"`
	Optimizer  string  `json:"optimizer"`
	LR         float64 `json:"lr"`
	Momentum   float64 `json:"momentum"`
	WD         float64 `json:"wd"`
	Nesterov   bool    `json:"nesterov"`
	Seed       uint64  `json:"seed"`
}

// setFlags returns a predicate reporting whether a flag was given on the command line.
func setFlags(kctx *kong.Context) func(string) bool {
	given := map[string]bool{}
	if kctx != nil {
		// kong marks defaulted flags as set too, so read the command line itself.
		for _, a := range kctx.Args {
			if a == "--" {
				break
			}
			if name, ok := strings.CutPrefix(a, "--"); ok {
				name, _, _ = strings.Cut(name, "=")
				given[name] = true
			}
		}
	}
	return func(name string) bool { return given[name] }
}

// Run runs the schedule: it checks it against the model (printing diagnostics; exit 1 on
// errors, before any training), trains, and after every epoch prints the metrics and
// the sparsity table and writes summary.json, run.csv, TensorBoard events and the
// checkpoint into the output folder.
func (c *RunCmd) Run(g *Globals, kctx *kong.Context) error {
	set := setFlags(kctx)
	if c.Resume != "" {
		return c.resume(g, set)
	}
	if c.File == "" {
		return usageError("give a .dst schedule or an experiment .hcl file, or --resume DIR")
	}
	var expSrc []byte
	schedule := c.File
	modelGiven := set("model") // else the experiment's model, or the schedule's header's
	if strings.EqualFold(filepath.Ext(c.File), ".hcl") {
		exp, err := loadExperiment(c.File, g.Stderr)
		if err != nil {
			return err
		}
		modelGiven = modelGiven || exp.Model != nil
		if expSrc, err = os.ReadFile(c.File); err != nil {
			return usageError("%v", err)
		}
		exp.apply(c, set)
		if exp.Schedule == nil {
			return usageError("experiment %s names no schedule (schedule = \"FILE.dst\")", c.File)
		}
		schedule = *exp.Schedule
	}
	if c.LRDrop != 0 {
		return usageError("--lr-drop does not apply to dst run; write an lr policy in the schedule")
	}
	if err := c.validate(); err != nil {
		return err
	}
	src, err := os.ReadFile(schedule)
	if err != nil {
		return usageError("schedule: %v", err)
	}
	if ext := strings.ToLower(filepath.Ext(schedule)); ext == ".yaml" || ext == ".yml" {
		// A Distiller schedule: import it in memory. Diagnostics about the generated
		// script name it after the YAML file; the run folder keeps the .dst text.
		if src, err = importer.Convert(schedule, src, importer.Options{}); err != nil {
			return importFailure(g, err)
		}
		fmt.Fprintf(g.Stdout, "imported Distiller schedule %s\n", schedule)
		schedule += " (imported)" // as dst check cites it: no such .dst file exists
	}
	if !modelGiven {
		if c.Model, err = scheduleModel(schedule, src, c.Model); err != nil {
			return usageError("%v", err)
		}
	}
	cfg := runConfig{Model: c.Model, Schedule: schedule, Dataset: c.Dataset, Data: c.Data, LimitTrain: c.LimitTrain,
		LimitTest: c.LimitTest, Epochs: c.Epochs, Batch: c.Batch, Optimizer: c.Optimizer, LR: c.LR,
		Momentum: c.Momentum, WD: c.WD, Nesterov: c.Nesterov, Seed: c.Seed}
	out := c.Out
	if out == "" {
		out = defaultOut(c.Model)
	}
	return c.execute(g, cfg, src, expSrc, out, false)
}

// resume continues the run in c.Resume.
func (c *RunCmd) resume(g *Globals, set func(string) bool) error {
	for _, f := range []string{"model", "epochs", "batch", "lr", "momentum", "wd", "nesterov", "optimizer", "seed",
		"dataset", "data", "limit-train", "limit-test", "out", "lr-drop"} {
		if set(f) {
			return usageError("--resume takes the run's settings from %s; --%s cannot be given with it", c.Resume, f)
		}
	}
	if c.File != "" {
		return usageError("--resume takes the schedule from %s; do not name %s", c.Resume, c.File)
	}
	if err := setThreads(c.Threads); err != nil {
		return err
	}
	cfg, src, err := readResumable(c.Resume)
	if err != nil {
		return err
	}
	return c.execute(g, cfg, src, nil, c.Resume, true)
}

// readResumable reads and checks everything a resumed run takes from its folder dir
// (the checkpoint's settings, epoch and scheduler state, the schedule, the logs of the
// epochs before the checkpoint's) and returns the settings and the schedule. Nothing
// in dir is written: a folder that cannot be resumed is left as it was.
func readResumable(dir string) (runConfig, []byte, error) {
	var cfg runConfig
	fail := func(format string, args ...any) (runConfig, []byte, error) {
		return cfg, nil, usageError("--resume %s: %s", dir, fmt.Sprintf(format, args...))
	}
	notRun := fmt.Sprintf("%s is not the folder of a `dst run` that can be resumed (a `dst train` folder cannot be: only dst run saves what --resume needs)", dir)
	ckpt := filepath.Join(dir, runCheckpoint)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fail("not a folder")
	}
	if _, err := os.Lstat(ckpt); errors.Is(err, os.ErrNotExist) {
		return fail("it holds no %s: the run ended before its first epoch did, or %s", runCheckpoint, notRun)
	}
	ci, err := nn.ReadCheckpointInfo(ckpt)
	if err != nil {
		return fail("%v", err)
	}
	if ci.Meta[metaRun] == "" {
		return fail("the checkpoint has no %s metadata (the run's settings): %s", metaRun, notRun)
	}
	if err := json.Unmarshal([]byte(ci.Meta[metaRun]), &cfg); err != nil {
		return fail("the checkpoint's %s metadata (the run's settings) is not valid JSON: %v", metaRun, err)
	}
	if err := cfg.validate(); err != nil {
		return fail("the settings saved in the checkpoint's %s metadata are not valid: %v", metaRun, err)
	}
	if ci.Model != "" && ci.Model != cfg.Model {
		return fail("the checkpoint holds a %s, but its %s settings name model %s", ci.Model, metaRun, cfg.Model)
	}
	if ci.Meta[metaFinished] == "true" {
		return fail("the run already finished all %d epochs", cfg.Epochs)
	}
	if e, ok := ci.Meta["dst.epoch"]; !ok || ci.Epoch < 0 || ci.Epoch >= cfg.Epochs {
		if !ok {
			e = "missing"
		}
		return fail("the checkpoint's last finished epoch (dst.epoch metadata) is %s; a run of %d epochs checkpoints epochs 0 to %d", e, cfg.Epochs, cfg.Epochs-1)
	}
	if ci.Meta[metaScheduler] == "" {
		return fail("the checkpoint has no %s metadata (the schedule's state): %s", metaScheduler, notRun)
	}
	src, err := os.ReadFile(filepath.Join(dir, runSchedule))
	if err != nil {
		return fail("the run's schedule: %v", err)
	}
	if err := checkRunLogs(dir, ci.Epoch+1); err != nil {
		return fail("%v", err)
	}
	return cfg, src, nil
}

// validate checks settings read from a checkpoint as [TrainFlags.validate] and
// [DataFlags.load] check the flags.
func (cfg *runConfig) validate() error {
	if cfg.Model == "" {
		return errors.New("model is missing")
	}
	tf := cfg.trainFlags()
	if err := tf.check(func(s string) string { return s }); err != nil {
		return err
	}
	switch cfg.Dataset {
	case "", "mnist", "fashion-mnist", "synthetic":
	default:
		return fmt.Errorf("dataset must be mnist, fashion-mnist or synthetic, got %q", cfg.Dataset)
	}
	if cfg.LimitTrain < 0 || cfg.LimitTest < 0 {
		return fmt.Errorf("limit_train and limit_test must be >= 0, got %d and %d", cfg.LimitTrain, cfg.LimitTest)
	}
	return nil
}

// trainFlags returns the training settings of cfg as flags.
func (cfg *runConfig) trainFlags() TrainFlags {
	return TrainFlags{Model: cfg.Model, Epochs: cfg.Epochs, Batch: cfg.Batch, LR: cfg.LR, Momentum: cfg.Momentum,
		WD: cfg.WD, Nesterov: cfg.Nesterov, Optimizer: cfg.Optimizer, Seed: cfg.Seed}
}

// checkRunLogs checks that the logs of the run in dir, resumed at epoch start, hold
// every epoch before start: a resumed run keeps them and adds its own, and without
// them it would write logs that silently lack the first epochs.
func checkRunLogs(dir string, start int) error {
	redo := fmt.Sprintf("restore it, or run again from the start with --force (resuming would write logs without epochs 0 to %d)", start-1)
	sumPath := filepath.Join(dir, runSummary)
	sum, err := runlog.ReadSummary(sumPath)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s is missing: it recorded epochs 0 to %d; %s", sumPath, start-1, redo)
	}
	if err != nil {
		return err
	}
	seen := map[int]bool{}
	for _, e := range sum.Epochs {
		seen[e.Metrics.Epoch] = true
	}
	if e := firstMissing(seen, start); e >= 0 {
		return fmt.Errorf("%s lacks epoch %d, which the checkpoint says finished; %s", sumPath, e, redo)
	}
	csvPath := filepath.Join(dir, runCSV)
	epochs, err := runlog.CSVEpochs(csvPath)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s is missing: it recorded epochs 0 to %d; %s", csvPath, start-1, redo)
	}
	if err != nil {
		return fmt.Errorf("%v; %s", err, redo)
	}
	clear(seen)
	for _, e := range epochs {
		seen[e] = true
	}
	if e := firstMissing(seen, start); e >= 0 {
		return fmt.Errorf("%s lacks the row of epoch %d, which the checkpoint says finished; %s", csvPath, e, redo)
	}
	return nil
}

// firstMissing returns the first of epochs 0 to n-1 that seen lacks, or -1.
func firstMissing(seen map[int]bool, n int) int {
	for e := range n {
		if !seen[e] {
			return e
		}
	}
	return -1
}

// execute runs (or resumes) a run with settings cfg and schedule src in folder out.
func (c *RunCmd) execute(g *Globals, cfg runConfig, src, expSrc []byte, out string, resume bool) error {
	m, err := nn.New(cfg.Model, cfg.Seed)
	if err != nil {
		return usageError("%v", err)
	}
	tf := cfg.trainFlags()
	opt, err := tf.newOptimizer(m)
	if err != nil {
		return usageError("%v", err)
	}
	ckpt := filepath.Join(out, runCheckpoint)
	start := 0

	// Check the schedule against the model before anything else runs.
	name := cfg.Schedule
	if resume {
		name = filepath.Join(out, runSchedule)
	}
	logger := slog.New(slog.NewTextHandler(g.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if c.Verbose {
		// Debug too: the masks of step-granular policies are logged at that level.
		logger = slog.New(slog.NewTextHandler(g.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	acts := &activations{ctx: g.Ctx, m: m}
	iopt := interp.Options{Params: m.Params(), Optimizer: opt, Model: m, Epochs: cfg.Epochs, OptimizerMasks: true, Seed: cfg.Seed,
		Logger: logger, Activations: acts.provider}
	prog, diags := interp.Check(name, src, iopt)
	dw := lang.NewDiagnosticWriter(g.Stderr, map[string][]byte{name: src}, 0, isTerminal(g.Stderr))
	if len(diags) > 0 {
		_ = dw.WriteDiagnostics(diags)
	}
	if diags.HasErrors() {
		return exitCode(1, fmt.Errorf("schedule %s has %d error(s); nothing was run", name, len(diags.Errs())))
	}
	sched, err := interp.Compile(prog, iopt)
	if err != nil {
		var ds lang.Diagnostics
		if errors.As(err, &ds) {
			_ = dw.WriteDiagnostics(ds)
			return exitCode(1, fmt.Errorf("schedule %s cannot run on %s; nothing was run", name, cfg.Model))
		}
		return err
	}
	if resume {
		// The checkpoint loads after compiling: quantization-aware training adds modules
		// and parameters (PACT's α) the checkpoint holds.
		ci, err := nn.LoadCheckpoint(ckpt, m, opt)
		if err != nil {
			return fmt.Errorf("resume: %w", err)
		}
		start = ci.Epoch + 1
		if err := sched.RestoreState([]byte(ci.Meta[metaScheduler])); err != nil {
			if saved, ok := ci.Meta[metaSchedule]; ok && saved != string(src) {
				return fmt.Errorf("resume: %w (%s is not the schedule the checkpoint was trained with, which its %s metadata holds)", err, name, metaSchedule)
			}
			return fmt.Errorf("resume: %w", err)
		}
		if err := sched.RestoreStateTensors(ci.State); err != nil {
			return fmt.Errorf("resume: %w", err)
		}
		// Dropout draws from a stream the checkpoint does not hold: say so rather than
		// let a resumed run silently differ from an uninterrupted one.
		for _, l := range m.Modules() {
			if l.Type == "Dropout" && l.P > 0 {
				fmt.Fprintf(g.Stderr, "dst: warning: %s has dropout (%s); the resumed run's dropout masks differ from an uninterrupted run's\n", cfg.Model, l.Name)
				break
			}
		}
	}

	df := DataFlags{Dataset: cfg.Dataset, Data: cfg.Data, LimitTrain: cfg.LimitTrain, LimitTest: cfg.LimitTest}
	train, test, err := df.load(m)
	if err != nil {
		return err
	}
	acts.set = train
	if !resume {
		files := runFiles(expSrc != nil)
		if err := checkOutFolder(out, "files this run would replace or delete", files, c.Force); err != nil {
			return err
		}
		// A forced rerun first deletes the old run's checkpoint, logs and TensorBoard
		// files: interrupted at any point, it leaves no mix of the two runs (the old
		// checkpoint beside the new schedule), and the folder resumes only once this
		// run has saved a checkpoint of its own.
		for _, f := range existingFiles(out, files) {
			if f == runSchedule || f == runExperiment {
				continue // replaced below
			}
			if err := os.Remove(filepath.Join(out, f)); err != nil {
				return fmt.Errorf("--force: remove the old run's %s: %w", f, err)
			}
		}
		if err := writeFileAtomic(filepath.Join(out, runSchedule), src); err != nil {
			return err
		}
		if expSrc != nil {
			if err := writeFileAtomic(filepath.Join(out, runExperiment), expSrc); err != nil {
				return err
			}
		}
	}
	w, err := openRunLogs(out, m.Params(), cfg, start, resume)
	if err != nil {
		return err
	}
	defer w.close()

	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	meta := func() (map[string]string, error) {
		st, err := sched.MarshalState()
		if err != nil {
			return nil, err
		}
		return map[string]string{metaRun: string(cfgJSON), metaScheduler: string(st), metaSchedule: string(src)}, nil
	}
	verb := "running"
	if resume {
		verb = fmt.Sprintf("resuming at epoch %d of", start)
	}
	fmt.Fprintf(g.Stdout, "%s %s on %s under %s (%d train / %d test samples), %d epochs, batch %d, %s lr %g; writing %s\n",
		verb, cfg.Model, train.Name, name, train.N, test.N, cfg.Epochs, cfg.Batch, cfg.Optimizer, cfg.LR, out)
	for _, p := range sched.Policies() {
		what := p.Kind + " " + p.Method
		if p.Granularity != "" && p.Granularity != "elements" {
			what += " " + p.Granularity
			if p.Ranking != "" {
				what += " by " + p.Ranking
			}
		}
		line := fmt.Sprintf("  %s  %s %s", p.Range, what, p.Window)
		if len(p.Params) > 0 {
			line += "  on " + strings.Join(p.Params, ", ")
		}
		fmt.Fprintln(g.Stdout, line)
	}
	bar := stepBar(g.Stderr)
	onStep := func(p nn.Progress) {
		acts.stats = nil // the weights changed
		switch {
		case c.PrintSteps:
			fmt.Fprintf(g.Stdout, "step %d %d\n", p.Epoch, p.Step)
		case bar != nil:
			bar(p)
		}
	}
	var last nn.EpochMetrics
	last.Top1 = -1
	warned := false // about a diverged loss
	saved := resume // whether out holds a checkpoint of this run
	_, err = nn.Train(g.Ctx, m, opt, train, test, nn.TrainConfig{
		Epochs: cfg.Epochs, StartEpoch: start, Batch: cfg.Batch, Seed: cfg.Seed, Hooks: sched, OnStep: onStep,
		OnEpoch: func(em *nn.EpochMetrics) error {
			warned = warnDiverged(g, em, warned)
			last = *em
			table := runlog.Sparsity(m.Params())
			fmt.Fprintln(g.Stdout, runlog.MetricsLine(*em))
			if err := table.WriteText(g.Stdout); err != nil {
				return err
			}
			if err := w.epoch(*em, m.Params(), table); err != nil {
				return err
			}
			md, err := meta()
			if err != nil {
				return err
			}
			if err := nn.SaveCheckpoint(ckpt, m, opt, em.Epoch, md, sched.StateTensors()...); err != nil {
				return err
			}
			saved = true
			return nil
		},
	})
	if err != nil {
		if errors.Is(err, context.Canceled) {
			if saved {
				fmt.Fprintf(g.Stderr, "dst: continue the run with: dst run --resume %s\n", out)
			} else {
				fmt.Fprintf(g.Stderr, "dst: the run ended before its first epoch did; %s holds no checkpoint to resume\n", out)
			}
		}
		return err
	}
	// After-training policies may have changed the weights: save the final state.
	md, err := meta()
	if err != nil {
		return err
	}
	md[metaFinished] = "true"
	if err := nn.SaveCheckpoint(ckpt, m, opt, cfg.Epochs-1, md, sched.StateTensors()...); err != nil {
		return err
	}
	if eps := w.summary.Summary().Epochs; last.Top1 < 0 && len(eps) > 0 {
		last = eps[len(eps)-1].Metrics // resumed after the last epoch's checkpoint
	}
	// Post-training quantization changed the model: evaluate what it now computes.
	for _, pol := range sched.Policies() {
		if pol.Kind == lang.KindQuantize && pol.Window.Kind == lang.WindowAfter {
			res, err := nn.Evaluate(g.Ctx, m, test, cfg.Batch)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.Stdout, "after post-training quantization (%s): top-1 %.2f%% (float %.2f%%), top-5 %.2f%%, loss %.4f\n",
				pol.Range, res.Top1, last.Top1, res.Top5, res.Loss)
			last.Top1 = res.Top1
			break
		}
	}
	if err := w.summary.SetFinalTop1(last.Top1); err != nil {
		return err
	}
	table := runlog.Sparsity(nn.CheckpointParams(m)) // with the float weights of quantized layers
	fmt.Fprintf(g.Stdout, "final top-1 %.2f%%, weight sparsity %.2f%%; wrote %s\n", last.Top1, table.Sparsity, out)
	return nil
}

// runLogs are the per-epoch outputs of a run: summary.json, run.csv and the TensorBoard
// event file.
type runLogs struct {
	summary *runlog.SummaryWriter
	csv     *runlog.CSVWriter
	tb      *tfevents.Writer
}

// openRunLogs creates the run's logs, or reopens them for a run resumed at epoch start
// (dropping what the interrupted run wrote for later epochs).
func openRunLogs(out string, params []*nn.Param, cfg runConfig, start int, resume bool) (*runLogs, error) {
	w := &runLogs{}
	var err error
	sumPath, csvPath := filepath.Join(out, runSummary), filepath.Join(out, runCSV)
	if resume {
		if w.summary, err = runlog.OpenSummaryWriter(sumPath); err != nil {
			return nil, err
		}
		if w.csv, err = runlog.AppendCSV(csvPath, params, start); err != nil {
			return nil, err
		}
	} else {
		w.summary = runlog.NewSummaryWriter(sumPath, map[string]string{
			"model": cfg.Model, "schedule": cfg.Schedule, "optimizer": cfg.Optimizer, "lr": fmt.Sprint(cfg.LR),
			"momentum": fmt.Sprint(cfg.Momentum), "wd": fmt.Sprint(cfg.WD), "batch": strconv.Itoa(cfg.Batch),
			"epochs": strconv.Itoa(cfg.Epochs), "seed": fmt.Sprint(cfg.Seed)})
		if w.csv, err = runlog.CreateCSV(csvPath, params); err != nil {
			return nil, err
		}
	}
	if w.tb, err = tfevents.Create(out); err != nil {
		w.csv.Close()
		return nil, err
	}
	if resume {
		if err := w.tb.Restart(int64(start)); err != nil {
			w.close()
			return nil, err
		}
	}
	return w, nil
}

// epoch records one finished epoch in every log.
func (w *runLogs) epoch(em nn.EpochMetrics, params []*nn.Param, table *runlog.SparsityTable) error {
	if err := w.summary.AddEpoch(em, params); err != nil {
		return err
	}
	if err := w.csv.Write(em, params); err != nil {
		return err
	}
	step := int64(em.Epoch)
	for _, s := range append(runlog.MetricScalars(em), table.Scalars()...) {
		if err := w.tb.Scalar(s.Tag, step, s.Value); err != nil {
			return err
		}
	}
	for _, p := range params {
		// A diverged run's weights hold NaN or infinities, which have no histogram; the
		// run has already warned of the divergence, and goes on as dst train does.
		if runlog.InTable(p) {
			if err := w.tb.Histogram("weights/"+p.Name, step, p.Data()); err != nil && !errors.Is(err, tfevents.ErrNonFinite) {
				return err
			}
		}
	}
	return w.tb.Flush()
}

func (w *runLogs) close() {
	w.csv.Close()
	w.tb.Close()
}

// actSamples is the number of training samples whose activations the apoz and
// mean_activation rankings are computed from.
const actSamples = 1024

// activations collects the activation statistics of the apoz and mean_activation
// rankings lazily: the first policy that needs them after the weights changed runs the
// model, in evaluation mode, over the first actSamples training samples.
type activations struct {
	ctx   context.Context
	m     *nn.Model
	set   *data.Set
	stats *analysis.Stats // nil when stale
}

// provider implements interp.Options.Activations.
func (a *activations) provider(r stdlib.Ranking) stdlib.ActivationStats {
	return func(p *nn.Param) ([]float64, error) {
		if a.stats == nil {
			if a.set == nil {
				return nil, fmt.Errorf("activation statistics: no training data yet")
			}
			st, err := analysis.CollectStats(a.ctx, a.m, a.set, 256, (actSamples+255)/256)
			if err != nil {
				return nil, err
			}
			a.stats = st
		}
		return a.stats.Activations(r)(p)
	}
}
