package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/internal/runlog"
	"github.com/dst-dev/dst/interp"
	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
)

// noArgs reports extra words after a command that takes none.
func (s *Session) noArgs(in *input, cmd string, args []field) error {
	if len(args) == 0 {
		return nil
	}
	last := args[len(args)-1]
	return s.failAt(in, args[0].off, last.off+len(last.s)-args[0].off, "Unexpected argument", "%s takes no arguments.", cmd)
}

// cmdParams prints every parameter: shape, elements, non-zeros, sparsity, mask.
func (s *Session) cmdParams(in *input, args []field) error {
	if err := s.noArgs(in, "params", args); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSHAPE\tNUMEL\tNNZ\tSPARSITY\tMASK")
	total, nnz := 0, 0
	live := map[*nn.Param]bool{}
	for _, p := range s.m.Params() {
		live[p] = true
	}
	// The float weights of layers post-training quantization replaced are listed too,
	// marked: they are what a save writes, and what undo brings back.
	for _, p := range nn.CheckpointParams(s.m) {
		n, z := p.Len(), p.NNZ()
		total, nnz = total+n, nnz+z
		mask := "-"
		if p.Mask != nil {
			mask = "yes"
		}
		name := p.Name
		if !live[p] {
			name += " (quantized)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.2f%%\t%s\n", name, shapeText(p.Shape()), n, z, pctOf(n-z, n), mask)
	}
	fmt.Fprintf(tw, "total\t\t%d\t%d\t%.2f%%\t\n", total, nnz, pctOf(total-nnz, total))
	return tw.Flush()
}

func pctOf(a, n int) float64 {
	if n == 0 {
		return 0
	}
	return 100 * float64(a) / float64(n)
}

func shapeText(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, "×")
}

// lookup finds a parameter by name or by layer name (its weight), or a buffer.
func (s *Session) lookup(name string) (vals []float32, shape []int, p *nn.Param) {
	if p := s.m.Param(name); p != nil {
		return p.Data(), p.Shape(), p
	}
	if p := s.m.Param(name + ".weight"); p != nil {
		return p.Data(), p.Shape(), p
	}
	for _, b := range s.m.Buffers() {
		if b.Name == name {
			return b.Value.Data().([]float32), b.Value.Shape().Clone(), nil
		}
	}
	return nil, nil, nil
}

// names returns every layer, parameter and buffer name.
func (s *Session) names() []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range s.m.Params() {
		if !seen[p.Layer] && p.Layer != "" {
			seen[p.Layer] = true
			out = append(out, p.Layer)
		}
		out = append(out, p.Name)
	}
	for _, b := range s.m.Buffers() {
		out = append(out, b.Name)
	}
	return out
}

// cmdShow prints statistics and a text histogram of one tensor.
func (s *Session) cmdShow(in *input, args []field) error {
	if len(args) != 1 {
		return s.failAt(in, 0, len(in.text), "Usage", "show NAME: give one parameter, layer or buffer name (params lists them).")
	}
	a := args[0]
	vals, shape, p := s.lookup(a.s)
	if vals == nil {
		detail := fmt.Sprintf("%s is not a parameter, layer or buffer of %s.", a.s, s.m.Name)
		if sug := nearest(a.s, s.names()); sug != "" {
			detail += fmt.Sprintf(" Did you mean %s?", sug)
		}
		return s.failAt(in, a.off, len(a.s), "Unknown name", "%s", detail)
	}
	name := a.s
	if p != nil {
		name = p.Name
	}
	st := stats(vals)
	s.printf("%s  shape %s  %d values, %d non-zero (%.2f%% sparse)\n", name, shapeText(shape), len(vals), st.nnz, pctOf(len(vals)-st.nnz, len(vals)))
	s.printf("  mean %.6g  std %.6g  min %.6g  max %.6g  mean|x| %.6g  L2 %.6g\n", st.mean, st.std, st.min, st.max, st.absMean, st.l2)
	if p != nil && p.Mask != nil {
		s.printf("  masked: %d of %d weights pruned\n", len(vals)-countOnes(p.MaskData()), len(vals))
	}
	writeHistogram(s.out, vals, 16, 40)
	return nil
}

