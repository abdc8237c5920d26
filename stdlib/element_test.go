package stdlib

import (
	"math"
	"slices"
	"testing"

	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestAGPTarget(t *testing.T) {
	tests := []struct {
		name string
		agp  AGP
		want map[int]float64 // position -> target
	}{
		{"5to70_epochs0to3_freq1", AGP{Initial: 0.05, Final: 0.70, Start: 0, End: 4, Freq: 1},
			map[int]float64{0: 0.05, 1: 0.5074074074074074, 2: 0.6759259259259259, 3: 0.70}},
		{"5to70_first3_freq1", AGP{Initial: 0.05, Final: 0.70, Start: 0, End: 3, Freq: 1},
			map[int]float64{0: 0.05, 1: 0.61875, 2: 0.70}},
		{"freq2_end10_span8", AGP{Initial: 0.05, Final: 0.70, Start: 0, End: 10, Freq: 2},
			map[int]float64{0: 0.05, 2: 0.42578125, 4: 0.61875, 6: 0.68984375, 8: 0.70, 9: 0.70}},
		{"freq2_end9_span8", AGP{Initial: 0.05, Final: 0.70, Start: 0, End: 9, Freq: 2},
			map[int]float64{0: 0.05, 4: 0.61875, 8: 0.70}},
		{"freq2_end8_span6", AGP{Initial: 0.05, Final: 0.70, Start: 0, End: 8, Freq: 2},
			map[int]float64{0: 0.05, 2: 0.5074074074074074, 4: 0.6759259259259259, 6: 0.70}},
		{"start2", AGP{Initial: 0, Final: 0.9, Start: 2, End: 5, Freq: 1},
			map[int]float64{0: 0, 2: 0, 3: 0.7875, 4: 0.9, 7: 0.9}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.agp.Check(); err != nil {
				t.Fatalf("Check: %v", err)
			}
			for pos, want := range tc.want {
				if got := tc.agp.Target(Point{Epoch: pos}); math.Abs(got-want) > 1e-12 {
					t.Errorf("Target(%d) = %.12f, want %.12f", pos, got, want)
				}
			}
		})
	}
}

func TestAGPCheck(t *testing.T) {
	for name, a := range map[string]AGP{
		"reversed":   {Initial: 0.5, Final: 0.4, End: 4, Freq: 1},
		"equal":      {Initial: 0.5, Final: 0.5, End: 4, Freq: 1},
		"final1":     {Initial: 0.5, Final: 1, End: 4, Freq: 1},
		"freq0":      {Initial: 0, Final: 0.5, End: 4},
		"span0":      {Initial: 0, Final: 0.5, Start: 0, End: 2, Freq: 2},
		"oneEpoch":   {Initial: 0, Final: 0.5, Start: 3, End: 4, Freq: 1},
		"nanInitial": {Initial: math.NaN(), Final: 0.5, End: 4, Freq: 1},
	} {
		if err := a.Check(); err == nil {
			t.Errorf("%s: Check(%+v) = nil, want an error", name, a)
		}
	}
}

func TestAGPPrunerExactCounts(t *testing.T) {
	r := newRand()
	p := randParam(t, r, "fc.weight", 37, 11) // 407 elements
	q := randParam(t, r, "conv.weight", 6, 5, 3, 3)
	ap := &AGPPruner{Schedule: AGP{Initial: 0.05, Final: 0.9, Start: 0, End: 5, Freq: 1}}
	prev := map[*nn.Param]int{}
	for e := range 5 {
		mustPrune(t, ap, Point{Epoch: e}, p, q)
		for _, x := range []*nn.Param{p, q} {
			want := LevelCount(ap.Schedule.Target(Point{Epoch: e}), x.Len())
			if z := zeros(x); z != want {
				t.Errorf("epoch %d %s: %d zeros, want %d", e, x.Name, z, want)
			}
			if zeros(x) < prev[x] {
				t.Errorf("epoch %d %s: sparsity went down", e, x.Name)
			}
			prev[x] = zeros(x)
			checkMaskApplied(t, x)
		}
	}
}

