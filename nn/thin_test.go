package nn

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"testing"

	"github.com/dst-dev/dst/ops"
	"gorgonia.org/tensor"
)

// macs returns the dense multiply-accumulates per sample of every Conv2d and Linear
// layer, from the shapes of the last Forward (Distiller's rules).
func thinMACs(t *testing.T, m *Model) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, li := range m.Layers() {
		switch li.Type {
		case "Conv2d":
			o := li.OutShape
			out[li.Name] = o[1] * o[2] * o[3] * li.InChannels * li.Kernel[0] * li.Kernel[1]
		case "Linear":
			out[li.Name] = li.InFeatures * li.OutFeatures
		}
	}
	return out
}

// randomBatch returns n samples of m's input shape drawn from a fixed seed.
func thinBatch(m *Model, n int, seed uint64) *tensor.Dense {
	r := rand.New(rand.NewPCG(seed, 7))
	x := ops.New(append([]int{n}, m.Input...)...)
	for i := range ops.F32(x) {
		ops.F32(x)[i] = float32(r.NormFloat64())
	}
	return x
}

// logits runs m in evaluation mode and returns a copy of the logits.
func thinLogits(m *Model, x *tensor.Dense) []float32 {
	return append([]float32(nil), ops.F32(m.Forward(x, false))...)
}

func thinClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		d := math.Abs(float64(got[i] - want[i]))
		if d > tol*(1+math.Abs(float64(want[i]))) || got[i] != got[i] {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// pruneFiltersL1 zeroes (with a mask) the k filters of p with the smallest mean |w|,
// as stdlib's L1 filter ranking does, and returns their indices.
func thinPruneL1(p *Param, k int) []int {
	n := p.Shape()[0]
	size := p.Len() / n
	score := make([]float64, n)
	for f := 0; f < n; f++ {
		for _, v := range p.Data()[f*size : (f+1)*size] {
			score[f] += math.Abs(float64(v))
		}
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return score[idx[a]] < score[idx[b]] })
	mask := make([]float32, p.Len())
	for i := range mask {
		mask[i] = 1
	}
	for _, f := range idx[:k] {
		clear(mask[f*size : (f+1)*size])
	}
	p.SetMask(mask)
	pruned := append([]int(nil), idx[:k]...)
	sort.Ints(pruned)
	return pruned
}

// zeroChannels masks input channels chans of a 4-D weight.
func thinZeroChannels(p *Param, chans []int) {
	s := p.Shape()
	kk := s[2] * s[3]
	mask := make([]float32, p.Len())
	for i := range mask {
		mask[i] = 1
	}
	for o := 0; o < s[0]; o++ {
		for _, c := range chans {
			off := (o*s[1] + c) * kk
			clear(mask[off : off+kk])
		}
	}
	p.SetMask(mask)
}