func countOnes(m []float32) int {
	n := 0
	for _, v := range m {
		if v != 0 {
			n++
		}
	}
	return n
}

// cmdSparsity prints the Distiller-style sparsity table.
func (s *Session) cmdSparsity(in *input, args []field) error {
	if err := s.noArgs(in, "sparsity", args); err != nil {
		return err
	}
	return runlog.Sparsity(s.m.Params()).WriteText(s.out)
}

// cmdSummary prints the per-layer compute summary.
func (s *Session) cmdSummary(in *input, args []field) error {
	if err := s.noArgs(in, "summary", args); err != nil {
		return err
	}
	if s.cfg.Summary == nil {
		return s.failAt(in, 0, len(in.text), "Not available", "This session has no summary writer.")
	}
	if err := s.cfg.Summary(s.out, s.m); err != nil {
		return s.failErr(in, "Summary failed", err)
	}
	return nil
}

// count parses a positive integer argument.
func (s *Session) count(in *input, a field, what string) (int, error) {
	n, err := strconv.Atoi(a.s)
	if err != nil || n < 1 {
		return 0, s.failAt(in, a.off, len(a.s), "Invalid count", "Expected a positive whole number of %s, got %q.", what, a.s)
	}
	return n, nil
}

// cmdEval evaluates on the test set, or its first N minibatches.
func (s *Session) cmdEval(ctx context.Context, in *input, args []field) error {
	n := 0
	switch {
	case len(args) == 0:
	case len(args) <= 2:
		var err error
		if n, err = s.count(in, args[0], "batches"); err != nil {
			return err
		}
		if len(args) == 2 && args[1].s != "batches" && args[1].s != "batch" {
			return s.failAt(in, args[1].off, len(args[1].s), "Usage", "eval [N batches]: expected \"batches\", got %q.", args[1].s)
		}
	default:
		return s.failAt(in, 0, len(in.text), "Usage", "eval [N batches]")
	}
	if err := s.loadData(); err != nil {
		return s.failErr(in, "No data", err)
	}
	set := s.test
	if n > 0 {
		set = set.Subset(n * s.batch)
	}
	res, err := nn.Evaluate(ctx, s.m, set, s.batch)
	if err != nil {
		if ctx.Err() != nil {
			s.printf("eval interrupted\n")
			return ctx.Err()
		}
		return s.failErr(in, "Evaluation failed", err)
	}
	s.printf("%s: %d samples  loss %.4f  top-1 %.2f%%  top-5 %.2f%%\n", set.Name, res.N, res.Loss, res.Top1, res.Top5)
	return nil
}

