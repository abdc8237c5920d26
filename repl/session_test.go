package repl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dst-dev/dst/analysis"
	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
)

// mnist caches the MNIST subsets the tests train and evaluate on; the sets are only read.
var mnist struct {
	once        sync.Once
	train, test *data.Set
	err         error
}

// mnistSubsets returns the first 512 training and 256 test samples of MNIST.
func mnistSubsets() (*data.Set, *data.Set, error) {
	mnist.once.Do(func() {
		train, test, err := data.Load("mnist", "")
		if err != nil {
			mnist.err = err
			return
		}
		mnist.train, mnist.test = train.Subset(512), test.Subset(256)
	})
	return mnist.train, mnist.test, mnist.err
}

// newSession returns a session on simplenet_mnist (seed 1) with a small MNIST subset,
// writing everything to the returned buffer.
func newSession(t *testing.T) (*Session, *bytes.Buffer) {
	t.Helper()
	m, err := nn.New("simplenet_mnist", 1)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	s, err := New(Config{Model: m, Out: &buf, Batch: 64, Seed: 1, Data: mnistSubsets})
	if err != nil {
		t.Fatal(err)
	}
	return s, &buf
}

// paramRow returns the params table row of name from out (the last one printed).
func paramRow(t *testing.T, out, name string) []string {
	t.Helper()
	var row []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == name && row == nil {
			row = f
		}
	}
	if row == nil {
		t.Fatalf("no row for %s in\n%s", name, out)
	}
	return row
}

// TestScriptedSession is the scripted session: params, prune fc1 to 50%, report
// exactly 50.00%, evaluate two batches, undo, fc1 dense again; bad lines in the middle
// print diagnostics and the session carries on.
func TestScriptedSession(t *testing.T) {
	s, buf := newSession(t)
	script := `params
prune fc1 level 50%
prune fc9 level 50%
prune fc1 level 150%
this is garbage )
params
eval 2 batches
undo
params
`
	failed, err := RunScript(context.Background(), s, strings.NewReader(script))
	if err != nil {
		t.Fatal(err)
	}
	if failed != 3 {
		t.Errorf("failed inputs = %d, want 3 (the three bad lines)\n%s", failed, buf)
	}
	out := buf.String()
	blocks := strings.Split(out, "NAME ")
	if len(blocks) != 4 {
		t.Fatalf("want three params tables, got %d\n%s", len(blocks)-1, out)
	}
	dense := paramRow(t, blocks[1], "fc1.weight")
	pruned := paramRow(t, blocks[2], "fc1.weight")
	undone := paramRow(t, blocks[3], "fc1.weight")
	if dense[4] != "0.00%" || pruned[4] != "50.00%" || undone[4] != "0.00%" {
		t.Errorf("fc1.weight sparsity: before %s, pruned %s, after undo %s; want 0.00%%, 50.00%%, 0.00%%\n%s", dense[4], pruned[4], undone[4], out)
	}
	if undone[5] != "-" {
		t.Errorf("after undo fc1.weight still has a mask: %v", undone)
	}
	for _, want := range []string{
		"<repl>:3:7: error: ",    // fc9: unknown parameter, positioned
		"<repl>:4:", "<repl>:5:", // type error and garbage
		"fc1.weight               50.00% sparse", // the prune's own report
		"samples  loss",                          // eval ran
		"undid prune fc1 level 50%",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`mnist/test\S*: 128 samples`).MatchString(out) {
		t.Errorf("eval 2 batches should evaluate 128 samples:\n%s", out)
	}
}

