package tfevents_test

import (
	"fmt"
	"log"
	"os"

	"github.com/dst-dev/dst/internal/tfevents"
)

// Example writes a run's scalars and a weight histogram, then reads the file back.
func Example() {
	dir, err := os.MkdirTemp("", "tfevents-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	w, err := tfevents.Create(dir) // events.out.tfevents.<unix secs>.<hostname>
	if err != nil {
		log.Fatal(err)
	}
	for epoch, top1 := range []float64{97.5, 98.25} {
		if err := w.Scalar("Performance/Validation/Top1", int64(epoch), top1); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Histogram("fc1.weight", 1, []float32{-0.5, 0, 0, 0.25}); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	events, err := tfevents.ReadFile(w.Path())
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range events {
		if e.FileVersion != "" {
			fmt.Println("version", e.FileVersion)
		}
		for _, v := range e.Values {
			if v.Histo != nil {
				fmt.Printf("step %d %s: %v values in [%v, %v]\n", e.Step, v.Tag, v.Histo.Num, v.Histo.Min, v.Histo.Max)
			} else {
				fmt.Printf("step %d %s = %v\n", e.Step, v.Tag, v.Simple)
			}
		}
	}
	// Output:
	// version brain.Event:2
	// step 0 Performance/Validation/Top1 = 97.5
	// step 1 Performance/Validation/Top1 = 98.25
	// step 1 fc1.weight: 4 values in [-0.5, 0.25]
}