// cmdTrain trains N epochs, or N minibatches, under the live schedule.
func (s *Session) cmdTrain(ctx context.Context, in *input, args []field) error {
	if len(args) != 2 {
		return s.failAt(in, 0, len(in.text), "Usage", "train N epochs | train N steps")
	}
	n, err := s.count(in, args[0], args[1].s)
	if err != nil {
		return err
	}
	var steps bool
	switch args[1].s {
	case "epoch", "epochs":
	case "step", "steps":
		steps = true
	default:
		return s.failAt(in, args[1].off, len(args[1].s), "Usage", "train N epochs | train N steps: expected epochs or steps, got %q.", args[1].s)
	}
	if err := s.loadData(); err != nil {
		return s.failErr(in, "No data", err)
	}
	if err := s.compileSchedule(in); err != nil {
		return err
	}
	s.push(in.text)
	cfg := nn.TrainConfig{StartEpoch: s.epoch, Batch: s.batch, Seed: s.cfg.Seed}
	if s.sched != nil {
		cfg.Hooks = s.sched
	}
	trainSet, testSet := s.train, s.test
	stepsDone := 0
	var lastLoss float64
	cfg.OnStep = func(p nn.Progress) {
		stepsDone, lastLoss = stepsDone+1, p.Loss
		if s.cfg.Progress != nil {
			s.cfg.Progress(p)
		}
	}
	if steps {
		perEpoch := (trainSet.N + s.batch - 1) / s.batch
		n = min(n, perEpoch-s.stepOff)
		trainSet = window(trainSet, s.stepOff*s.batch, n*s.batch)
		testSet = nil
		cfg.Epochs = s.epoch + 1
	} else {
		s.stepOff = 0
		cfg.Epochs = s.epoch + n
		cfg.OnEpoch = func(m *nn.EpochMetrics) error {
			s.printf("epoch %d  loss %.4f  test loss %.4f  top-1 %.2f%%  top-5 %.2f%%  lr %.4g  %.1fs\n",
				m.Epoch, m.TrainLoss, m.TestLoss, m.Top1, m.Top5, m.LR, m.Seconds)
			return nil
		}
	}
	ms, err := nn.Train(ctx, s.m, s.opt, trainSet, testSet, cfg)
	if steps {
		s.stepOff += stepsDone
		if s.stepOff*s.batch >= s.train.N {
			s.epoch, s.stepOff = s.epoch+1, 0
		}
	} else {
		s.epoch += len(ms)
	}
	if err != nil {
		if ctx.Err() != nil {
			if s.cfg.Progress != nil && stepsDone > 0 {
				s.printf("\n") // below the progress bar
			}
			s.printf("train interrupted after %d minibatches; the epoch position is %d; undo restores the model from before train\n", stepsDone, s.epoch)
			return ctx.Err()
		}
		return s.failErr(in, "Training failed", err)
	}
	if steps {
		s.printf("trained %d minibatches of epoch %d (last loss %.4f); ", stepsDone, cfg.StartEpoch, lastLoss)
		if s.stepOff == 0 {
			s.printf("epoch %d is complete\n", cfg.StartEpoch)
		} else {
			s.printf("%d of %d done\n", s.stepOff, (s.train.N+s.batch-1)/s.batch)
		}
	}
	return nil
}

// window returns samples [from, from+n) of set (clamped), sharing its storage.
func window(set *data.Set, from, n int) *data.Set {
	from = min(from, set.N)
	n = min(n, set.N-from)
	t := *set
	sz := set.SampleSize()
	if set.Pixels != nil {
		t.Pixels = set.Pixels[from*sz : (from+n)*sz]
	} else {
		t.X = set.X[from*sz : (from+n)*sz]
	}
	t.Y = set.Y[from : from+n]
	t.N = n
	t.Name = fmt.Sprintf("%s[%d:%d]", set.Name, from, from+n)
	return &t
}

// liveProgram checks the bindings and the live schedule together.
func (s *Session) liveProgram() (*lang.Program, lang.Diagnostics) {
	return interp.Check(Filename, s.source(nil, true), s.options())
}

// hasLive reports whether the schedule holds a statement.
func (s *Session) hasLive() bool {
	for _, c := range s.chunks {
		if c.kind == kindLive {
			return true
		}
	}
	return false
}

// compileSchedule compiles the live schedule when it changed since the last train.
func (s *Session) compileSchedule(in *input) error {
	if s.sched != nil || !s.hasLive() {
		return nil
	}
	prog, diags := s.liveProgram()
	if diags.HasErrors() {
		return s.report(diags.Errs())
	}
	lr := s.opt.LR()
	s.opt.SetLR(s.baseLR) // lr schedules are relative to the base rate
	sched, err := interp.Compile(prog, s.options())
	if err != nil {
		s.opt.SetLR(lr)
		return s.failErr(in, "Cannot compile the schedule", err)
	}
	if s.schedState != nil {
		if err := sched.RestoreState(s.schedState); err != nil {
			s.printf("note: the schedule starts afresh (%v)\n", err)
		} else if s.schedTensors != nil {
			if err := sched.RestoreStateTensors(s.schedTensors); err != nil {
				s.printf("note: %v\n", err)
			}
		}
	}
	s.sched, s.schedState, s.schedTensors = sched, nil, nil
	return nil
}

