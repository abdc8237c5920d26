package importer_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dst-dev/dst/importer"
	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/stdlib"
	"github.com/google/go-cmp/cmp"
)

// These tests read Distiller's own 87 YAML files from ../shared/compat/distiller
// (relative to the repository), which a fresh clone does not have: they skip, saying
// why, when the folder is absent. The golden outputs under testdata/golden and the
// checks of them run always.

var update = flag.Bool("update", false, "rewrite testdata/golden/*.dst and docs/distiller-compat.md")

// corpusDir returns the Distiller folder or skips the test.
func corpusDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "compat", "distiller")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("the Distiller YAML files are not here (%v); they live in ../shared/compat/distiller beside the repository, which a fresh clone does not have", err)
	}
	return dir
}

// modelTable returns the parameter table of a zoo model, or false when dst has no
// model of that name.
func modelTable(name string) ([]lang.ParamInfo, bool) {
	if name == "" {
		return nil, false
	}
	m, err := nn.New(name, 0)
	if err != nil {
		return nil, false
	}
	var out []lang.ParamInfo
	for _, p := range m.Params() {
		out = append(out, lang.ParamInfo{Name: p.Name, Shape: p.Shape(), Kind: p.Kind.String(), Layer: p.Layer})
	}
	return out, true
}

// outcome is what importing one Distiller file gave.
type outcome struct {
	path       string // relative to the Distiller folder
	kind       importer.FileKind
	imported   bool
	against    string // what it was checked against
	statements int
	source     []byte
	reasons    []string // why it was rejected, "line:col: message"
	gaps       []string // the language gaps among the reasons
}

// importFile imports one file the way `dst import` does: checked against the zoo model
// the file names when dst has it, else against a synthetic table of its names.
func importFile(t *testing.T, dir, rel string) outcome {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	o := outcome{path: rel}
	o.kind, err = importer.Classify(rel, src)
	if err != nil {
		o.reasons, o.gaps = reasons(rel, err)
		return o
	}
	if o.kind != importer.KindSchedule {
		return o
	}
	sigs := stdlib.Signatures()
	res, err := importer.Import(rel, src, importer.Options{Builtins: sigs})
	if err != nil {
		o.reasons, o.gaps = reasons(rel, err)
		return o
	}
	params, ok := modelTable(res.Arch)
	o.against = "model " + res.Arch
	if !ok {
		params = res.Synthetic()
		o.against = fmt.Sprintf("synthetic table (%d parameters)", len(params))
		if res.Arch != "" {
			o.against = fmt.Sprintf("synthetic table (%d parameters; dst has no %s)", len(params), res.Arch)
		}
	}
	res, err = importer.Import(rel, src, importer.Options{Builtins: sigs, Params: params})
	if err != nil {
		o.reasons, o.gaps = reasons(rel, err)
		return o
	}
	o.imported, o.statements, o.source = true, res.Statements, res.Source
	return o
}

// reasons lists an import error's messages without the file name, and the language
// gaps among them.
func reasons(rel string, err error) (msgs, gaps []string) {
	var list importer.ErrorList
	if errors.As(err, &list) {
		seen := map[string]bool{}
		for _, e := range list {
			msgs = append(msgs, strings.TrimPrefix(e.Error(), rel+":"))
			if e.Gap != "" && !seen[e.Gap] {
				seen[e.Gap] = true
				gaps = append(gaps, e.Gap)
			}
		}
		return msgs, gaps
	}
	return []string{strings.TrimPrefix(err.Error(), rel+": ")}, nil
}

func corpus(t *testing.T) []outcome {
	t.Helper()
	dir := corpusDir(t)
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	out := make([]outcome, len(files))
	for i, f := range files {
		out[i] = importFile(t, dir, f)
	}
	return out
}