func TestAGPPrunerSteps(t *testing.T) {
	p := randParam(t, newRand(), "w", 100)
	// Epochs 1 and 2 of 10 steps: steps [10, 30) every 5, span 15.
	ap := &AGPPruner{Schedule: AGP{Initial: 0, Final: 0.5, Start: 1, End: 3, Freq: 5, Steps: true}}
	for _, tc := range []struct {
		at    Point
		zeros int
	}{
		{Point{Epoch: 1, Step: 0, StepsPerEpoch: 10}, 0},
		{Point{Epoch: 1, Step: 5, StepsPerEpoch: 10}, 35}, // 0.5 − 0.5·(2/3)³ = 0.3518
		{Point{Epoch: 2, Step: 0, StepsPerEpoch: 10}, 48}, // 0.5 − 0.5·(1/3)³ = 0.4815
		{Point{Epoch: 2, Step: 5, StepsPerEpoch: 10}, 50}, // the last firing
		{Point{Epoch: 2, Step: 9, StepsPerEpoch: 10}, 50},
	} {
		mustPrune(t, ap, tc.at, p)
		if z := zeros(p); z != tc.zeros {
			t.Errorf("at %+v: %d zeros, want %d", tc.at, z, tc.zeros)
		}
	}
}

// TestAGPStepsUnaligned checks a step window whose first step is not a multiple of the
// frequency: the policy fires at the global steps that are (12 and 16 for epochs [1, 2)
// of 10 steps every 4), and the schedule starts at s_i on the first and reaches s_f on
// the last.
func TestAGPStepsUnaligned(t *testing.T) {
	a := AGP{Initial: 0.1, Final: 0.8, Start: 1, End: 2, Freq: 4, Steps: true}
	w := lang.Window{Kind: lang.WindowEpochs, Unit: lang.Steps, Start: 1, End: 2, Every: 4}
	var fired []int
	var targets []float64
	for step := 10; step < 20; step++ {
		if w.ActiveAtStep(step/10, step%10, 10) {
			fired = append(fired, step)
			targets = append(targets, a.Target(Point{Epoch: step / 10, Step: step % 10, StepsPerEpoch: 10}))
		}
	}
	if !slices.Equal(fired, []int{12, 16}) || !slices.Equal(targets, []float64{0.1, 0.8}) {
		t.Errorf("fired at %v with targets %v, want [12 16] with [0.1 0.8]", fired, targets)
	}
}

func TestAGPStepWindowTooShort(t *testing.T) {
	p := randParam(t, newRand(), "w", 100)
	ap := &AGPPruner{Schedule: AGP{Initial: 0, Final: 0.5, Start: 0, End: 1, Freq: 10, Steps: true}}
	if err := ap.Check([]*nn.Param{p}); err != nil {
		t.Fatalf("Check: %v", err) // the epoch length is unknown before training
	}
	if err := ap.Prune([]*nn.Param{p}, Point{StepsPerEpoch: 5}); err == nil {
		t.Errorf("a step window of 5 steps firing every 10 was accepted")
	}
	if p.MaskData() != nil {
		t.Errorf("a failed Prune set a mask")
	}
}

func TestThresholdPruner(t *testing.T) {
	p := paramOf(t, []float32{0.1, -0.5, 0.25, -0.25, 1, 0}, 2, 3)
	mustPrune(t, &ThresholdPruner{Threshold: 0.25}, Point{}, p)
	if want := []float32{0, -0.5, 0, 0, 1, 0}; !slices.Equal(p.Data(), want) {
		t.Errorf("values = %v, want %v", p.Data(), want)
	}
	checkMaskApplied(t, p)
	if err := (&ThresholdPruner{Threshold: -1}).Check(nil); err == nil {
		t.Errorf("negative threshold accepted")
	}
}

func TestMeanStd(t *testing.T) {
	m, s := meanStd([]float32{1, 2, 3, 4}, false)
	if m != 2.5 || math.Abs(s-math.Sqrt(5.0/3)) > 1e-12 {
		t.Errorf("meanStd = %v, %v; want 2.5, %v", m, s, math.Sqrt(5.0/3))
	}
	m, s = meanStd([]float32{-1, 1, -3, 3}, true)
	if m != 2 || math.Abs(s-math.Sqrt(4.0/3)) > 1e-12 {
		t.Errorf("meanStd(abs) = %v, %v; want 2, %v", m, s, math.Sqrt(4.0/3))
	}
}