// stateTensors copies the tensors of sched's state ([interp.Scheduler.StateTensors]),
// or returns nil when sched is nil or has none.
func stateTensors(sched *interp.Scheduler) map[string][]float32 {
	if sched == nil {
		return nil
	}
	var out map[string][]float32
	for _, t := range sched.StateTensors() {
		if out == nil {
			out = map[string][]float32{}
		}
		out[t.Name] = append([]float32(nil), t.Data...)
	}
	return out
}

// cmdSchedule lists the live schedule.
func (s *Session) cmdSchedule(in *input, args []field) error {
	if err := s.noArgs(in, "schedule", args); err != nil {
		return err
	}
	s.printf("epoch position %d", s.epoch)
	if s.stepOff > 0 {
		s.printf(" (%d minibatches into it)", s.stepOff)
	}
	s.printf("\n")
	if !s.hasLive() {
		s.printf("the schedule is empty\n")
		return nil
	}
	prog, diags := s.liveProgram()
	if diags.HasErrors() {
		return s.report(diags.Errs())
	}
	i := 0
	for _, c := range s.chunks {
		if c.kind != kindLive {
			continue
		}
		text := strings.Join(strings.Fields(string(s.src[c.start:c.end])), " ")
		s.printf("%s:%d  %s\n", Filename, s.posAt(c.start).Line, text)
		if i < len(prog.Policies) {
			s.printf("    %s\n", prog.Policies[i])
		}
		i++
	}
	return nil
}

// cmdUndo restores the state before the last mutating command.
func (s *Session) cmdUndo(in *input, args []field) error {
	if err := s.noArgs(in, "undo", args); err != nil {
		return err
	}
	sn := s.pop()
	if sn == nil {
		return s.failAt(in, 0, len(in.text), "Nothing to undo", "No command has changed the model, its schedule or its training position yet (or the undo history is used up).")
	}
	if sn.modules != moduleTypes(s.m) {
		// Quantized layers give their float layers back; other replacements (batch
		// norms folded into convolutions) cannot be undone.
		requantize := s.unquantize()
		if sn.modules != moduleTypes(s.m) {
			if requantize != nil {
				requantize()
			}
			s.undo = append(s.undo, sn)
			return s.failAt(in, 0, len(in.text), "Cannot undo", "`%s` changed the model's layers beyond what undo restores (batch norms folded into their convolutions); start the repl again from the checkpoint.", strings.TrimSpace(sn.what))
		}
	}
	if err := s.restore(sn); err != nil {
		s.printf("warning: %v\n", err)
	}
	s.printf("undid %s\n", strings.TrimSpace(sn.what))
	return nil
}

// pathArg reads a file argument: the rest of the line, unquoted, with ~ expanded.
func (s *Session) pathArg(in *input, rest string, cmd string) (string, error) {
	p := strings.TrimSpace(rest)
	if p == "" {
		return "", s.failAt(in, 0, len(in.text), "Usage", "%s FILE", cmd)
	}
	if uq, err := strconv.Unquote(p); err == nil {
		p = uq
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, p[1:])
		}
	}
	return p, nil
}