// TestBadInputs checks that every kind of bad input is a positioned diagnostic, never a
// panic, and that the session works afterwards.
func TestBadInputs(t *testing.T) {
	tests := []struct {
		name, input, want string
	}{
		{"unknown parameter", "prune fc9 level 50%", "<repl>:1:7"},
		{"type error", "prune fc1 level \"half\"", "<repl>:1:"},
		{"fraction out of range", "prune fc1 level 150%", "<repl>:1:"},
		{"garbage", "%%% )", "<repl>:1:"},
		{"unknown command", ":frob", "Unknown command"},
		{"show unknown", "show fc9", "Did you mean fc1?"},
		{"show usage", "show", "show NAME"},
		{"eval bad count", "eval -3 batches", "Invalid count"},
		{"train bad unit", "train 3 hours", "expected epochs or steps"},
		{"undo empty", "undo", "Nothing to undo"},
		{"load missing", "load /nonexistent/x.safetensors", "Cannot load"},
		{"help unknown", "help prnue", "Did you mean prune?"},
		{"type unbound", ":type nosuch", "<repl>:1:7"},
		{"params args", "params fc1", "takes no arguments"},
		{"two statements", "prune fc1 level 50% prune fc2 level 10%", "<repl>:1:"},
		{"agp needs a window end", "prune fc1 agp 0 -> 50%", "<repl>:1:"},
		{"help bad method", "help prune nosuch", "has no method"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, buf := newSession(t)
			err := s.Exec(context.Background(), tc.input)
			if err == nil {
				t.Fatalf("%q succeeded:\n%s", tc.input, buf)
			}
			var ds lang.Diagnostics
			if !errors.As(err, &ds) {
				t.Errorf("error %v is not a diagnostic", err)
			}
			if !strings.Contains(buf.String(), tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, buf)
			}
			buf.Reset()
			if err := s.Exec(context.Background(), "prune fc1 level 10%"); err != nil {
				t.Errorf("session unusable after the bad input: %v\n%s", err, buf)
			}
		})
	}
}

// TestType checks :type on each kind of expression and through let bindings.
func TestType(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"5", "integer = 5"},
		{"70%", "fraction = 0.7 (70%)"},
		{"1.5", "number = 1.5"},
		{"-2", "number = -2"},
		{"10% -> 80%", "fraction range = 0.1 -> 0.8 (10% -> 80%)"},
		{"2 -> 5", "number range = 2 -> 5"},
		{"[1, 2, 3]", "integer list = [1, 2, 3]"},
		{"[0.5, 2]", "number list = [0.5, 2]"},
		{"\"hi\"", "string = \"hi\""},
		{"target / 2", "fraction = 0.4 (40%)"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			s, buf := newSession(t)
			if err := s.Exec(context.Background(), "let target = 80%"); err != nil {
				t.Fatalf("let: %v\n%s", err, buf)
			}
			if !strings.Contains(buf.String(), "target = 0.8 (80%) (fraction)") {
				t.Errorf("let did not echo its value: %s", buf)
			}
			buf.Reset()
			if err := s.Exec(context.Background(), ":type "+tc.expr); err != nil {
				t.Fatalf(":type %s: %v\n%s", tc.expr, err, buf)
			}
			if got := strings.TrimSpace(buf.String()); got != tc.want {
				t.Errorf(":type %s = %q, want %q", tc.expr, got, tc.want)
			}
		})
	}
}

// TestScheduleTrainUndo adds windowed statements, trains, checks the epoch position and
// that undo restores weights, position and schedule.
func TestScheduleTrainUndo(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two epochs")
	}
	s, buf := newSession(t)
	ctx := context.Background()
	fc2 := s.Model().Param("fc2.weight")
	before := append([]float32(nil), fc2.Data()...)
	for _, in := range []string{
		"let goal = 60%",
		"prune fc2 agp 0 -> goal from epoch 0 to 2",
		"prune fc2 level 10% at epoch 1", // fights with agp over fc2: an error
		"schedule",
		"train 2 epochs",
	} {
		err := s.Exec(ctx, in)
		if (err != nil) != strings.Contains(in, "level 10%") {
			t.Fatalf("%s: %v\n%s", in, err, buf)
		}
	}
	out := buf.String()
	if !strings.Contains(out, "scheduled prune agp [fc2.weight] from epoch 0 to 2") || !strings.Contains(out, "<repl>:2  prune fc2 agp") {
		t.Errorf("schedule not listed:\n%s", out)
	}
	if s.Epoch() != 2 {
		t.Errorf("epoch position %d after train 2 epochs, want 2", s.Epoch())
	}
	if fc2.NNZ() == fc2.Len() {
		t.Errorf("fc2 is still dense after AGP to 60%%")
	}
	buf.Reset()
	if err := s.Exec(ctx, "undo"); err != nil {
		t.Fatal(err)
	}
	if s.Epoch() != 0 || fc2.Mask != nil {
		t.Errorf("after undo: epoch %d, mask %v", s.Epoch(), fc2.Mask != nil)
	}
	for i, v := range fc2.Data() {
		if v != before[i] {
			t.Fatalf("fc2.weight[%d] = %g after undo, want %g", i, v, before[i])
		}
	}
	if err := s.Exec(ctx, "undo"); err != nil { // the agp statement leaves the schedule
		t.Fatal(err)
	}
	buf.Reset()
	s.Exec(ctx, "schedule")
	if !strings.Contains(buf.String(), "the schedule is empty") {
		t.Errorf("schedule after undoing the statement:\n%s", buf)
	}
}

