package main

import (
	"path/filepath"
	"testing"

	"github.com/dst-dev/dst/nn"
)

// untrainedCheckpoint writes a freshly initialised zoo model to a checkpoint in a
// temporary folder and returns its path.
func untrainedCheckpoint(t *testing.T, model string) string {
	t.Helper()
	m, err := nn.New(model, 1)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ckpt.safetensors")
	if err := nn.SaveCheckpoint(path, m, nil, -1, nil); err != nil {
		t.Fatal(err)
	}
	return path
}
