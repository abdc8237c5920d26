package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/dst-dev/dst/kernels"
)

// VersionCmd prints dst's version, Go version and kernel path.
type VersionCmd struct{}

// Run prints the version line.
func (c *VersionCmd) Run(g *Globals) error {
	version := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		version = bi.Main.Version
	}
	fmt.Fprintf(g.Stdout, "dst %s, %s %s/%s, kernels: %s, GOMAXPROCS %d\n",
		version, runtime.Version(), runtime.GOOS, runtime.GOARCH, kernels.Path(), runtime.GOMAXPROCS(0))
	return nil
}