func TestSensitivityPrunerCachesSigma(t *testing.T) {
	vals := []float32{1, 2, 3, 4, -1, -2, -3, -4}
	p := paramOf(t, vals, 8)
	_, sigma := meanStd(vals, false) // 2.7774
	sp := &SensitivityPruner{Sensitivity: 0.5}
	mustPrune(t, sp, Point{}, p)
	// λ = 1.3887: ±1 pruned.
	if want := []float32{0, 2, 3, 4, 0, -2, -3, -4}; !slices.Equal(p.Data(), want) {
		t.Fatalf("first pass: %v, want %v", p.Data(), want)
	}
	// Training shrinks the survivors; σ must not be recomputed.
	for i := range p.Data() {
		p.Data()[i] /= 2 // ±1, ±1.5, ±2
	}
	mustPrune(t, sp, Point{Epoch: 1}, p)
	if want := []float32{0, 0, 1.5, 2, 0, 0, -1.5, -2}; !slices.Equal(p.Data(), want) {
		t.Fatalf("second pass: %v, want %v", p.Data(), want)
	}
	st := sp.State()
	if diff := cmp.Diff(map[string][]float64{"w": {sigma}}, st, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("State (-want +got):\n%s", diff)
	}
	fresh := &SensitivityPruner{Sensitivity: 0.5}
	if err := fresh.SetState(st); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(st, fresh.State()); diff != "" {
		t.Errorf("State after SetState (-want +got):\n%s", diff)
	}
	if err := fresh.SetState(map[string][]float64{"w": {1, 2}}); err == nil {
		t.Errorf("SetState accepted a malformed entry")
	}
}

func TestLevelPruner(t *testing.T) {
	p := paramOf(t, []float32{0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 2}, 8)
	mustPrune(t, &LevelPruner{Sparsity: 0.5}, Point{}, p)
	// Ties at 0.5: exactly 4 zeroed, lowest indices first (Distiller would zero 7).
	if want := []float32{0, 0, 0, 0, 0.5, 0.5, 0.5, 2}; !slices.Equal(p.Data(), want) {
		t.Errorf("values = %v, want %v", p.Data(), want)
	}
	before := slices.Clone(p.MaskData())
	mustPrune(t, &LevelPruner{Sparsity: 0.1}, Point{}, p) // k = 0: mask unchanged
	if !slices.Equal(before, p.MaskData()) {
		t.Errorf("a level that prunes nothing changed the mask")
	}
	if err := (&LevelPruner{Sparsity: 1}).Check([]*nn.Param{p}); err == nil {
		t.Errorf("sparsity 1 accepted")
	}
}

func TestBaiduRNNThreshold(t *testing.T) {
	bp := &BaiduRNNPruner{Q: 0.2, RampEpochOffset: 3, RampSlopeMult: 2, Start: 0, End: 10, Freq: 1}
	if err := bp.Check(nil); err != nil {
		t.Fatal(err)
	}
	theta := 2 * 0.2 / (2*3.0 + 3*7.0)
	for e, want := range map[int]float64{0: theta, 2: 3 * theta, 3: 6 * theta, 5: 10 * theta} {
		if got := bp.Threshold(e); math.Abs(got-want) > 1e-12 {
			t.Errorf("Threshold(%d) = %v, want %v", e, got, want)
		}
	}
	bp2 := &BaiduRNNPruner{Q: 0.3, RampEpochOffset: 1, RampSlopeMult: 1.5, Start: 2, End: 8, Freq: 2}
	theta = 2 * 0.3 * 2 / (2*1.0 + 3*5.0)
	for e, want := range map[int]float64{2: theta / 2, 4: (2*theta + 1.5*theta*2) / 2} {
		if got := bp2.Threshold(e); math.Abs(got-want) > 1e-12 {
			t.Errorf("freq 2: Threshold(%d) = %v, want %v", e, got, want)
		}
	}
	p := paramOf(t, []float32{0.01, -0.02, 0.05, 0.1, -0.2}, 5)
	mustPrune(t, bp, Point{Epoch: 3}, p) // ε = 0.0889
	if want := []float32{0, 0, 0, 0.1, -0.2}; !slices.Equal(p.Data(), want) {
		t.Errorf("values = %v, want %v", p.Data(), want)
	}
}

