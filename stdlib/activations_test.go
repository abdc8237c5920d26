package stdlib

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestChannelStats(t *testing.T) {
	var s ChannelStats
	if s.APoZ() != nil || s.Mean() != nil {
		t.Fatalf("statistics before any sample")
	}
	// Two samples, two channels of 2 values: channel 0 maps (0, 2) and (0, 0); channel 1
	// maps (1, 3) and (4, 0).
	if err := s.Add([]float32{0, 2, 1, 3, 0, 0, 4, 0}, 2, 2, 2); err != nil {
		t.Fatal(err)
	}
	// A third sample in a second batch: channel 0 (6, 0), channel 1 (0, 0).
	if err := s.Add([]float32{6, 0, 0, 0}, 1, 2, 2); err != nil {
		t.Fatal(err)
	}
	approx := cmpopts.EquateApprox(0, 1e-12)
	if diff := cmp.Diff([]float64{(0.5 + 1 + 0.5) / 3, (0 + 0.5 + 1) / 3}, s.APoZ(), approx); diff != "" {
		t.Errorf("APoZ (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]float64{(1 + 0 + 3) / 3.0, (2 + 2 + 0) / 3.0}, s.Mean(), approx); diff != "" {
		t.Errorf("Mean (-want +got):\n%s", diff)
	}
	if s.Samples() != 3 {
		t.Errorf("Samples = %d, want 3", s.Samples())
	}
	if err := s.Add(make([]float32, 6), 1, 3, 2); err == nil {
		t.Errorf("Add accepted a different channel count")
	}
	if err := s.Add(make([]float32, 5), 1, 2, 2); err == nil {
		t.Errorf("Add accepted a short slice")
	}
}