// cmdSave writes a checkpoint: weights, masks, buffers, optimizer state and position.
// `save FILE` writes a new file; `save! FILE` (force) may replace one. Neither ever
// replaces a checkpoint the session read (Config.Checkpoint, or one `load` read).
func (s *Session) cmdSave(in *input, rest string, restOff int, force bool) error {
	cmd := "save"
	if force {
		cmd = "save!"
	}
	p, err := s.pathArg(in, rest, cmd)
	if err != nil {
		return err
	}
	argOff, argLen := restOff+len(rest)-len(strings.TrimLeft(rest, " \t")), len(strings.TrimSpace(rest))
	if st, err := os.Stat(p); err == nil {
		if from := s.readFrom(p, st); from != "" {
			return s.failAt(in, argOff, argLen, "Cannot save", "%s is the checkpoint %s; saving over it would lose it. Save to another file.", p, from)
		}
		if st.IsDir() {
			return s.failAt(in, argOff, argLen, "Cannot save", "%s is a folder; give a file name.", p)
		}
	}
	if _, err := os.Lstat(p); err == nil && !force {
		return s.failAt(in, argOff, argLen, "File exists", "%s already exists; `save! %s` replaces it.", p, strings.TrimSpace(rest))
	}
	meta := map[string]string{}
	if sched := strings.TrimSpace(string(s.source(nil, true))); sched != "" {
		meta["dst.repl.schedule"] = compact(sched)
	}
	// The schedule's state tensors (the float copies of the weights under
	// quantization-aware training) go with the weights, as dst run saves them, so that
	// loading the file goes on from it.
	tensors := s.schedTensors
	if s.sched != nil {
		tensors = stateTensors(s.sched)
	}
	var state []nn.StateTensor
	for _, name := range slices.Sorted(maps.Keys(tensors)) {
		state = append(state, nn.StateTensor{Name: name, Shape: []int{len(tensors[name])}, Data: tensors[name]})
	}
	if err := nn.SaveCheckpoint(p, s.m, s.opt, s.epoch-1, meta, state...); err != nil {
		return s.failErr(in, "Cannot save", err)
	}
	s.printf("saved %s (epoch position %d)\n", p, s.epoch)
	if q := s.quantizedLayers(); len(q) > 0 {
		s.printf("note: %s quantized after training (%s); the checkpoint holds the float weights, and the same quantize statement makes the integer layers again\n",
			plural(len(q), "layer is", "layers are"), strings.Join(q, ", "))
	}
	return nil
}

// plural returns "1 layer is" or "N layers are".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// quantizedLayers returns the names of the layers post-training quantization replaced.
func (s *Session) quantizedLayers() []string {
	var names []string
	s.m.Walk(func(mod nn.Module) {
		if r, ok := mod.(*nn.RangeLinear); ok && r.Layer != nil {
			names = append(names, r.Layer.Info().Name)
		}
	})
	return names
}

// inputFile is a checkpoint the session read: the model's start or a `load`.
type inputFile struct {
	path string      // as given, absolute, symbolic links resolved
	info os.FileInfo // to recognise the file under another name (a hard link)
	what string      // "this session started from", "loaded with load"
}

// addInput records the checkpoint path, which the session read, so that save never
// writes over it.
func (s *Session) addInput(path, what string) {
	f := inputFile{path: resolvedPath(path), what: what}
	if st, err := os.Stat(path); err == nil {
		f.info = st
	}
	s.inputs = append(s.inputs, f)
}

// readFrom returns how the session read the file at path (st is its os.Stat), or ""
// when it did not.
func (s *Session) readFrom(path string, st os.FileInfo) string {
	abs := resolvedPath(path)
	for _, f := range s.inputs {
		if f.path == abs || (f.info != nil && os.SameFile(f.info, st)) {
			return f.what
		}
	}
	return ""
}

// resolvedPath returns path made absolute with its symbolic links resolved, as far as
// that succeeds.
func resolvedPath(path string) string {
	if r, err := filepath.EvalSymlinks(path); err == nil {
		path = r
	}
	if a, err := filepath.Abs(path); err == nil {
		path = a
	}
	return path
}

// compact drops the blank lines of a blanked transcript.
func compact(src string) string {
	var lines []string
	for _, l := range strings.Split(src, "\n") {
		if t := strings.TrimSpace(l); t != "" {
			lines = append(lines, t)
		}
	}
	return strings.Join(lines, "\n")
}