func TestSplicingHysteresis(t *testing.T) {
	vals := []float32{0.1, -0.4, 0.8, -1.2, 1.6, -2.0, 0.9, 1.0}
	p := paramOf(t, vals, 8)
	mu, sigma := meanStd(vals, true)
	sp := &SplicingPruner{Sensitivity: 0.5, LowMult: 0.9, HighMult: 1.1}
	a, b := sp.Thresholds(mu, sigma, 0)
	if base := mu + 0.5*sigma; math.Abs(a-0.9*base) > 1e-12 || math.Abs(b-1.1*base) > 1e-12 {
		t.Fatalf("Thresholds = %v, %v; want %v, %v", a, b, 0.9*base, 1.1*base)
	}
	// μ = 1, σ ≈ 0.612, so a ≈ 1.175 and b ≈ 1.437: 0.1 … 1.0 pruned; 1.6, 2.0 kept;
	// 1.2 in the band keeps the previous (all-ones) mask.
	mustPrune(t, sp, Point{}, p)
	if want := []float32{0, 0, 0, 1, 1, 1, 0, 0}; !slices.Equal(p.MaskData(), want) {
		t.Fatalf("first mask = %v, want %v", p.MaskData(), want)
	}
	// With double copies the dense values come back; a band value whose mask is 0 stays 0,
	// one whose mask is 1 stays 1, and a value that grew past b is spliced back.
	copy(p.Data(), vals)
	p.Data()[0] = 1.5 // grew past b
	p.Data()[6] = 1.3 // grew into the band: previous mask 0 holds
	mustPrune(t, sp, Point{Epoch: 1}, p)
	if want := []float32{1, 0, 0, 1, 1, 1, 0, 0}; !slices.Equal(p.MaskData(), want) {
		t.Fatalf("second mask = %v, want %v", p.MaskData(), want)
	}
	// μ and σ were cached at the first call.
	if got := sp.State()["w"]; math.Abs(got[0]-mu) > 1e-12 || math.Abs(got[1]-sigma) > 1e-12 {
		t.Errorf("cached stats = %v, want [%v %v]", got, mu, sigma)
	}
	grow := &SplicingPruner{Sensitivity: 1, LowMult: 1, HighMult: 1, SensitivityMultiplier: 0.5, Start: 2}
	if a, _ := grow.Thresholds(1, 1, 4); a != 1+1*(2*0.5+1) {
		t.Errorf("growing sensitivity: a = %v, want 3", a)
	}
}

func TestRandomPruners(t *testing.T) {
	r := newRand()
	p := randParam(t, r, "w", 50, 40)
	rp := &RandomPruner{Sparsity: 0.37, Seed: 7}
	mustPrune(t, rp, Point{Epoch: 1}, p)
	if z, want := zeros(p), LevelCount(0.37, 2000); z != want {
		t.Errorf("random: %d zeros, want %d", z, want)
	}
	m1 := slices.Clone(p.MaskData())
	q := randParam(t, r, "w", 50, 40)
	mustPrune(t, &RandomPruner{Sparsity: 0.37, Seed: 7}, Point{Epoch: 1}, q)
	if !slices.Equal(m1, q.MaskData()) {
		t.Errorf("random pruner is not deterministic for a seed and a position")
	}
	mustPrune(t, &RandomPruner{Sparsity: 0.37, Seed: 7}, Point{Epoch: 2}, q)
	if slices.Equal(m1, q.MaskData()) {
		t.Errorf("random pruner drew the same mask at another epoch")
	}
	b := randParam(t, r, "w", 100, 100)
	mustPrune(t, &BernoulliPruner{Sparsity: 0.3, Seed: 3}, Point{}, b)
	if f := float64(zeros(b)) / 1e4; math.Abs(f-0.3) > 0.02 {
		t.Errorf("bernoulli: dropped fraction %v, want about 0.3", f)
	}
	checkMaskApplied(t, b)
}