// TestSaveLoad saves a pruned model with its schedule, undoes, loads it back.
func TestSaveLoad(t *testing.T) {
	s, buf := newSession(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.safetensors")
	for _, in := range []string{"let f = 30%", "prune fc1 level f", "prune fc2 level 10% at epoch 2", "save " + path, "undo", "undo", "load " + path} {
		if err := s.Exec(ctx, in); err != nil {
			t.Fatalf("%s: %v\n%s", in, err, buf)
		}
	}
	ci, err := nn.ReadCheckpointInfo(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ci.Meta["dst.repl.schedule"], "let f = 30%\nprune fc2 level 10% at epoch 2"; got != want {
		t.Errorf("saved schedule %q, want %q", got, want)
	}
	p := s.Model().Param("fc1.weight")
	if got := 100 * float64(p.Len()-p.NNZ()) / float64(p.Len()); got < 29.99 || got > 30.01 || p.Mask == nil {
		t.Errorf("after load fc1 is %.2f%% sparse (mask %v), want 30%%", got, p.Mask != nil)
	}
}

// TestSaveRefusesOverwrite checks that save writes only new files, that save! replaces
// one, and that neither replaces the checkpoint the session started from or loaded
// (under any name: a symbolic or hard link to it); after post-training quantization
// save says that the checkpoint holds the float weights.
func TestSaveRefusesOverwrite(t *testing.T) {
	dir := t.TempDir()
	start := filepath.Join(dir, "start.safetensors")
	m, err := nn.New("simplenet_mnist", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.SaveCheckpoint(start, m, nil, -1, nil); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.safetensors")
	if err := nn.SaveCheckpoint(other, m, nil, -1, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(start, filepath.Join(dir, "sym.safetensors")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(start, filepath.Join(dir, "hard.safetensors")); err != nil {
		t.Fatal(err)
	}
	precious := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(precious, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	s, err := New(Config{Model: m, Out: &buf, Checkpoint: start, Data: mnistSubsets})
	if err != nil {
		t.Fatal(err)
	}
	startBytes, _ := os.ReadFile(start)
	otherBytes, _ := os.ReadFile(other)
	ctx := context.Background()
	fresh := filepath.Join(dir, "new.safetensors")
	steps := []struct {
		in, want string
		ok       bool
	}{
		{"prune fc1 level 50%", "", true},
		{"save " + precious, "notes.txt already exists; `save! " + precious + "` replaces it", false},
		{"save " + start, "is the checkpoint this session started from; saving over it would lose it", false},
		{"save! " + start, "is the checkpoint this session started from", false},
		{"save! " + filepath.Join(dir, "sym.safetensors"), "is the checkpoint this session started from", false},
		{"save! " + filepath.Join(dir, "hard.safetensors"), "is the checkpoint this session started from", false},
		{"save! " + dir, "is a folder", false},
		{"save " + fresh, "saved " + fresh, true},
		{"save " + fresh, "already exists", false},
		{"save! " + fresh, "saved " + fresh, true},
		{"load " + other, "loaded " + other, true},
		{"save! " + other, "is the checkpoint loaded in this session", false},
		{"quantize * linear 8 bits", "", true},
		{"save! " + fresh, "note: 4 layers are quantized after training (conv1, conv2, fc1, fc2); the checkpoint holds the float weights", true},
	}
	for _, st := range steps {
		buf.Reset()
		err := s.Exec(ctx, st.in)
		got := buf.String() // results; a diagnostic's text is wrapped, its error's is not
		if err != nil {
			got = err.Error()
		}
		if (err == nil) != st.ok || !strings.Contains(got, st.want) {
			t.Errorf("%s: error %v, output:\n%s\nwant ok=%v and %q", st.in, err, &buf, st.ok, st.want)
		}
	}
	if b, _ := os.ReadFile(precious); string(b) != "mine" {
		t.Errorf("save replaced %s", precious)
	}
	if b, _ := os.ReadFile(start); !bytes.Equal(b, startBytes) {
		t.Error("save replaced the checkpoint the session started from")
	}
	if b, _ := os.ReadFile(other); !bytes.Equal(b, otherBytes) {
		t.Error("save replaced the checkpoint the session loaded")
	}
	buf.Reset()
	if err := s.Exec(ctx, "help"); err != nil || !strings.Contains(buf.String(), "save! FILE") {
		t.Errorf("help does not list save!: %v\n%s", err, &buf)
	}
}

// TestNeedsMore covers bracket continuation.
func TestNeedsMore(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"prune fc1 level 50%", false},
		{"lr multistep 0.1 at epochs [1,", true},
		{"lr multistep 0.1 at epochs [1,\n 2]", false},
		{"quantize * linear {", true},
		{"quantize * linear {\n override fc1 4 bits\n}", false},
		{`let s = "[("`, false},
		{"prune /fc[0-9/ level 50%", false},
		{"let x = 4 / (2", true},
		{"prune fc1 level 50% # [", false},
		{"prune fc1 )", false},
	}
	for _, tc := range tests {
		if got := NeedsMore(tc.text); got != tc.want {
			t.Errorf("NeedsMore(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

// TestComplete covers completion in each context.
func TestComplete(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"run1.safetensors", "run2.safetensors"} {
		if err := writeFile(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		line string
		want []string
	}{
		{"pru", []string{"prune"}},
		{"sp", []string{"sparsity"}},
		{"prune fc", []string{"fc1", "fc1.bias", "fc1.weight", "fc2", "fc2.bias", "fc2.weight"}},
		{"prune fc1 lev", []string{"level"}},
		{"prune fc1 level 50% fr", []string{"from"}},
		{"prune conv1 level 50% fil", []string{"filters"}},
		{"prune fc1 agp 0 -> 50% group", []string{"group_size"}},
		{"prune fc1 threshold keep", []string{"keep_mask"}},
		{"show conv1.w", []string{"conv1.weight"}},
		{"lr ste", []string{"step", "steps"}},
		{"help prune ag", []string{"agp"}},
		{"train 3 e", []string{"epochs"}},
		{"load " + dir + "/ru", []string{dir + "/run1.safetensors", dir + "/run2.safetensors"}},
		{"save! " + dir + "/run1", []string{dir + "/run1.safetensors"}},
		{"sa", []string{"save", "save!"}},
	}
	s, _ := newSession(t)
	for _, tc := range tests {
		head, got, tail := s.Complete(tc.line, len(tc.line))
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("Complete(%q) = %v, want %v", tc.line, got, tc.want)
		}
		if tail != "" || !strings.HasPrefix(tc.line, head) {
			t.Errorf("Complete(%q): head %q tail %q", tc.line, head, tail)
		}
	}
}

func writeFile(path string) error { return os.WriteFile(path, []byte("x"), 0o644) }

// TestThinUndo thins a filter-pruned conv1 and undoes it: shapes come back and the
// model still evaluates.
func TestThinUndo(t *testing.T) {
	s, buf := newSession(t)
	ctx := context.Background()
	for _, in := range []string{"prune conv1 filters 50%", "thin", "eval 1 batches"} {
		if err := s.Exec(ctx, in); err != nil {
			t.Fatalf("%s: %v\n%s", in, err, buf)
		}
	}
	if got := s.Model().Param("conv1.weight").Shape(); got[0] != 10 {
		t.Fatalf("conv1.weight shape after thin %v, want 10 filters", got)
	}
	if got := s.Model().Param("conv2.weight").Shape(); got[1] != 10 {
		t.Fatalf("conv2.weight shape after thin %v, want 10 input channels", got)
	}
	for _, in := range []string{"undo", "eval 1 batches", "train 2 steps"} {
		if err := s.Exec(ctx, in); err != nil {
			t.Fatalf("%s: %v\n%s", in, err, buf)
		}
	}
	if got := s.Model().Param("conv1.weight").Shape(); got[0] != 20 {
		t.Errorf("conv1.weight shape after undo %v, want 20 filters", got)
	}
	if got := s.Model().Param("conv2.weight").Shape(); got[1] != 20 {
		t.Errorf("conv2.weight shape after undo %v, want 20 input channels", got)
	}
	if p := s.Model().Param("conv1.weight"); p.NNZ() != 250 {
		t.Errorf("conv1.weight has %d non-zeros after undoing thin, want the pruned 250", p.NNZ())
	}
}

// TestCommandsOutput checks the output of the inspection commands and of train steps.
func TestCommandsOutput(t *testing.T) {
	tests := []struct {
		name  string
		input []string
		want  []string
	}{
		{"show layer", []string{"show fc2"}, []string{"fc2.weight  shape 10×500  5000 values, 5000 non-zero (0.00% sparse)", "mean ", " .. "}},
		{"show pruned", []string{"prune fc2 level 40%", "show fc2.weight"}, []string{"(40.00% sparse)", "zeros: 2000", "masked: 2000 of 5000"}},
		{"sparsity", []string{"prune fc2 level 40%", "sparsity"}, []string{"fc2.weight", "40.00000", "Total sparsity"}},
		{"summary unavailable", []string{"summary"}, []string{"no summary writer"}},
		{"help", []string{"help"}, []string{"train N epochs|steps", ":type EXPR"}},
		{"help statement", []string{"help regularize"}, []string{"regularize methods", "group_lasso"}},
		{"help method", []string{"help agp"}, []string{"prune SELECTOR agp SPARSITY", "fraction range, required", "the window must end"}},
		{"help let", []string{"help let"}, []string{"let NAME = EXPR"}},
		{"train steps", []string{"train 3 steps", "schedule"}, []string{"trained 3 minibatches of epoch 0", "3 of 8 done", "epoch position 0 (3 minibatches into it)"}},
		{"train rest of epoch", []string{"train 3 steps", "train 100 steps", "schedule"}, []string{"trained 5 minibatches of epoch 0", "epoch 0 is complete", "epoch position 1"}},
		{"multi-line", []string{"lr multistep 0.1 at epochs [1,\n 3]", "schedule"}, []string{"scheduled lr multistep at epochs [1, 3]", "<repl>:1  lr multistep 0.1 at epochs [1, 3]\n"}},
		{"comment", []string{"# nothing", "schedule"}, []string{"the schedule is empty"}},
		{"regularizer joins the schedule", []string{"regularize fc1 l1 1e-5", "schedule"}, []string{"scheduled regularize l1 [fc1.weight] from epoch 0", "<repl>:1  regularize fc1 l1 1e-5"}},
		{"thin now", []string{"prune conv2 filters 20%", "thin"}, []string{"ran thin contract now"}},
		// Post-training quantization runs now too, and undo gives the float layers back:
		// the mask of fc1 and its 40% are there again (params lists only float layers).
		{"quantize now lists float weights", []string{"prune fc1 level 40%", "quantize * linear 8 bits", "params"},
			[]string{"fc1.weight (quantized)", "240000  40.00%    yes"}},
		{"quantize now and undo", []string{"prune fc1 level 40%", "quantize * linear 8 bits", "undo", "params"},
			[]string{"ran quantize linear [conv1.weight conv2.weight fc1.weight fc2.weight] now", "undid quantize * linear 8 bits", "fc1.weight    500×800    400000  240000  40.00%    yes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, buf := newSession(t)
			for _, in := range tc.input {
				if err := s.Exec(context.Background(), in); err != nil && tc.name != "summary unavailable" {
					t.Fatalf("%s: %v\n%s", in, err, buf)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, buf)
				}
			}
		})
	}
}

// TestSummaryAfterQuantize checks that the summary command works on a model whose
// layers were quantized after training: they count as the float layers they replace.
func TestSummaryAfterQuantize(t *testing.T) {
	m, err := nn.New("simplenet_mnist", 1)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	summary := func(w io.Writer, m *nn.Model) error {
		s, err := analysis.Summarize(m)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "layers %d, MACs %d, weights %d non-zero of %d\n", len(s.Layers), s.Total.MACs, s.Total.WeightNNZ, s.Total.Weights)
		return err
	}
	s, err := New(Config{Model: m, Out: &buf, Summary: summary})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"prune fc1 level 40%", "summary", "quantize * linear 8 bits", "summary"} {
		if err := s.Exec(context.Background(), in); err != nil {
			t.Fatalf("%s: %v\n%s", in, err, &buf)
		}
	}
	var lines []string
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.HasPrefix(l, "layers ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 2 || lines[0] != lines[1] || !strings.Contains(lines[0], "layers 4,") {
		t.Errorf("summaries before and after quantization: %q, want two equal ones of 4 layers\n%s", lines, &buf)
	}
}

// TestNoData checks that data commands without a configured data set are diagnostics.
func TestNoData(t *testing.T) {
	m, err := nn.New("simplenet_mnist", 1)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	s, err := New(Config{Model: m, Out: &buf})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"eval", "train 1 epochs"} {
		buf.Reset()
		if err := s.Exec(context.Background(), in); err == nil || !strings.Contains(buf.String(), "no data set is configured") {
			t.Errorf("%s: %v\n%s", in, err, &buf)
		}
	}
}

// TestPanicRecovered checks that a panic inside a command (here the host's summary
// writer) is reported and the session carries on.
func TestPanicRecovered(t *testing.T) {
	m, err := nn.New("simplenet_mnist", 1)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	s, err := New(Config{Model: m, Out: &buf, Summary: func(io.Writer, *nn.Model) error { panic("boom") }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Exec(context.Background(), "summary"); err == nil || !strings.Contains(buf.String(), "internal error (please report): boom") {
		t.Fatalf("summary: %v\n%s", err, &buf)
	}
	if err := s.Exec(context.Background(), "prune fc1 level 20%"); err != nil {
		t.Fatalf("session unusable after a panic: %v", err)
	}
}

// TestCheckHistory checks which files Run accepts as its history file: none, liner's
// own, and text like it; not a checkpoint, invalid UTF-8, control characters, lines or
// line counts liner never writes, or a folder.
func TestCheckHistory(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "ckpt")
	m, err := nn.New("lenet300_100", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.SaveCheckpoint(ckpt, m, nil, -1, nil); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "none"), ""},
		{"empty", write("empty", ""), ""},
		{"history", write("history", "prune fc1 level 50%\ntrain 1 epochs\tx\nsave \"a b\"\n"), ""},
		{"checkpoint", ckpt, "is binary, not text"},
		{"latin-1", write("latin1", "caf\xe9\n"), "it is not UTF-8 text"},
		{"escape", write("esc", "ok\n\x1b[31mred\n"), "line 2 holds the control character U+001B"},
		// A long line is a history entry liner cannot read back; the loop skips it.
		{"long line", write("long", strings.Repeat("x", 5000)+"\nprune fc1 level 50%\n"), ""},
		{"many lines", write("many", strings.Repeat("l\n", 1001)), "it has 1001 lines; liner keeps at most 1000"},
		{"folder", dir, "it is a folder, not a regular file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := os.ReadFile(tc.path)
			err := CheckHistory(tc.path)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "is not a history file")):
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if after, _ := os.ReadFile(tc.path); !bytes.Equal(before, after) {
				t.Error("CheckHistory changed the file")
			}
		})
	}
	// Run refuses such a file before it starts liner or touches the file.
	s, _ := newSession(t)
	if err := Run(context.Background(), s, LoopOptions{History: ckpt}, io.Discard); err == nil || !strings.Contains(err.Error(), "is not a history file") {
		t.Errorf("Run with a checkpoint as history: %v", err)
	}
}