func TestThinSimplenetFilters(t *testing.T) {
	m, err := New("simplenet_mnist", 3)
	if err != nil {
		t.Fatal(err)
	}
	opt, _ := NewSGD(m.Params(), SGDConfig{LR: 0.01, Momentum: 0.9})
	x := thinBatch(m, 8, 1)
	// One training step so the optimizer has momentum to shrink.
	m.Forward(x, true)
	dl := ops.New(8, 10)
	for i := range ops.F32(dl) {
		ops.F32(dl)[i] = float32(i%5) - 2
	}
	m.Backward(dl)
	opt.Step()

	pruned := thinPruneL1(m.Param("conv2.weight"), 25)
	before := thinLogits(m, x)
	macBefore := thinMACs(t, m)
	mom := opt.State()["conv2.weight"][0]
	keptMom := append([]float32(nil), ops.F32(mom)[500*thinFirstKept(pruned):500*thinFirstKept(pruned)+500]...)

	rep, err := Thin(m, opt, ThinFilters)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Removed) != 1 || len(rep.Removed[0].Channels) != 25 || len(rep.Kept) != 0 {
		t.Fatalf("report %+v", rep)
	}
	if got := rep.Removed[0].Channels; !thinEqualInts(got, pruned) {
		t.Fatalf("removed %v, pruned %v", got, pruned)
	}
	after := thinLogits(m, x)
	thinClose(t, "logits after thinning", after, before, 1e-4)
	macAfter := thinMACs(t, m)
	for _, c := range []struct {
		layer         string
		before, after int
	}{{"conv1", 288000, 288000}, {"conv2", 1600000, 800000}, {"fc1", 400000, 200000}, {"fc2", 5000, 5000}} {
		if macBefore[c.layer] != c.before || macAfter[c.layer] != c.after {
			t.Errorf("%s MACs %d → %d, want %d → %d", c.layer, macBefore[c.layer], macAfter[c.layer], c.before, c.after)
		}
	}
	for name, want := range map[string][]int{"conv2.weight": {25, 20, 5, 5}, "conv2.bias": {25}, "fc1.weight": {500, 400}} {
		p := m.Param(name)
		if !thinEqualInts(p.Shape(), want) || !thinEqualInts(p.Grad.Shape(), want) || (p.Mask != nil && !thinEqualInts(p.Mask.Shape(), want)) {
			t.Fatalf("%s shape %v, want %v", name, p.Shape(), want)
		}
	}
	// The optimizer kept the momentum of the surviving filters.
	if got := ops.F32(opt.State()["conv2.weight"][0])[:500]; !thinEqualF32(got, keptMom) {
		t.Fatal("momentum of the first kept filter was not carried over")
	}
	// A training step runs on the thinned model.
	m.ZeroGrad()
	m.Forward(x, true)
	m.Backward(dl)
	opt.Step()

	// The thinned checkpoint loads back into a fresh zoo model with its new shapes.
	path := filepath.Join(t.TempDir(), "thin.safetensors")
	if err := SaveCheckpoint(path, m, opt, 0, nil); err != nil {
		t.Fatal(err)
	}
	fresh, _ := New("simplenet_mnist", 9)
	if _, err := LoadCheckpoint(path, fresh, nil); err != nil {
		t.Fatal(err)
	}
	if got := fresh.Param("fc1.weight").Shape(); !thinEqualInts(got, []int{500, 400}) {
		t.Fatalf("reloaded fc1.weight %v", got)
	}
	thinClose(t, "reloaded logits", thinLogits(fresh, x), thinLogits(m, x), 1e-6)
	// Thinning again finds nothing.
	if rep, err := Thin(m, nil, ThinContract); err != nil || !rep.Empty() {
		t.Fatalf("second thinning: %v %v", rep, err)
	}
}

func thinFirstKept(pruned []int) int {
	for i := 0; ; i++ {
		if len(pruned) == 0 || !thinContains(pruned, i) {
			return i
		}
	}
}

func thinContains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func thinEqualInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// randomizeBN gives every batch norm random γ, β and running statistics, as a trained
// model has.
func thinRandomBN(m *Model, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 3))
	walk(m.root, func(mod Module) {
		if bn, ok := mod.(*BatchNorm2d); ok {
			for i := range bn.Weight.Data() {
				bn.Weight.Data()[i] = float32(0.5 + r.Float64())
				bn.Bias.Data()[i] = float32(r.NormFloat64() * 0.1)
				ops.F32(bn.RunningMean.Value)[i] = float32(r.NormFloat64() * 0.1)
				ops.F32(bn.RunningVar.Value)[i] = float32(0.5 + r.Float64())
			}
		}
	})
}