func TestCorpus(t *testing.T) {
	all := corpus(t)
	counts := map[importer.FileKind]int{}
	imported := 0
	for _, o := range all {
		counts[o.kind]++
		switch {
		case o.kind != importer.KindSchedule:
		case o.imported:
			imported++
			// An imported script parses, is formatted, and names its source.
			if again, d := lang.Format("x.dst", o.source); d.HasErrors() || !bytes.Equal(again, o.source) {
				t.Errorf("%s: output is not in canonical form: %v", o.path, d)
			}
			if !bytes.Contains(o.source, []byte("Distiller schedule "+o.path)) {
				t.Errorf("%s: the header does not name the source", o.path)
			}
		default:
			// A rejection gives a position and names the construct.
			for _, r := range o.reasons {
				if !strings.Contains(r, ":") || len(r) < 20 {
					t.Errorf("%s: reason %q names no position or construct", o.path, r)
				}
			}
			if len(o.reasons) == 0 {
				t.Errorf("%s: rejected without a reason", o.path)
			}
		}
	}
	if len(all) != 87 || counts[importer.KindSchedule] != 79 || counts[importer.KindAMC] != 2 || counts[importer.KindStats] != 6 {
		t.Errorf("%d files: %d schedules, %d AMC, %d stats; want 87: 79, 2, 6", len(all), counts[importer.KindSchedule], counts[importer.KindAMC], counts[importer.KindStats])
	}
	if imported < 70 {
		t.Errorf("%d of 79 schedules import; want at least 70", imported)
	}
	t.Logf("%d of %d schedules import", imported, counts[importer.KindSchedule])
}

// goldenFiles are representative schedules whose .dst output is kept under
// testdata/golden.
var goldenFiles = []string{
	"tests/full_flow_tests/simplenet_mnist_pruning.yaml",                              // AGP, filters, thinning on a dst model
	"examples/agp-pruning/resnet20_filters.schedule_agp_4.yaml",                       // leader, Rows, StepLR
	"examples/agp-pruning/alexnet.schedule_agp.yaml",                                  // features.module names, ExponentialLR from epoch 24
	"examples/agp-pruning/resnet50.schedule_agp.1x1x8-blocks.yaml",                    // blocks, weights as a string, unscheduled pruners
	"examples/network_slimming/resnet20_slimming.yaml",                                // an unscheduled regularizer, noted
	"examples/baidu-rnn-pruning/word_lang_model.schedule_baidu_rnn.yaml",              // BaiduRNNPruner
	"examples/network_surgery/resnet20.network_surgery.yaml",                          // splicing every mini-batch, forward-only masks
	"examples/drop_filter/resnet20_cifar_randomlevel_training.yaml",                   // random level, dropfilter flags
	"examples/ssl/ssl_filter-removal_training.yaml",                                   // group lasso, keep_mask, filter removal
	"examples/gss/gss_channels-removal_training.yaml",                                 // group variance, keep_mask without threshold
	"examples/hybrid/alexnet.schedule_sensitivity_2D-reg.yaml",                        // sensitivity pruning + 2D group lasso
	"examples/pruning_filters_for_efficient_convnets/vgg19.schedule_filter_rank.yaml", // epoch lists, repeated thinning
	"examples/quantization/quant_aware_train/alexnet_bn_dorefa.yaml",                  // DoReFa with overrides
	"examples/quantization/post_train_quant/resnet18_imagenet_post_train.yaml",        // post-training quantization
	"examples/quantization/fp32_baselines/preact_resnet_cifar_base_fp32.yaml",         // MultiStepMultiGammaLR
}

func goldenPath(rel string) string {
	return filepath.Join("testdata", "golden", strings.TrimSuffix(filepath.Base(rel), ".yaml")+".dst")
}

func TestGolden(t *testing.T) {
	dir := corpusDir(t)
	for _, rel := range goldenFiles {
		t.Run(filepath.Base(rel), func(t *testing.T) {
			o := importFile(t, dir, rel)
			if !o.imported {
				t.Fatalf("%s does not import:\n%s", rel, strings.Join(o.reasons, "\n"))
			}
			path := goldenPath(rel)
			if *update {
				if err := os.WriteFile(path, o.source, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update)", err)
			}
			if diff := cmp.Diff(string(want), string(o.source)); diff != "" {
				t.Errorf("%s differs from %s (-golden +now); rerun with -update if the change is intended:\n%s", rel, path, diff)
			}
		})
	}
}

// TestGoldenFilesCheck re-checks the golden outputs without the Distiller files: each
// is in canonical form and checks clean with dst's signatures, against its model when
// its header names one dst has.
func TestGoldenFilesCheck(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "golden", "*.dst"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 12 {
		t.Fatalf("%d golden files, want at least 12", len(paths))
	}
	sigs := stdlib.Signatures()
	checkedModels := 0
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			src, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if again, d := lang.Format(p, src); d.HasErrors() || !bytes.Equal(again, src) {
				t.Errorf("not in canonical form: %v", d)
			}
			env := lang.Env{Builtins: sigs}
			for _, line := range strings.Split(string(src), "\n") {
				if name, ok := strings.CutPrefix(line, "# Model: "); ok {
					name = name[:strings.IndexByte(name+" ", ' ')]
					if params, ok := modelTable(name); ok {
						env.Params = params
						checkedModels++
					}
				}
			}
			if _, d := lang.CheckSource(p, src, env); d.HasErrors() {
				t.Errorf("does not check: %v", d)
			}
		})
	}
	if checkedModels == 0 {
		t.Error("no golden file was checked against a dst model")
	}
}

