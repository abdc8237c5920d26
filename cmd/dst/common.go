package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/nn"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// DataFlags choose the dataset of a command.
type DataFlags struct {
	Dataset    string `help:"Dataset: mnist, fashion-mnist or synthetic (CIFAR-shaped random patterns). Default: mnist for 1×28×28 models, synthetic otherwise." placeholder:"NAME"`
	Data       string `help:"Folder with the dataset's IDX files (default: the built-in MNIST, or Debian's dataset-fashion-mnist)." type:"path" placeholder:"DIR"`
	LimitTrain int    `help:"Use only the first N training samples (0 = all)." placeholder:"N" default:"0"`
	LimitTest  int    `help:"Use only the first N test samples (0 = all)." placeholder:"N" default:"0"`
}

// load returns the training and test sets for model m, checked against its input shape.
func (f *DataFlags) load(m *nn.Model) (train, test *data.Set, err error) {
	name := f.Dataset
	if name == "" {
		name = "synthetic"
		if len(m.Input) == 3 && m.Input[0] == 1 && m.Input[1] == 28 && m.Input[2] == 28 {
			name = "mnist"
		}
	}
	if f.LimitTrain < 0 || f.LimitTest < 0 {
		return nil, nil, usageError("--limit-train and --limit-test must be >= 0")
	}
	switch name {
	case "synthetic":
		if f.Data != "" {
			return nil, nil, usageError("--data does not apply to the synthetic dataset")
		}
		if len(m.Input) != 3 {
			return nil, nil, usageError("model %s does not take images; the synthetic dataset cannot feed it", m.Name)
		}
		nTrain, nTest := 10000, 2000
		if f.LimitTrain > 0 {
			nTrain = f.LimitTrain
		}
		if f.LimitTest > 0 {
			nTest = f.LimitTest
		}
		// Each set depends only on its own size: --limit-train does not change the test set.
		train, test = data.SyntheticSplit(nTrain, nTest, m.Input[0], m.Input[1], m.Input[2], m.Classes, 1)
	case "mnist", "fashion-mnist":
		if f.Data != "" {
			if st, err := os.Stat(f.Data); err != nil || !st.IsDir() {
				return nil, nil, usageError("--data %s: not a folder", f.Data)
			}
		}
		train, test, err = data.Load(name, f.Data)
		if err != nil {
			if errors.Is(err, data.ErrNoData) || errors.Is(err, os.ErrNotExist) {
				return nil, nil, exitCode(2, err)
			}
			return nil, nil, err
		}
		if f.LimitTrain > 0 {
			train = train.Subset(f.LimitTrain)
		}
		if f.LimitTest > 0 {
			test = test.Subset(f.LimitTest)
		}
	default:
		return nil, nil, usageError("unknown dataset %q (known: mnist, fashion-mnist, synthetic)", name)
	}
	if err := m.CheckInput(train.C, train.H, train.W, train.Classes); err != nil {
		return nil, nil, usageError("%v (choose another --dataset)", err)
	}
	return train, test, nil
}

// maxThreads returns the largest --threads accepted: four threads per core. More
// only adds scheduling overhead, and a huge value makes the Go runtime allocate state
// for every thread until it dies of thread exhaustion.
func maxThreads() int { return 4 * runtime.NumCPU() }

// setThreads applies --threads: 0 keeps Go's default (all cores). Values outside
// [0, maxThreads()] are refused.
func setThreads(n int) error {
	if hi := maxThreads(); n < 0 || n > hi {
		return usageError("--threads must be between 0 (all cores) and %d (4 per core, %d cores), got %d", hi, runtime.NumCPU(), n)
	}
	if n > 0 {
		runtime.GOMAXPROCS(n)
	}
	return nil
}

// isTerminal reports whether w is a terminal (progress bars and colour only then).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// stepBar returns an OnStep callback drawing a progress bar on stderr when it is a
// terminal, and nil otherwise.
func stepBar(stderr io.Writer) func(p nn.Progress) {
	if !isTerminal(stderr) {
		return nil
	}
	var bar *progressbar.ProgressBar
	epoch := -1
	return func(p nn.Progress) {
		if p.Epoch != epoch || bar == nil {
			epoch = p.Epoch
			bar = progressbar.NewOptions(p.Steps,
				progressbar.OptionSetWriter(stderr),
				progressbar.OptionSetDescription(fmt.Sprintf("epoch %d", p.Epoch)),
				progressbar.OptionClearOnFinish(),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionShowCount(),
			)
		}
		bar.Set(p.Step + 1)
		if p.Step+1 == p.Steps {
			bar.Finish()
		}
	}
}

// prepareOut prepares the output folder of `dst train` (see checkOutFolder): one that
// already holds a run is refused unless force is set, so a typo never overwrites
// earlier results.
func prepareOut(dir string, force bool) error {
	return checkOutFolder(dir, "a run", []string{"summary.json", "checkpoint.safetensors"}, force)
}

// defaultOut names a fresh run folder: runs/<model>-<timestamp>.
func defaultOut(model string) string {
	return filepath.Join("runs", model+"-"+time.Now().Format("20060102-150405"))
}

// warnDiverged prints, once per run (warned says whether it did already), a warning when
// an epoch's training loss is not finite: the weights are NaN from then on, and every
// later figure and checkpoint with them. It returns whether the warning has been given.
func warnDiverged(g *Globals, em *nn.EpochMetrics, warned bool) bool {
	if warned || !(math.IsNaN(em.TrainLoss) || math.IsInf(em.TrainLoss, 0)) {
		return warned
	}
	fmt.Fprintf(g.Stderr, "dst: warning: training diverged in epoch %d (loss %v): the weights are no longer finite; lower the learning rate\n", em.Epoch, em.TrainLoss)
	return true
}

// checkOutFolder checks, before any work, that the output folder out is a folder that
// can be written and, unless force, holds none of files (names or glob patterns; what
// says what they are, and the error lists every one found): a
// command's results (a run, hours of a sensitivity sweep) are not replaced without
// --force, and a folder that cannot be written fails at once rather than after the work.
// It creates out.
func checkOutFolder(out, what string, files []string, force bool) error {
	if st, err := os.Stat(out); err == nil {
		if !st.IsDir() {
			return usageError("--out %s exists and is not a folder", out)
		}
		if held := existingFiles(out, files); !force && len(held) > 0 {
			return usageError("--out %s already holds %s (%s); choose another folder or pass --force", out, what, strings.Join(held, ", "))
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return exitCode(2, fmt.Errorf("--out: %w", err))
	}
	probe, err := os.CreateTemp(out, ".dst-write-check-*")
	if err != nil {
		return exitCode(2, fmt.Errorf("--out %s cannot be written: %w", out, err))
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// existingFiles returns the names of the entries of dir that names (file names or glob
// patterns) match, in the order of names; symbolic links count, even dangling ones.
func existingFiles(dir string, names []string) []string {
	var held []string
	for _, n := range names {
		if strings.ContainsAny(n, "*?[") {
			// Match the names in dir, not a pattern joined to dir: the folder's own name
			// may hold pattern characters (--out 'r[1]').
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if ok, _ := filepath.Match(n, e.Name()); ok {
					held = append(held, e.Name())
				}
			}
			continue
		}
		if _, err := os.Lstat(filepath.Join(dir, n)); err == nil {
			held = append(held, n)
		}
	}
	return held
}