func TestThinResNetChannels(t *testing.T) {
	m, _ := New("resnet20_cifar", 1)
	thinRandomBN(m, 1)
	opt, _ := NewSGD(m.Params(), SGDConfig{LR: 0.01, Momentum: 0.9})
	// Channel pruning: half of every block's conv2 input channels.
	r := rand.New(rand.NewPCG(5, 5))
	total := 0
	for _, p := range m.Params() {
		if p.Kind != KindWeight || len(p.Shape()) != 4 || !thinHasSuffix(p.Name, ".conv2.weight") {
			continue
		}
		c := p.Shape()[1]
		chans := r.Perm(c)[:c/2]
		thinZeroChannels(p, chans)
		total += c / 2
	}
	x := thinBatch(m, 4, 2)
	before := thinLogits(m, x)
	rep, err := Thin(m, opt, ThinChannels)
	if err != nil {
		t.Fatal(err)
	}
	removed := 0
	for _, sp := range rep.Removed {
		removed += len(sp.Channels)
		if len(sp.Producers) != 1 || len(sp.Norms) != 1 {
			t.Fatalf("block-internal space %+v", sp)
		}
	}
	if removed != total || len(rep.Removed) != 9 {
		t.Fatalf("removed %d channels in %d spaces, want %d in 9", removed, len(rep.Removed), total)
	}
	thinClose(t, "logits after thinning", thinLogits(m, x), before, 1e-4)
	// BN parameters and running statistics shrank with conv1's filters.
	bn := m.root.(*Sequential).mods[3].(*Sequential).mods[0].(*BasicBlock).BN1
	if bn.Weight.Len() != 8 || bn.RunningMean.Value.Shape().TotalSize() != 8 || bn.RunningVar.Value.Shape().TotalSize() != 8 {
		t.Fatalf("layer1.0.bn1 has %d features", bn.Weight.Len())
	}
	if got := m.Param("layer2.0.conv1.weight").Shape(); !thinEqualInts(got, []int{16, 16, 3, 3}) {
		t.Fatalf("layer2.0.conv1.weight %v", got)
	}
	// Forward and backward in training mode, then an optimizer step.
	m.ZeroGrad()
	y := m.Forward(x, true)
	m.Backward(ops.FromSlice(make([]float32, y.Shape().TotalSize()), y.Shape()...))
	opt.Step()
	// The checkpoint loads back.
	path := filepath.Join(t.TempDir(), "r.safetensors")
	if err := SaveCheckpoint(path, m, opt, 0, nil); err != nil {
		t.Fatal(err)
	}
	fresh, _ := New("resnet20_cifar", 4)
	if _, err := LoadCheckpoint(path, fresh, nil); err != nil {
		t.Fatal(err)
	}
	thinClose(t, "reloaded logits", thinLogits(fresh, x), thinLogits(m, x), 1e-6)
}

func thinHasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

// TestThinResNetResidual prunes filters of the space that layer1's residual adds join.
func TestThinResNetResidual(t *testing.T) {
	producers := []string{"conv1.weight", "layer1.0.conv2.weight", "layer1.1.conv2.weight", "layer1.2.conv2.weight"}
	chans := []int{1, 4, 9}
	mask := func(m *Model, names []string) {
		for _, name := range names {
			p := m.Param(name)
			mk := make([]float32, p.Len())
			size := p.Len() / p.Shape()[0]
			for i := range mk {
				mk[i] = 1
			}
			for _, c := range chans {
				clear(mk[c*size : (c+1)*size])
			}
			p.SetMask(mk)
		}
	}
	for _, tc := range []struct {
		name      string
		producers []string
		removed   int // channels removed from the joint space
	}{
		{"all producers", producers, 3},
		{"one producer missing", producers[:3], 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := New("resnet20_cifar", 2) // fresh BN: 0 maps to 0
			mask(m, tc.producers)
			x := thinBatch(m, 2, 3)
			before := thinLogits(m, x)
			rep, err := Thin(m, nil, ThinFilters)
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			for _, sp := range rep.Removed {
				if len(sp.Producers) == 4 {
					got = len(sp.Channels)
					if len(sp.Norms) != 4 {
						t.Fatalf("joint space norms %v", sp.Norms)
					}
				}
			}
			if got != tc.removed {
				t.Fatalf("removed %d joint channels, want %d (report %v)", got, tc.removed, rep)
			}
			thinClose(t, "logits", thinLogits(m, x), before, 1e-4)
			want := 16 - tc.removed
			for _, name := range []string{"layer1.1.conv1.weight", "layer2.0.downsample.0.weight", "layer2.0.conv1.weight"} {
				if c := m.Param(name).Shape()[1]; c != want {
					t.Fatalf("%s reads %d channels, want %d", name, c, want)
				}
			}
			y := m.Forward(x, true)
			m.Backward(ops.FromSlice(make([]float32, y.Shape().TotalSize()), y.Shape()...))
		})
	}
}

