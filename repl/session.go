package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/interp"
	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
)

// Filename is the name diagnostics give the session's input: `<repl>:line:col`, where
// line counts every line typed since the session began.
const Filename = "<repl>"

// ErrExit is returned by [Session.Exec] for `exit` and `quit`.
var ErrExit = errors.New("repl: exit")

// Config is what a [Session] works on. Model is required; the zero value of every other
// field is a usable default.
type Config struct {
	// Model is the model the session inspects, compresses and trains; required. The
	// session changes its parameters in place.
	Model *nn.Model
	// Checkpoint is the file Model was loaded from, or "". `save` never writes over it
	// (nor over a checkpoint `load` read), so the session's starting point survives.
	Checkpoint string
	// Optimizer trains Model; nil means SGD with learning rate 0.01, momentum 0.9 and
	// weight decay 1e-4, as `dst train`.
	Optimizer nn.Optimizer
	// Data returns the training and test sets. It is called once, by the first command
	// that needs data (eval, train); nil means no data is configured, and those commands
	// say so.
	Data func() (train, test *data.Set, err error)
	// Batch is the minibatch size of train and eval; 0 means 64.
	Batch int
	// Seed drives the shuffling of training data.
	Seed uint64
	// StartEpoch is the epoch the first `train` begins with (a checkpoint's last epoch
	// plus one).
	StartEpoch int
	// Out receives results; nil discards them.
	Out io.Writer
	// Err receives diagnostics; nil means Out.
	Err io.Writer
	// Color enables ANSI colour in diagnostics (for terminals only).
	Color bool
	// Width is the wrap width of diagnostics; 0 means 80.
	Width uint
	// Summary writes the per-layer compute summary of a model for the summary command;
	// nil means the command reports that it is not available.
	Summary func(w io.Writer, m *nn.Model) error
	// UndoDepth is the number of snapshots undo keeps; 0 means 20.
	UndoDepth int
	// Progress, if set, is called after every training minibatch (for a progress bar).
	Progress func(p nn.Progress)
}

// chunkKind says what an earlier input contributes to later programs.
type chunkKind int

const (
	kindOther chunkKind = iota // a command, an error, a statement that ran now
	kindLet                    // a `let` binding every later statement sees
	kindLive                   // a statement of the live schedule
)

// chunk is one input's place in the session's transcript.
type chunk struct {
	start, end int // byte offsets in Session.src, end after the final newline
	kind       chunkKind
}

// Session is the REPL's engine: one model, its optimizer and data, the bindings and the
// live schedule, and the undo stack. Create one with [New]; it is not safe for
// concurrent use.
type Session struct {
	cfg    Config
	m      *nn.Model
	opt    nn.Optimizer
	baseLR float64
	batch  int
	out    io.Writer
	errw   io.Writer

	loaded      bool
	train, test *data.Set

	epoch   int // the next epoch to train
	stepOff int // minibatches of epoch already trained by `train N steps`

	src    []byte  // the transcript: every input, each ending in a newline
	chunks []chunk // one per input

	sched      *interp.Scheduler // the compiled live schedule; nil when it must be recompiled
	schedState []byte            // state to restore into the next compiled schedule (after undo)
	// schedTensors are the tensors of that state (the float copies of the weights under
	// quantization-aware training, PACT's α optimizer), by name.
	schedTensors map[string][]float32

	undo []*snapshot

	inputs []inputFile // the checkpoints the session read, which save refuses
}

