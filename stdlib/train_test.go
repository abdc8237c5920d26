package stdlib

import (
	"context"
	"testing"

	"github.com/dst-dev/dst/data"
	"github.com/dst-dev/dst/nn"
)

// pruneHooks drives pruners and a regularizer from nn's training loop, as the
// interpreter does, and records each pruned parameter's non-zeros after every epoch.
type pruneHooks struct {
	nn.NopHooks
	agp      *AGPPruner
	agpOn    []*nn.Param
	rows     *StructurePruner
	rowsOn   []*nn.Param
	reg      Regularizer
	regOn    []*nn.Param
	nnz      map[string][]int
	epochEnd int
}

func (h *pruneHooks) OnEpochBegin(e int) error {
	if e < h.agp.Schedule.End {
		if err := h.agp.Prune(h.agpOn, Point{Epoch: e}); err != nil {
			return err
		}
	}
	if e == 1 {
		return h.rows.Prune(h.rowsOn, Point{Epoch: e})
	}
	return nil
}

func (h *pruneHooks) BeforeBackward(s *nn.Step) error {
	s.Loss += h.reg.Regularize(h.regOn)
	return nil
}

func (h *pruneHooks) OnEpochEnd(e int, _ *nn.EpochMetrics) error {
	for _, p := range append(append([]*nn.Param(nil), h.agpOn...), h.rowsOn...) {
		h.nnz[p.Name] = append(h.nnz[p.Name], p.NNZ())
	}
	h.epochEnd = e
	return nil
}

// TestTrainingKeepsExactCounts trains LeNet-300-100 on synthetic digits with an AGP
// policy on fc1 and fc2, 50% row pruning of fc3 at epoch 1 and an L1 regularizer on
// fc1, and checks after every epoch that each layer holds exactly the number of
// non-zeros its schedule asks for, through momentum and weight decay.
func TestTrainingKeepsExactCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	m, err := nn.New("lenet300_100", 1)
	if err != nil {
		t.Fatal(err)
	}
	fc1, fc2, fc3 := m.Param("fc1.weight"), m.Param("fc2.weight"), m.Param("fc3.weight")
	if fc1 == nil || fc2 == nil || fc3 == nil {
		t.Fatalf("lenet300_100 has no fc1/fc2/fc3 weights: %v", m.Params())
	}
	h := &pruneHooks{
		agp:    &AGPPruner{Schedule: AGP{Initial: 0.05, Final: 0.9, Start: 0, End: 3, Freq: 1}},
		agpOn:  []*nn.Param{fc1, fc2},
		rows:   &StructurePruner{Granularity: Rows, Ranking: L1, Fraction: 0.5},
		rowsOn: []*nn.Param{fc3},
		reg:    &L1Regularizer{Strength: 1e-5},
		regOn:  []*nn.Param{fc1},
		nnz:    map[string][]int{},
	}
	if err := h.agp.Check(h.agpOn); err != nil {
		t.Fatal(err)
	}
	if err := h.rows.Check(h.rowsOn); err != nil {
		t.Fatal(err)
	}
	opt, err := nn.NewSGD(m.Params(), nn.SGDConfig{LR: 0.05, Momentum: 0.9, WeightDecay: 1e-4})
	if err != nil {
		t.Fatal(err)
	}
	train := data.Synthetic(512, 1, 28, 28, 10, 1)
	const epochs = 4
	if _, err := nn.Train(context.Background(), m, opt, train, nil, nn.TrainConfig{Epochs: epochs, Batch: 64, Seed: 1, Hooks: h}); err != nil {
		t.Fatal(err)
	}
	if h.epochEnd != epochs-1 {
		t.Fatalf("training stopped after epoch %d", h.epochEnd)
	}
	for _, p := range h.agpOn {
		for e, got := range h.nnz[p.Name] {
			want := p.Len() - LevelCount(h.agp.Schedule.Target(Point{Epoch: e}), p.Len())
			if got != want {
				t.Errorf("%s after epoch %d: %d non-zeros, want exactly %d", p.Name, e, got, want)
			}
		}
	}
	rows, _ := NumGroups(fc3.Shape(), Rows, nil)
	for e, got := range h.nnz[fc3.Name] {
		want := fc3.Len()
		if e >= 1 {
			want -= StructureCount(0.5, rows, 1) * fc3.Shape()[1]
		}
		if got != want {
			t.Errorf("fc3 after epoch %d: %d non-zeros, want exactly %d", e, got, want)
		}
	}
	if z, _ := ZeroGroups(fc3.Data(), fc3.Shape(), Rows, nil); len(z) != StructureCount(0.5, rows, 1) {
		t.Errorf("fc3 has %d zero rows, want %d", len(z), StructureCount(0.5, rows, 1))
	}
}