// TestThinKeepsUnfoldable checks that a zero filter whose constant output feeds a padded
// convolution stays.
func TestThinKeepsUnfoldable(t *testing.T) {
	m, _ := New("resnet20_cifar", 2)
	blk := m.root.(*Sequential).mods[3].(*Sequential).mods[0].(*BasicBlock)
	blk.BN1.Bias.Data()[5] = 0.5 // relu(0.5) reaches the padded conv2
	p := blk.Conv1.Weight
	mk := make([]float32, p.Len())
	for i := range mk {
		mk[i] = 1
	}
	clear(mk[5*144 : 6*144])
	clear(mk[6*144 : 7*144]) // channel 6's constant is 0: removable
	p.SetMask(mk)
	x := thinBatch(m, 2, 4)
	before := thinLogits(m, x)
	rep, err := Thin(m, nil, ThinContract)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Kept) != 1 || !thinEqualInts(rep.Kept[0].Channels, []int{5}) || len(rep.Removed) != 1 || !thinEqualInts(rep.Removed[0].Channels, []int{6}) {
		t.Fatalf("report %+v", rep)
	}
	thinClose(t, "logits", thinLogits(m, x), before, 1e-4)
}

type opaqueModule struct{ base }

func (o *opaqueModule) Forward(x *tensor.Dense, _ bool) *tensor.Dense { return x }
func (o *opaqueModule) Backward(dy *tensor.Dense) *tensor.Dense       { return dy }
func (o *opaqueModule) Info() LayerInfo                               { return o.info("Opaque") }

func TestThinUnknownModule(t *testing.T) {
	m := NewModel("x", []int{1, 4, 4}, 2, NewSequential("",
		NewConv2d("c", 1, 2, 3, 1, 0, true), &opaqueModule{base{name: "q"}}, NewFlatten("f"), NewLinear("fc", 8, 2, true)))
	before := m.Param("c.weight").Shape()
	_, err := Thin(m, nil, ThinContract)
	if !errors.Is(err, ErrThin) {
		t.Fatalf("error %v, want ErrThin", err)
	}
	if !thinEqualInts(m.Param("c.weight").Shape(), before) {
		t.Fatal("model changed despite the error")
	}
}