// New returns a session on cfg.Model. It reports a missing model or an optimizer that
// cannot be built.
func New(cfg Config) (*Session, error) {
	if cfg.Model == nil {
		return nil, errors.New("repl: Config.Model is nil")
	}
	s := &Session{cfg: cfg, m: cfg.Model, opt: cfg.Optimizer, batch: cfg.Batch, out: cfg.Out, errw: cfg.Err, epoch: max(cfg.StartEpoch, 0)}
	if s.opt == nil {
		opt, err := nn.NewSGD(s.m.Params(), nn.SGDConfig{LR: 0.01, Momentum: 0.9, WeightDecay: 1e-4})
		if err != nil {
			return nil, fmt.Errorf("repl: %w", err)
		}
		s.opt = opt
	}
	s.baseLR = s.opt.LR()
	if s.batch <= 0 {
		s.batch = 64
	}
	if s.out == nil {
		s.out = io.Discard
	}
	if s.errw == nil {
		s.errw = s.out
	}
	if s.cfg.UndoDepth <= 0 {
		s.cfg.UndoDepth = 20
	}
	if cfg.Checkpoint != "" {
		s.addInput(cfg.Checkpoint, "this session started from")
	}
	return s, nil
}

// Model returns the session's model.
func (s *Session) Model() *nn.Model { return s.m }

// Epoch returns the session's epoch position: the epoch the next `train` begins with.
func (s *Session) Epoch() int { return s.epoch }

// input is the input being executed.
type input struct {
	text string // without the final newline
	off  int    // offset of text in Session.src
	idx  int    // index in Session.chunks
}

// Exec runs one complete input (see [NeedsMore]): a command or a .dst statement. Results
// go to Config.Out; a problem is printed to Config.Err as a diagnostic and also returned
// (a [lang.Diagnostics] for problems in the input, ctx's error when it was cancelled),
// so a caller may count failures but never needs to print them. The session stays
// usable after any error; a panic (a bug) is recovered, printed with its stack and
// returned as an error. Exec returns [ErrExit] for `exit` and `quit`.
func (s *Session) Exec(ctx context.Context, text string) (err error) {
	defer func() {
		// A bug must not end the session: report it with its stack (undo can restore
		// the model if the command changed it halfway).
		if r := recover(); r != nil {
			fmt.Fprintf(s.errw, "internal error (please report): %v\n%s", r, debug.Stack())
			err = fmt.Errorf("repl: internal error: %v", r)
		}
	}()
	text = strings.TrimRight(text, "\r\n")
	if strings.TrimSpace(text) == "" {
		return nil
	}
	off := len(s.src)
	s.src = append(s.src, text...)
	s.src = append(s.src, '\n')
	s.chunks = append(s.chunks, chunk{start: off, end: len(s.src)})
	in := &input{text: text, off: off, idx: len(s.chunks) - 1}

	word, rest, restOff := firstWord(text)
	args := fieldsAt(rest, restOff)
	switch word {
	case "exit", "quit":
		return ErrExit
	case "params":
		return s.cmdParams(in, args)
	case "show":
		return s.cmdShow(in, args)
	case "sparsity":
		return s.cmdSparsity(in, args)
	case "summary":
		return s.cmdSummary(in, args)
	case "eval":
		return s.cmdEval(ctx, in, args)
	case "train":
		return s.cmdTrain(ctx, in, args)
	case "schedule":
		return s.cmdSchedule(in, args)
	case "undo":
		return s.cmdUndo(in, args)
	case "save", "save!":
		return s.cmdSave(in, rest, restOff, word == "save!")
	case "load":
		return s.cmdLoad(in, rest, restOff)
	case "help":
		return s.cmdHelp(in, args)
	case ":type":
		return s.cmdType(in, rest, restOff)
	}
	if strings.HasPrefix(word, ":") {
		return s.failAt(in, 0, len(word), "Unknown command", "%s is not a command; the colon commands are :type. Type help for the list.", word)
	}
	return s.statement(ctx, in)
}

// field is a word of a command line with its offset in the input.
type field struct {
	s   string
	off int
}

// firstWord splits text into its first word and the rest, with the rest's offset.
func firstWord(text string) (word, rest string, restOff int) {
	t := strings.TrimLeft(text, " \t")
	lead := len(text) - len(t)
	i := strings.IndexAny(t, " \t\n")
	if i < 0 {
		return t, "", len(text)
	}
	return t[:i], t[i:], lead + i
}

