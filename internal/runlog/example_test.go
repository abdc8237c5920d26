package runlog_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/dst-dev/dst/internal/runlog"
	"github.com/dst-dev/dst/internal/tfevents"
	"github.com/dst-dev/dst/nn"
)

// tinyModel returns a two-layer model with a few pruned weights.
func tinyModel() []*nn.Param {
	conv := nn.NewParam("conv1.weight", "conv1", nn.KindWeight, 2, 1, 2, 2)
	copy(conv.Data(), []float32{0, 0, 0, 0, 0.5, -0.25, 0, 1}) // filter 0 pruned
	fc := nn.NewParam("fc1.weight", "fc1", nn.KindWeight, 2, 3)
	copy(fc.Data(), []float32{0.5, 0, 0, -1, 0, 0}) // columns 1 and 2 pruned
	bias := nn.NewParam("fc1.bias", "fc1", nn.KindBias, 2)
	return []*nn.Param{conv, fc, bias}
}

func ExampleSparsity() {
	fmt.Print(runlog.Sparsity(tinyModel()))
	// Output:
	// +---+-----------------+--------------+-------------+--------------+----------+----------+---------+----------+----------+----------+---------+----------+----------+
	// |   | Name            | Shape        | NNZ (dense) | NNZ (sparse) | Cols (%) | Rows (%) |  Ch (%) |   2D (%) |   3D (%) | Fine (%) |     Std |     Mean | Abs-Mean |
	// |---+-----------------+--------------+-------------+--------------+----------+----------+---------+----------+----------+----------+---------+----------+----------|
	// | 0 | conv1.weight    | (2, 1, 2, 2) |           8 |            3 |  0.00000 |  0.00000 | 0.00000 | 50.00000 | 50.00000 | 62.50000 | 0.39950 |  0.15625 |  0.21875 |
	// | 1 | fc1.weight      | (2, 3)       |           6 |            2 | 66.66667 |  0.00000 | 0.00000 |  0.00000 |  0.00000 | 66.66667 | 0.49160 | -0.08333 |  0.25000 |
	// | 2 | Total sparsity: | -            |          14 |            5 |        - |        - |       - |        - |        - | 64.28571 |       - |        - |        - |
	// +---+-----------------+--------------+-------------+--------------+----------+----------+---------+----------+----------+----------+---------+----------+----------+
	// Total sparsity: 64.29
}

// Example shows what a run does at the end of every epoch (the OnEpochEnd hook): print the
// sparsity table and the metrics, then write summary.json, the CSV row and the
// TensorBoard scalars and histograms.
func Example() {
	dir, err := os.MkdirTemp("", "runlog-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	params := tinyModel()

	summary := runlog.NewSummaryWriter(filepath.Join(dir, "summary.json"), map[string]string{"model": "tiny"})
	csvw, err := runlog.CreateCSV(filepath.Join(dir, "run.csv"), params)
	if err != nil {
		log.Fatal(err)
	}
	defer csvw.Close()
	tb, err := tfevents.Create(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer tb.Close()

	onEpochEnd := func(m nn.EpochMetrics) error {
		table := runlog.Sparsity(params)
		fmt.Printf("%s\ntotal sparsity %.2f%%\n", runlog.MetricsLine(m), table.Sparsity)
		if err := summary.AddEpoch(m, params); err != nil {
			return err
		}
		if err := csvw.Write(m, params); err != nil {
			return err
		}
		for _, s := range append(runlog.MetricScalars(m), table.Scalars()...) {
			if err := tb.Scalar(s.Tag, int64(m.Epoch), s.Value); err != nil {
				return err
			}
		}
		for _, p := range params {
			if err := tb.Histogram("weights/"+p.Name, int64(m.Epoch), p.Data()); err != nil {
				return err
			}
		}
		return tb.Flush()
	}
	err = onEpochEnd(nn.EpochMetrics{Epoch: 0, TrainLoss: 0.31, TrainTop1: 91.2, TestLoss: 0.12, Top1: 96.5, Top5: 99.9, LR: 0.01, Seconds: 2, SamplesPerSec: 30000})
	if err != nil {
		log.Fatal(err)
	}
	if err := summary.SetFinalTop1(96.5); err != nil {
		log.Fatal(err)
	}
	s, err := runlog.ReadSummary(filepath.Join(dir, "summary.json"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("summary.json: %d epoch, fc1.weight nnz %d, final top-1 %v\n", len(s.Epochs), s.Epochs[0].Params[1].NNZ, *s.FinalTop1)
	// Output:
	// Epoch 0 ==> Top1: 96.500    Top5: 99.900    Loss: 0.120    (train: loss 0.3100 top1 91.20; lr 0.01; 2.0 s, 30000 samples/s)
	// total sparsity 64.29%
	// summary.json: 1 epoch, fc1.weight nnz 2, final top-1 96.5
}

func ExampleAppendCSV() {
	dir, err := os.MkdirTemp("", "runlog-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "run.csv")
	params := tinyModel()

	// A run writes epochs 0, 1 and 2, but its last checkpoint was taken after epoch 1.
	w, err := runlog.CreateCSV(path, params)
	if err != nil {
		log.Fatal(err)
	}
	for e := range 3 {
		if err := w.Write(nn.EpochMetrics{Epoch: e, Top1: 90 + float64(e)}, params); err != nil {
			log.Fatal(err)
		}
	}
	w.Close()

	// The resumed run starts at epoch 2: the old row of epoch 2 goes.
	w, err = runlog.AppendCSV(path, params, 2)
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Write(nn.EpochMetrics{Epoch: 2, Top1: 93}, params); err != nil {
		log.Fatal(err)
	}
	w.Close()

	data, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(data))
	// Output:
	// epoch,train_loss,train_top1,test_loss,top1,top5,lr,samples_per_sec,seconds,weight_sparsity,conv1.weight:nnz,conv1.weight:sparsity,fc1.weight:nnz,fc1.weight:sparsity,fc1.bias:nnz,fc1.bias:sparsity
	// 0,0,0,0,90,0,0,0,0,0.6428571428571429,3,0.625,2,0.6666666666666666,0,1
	// 1,0,0,0,91,0,0,0,0,0.6428571428571429,3,0.625,2,0.6666666666666666,0,1
	// 2,0,0,0,93,0,0,0,0,0.6428571428571429,3,0.625,2,0.6666666666666666,0,1
}

func ExampleOpenSummaryWriter() {
	dir, err := os.MkdirTemp("", "runlog-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "summary.json")
	params := tinyModel()

	// An interrupted run recorded epochs 0, 1 and 2; its last checkpoint is from epoch 1.
	w := runlog.NewSummaryWriter(path, map[string]string{"model": "tiny"})
	for e := range 3 {
		if err := w.AddEpoch(nn.EpochMetrics{Epoch: e, Top1: 90 + float64(e)}, params); err != nil {
			log.Fatal(err)
		}
	}

	// The resumed run reopens the summary and redoes epoch 2.
	w, err = runlog.OpenSummaryWriter(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := w.AddEpoch(nn.EpochMetrics{Epoch: 2, Top1: 97}, params); err != nil {
		log.Fatal(err)
	}
	for _, e := range w.Summary().Epochs {
		fmt.Printf("epoch %d top1 %v weight sparsity %.3f\n", e.Metrics.Epoch, e.Metrics.Top1, e.WeightSparsity)
	}
	// Output:
	// epoch 0 top1 90 weight sparsity 0.643
	// epoch 1 top1 91 weight sparsity 0.643
	// epoch 2 top1 97 weight sparsity 0.643
}
