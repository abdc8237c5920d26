package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestExperimentSeed checks that an experiment's seed is a whole number >= 0: HCL
// truncated 1.5 to 1 when the field was unsigned.
func TestExperimentSeed(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ seed, want string }{
		{"1.5", "value must be a whole number"},
		{"-3", "The seed is -3; want a whole number >= 0."},
		{"7", ""},
	} {
		path := writeRunFile(t, dir, "seed.hcl", "model = \"lenet300_100\"\nseed = "+tc.seed+"\n")
		var stderr bytes.Buffer
		exp, err := loadExperiment(path, &stderr)
		switch {
		case tc.want == "" && (err != nil || exp.Seed == nil || *exp.Seed != 7):
			t.Errorf("seed = %s: %v %s", tc.seed, err, &stderr)
		case tc.want != "" && (err == nil || !strings.Contains(stderr.String(), tc.want)):
			t.Errorf("seed = %s: error %v, stderr %q, want %q", tc.seed, err, &stderr, tc.want)
		}
	}
}
