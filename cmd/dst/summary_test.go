package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSummaryCmd(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"summary", "--model", "simplenet_mnist"}, []string{"Total MACs: 2,293,000", "conv2", "1×50×8×8", "Weights (no biases or BatchNorm): 430,500"}},
		{[]string{"summary", "--model", "resnet20_cifar"}, []string{"Total MACs: 40,813,184", "Weights (no biases or BatchNorm): 270,896", "layer3.2.conv2"}},
	}
	for _, tc := range tests {
		t.Run(tc.args[2], func(t *testing.T) {
			code, out, errs := dst(t, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestSummaryJSONCheckpoint(t *testing.T) {
	ckpt := untrainedCheckpoint(t, "simplenet_mnist")
	code, out, errs := dst(t, "summary", "--checkpoint", ckpt, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var s struct {
		Model string
		Total struct {
			MACs       int64 `json:"macs"`
			SparseMACs int64 `json:"sparse_macs"`
		}
		ZooMACs int64 `json:"zoo_macs"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if s.Model != "simplenet_mnist" || s.Total.MACs != 2_293_000 || s.ZooMACs != 2_293_000 {
		t.Errorf("%+v", s)
	}
}

func TestSummaryErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"summary"}, "give --model NAME or --checkpoint FILE"},
		{[]string{"summary", "--model", "simplenet"}, `did you mean "simplenet_mnist"`},
		{[]string{"summary", "--checkpoint", "/nonexistent.safetensors"}, "nonexistent"},
	}
	for _, tc := range tests {
		code, _, errs := dst(t, tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errs, tc.want)
		}
	}
}
