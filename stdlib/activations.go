package stdlib

import "fmt"

// ChannelStats accumulates, over batches of a layer's output activations, the
// per-channel statistics the [APoZ] and [MeanActivation] rankings use: the average
// percentage of zeros (Hu et al., Network Trimming) and the mean activation (Molchanov
// et al.), each averaged over samples as Distiller's activation collectors do. Feed it
// the activations after the layer's ReLU. The zero value is ready to use; the first Add
// fixes the number of channels.
type ChannelStats struct {
	c     int
	zeros []float64 // Σ over samples of the channel's fraction of zeros
	sum   []float64 // Σ over samples of the channel's mean activation
	n     int       // samples seen
}

// Add accumulates a batch of n samples of c channels with hw values each (a flat
// N×C×H×W tensor, or N×C with hw = 1). It returns an error if the sizes do not match the
// slice or the channel count of earlier batches.
func (s *ChannelStats) Add(act []float32, n, c, hw int) error {
	if n < 0 || c < 1 || hw < 1 || len(act) != n*c*hw {
		return fmt.Errorf("stdlib: ChannelStats.Add: %d activations for %d×%d×%d", len(act), n, c, hw)
	}
	if s.c == 0 {
		s.c, s.zeros, s.sum = c, make([]float64, c), make([]float64, c)
	} else if c != s.c {
		return fmt.Errorf("stdlib: ChannelStats.Add: %d channels after %d", c, s.c)
	}
	for i := range n {
		for ch := range c {
			m := act[(i*c+ch)*hw : (i*c+ch+1)*hw]
			var z int
			var sum float64
			for _, v := range m {
				if v == 0 {
					z++
				}
				sum += float64(v)
			}
			s.zeros[ch] += float64(z) / float64(hw)
			s.sum[ch] += sum / float64(hw)
		}
	}
	s.n += n
	return nil
}

// Samples returns the number of samples accumulated.
func (s *ChannelStats) Samples() int { return s.n }

// APoZ returns each channel's average percentage of zero activations, as a fraction in
// [0, 1], or nil before any sample.
func (s *ChannelStats) APoZ() []float64 { return s.average(s.zeros) }

// Mean returns each channel's mean activation, or nil before any sample.
func (s *ChannelStats) Mean() []float64 { return s.average(s.sum) }

func (s *ChannelStats) average(x []float64) []float64 {
	if s.n == 0 {
		return nil
	}
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v / float64(s.n)
	}
	return out
}
