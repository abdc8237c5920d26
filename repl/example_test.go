package repl_test

import (
	"context"
	"fmt"
	"os"

	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/repl"
)

// A session driven directly, as a host or a test would: a binding, a statement that runs
// now, a bad statement (a diagnostic; the session carries on), a type query and undo.
func ExampleSession() {
	m, err := nn.New("simplenet_mnist", 1)
	if err != nil {
		panic(err)
	}
	s, err := repl.New(repl.Config{Model: m, Out: os.Stdout})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for _, in := range []string{
		"let target = 50%",
		"prune fc1 level target",
		"prune fc1 level 2",
		":type target * 1.5",
		"undo",
	} {
		s.Exec(ctx, in)
	}
	fmt.Printf("fc1.weight non-zeros after undo: %d\n", m.Param("fc1.weight").NNZ())
	// Output:
	// target = 0.5 (50%) (fraction)
	// ran prune level [fc1.weight] now
	//   fc1.weight               50.00% sparse (200000 of 400000 non-zero)
	// <repl>:3:17: error: Value out of range
	//     3 | prune fc1 level 2
	//       |                 ^
	//   sparsity is a fraction, and 2 is outside [0, 1). Did you mean 2%?
	// 1 error
	// fraction = 0.75 (75%)
	// undid prune fc1 level target
	// fc1.weight non-zeros after undo: 400000
}
