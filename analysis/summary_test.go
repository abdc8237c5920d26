package analysis

import (
	"testing"

	"github.com/dst-dev/dst/nn"
)

func newModel(t *testing.T, name string) *nn.Model {
	t.Helper()
	m, err := nn.New(name, 1)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSummarizeMACs(t *testing.T) {
	tests := []struct {
		model   string
		macs    int64
		weights int
		layers  int
	}{
		// Distiller's figures (catalog §4.2; issue 7).
		{"simplenet_mnist", 2_293_000, 20*25 + 50*20*25 + 800*500 + 500*10, 4},
		{"resnet20_cifar", 40_813_184, 270_896, 21 + 21 + 1}, // 19 convolutions + 2 shortcuts, their BNs, fc,
		// LeNet-300-100: 784·300 + 300·100 + 100·10.
		{"lenet300_100", 266_200, 266_200, 3},
		// dst's extension: 35 steps of LSTM 64→128 (35·4·128·(64+128)) and of the
		// decoder 128→128 (35·128·128); the embedding is a lookup.
		{"lstm_char", 3_440_640 + 573_440, 128*64 + 512*64 + 512*128 + 128*128, 3},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			m := newModel(t, tc.model)
			s, err := Summarize(m)
			if err != nil {
				t.Fatal(err)
			}
			if s.Total.MACs != tc.macs {
				t.Errorf("MACs = %d, want %d", s.Total.MACs, tc.macs)
			}
			if s.Total.SparseMACs != tc.macs {
				t.Errorf("dense model: sparse MACs = %d, want %d", s.Total.SparseMACs, tc.macs)
			}
			if s.Total.Weights != tc.weights {
				t.Errorf("weights = %d, want %d", s.Total.Weights, tc.weights)
			}
			if s.Total.Params != m.NumParams() {
				t.Errorf("params = %d, want %d", s.Total.Params, m.NumParams())
			}
			if len(s.Layers) != tc.layers {
				t.Errorf("%d rows, want %d", len(s.Layers), tc.layers)
			}
			if s.Total.DenseBytes != 4*int64(m.NumParams()) {
				t.Errorf("dense bytes = %d, want %d", s.Total.DenseBytes, 4*m.NumParams())
			}
		})
	}
}

func TestSummarizeSparse(t *testing.T) {
	m := newModel(t, "simplenet_mnist")
	// Zero half of conv2's 25,000 weights and all but 10 of fc2's.
	w := m.Param("conv2.weight").Data()
	for i := 0; i < len(w); i += 2 {
		w[i] = 0
	}
	fc2 := m.Param("fc2.weight").Data()
	for i := 10; i < len(fc2); i++ {
		fc2[i] = 0
	}
	s, err := Summarize(m)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]LayerSummary{}
	for _, l := range s.Layers {
		byName[l.Name] = l
	}
	conv2 := byName["conv2"]
	if conv2.WeightNNZ != 12_500 || conv2.SparseMACs != 800_000 || conv2.MACs != 1_600_000 {
		t.Errorf("conv2: nnz %d, sparse MACs %d, MACs %d; want 12500, 800000, 1600000", conv2.WeightNNZ, conv2.SparseMACs, conv2.MACs)
	}
	if got := conv2.OutShape; len(got) != 4 || got[1] != 50 || got[2] != 8 || got[3] != 8 {
		t.Errorf("conv2 output shape %v, want [1 50 8 8]", got)
	}
	fc := byName["fc2"]
	if fc.SparseMACs != 10 {
		t.Errorf("fc2 sparse MACs %d, want 10", fc.SparseMACs)
	}
	// CSR: 10 values + 10 indices + 11 row pointers, plus 10 dense biases.
	if want := int64(4 * (10 + 10 + 11 + 10)); fc.SparseBytes != want {
		t.Errorf("fc2 sparse bytes %d, want %d", fc.SparseBytes, want)
	}
	if want := int64(2_293_000 - 800_000 - 4_990); s.Total.SparseMACs != want {
		t.Errorf("total sparse MACs %d, want %d", s.Total.SparseMACs, want)
	}
}

// TestSummarizeThinned counts a model at its thinned shapes: half of conv2's filters
// removed halve conv2's MACs and fc1's inputs.
func TestSummarizeThinned(t *testing.T) {
	m := newModel(t, "simplenet_mnist")
	w, b := m.Param("conv2.weight").Data(), m.Param("conv2.bias").Data()
	per := len(w) / 50
	for f := range 25 {
		clear(w[f*per : (f+1)*per])
		b[f] = 0
	}
	if _, err := nn.Thin(m, nil, nn.ThinFilters); err != nil {
		t.Fatal(err)
	}
	s, err := Summarize(m)
	if err != nil {
		t.Fatal(err)
	}
	// conv1 288,000 + conv2 25·8·8·20·25 + fc1 400·500 + fc2 500·10.
	if want := int64(288_000 + 800_000 + 200_000 + 5_000); s.Total.MACs != want {
		t.Errorf("MACs %d, want %d", s.Total.MACs, want)
	}
}