// TestCompatReport writes docs/distiller-compat.md (with -update) or checks that it is
// current.
func TestCompatReport(t *testing.T) {
	all := corpus(t)
	got := compatReport(all)
	path := filepath.Join("..", "docs", "distiller-compat.md")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./importer -run TestCompatReport -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("docs/distiller-compat.md is out of date (-file +now); run go test ./importer -run TestCompatReport -update:\n%s", diff)
	}
}

func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}

func compatReport(all []outcome) []byte {
	var b bytes.Buffer
	var schedules, imported, onModel, rejected int
	for _, o := range all {
		if o.kind != importer.KindSchedule {
			continue
		}
		schedules++
		switch {
		case o.imported:
			imported++
			if strings.HasPrefix(o.against, "model ") {
				onModel++
			}
		default:
			rejected++
		}
	}
	fmt.Fprintf(&b, "# Distiller schedule compatibility\n\n")
	fmt.Fprintf(&b, "<!-- Generated by `go test ./importer -run TestCompatReport -update`; do not edit. -->\n\n")
	fmt.Fprintf(&b, "`dst import` (package `importer`) run on the %d YAML files of Distiller's repository "+
		"(IntelLabs/distiller at d859fc85, copies in `../shared/compat/distiller`). Each schedule is imported, "+
		"formatted and checked with dst's signatures: against the dst model it names (an extension's `arch` or "+
		"`--arch` in its comments) when dst has that model, otherwise against a synthetic parameter table built "+
		"from the names it mentions (4-D for convolution-like names, 2-D for fc/linear/classifier/embedding/RNN "+
		"weights, 1-D for biases and batch-norm).\n\n", len(all))
	fmt.Fprintf(&b, "Use it as `dst import FILE.yaml [-o FILE.dst] [--model NAME]`; errors are reported as `file:line:col` "+
		"in the YAML. How each Distiller class, key and window becomes a statement is described in the package "+
		"documentation (`go doc github.com/dst-dev/dst/importer`).\n\n")
	fmt.Fprintf(&b, "**%d of %d schedules import** (%d checked against a dst model, %d against a synthetic table); "+
		"%d are rejected with the reason below; %d files are not schedules.\n\n",
		imported, schedules, onModel, imported-onModel, rejected, len(all)-schedules)
	fmt.Fprintf(&b, "| # | File | Status | Checked against | Statements |\n| --- | --- | --- | --- | --- |\n")
	for i, o := range all {
		status, against, stmts := "imports", o.against, fmt.Sprint(o.statements)
		switch {
		case o.kind == importer.KindAMC || o.kind == importer.KindStats:
			status, against, stmts = "not a schedule: "+o.kind.Describe(), "", ""
		case o.kind == importer.KindUnknown:
			status, against, stmts = "not a Distiller file", "", ""
		case !o.imported:
			status, against, stmts = "**rejected** (see below)", "", ""
		}
		fmt.Fprintf(&b, "| %d | `%s` | %s | %s | %s |\n", i+1, o.path, cell(status), cell(against), stmts)
	}
	fmt.Fprintf(&b, "\n## Constructs dst's language cannot express\n\n")
	fmt.Fprintf(&b, "The rejections below that are limits of the language rather than mistakes in the file, with the files they stop:\n\n")
	byGap := map[string][]string{}
	var gapOrder []string
	for _, o := range all {
		for _, g := range o.gaps {
			if byGap[g] == nil {
				gapOrder = append(gapOrder, g)
			}
			byGap[g] = append(byGap[g], "`"+o.path+"`")
		}
	}
	sort.Strings(gapOrder)
	for _, g := range gapOrder {
		fmt.Fprintf(&b, "- %s: %s\n", g, strings.Join(byGap[g], ", "))
	}
	fmt.Fprintf(&b, "\n## Rejected schedules\n\n")
	for _, o := range all {
		if o.kind != importer.KindSchedule || o.imported {
			continue
		}
		fmt.Fprintf(&b, "`%s`:\n\n", o.path)
		for _, r := range o.reasons {
			fmt.Fprintf(&b, "- %s\n", r)
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}