// TestQATStateSurvivesLoadAndUndo checks that quantization-aware training goes on after
// `load` and `undo`: the float copies of the weights, which the scheduler's state holds
// as tensors, come back with the rest of its state (they were lost, and the next train
// failed).
func TestQATStateSurvivesLoadAndUndo(t *testing.T) {
	s, buf := newSession(t)
	ckpt := filepath.Join(t.TempDir(), "qat.safetensors")
	for _, in := range []string{"quantize * dorefa 4 bits scale_weights", "train 2 steps", "save " + ckpt,
		"train 1 steps", "load " + ckpt, "undo", "train 1 steps", "schedule"} {
		if err := s.Exec(context.Background(), in); err != nil {
			t.Fatalf("%s: %v\n%s", in, err, buf)
		}
	}
	if strings.Contains(buf.String(), "note:") {
		t.Errorf("the schedule's state was not restored:\n%s", buf)
	}
	// Training right after a load goes on from the loaded weights and their float
	// copies (saved with them), not from the weights the load replaced.
	w := s.m.Param("fc2.weight")
	if err := s.Exec(context.Background(), "train 16 steps"); err != nil {
		t.Fatal(err)
	}
	before := slices.Clone(w.Data())
	if err := s.Exec(context.Background(), "load "+ckpt); err != nil {
		t.Fatal(err)
	}
	loaded := slices.Clone(w.Data())
	if err := s.Exec(context.Background(), "train 1 steps"); err != nil {
		t.Fatalf("train after load: %v\n%s", err, buf)
	}
	dist := func(a, b []float32) float64 {
		var d float64
		for i := range a {
			d += float64((a[i] - b[i]) * (a[i] - b[i]))
		}
		return d
	}
	if after := w.Data(); dist(after, loaded) >= dist(after, before) {
		t.Errorf("one step after the load is nearer the weights the load replaced (%.3g) than the loaded ones (%.3g)", dist(after, before), dist(after, loaded))
	}
}
