package importer_test

import (
	"errors"
	"fmt"

	"github.com/dst-dev/dst/importer"
	"github.com/dst-dev/dst/stdlib"
)

// ExampleImport imports a schedule, then checks it against a stand-in parameter table
// built from the names it mentions, as `dst import` does when dst lacks the model.
func ExampleImport() {
	src := []byte(`pruners:
  fine:
    class: AutomatedGradualPruner
    initial_sparsity: 0.05
    final_sparsity: 0.70
    weights: [module.layer3.1.conv1.weight, module.fc.weight]
policies:
  - pruner:
      instance_name: fine
    starting_epoch: 30
    ending_epoch: 50
    frequency: 2
`)
	opts := importer.Options{Builtins: stdlib.Signatures()}
	res, err := importer.Import("agp.yaml", src, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	opts.Params = res.Synthetic()
	if res, err = importer.Import("agp.yaml", src, opts); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(res.Source))
	fmt.Println(res.Params)
	// Output:
	// # Imported from the Distiller schedule agp.yaml by dst import.
	// # Parameter names are written without DataParallel's module. component.
	//
	// prune [layer3.1.conv1.weight, fc.weight] agp 0.05 -> 0.7 from epoch 30 to 50 every 2
	// [layer3.1.conv1.weight fc.weight]
}

// ExampleConvert shows a positioned error: Distiller would silently keep the second
// value of a duplicate key; the importer refuses.
func ExampleConvert() {
	src := []byte(`regularizers:
  lasso:
    class: GroupLassoRegularizer
    reg_regims:
      module.conv1.weight: [0.0008, Channels]
      module.conv1.weight: [0.0004, Channels]
`)
	_, err := importer.Convert("ssl.yaml", src, importer.Options{})
	var list importer.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Println(e)
		}
	}
	// Output:
	// ssl.yaml:6:7: lasso.reg_regims: duplicate key "module.conv1.weight" (first at line 5, column 7); Distiller would silently keep the last value
}