// cmdLoad replaces the model's state with a checkpoint's.
func (s *Session) cmdLoad(in *input, rest string, restOff int) error {
	p, err := s.pathArg(in, rest, "load")
	if err != nil {
		return err
	}
	argOff, argLen := restOff+len(rest)-len(strings.TrimLeft(rest, " \t")), len(strings.TrimSpace(rest))
	if _, err := os.Stat(p); err != nil {
		return s.failAt(in, argOff, argLen, "Cannot load", "%v", err)
	}
	s.push(in.text)
	// A checkpoint holds float layers: quantized ones give theirs back first.
	requantize := s.unquantize()
	ci, err := nn.LoadCheckpoint(p, s.m, s.opt)
	if err != nil {
		if requantize != nil {
			requantize()
		}
		s.restore(s.pop())
		if errors.Is(err, nn.ErrCheckpointMismatch) {
			return s.failAt(in, argOff, argLen, "Wrong checkpoint", "%v", err)
		}
		return s.failErr(in, "Cannot load", err)
	}
	s.epoch, s.stepOff = ci.Epoch+1, 0
	s.parkSchedule()
	// The float copies of the weights under quantization-aware training are the file's
	// (none when it holds none: the next train then says so), never those of the
	// weights the load replaced.
	s.schedTensors = nil
	if len(ci.State) > 0 {
		s.schedTensors = maps.Clone(ci.State)
	}
	s.addInput(p, "loaded in this session")
	s.printf("loaded %s (%s, epoch position %d)\n", p, ci.Model, s.epoch)
	return nil
}

// tensorStats are the statistics `show` prints.
type tensorStats struct {
	nnz                              int
	mean, std, min, max, absMean, l2 float64
}

func stats(v []float32) tensorStats {
	st := tensorStats{min: math.Inf(1), max: math.Inf(-1)}
	if len(v) == 0 {
		st.min, st.max = 0, 0
		return st
	}
	var sum, abs, sq float64
	for _, x := range v {
		f := float64(x)
		if x != 0 {
			st.nnz++
		}
		sum += f
		abs += math.Abs(f)
		sq += f * f
		st.min, st.max = math.Min(st.min, f), math.Max(st.max, f)
	}
	n := float64(len(v))
	st.mean, st.absMean, st.l2 = sum/n, abs/n, math.Sqrt(sq)
	if len(v) > 1 {
		var d float64
		for _, x := range v {
			d += (float64(x) - st.mean) * (float64(x) - st.mean)
		}
		st.std = math.Sqrt(d / (n - 1))
	}
	return st
}

// writeHistogram draws a histogram of the non-zero values in bins rows, the longest bar
// width characters wide; exact zeros (pruned weights) are counted on a line of their own.
func writeHistogram(w io.Writer, v []float32, bins, width int) {
	var nz []float64
	zeros := 0
	for _, x := range v {
		if x == 0 {
			zeros++
		} else if !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) {
			nz = append(nz, float64(x))
		}
	}
	if zeros > 0 {
		fmt.Fprintf(w, "  zeros: %d\n", zeros)
	}
	if len(nz) == 0 {
		return
	}
	sort.Float64s(nz)
	lo, hi := nz[0], nz[len(nz)-1]
	if hi == lo {
		fmt.Fprintf(w, "  %11.4g  %s %d\n", lo, strings.Repeat("#", width), len(nz))
		return
	}
	counts := make([]int, bins)
	for _, x := range nz {
		b := int(float64(bins) * (x - lo) / (hi - lo))
		counts[min(b, bins-1)]++
	}
	peak := 0
	for _, c := range counts {
		peak = max(peak, c)
	}
	step := (hi - lo) / float64(bins)
	for i, c := range counts {
		bar := (c*width + peak - 1) / peak
		fmt.Fprintf(w, "  %11.4g .. %-11.4g %-*s %d\n", lo+float64(i)*step, lo+float64(i+1)*step, width, strings.Repeat("#", bar), c)
	}
}