// fieldsAt splits s into words, each with its offset (s starts at offset base).
func fieldsAt(s string, base int) []field {
	var out []field
	start := -1
	for i := 0; i <= len(s); i++ {
		space := i == len(s) || s[i] == ' ' || s[i] == '\t' || s[i] == '\n'
		if space && start >= 0 {
			out = append(out, field{s[start:i], base + start})
			start = -1
		} else if !space && start < 0 {
			start = i
		}
	}
	return out
}

// posAt returns the position of byte offset off of the transcript.
func (s *Session) posAt(off int) lang.Pos {
	line, col := 1, 1
	for _, c := range s.src[:min(off, len(s.src))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return lang.Pos{Offset: off, Line: line, Column: col}
}

// rangeIn returns the range of n bytes at offset rel of the input (at least one byte).
func (s *Session) rangeIn(in *input, rel, n int) lang.Range {
	rel = min(max(rel, 0), len(in.text))
	end := min(rel+max(n, 1), len(in.text)+1)
	return lang.Range{Filename: Filename, Start: s.posAt(in.off + rel), End: s.posAt(in.off + end)}
}

// failAt prints and returns an error diagnostic about n bytes at offset rel of the input.
func (s *Session) failAt(in *input, rel, n int, summary, format string, args ...any) error {
	r := s.rangeIn(in, rel, n)
	d := &lang.Diagnostic{Severity: lang.Error, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: &r}
	return s.report(lang.Diagnostics{d})
}

// failErr prints err (not a diagnostic of the input) about the whole input and returns
// it as a diagnostic.
func (s *Session) failErr(in *input, summary string, err error) error {
	var re *interp.RuntimeError
	if errors.As(err, &re) {
		r := re.Range
		d := &lang.Diagnostic{Severity: lang.Error, Summary: "Runtime error", Detail: err.Error(), Subject: &r}
		return s.report(lang.Diagnostics{d})
	}
	var ds lang.Diagnostics
	if errors.As(err, &ds) {
		return s.report(ds)
	}
	return s.failAt(in, 0, len(in.text), summary, "%v", err)
}

// report prints ds and returns them (as an error when any is one).
func (s *Session) report(ds lang.Diagnostics) error {
	if len(ds) == 0 {
		return nil
	}
	dw := lang.NewDiagnosticWriter(s.errw, map[string][]byte{Filename: s.src}, s.cfg.Width, s.cfg.Color)
	dw.WriteDiagnostics(ds)
	if ds.HasErrors() {
		return ds.Errs()
	}
	return nil
}

// printf writes a result line.
func (s *Session) printf(format string, args ...any) {
	fmt.Fprintf(s.out, format, args...)
}

// source returns the transcript up to and including the input in, with every earlier
// input blanked (spaces, newlines kept, so positions stay those of the transcript)
// except the let bindings and, when live is set, the live schedule.
func (s *Session) source(in *input, live bool) []byte {
	end := len(s.src)
	if in != nil {
		end = s.chunks[in.idx].end
	}
	out := append([]byte(nil), s.src[:end]...)
	for i, c := range s.chunks {
		if c.start >= end || (in != nil && i == in.idx) || c.kind == kindLet || (live && c.kind == kindLive) {
			continue
		}
		for j := c.start; j < c.end; j++ {
			if out[j] != '\n' {
				out[j] = ' '
			}
		}
	}
	return out
}

// options returns the interpreter options of the session's model.
func (s *Session) options() interp.Options {
	return interp.Options{Params: s.m.Params(), Optimizer: s.opt, Model: s.m, OptimizerMasks: true}
}

// table returns the builtin table statements are checked against.
func (s *Session) table() (*lang.Builtins, error) {
	o := s.options()
	return o.Table()
}

// loadData loads the data sets on first use.
func (s *Session) loadData() error {
	if s.loaded {
		return nil
	}
	if s.cfg.Data == nil {
		return errors.New("no data set is configured for this session")
	}
	train, test, err := s.cfg.Data()
	if err != nil {
		return err
	}
	s.train, s.test, s.loaded = train, test, true
	return nil
}