func TestParseThinMode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ThinMode
		ok   bool
	}{{"contract", ThinContract, true}, {"filters", ThinFilters, true}, {"channels", ThinChannels, true}, {"rows", 0, false}} {
		got, err := ParseThinMode(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseThinMode(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func thinEqualF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestThinAdamState(t *testing.T) {
	m, _ := New("lenet300_100", 2)
	opt, _ := NewAdam(m.Params(), AdamConfig{LR: 1e-3})
	x := thinBatch(m, 4, 5)
	m.Forward(x, true)
	dl := ops.New(4, 10)
	for i := range ops.F32(dl) {
		ops.F32(dl)[i] = float32(i%3) - 1
	}
	m.Backward(dl)
	opt.Step()
	// Prune 100 of fc1's 300 rows: their outputs are constants relu(b) folded into fc2.
	fc1 := m.Param("fc1.weight")
	mask := make([]float32, fc1.Len())
	for i := 100 * 784; i < len(mask); i++ {
		mask[i] = 1
	}
	fc1.SetMask(mask)
	before := thinLogits(m, x)
	avg := append([]float32(nil), ops.F32(opt.State()["fc1.weight"][0])[100*784:101*784]...)
	rep, err := Thin(m, opt, ThinContract)
	if err != nil || len(rep.Removed) != 1 || len(rep.Removed[0].Channels) != 100 {
		t.Fatalf("report %v, error %v", rep, err)
	}
	thinClose(t, "logits", thinLogits(m, x), before, 1e-4)
	st := opt.State()
	if got := st["fc1.weight"][0].Shape(); !thinEqualInts(got, []int{200, 784}) || st["fc1.weight"][2].Shape().TotalSize() != 1 {
		t.Fatalf("Adam state shapes %v", got)
	}
	if !thinEqualF32(ops.F32(st["fc1.weight"][0])[:784], avg) {
		t.Fatal("exp_avg of the first kept row was not carried over")
	}
	if ops.F32(st["fc1.weight"][2])[0] != 1 {
		t.Fatal("Adam's step count was reset")
	}
	m.ZeroGrad()
	m.Forward(x, true)
	m.Backward(dl)
	opt.Step()
}

// TestThinZoo prunes a third of the filters (rows) of every layer but the last of each
// sequential zoo model, and half of a layer's input channels, and checks that thinning
// keeps the logits.
func TestThinZoo(t *testing.T) {
	for _, name := range []string{"simplenet_mnist", "simplenet_v2_mnist", "lenet300_100", "lenet5"} {
		t.Run(name, func(t *testing.T) {
			m, _ := New(name, 4)
			r := rand.New(rand.NewPCG(2, 2))
			var ws []*Param
			for _, p := range m.Params() {
				if p.Kind == KindWeight {
					ws = append(ws, p)
				}
			}
			for _, p := range ws[:len(ws)-1] {
				n := p.Shape()[0]
				size := p.Len() / n
				mask := make([]float32, p.Len())
				for i := range mask {
					mask[i] = 1
				}
				for _, f := range r.Perm(n)[:n/3] {
					clear(mask[f*size : (f+1)*size])
				}
				p.SetMask(mask)
			}
			x := thinBatch(m, 3, 8)
			before := thinLogits(m, x)
			params := m.NumParams()
			rep, err := Thin(m, nil, ThinContract)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Empty() || m.NumParams() >= params {
				t.Fatalf("nothing thinned: %v", rep)
			}
			thinClose(t, "logits", thinLogits(m, x), before, 1e-4)
		})
	}
}

// TestThinQuantized thins a model whose ReLUs are quantized: a zero filter whose
// constant output is 0 goes, one whose constant is not 0 stays (the quantizer may move
// it).
func TestThinQuantized(t *testing.T) {
	m, _ := New("simplenet_mnist", 1)
	if err := ReplaceModules(m, func(mod Module) (Module, error) {
		if r, ok := mod.(*ReLU); ok {
			a := NewParam(r.name+".clip_val", r.name, KindOther, 1)
			a.Data()[0] = 4
			return NewActQuant(r, &halfQuant{alpha: a}), nil
		}
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	w, b := m.Param("conv2.weight"), m.Param("conv2.bias")
	mask := make([]float32, w.Len())
	for i := 2 * 500; i < len(mask); i++ {
		mask[i] = 1
	}
	w.SetMask(mask)
	b.Data()[0], b.Data()[1] = -1, 1 // relu(−1) = 0 folds away; relu(1) = 1 may be moved
	x := thinBatch(m, 2, 3)
	before := thinLogits(m, x)
	rep, err := Thin(m, nil, ThinContract)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Removed) != 1 || !thinEqualInts(rep.Removed[0].Channels, []int{0}) || len(rep.Kept) != 1 || !thinEqualInts(rep.Kept[0].Channels, []int{1}) {
		t.Fatalf("report %+v", rep)
	}
	thinClose(t, "logits", thinLogits(m, x), before, 1e-4)
}
