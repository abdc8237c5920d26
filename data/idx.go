package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// IDX magic numbers: unsigned bytes, with 3 (images) or 1 (labels) dimensions.
const (
	idxImages = 0x00000803
	idxLabels = 0x00000801
)

// maxIDXItems bounds the item count read from a header, so a corrupt file cannot ask
// for an absurd allocation.
const maxIDXItems = 10_000_000

// openIDX opens path, or path+".gz" when path does not exist, transparently
// decompressing gzip data (recognised by its magic bytes, not its name).
func openIDX(path string) (io.ReadCloser, string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		if g, gerr := os.Open(path + ".gz"); gerr == nil {
			f, err, path = g, nil, path+".gz"
		}
	}
	if err != nil {
		return nil, path, err
	}
	br := bufio.NewReaderSize(f, 1<<16)
	head, _ := br.Peek(2)
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, path, fmt.Errorf("%s: %w", path, err)
		}
		return struct {
			io.Reader
			io.Closer
		}{zr, f}, path, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{br, f}, path, nil
}

// ReadIDXImages reads an IDX3 image file (optionally gzipped) and returns its raw
// pixels with the image count, height and width.
func ReadIDXImages(path string) (pix []uint8, n, h, w int, err error) {
	r, name, err := openIDX(path)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	defer r.Close()
	var hdr [4]uint32
	if err := binary.Read(r, binary.BigEndian, &hdr); err != nil {
		return nil, 0, 0, 0, fmt.Errorf("%s: reading IDX header: %w", name, err)
	}
	if hdr[0] != idxImages {
		return nil, 0, 0, 0, fmt.Errorf("%s: not an IDX image file (magic %#08x, want %#08x)", name, hdr[0], idxImages)
	}
	n, h, w = int(hdr[1]), int(hdr[2]), int(hdr[3])
	if n > maxIDXItems || h < 1 || w < 1 || h > 4096 || w > 4096 || n*h*w > 1<<31 {
		return nil, 0, 0, 0, fmt.Errorf("%s: implausible IDX image shape %d×%d×%d", name, n, h, w)
	}
	pix = make([]uint8, n*h*w)
	if _, err := io.ReadFull(r, pix); err != nil {
		return nil, 0, 0, 0, fmt.Errorf("%s: header promises %d images of %d×%d, file is shorter: %w", name, n, h, w, err)
	}
	return pix, n, h, w, nil
}

// ReadIDXLabels reads an IDX1 label file (optionally gzipped).
func ReadIDXLabels(path string) ([]int32, error) {
	r, name, err := openIDX(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var hdr [2]uint32
	if err := binary.Read(r, binary.BigEndian, &hdr); err != nil {
		return nil, fmt.Errorf("%s: reading IDX header: %w", name, err)
	}
	if hdr[0] != idxLabels {
		return nil, fmt.Errorf("%s: not an IDX label file (magic %#08x, want %#08x)", name, hdr[0], idxLabels)
	}
	n := int(hdr[1])
	if n > maxIDXItems {
		return nil, fmt.Errorf("%s: implausible label count %d", name, n)
	}
	raw := make([]uint8, n)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, fmt.Errorf("%s: header promises %d labels, file is shorter: %w", name, n, err)
	}
	y := make([]int32, n)
	for i, v := range raw {
		y[i] = int32(v)
	}
	return y, nil
}

// Normalisation of the usual image datasets: mean and standard deviation of the
// training pixels scaled to [0, 1].
const (
	MNISTMean        = 0.1307
	MNISTStd         = 0.3081
	FashionMNISTMean = 0.2860
	FashionMNISTStd  = 0.3530
)

// LoadIDXDir loads the four files of an MNIST-format dataset from dir
// (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
// t10k-labels-idx1-ubyte, each optionally with .gz) and normalises pixels p as
// (p/255 − mean)/std.
func LoadIDXDir(dir, name string, mean, std float32) (train, test *Set, err error) {
	load := func(prefix, part string) (*Set, error) {
		pix, n, h, w, err := ReadIDXImages(filepath.Join(dir, prefix+"-images-idx3-ubyte"))
		if err != nil {
			return nil, err
		}
		y, err := ReadIDXLabels(filepath.Join(dir, prefix+"-labels-idx1-ubyte"))
		if err != nil {
			return nil, err
		}
		if len(y) != n {
			return nil, fmt.Errorf("data: %s: %d images but %d labels", filepath.Join(dir, prefix), n, len(y))
		}
		s := &Set{
			Name: name + "/" + part, Pixels: pix,
			Scale: 1 / (255 * std), Shift: -mean / std,
			Y: y, N: n, C: 1, H: h, W: w, Classes: 10,
		}
		return s, s.Validate()
	}
	if train, err = load("train", "train"); err != nil {
		return nil, nil, err
	}
	if test, err = load("t10k", "test"); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}
