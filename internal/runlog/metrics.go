package runlog

import (
	"fmt"

	"github.com/dst-dev/dst/nn"
)

// metricField is one float field of [nn.EpochMetrics]: its JSON and CSV name, its
// TensorBoard tag (empty if it has none) and a pointer into a metrics value.
type metricField struct {
	name string
	tag  string
	p    *float64
}

// metricFields lists the float fields of *m in declaration order. A test checks the list
// against nn.EpochMetrics, so a field added there cannot be silently left out here.
func metricFields(m *nn.EpochMetrics) []metricField {
	return []metricField{
		{"train_loss", "Performance/Training/Overall Loss", &m.TrainLoss},
		{"train_top1", "Performance/Training/Top1", &m.TrainTop1},
		{"test_loss", "Performance/Validation/Loss", &m.TestLoss},
		{"top1", "Performance/Validation/Top1", &m.Top1},
		{"top5", "Performance/Validation/Top5", &m.Top5},
		{"lr", "Performance/Training/LR", &m.LR},
		{"samples_per_sec", "Performance/Training/Samples per sec", &m.SamplesPerSec},
		{"seconds", "Performance/Training/Time", &m.Seconds},
	}
}

// MetricScalars returns an epoch's metrics as TensorBoard scalars under Distiller's tags:
// "Performance/Training/<Overall Loss|Top1|LR|Time>" and
// "Performance/Validation/<Loss|Top1|Top5>", plus "Performance/Training/Samples per sec".
// Time is the epoch's wall time in seconds (Distiller logs the time per minibatch).
func MetricScalars(m nn.EpochMetrics) []Scalar {
	fs := metricFields(&m)
	s := make([]Scalar, 0, len(fs))
	for _, f := range fs {
		s = append(s, Scalar{f.tag, *f.p})
	}
	return s
}

// MetricsLine formats an epoch's metrics as one log line in Distiller's style:
//
//	Epoch 3 ==> Top1: 98.760    Top5: 99.980    Loss: 0.041    (train: loss 0.0520 top1 98.40; lr 0.01; 12.3 s, 4870 samples/s)
func MetricsLine(m nn.EpochMetrics) string {
	return fmt.Sprintf("Epoch %d ==> Top1: %.3f    Top5: %.3f    Loss: %.3f    (train: loss %.4f top1 %.2f; lr %.4g; %.1f s, %.0f samples/s)",
		m.Epoch, m.Top1, m.Top5, m.TestLoss, m.TrainLoss, m.TrainTop1, m.LR, m.Seconds, m.SamplesPerSec)
}