func TestElementPrunerCheck(t *testing.T) {
	p := randParam(t, newRand(), "w", 4, 4)
	empty := nn.NewParam("empty", "layer", nn.KindWeight, 0)
	for name, tc := range map[string]struct {
		pr Pruner
		p  *nn.Param
	}{
		"threshold inf":                {&ThresholdPruner{Threshold: math.Inf(1)}, p},
		"sensitivity nan":              {&SensitivityPruner{Sensitivity: math.NaN()}, p},
		"level empty":                  {&LevelPruner{Sparsity: 0.5}, empty},
		"agp reversed":                 {&AGPPruner{Schedule: AGP{Initial: 0.5, Final: 0.1, End: 5, Freq: 1}}, p},
		"rnn q":                        {&BaiduRNNPruner{Q: 0, RampSlopeMult: 1, End: 5, Freq: 1}, p},
		"rnn offset":                   {&BaiduRNNPruner{Q: 1, RampEpochOffset: -1, RampSlopeMult: 1, End: 5, Freq: 1}, p},
		"rnn slope":                    {&BaiduRNNPruner{Q: 1, RampSlopeMult: 0, End: 5, Freq: 1}, p},
		"rnn freq":                     {&BaiduRNNPruner{Q: 1, RampSlopeMult: 1, End: 5}, p},
		"rnn empty window":             {&BaiduRNNPruner{Q: 1, RampSlopeMult: 1, Start: 5, End: 5, Freq: 1}, p},
		"rnn ramp past end":            {&BaiduRNNPruner{Q: 1, RampEpochOffset: 20, RampSlopeMult: 1, End: 5, Freq: 1}, p},
		"splicing s":                   {&SplicingPruner{Sensitivity: -1, LowMult: 1, HighMult: 1}, p},
		"splicing reversed":            {&SplicingPruner{Sensitivity: 1, LowMult: 2, HighMult: 1}, p},
		"splicing growth":              {&SplicingPruner{Sensitivity: 1, LowMult: 1, HighMult: 1, SensitivityMultiplier: -1}, p},
		"random 1":                     {&RandomPruner{Sparsity: 1}, p},
		"bernoulli negative":           {&BernoulliPruner{Sparsity: -0.1}, p},
		"bernoulli filters elements":   {&BernoulliFilterPruner{Granularity: Elements, Fraction: 0.5}, p},
		"bernoulli filters bias":       {&BernoulliFilterPruner{Granularity: Filters, Fraction: 0.5}, randParam(t, newRand(), "b", 4)},
		"threshold structure elements": {&StructureThresholdPruner{Granularity: Elements, Threshold: 1}, p},
		"threshold structure negative": {&StructureThresholdPruner{Granularity: Rows, Threshold: -1}, p},
		"threshold structure kernels":  {&StructureThresholdPruner{Granularity: Kernels, Threshold: 1}, p},
	} {
		if err := tc.pr.Check([]*nn.Param{tc.p}); err == nil {
			t.Errorf("%s: Check accepted it", name)
		}
	}
	sp := &SplicingPruner{}
	if err := sp.SetState(map[string][]float64{"w": {1}}); err == nil {
		t.Errorf("splicing SetState accepted one value")
	}
	if err := sp.SetState(map[string][]float64{"w": {1, 2}}); err != nil || sp.State()["w"][1] != 2 {
		t.Errorf("splicing SetState: %v, %v", err, sp.State())
	}
}

func TestElementsGroupThreshold(t *testing.T) {
	w := []float32{0.1, -2, 0.5, -0.4}
	got := make([]float32, 4)
	if err := GroupThresholdMask(got, w, []int{2, 2}, Elements, nil, L1Norm, 0.45); err != nil {
		t.Fatal(err)
	}
	if want := []float32{0, 1, 1, 0}; !slices.Equal(got, want) {
		t.Errorf("element threshold mask %v, want %v", got, want)
	}
	if _, err := NumGroups([]int{2, 3, 4, 5, 6}, Filters, nil); err == nil {
		t.Errorf("NumGroups accepted a 5-D shape")
	}
	if err := GroupThresholdMask(got, w, []int{4}, Rows, nil, MaxAbs, 0); err == nil {
		t.Errorf("GroupThresholdMask accepted rows of a vector")
	}
}
