package importer_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dst-dev/dst/importer"
	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/stdlib"
)

// FuzzConvert feeds arbitrary YAML to the importer. Invariants: no panic; an error is an
// ErrorList, a NotScheduleError or (never expected) an internal error; a successful
// import is a script in canonical form that parses.
func FuzzConvert(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("pruners:\n  p:\n    class: SparsityLevelParameterPruner\n    levels: {'*': 0.5, a.weight: 0}\npolicies:\n  - pruner: {instance_name: p}\n    epochs: [0]\n"))
	f.Add([]byte("lr_schedulers:\n  l: {class: ExponentialLR, gamma: 0.9}\npolicies:\n  - lr_scheduler: {instance_name: l}\n    starting_epoch: 3\n    ending_epoch: 9\n    frequency: 2\n"))
	sigs := stdlib.Signatures()
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 1<<14 {
			return
		}
		res, err := importer.Import("f.yaml", src, importer.Options{Builtins: sigs})
		if err != nil {
			switch err.(type) {
			case importer.ErrorList, *importer.NotScheduleError:
				return
			}
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
		again, diags := lang.Format("f.dst", res.Source)
		if diags.HasErrors() || string(again) != string(res.Source) {
			t.Fatalf("output not canonical: %v\n%s", diags, res.Source)
		}
		if _, err := importer.Import("f.yaml", src, importer.Options{Builtins: sigs, Params: res.Synthetic()}); err != nil {
			if _, ok := err.(importer.ErrorList); !ok {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
		}
	})
}
