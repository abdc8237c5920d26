package interp

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/ops"
	"github.com/dst-dev/dst/stdlib"
	"gorgonia.org/tensor"
)

// Saving and resuming a run.
//
// A host that checkpoints a run saves, at the end of an epoch, [nn.SaveCheckpoint] of the
// model and optimizer with the metadata MetaSchedulerState (the JSON of
// [Scheduler.MarshalState]) and MetaSchedule (the schedule's source), and the tensors of
// [Scheduler.StateTensors]. To resume it:
//
//  1. build the model and optimizer, and compile the same schedule ([CompileSource]):
//     quantization-aware policies add their layers and parameters (PACT's α) at
//     compilation, so the checkpoint fits the model only afterwards;
//  2. [nn.LoadCheckpoint] the weights, masks and optimizer state;
//  3. [Scheduler.RestoreState] with the MetaSchedulerState metadata;
//  4. [Scheduler.RestoreStateTensors] with the checkpoint's [nn.CheckpointInfo.State];
//
// then train on from the epoch after the saved one (nn.TrainConfig.StartEpoch). dst run
// and its --resume follow these steps, and dst eval, bench and export read the two
// metadata keys to rebuild a quantization-aware model.
const (
	// MetaSchedulerState is the checkpoint metadata key of the Scheduler's state.
	MetaSchedulerState = "dst.scheduler"
	// MetaSchedule is the checkpoint metadata key of the schedule's source.
	MetaSchedule = "dst.schedule"
)

// stateVersion is the version of the JSON written by MarshalState.
const stateVersion = 1

// schedState is the JSON form of a Scheduler's state.
type schedState struct {
	Version       int           `json:"version"`
	Began         bool          `json:"began"`
	StepsPerEpoch int           `json:"steps_per_epoch"`
	BaseLR        float64       `json:"base_lr"`
	LR            *float64      `json:"lr,omitempty"`
	Policies      []policyState `json:"policies"`
}

// policyState is one policy's state; Policy and Range identify it.
type policyState struct {
	Policy  string               `json:"policy"`
	Range   string               `json:"range"`
	Cache   map[string][]float64 `json:"cache,omitempty"`
	Plateau *plateauState        `json:"plateau,omitempty"`
	Soft    map[string]string    `json:"soft_masks,omitempty"`
	EMA     [][3]float64         `json:"qat_ranges,omitempty"`
}

// plateauState is the mutable part of a [stdlib.Plateau].
type plateauState struct {
	Best         float64 `json:"best"`
	Seen         bool    `json:"seen"`
	BadEpochs    int     `json:"bad_epochs"`
	CooldownLeft int     `json:"cooldown_left"`
}

// MarshalState returns the Scheduler's state as JSON: whether training began, the epoch
// length, the base and current learning rates, and per policy its cached statistics,
// its plateau counters and its forward-only masks. Masks set on parameters are not
// included: checkpoints hold them.
func (s *Scheduler) MarshalState() ([]byte, error) {
	st := schedState{Version: stateVersion, Began: s.began, StepsPerEpoch: s.spe, BaseLR: s.baseLR}
	if s.opt.Optimizer != nil {
		lr := s.opt.Optimizer.LR()
		st.LR = &lr
	}
	for _, cp := range s.pols {
		ps := policyState{Policy: cp.name, Range: cp.pol.Range.String()}
		if sf, ok := cp.pruner.(stdlib.Stateful); ok {
			ps.Cache = sf.State()
		}
		if cp.lr != nil && cp.lr.Plateau != nil {
			pl := cp.lr.Plateau
			ps.Plateau = &plateauState{Best: pl.Best, Seen: pl.Seen, BadEpochs: pl.BadEpochs, CooldownLeft: pl.CooldownLeft}
		}
		if cp.qat != nil && len(cp.qat.EMAs) > 0 {
			ps.EMA = cp.qat.EMAState()
		}
		if cp.soft != nil {
			for _, sh := range cp.soft.Shadows() {
				if m := sh.MaskData(); m != nil {
					if ps.Soft == nil {
						ps.Soft = map[string]string{}
					}
					ps.Soft[sh.Name] = packMask(m)
				}
			}
		}
		st.Policies = append(st.Policies, ps)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("interp: marshal state: %w", err)
	}
	return b, nil
}

// RestoreState replaces the Scheduler's state with one saved by MarshalState from a
// Scheduler compiled from the same program. It sets the optimizer's learning rate to the
// saved one. It returns an error, changing nothing, when the state is malformed or
// belongs to another program.
func (s *Scheduler) RestoreState(data []byte) error {
	var st schedState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("interp: restore state: %w", err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("interp: restore state: version %d, want %d", st.Version, stateVersion)
	}
	if len(st.Policies) != len(s.pols) {
		return fmt.Errorf("interp: restore state: it has %d policies, the program %d", len(st.Policies), len(s.pols))
	}
	soft := make([]map[string][]float32, len(s.pols))
	for i, cp := range s.pols {
		ps := st.Policies[i]
		if ps.Policy != cp.name {
			return fmt.Errorf("interp: restore state: policy %d is %q (%s) in the state but %q (%s) in the program", i+1, ps.Policy, ps.Range, cp.name, cp.pol.Range)
		}
		if ps.Soft != nil {
			if cp.soft == nil {
				return fmt.Errorf("interp: restore state: %s (%s) has forward-only masks but the policy is not forward-only", cp.name, cp.pol.Range)
			}
			soft[i] = map[string][]float32{}
			for _, sh := range cp.soft.Shadows() {
				enc, ok := ps.Soft[sh.Name]
				if !ok {
					continue
				}
				m, err := unpackMask(enc, sh.Len())
				if err != nil {
					return fmt.Errorf("interp: restore state: %s mask of %s: %w", cp.pol.Range, sh.Name, err)
				}
				soft[i][sh.Name] = m
			}
		}
		if ps.EMA != nil && (cp.qat == nil || len(cp.qat.EMAs) != len(ps.EMA)) {
			return fmt.Errorf("interp: restore state: %s (%s) has %d activation ranges, the policy %d", cp.name, cp.pol.Range, len(ps.EMA), len(cp.qatEMAs()))
		}
		if ps.Plateau != nil && (cp.lr == nil || cp.lr.Plateau == nil) {
			return fmt.Errorf("interp: restore state: %s (%s) has plateau state but is not a plateau schedule", cp.name, cp.pol.Range)
		}
	}
	// The pruners validate their own caches: set them all, putting the old ones back if
	// one is refused.
	old := make([]map[string][]float64, len(s.pols))
	for i, cp := range s.pols {
		if sf, ok := cp.pruner.(stdlib.Stateful); ok {
			old[i] = sf.State()
		}
	}
	for i, cp := range s.pols {
		sf, ok := cp.pruner.(stdlib.Stateful)
		if !ok {
			continue
		}
		if err := sf.SetState(st.Policies[i].Cache); err != nil {
			for j := range i {
				if sf, ok := s.pols[j].pruner.(stdlib.Stateful); ok {
					_ = sf.SetState(old[j])
				}
			}
			return fmt.Errorf("interp: restore state: %s: %w", cp.pol.Range, err)
		}
	}
	for i, cp := range s.pols {
		ps := st.Policies[i]
		if ps.EMA != nil {
			if err := cp.qat.SetEMAState(ps.EMA); err != nil {
				return fmt.Errorf("interp: restore state: %s: %w", cp.pol.Range, err)
			}
		}
		if ps.Plateau != nil {
			pl := cp.lr.Plateau
			pl.Best, pl.Seen, pl.BadEpochs, pl.CooldownLeft = ps.Plateau.Best, ps.Plateau.Seen, ps.Plateau.BadEpochs, ps.Plateau.CooldownLeft
		}
		if cp.soft != nil {
			for j, sh := range cp.soft.Shadows() {
				cp.soft.SetMask(j, soft[i][sh.Name]) // nil when absent
			}
		}
	}
	s.began, s.spe, s.baseLR = st.Began, st.StepsPerEpoch, st.BaseLR
	if st.LR != nil && s.opt.Optimizer != nil {
		s.opt.Optimizer.SetLR(*st.LR)
	}
	return nil
}

// qatEMAs returns the policy's EMA activation quantizers (none when it is not linear QAT).
func (cp *policy) qatEMAs() []*stdlib.EMAAct {
	if cp.qat == nil {
		return nil
	}
	return cp.qat.EMAs
}

// StateTensors returns the Scheduler's state that is too large for [Scheduler.MarshalState]:
// the float copies of the weights under quantization-aware training ("qat<i>.float.<param>",
// i the policy's number from 1), and the state of PACT's α optimizer
// ("qat<i>.alpha.<slot>.<param>"). A host saves them with its checkpoint
// ([nn.SaveCheckpoint] takes them as they are) and gives them back to
// [Scheduler.RestoreStateTensors] when it resumes.
func (s *Scheduler) StateTensors() []nn.StateTensor {
	var out []nn.StateTensor
	for i, cp := range s.pols {
		if cp.qat == nil || !cp.qat.Began() {
			continue
		}
		for j, p := range cp.qat.Params {
			out = append(out, nn.StateTensor{Name: fmt.Sprintf("qat%d.float.%s", i+1, p.Name), Shape: p.Shape(), Data: cp.qat.Float(j)})
		}
		if cp.alphaOpt == nil {
			continue
		}
		slots := cp.alphaOpt.StateNames()
		state := cp.alphaOpt.State()
		for _, a := range cp.qat.Alphas {
			for k, t := range state[a.Name] {
				if k < len(slots) && t != nil {
					out = append(out, nn.StateTensor{Name: fmt.Sprintf("qat%d.alpha.%s.%s", i+1, slots[k], a.Name), Shape: t.Shape(), Data: ops.F32(t)})
				}
			}
		}
	}
	return out
}

// RestoreStateTensors gives the Scheduler back the tensors [Scheduler.StateTensors] returned,
// by name (as [nn.CheckpointInfo.State] holds them). Call it after [Scheduler.RestoreState]
// and after the checkpoint's weights are loaded. A run whose quantization-aware training
// began must find all its float copies; it returns an error otherwise.
func (s *Scheduler) RestoreStateTensors(ts map[string][]float32) error {
	for i, cp := range s.pols {
		if cp.qat == nil || !s.began {
			continue
		}
		fp := make([][]float32, len(cp.qat.Params))
		for j, p := range cp.qat.Params {
			name := fmt.Sprintf("qat%d.float.%s", i+1, p.Name)
			v, ok := ts[name]
			if !ok {
				return fmt.Errorf("interp: restore state: %s (%s) trained with quantization, but the float copy %q is not in the checkpoint", cp.name, cp.pol.Range, name)
			}
			fp[j] = v
		}
		if err := cp.qat.SetFloats(fp); err != nil {
			return fmt.Errorf("interp: restore state: %s: %w", cp.pol.Range, err)
		}
		if cp.alphaOpt == nil {
			continue
		}
		state := map[string][]*tensor.Dense{}
		for _, a := range cp.qat.Alphas {
			var st []*tensor.Dense
			for _, slot := range cp.alphaOpt.StateNames() {
				v, ok := ts[fmt.Sprintf("qat%d.alpha.%s.%s", i+1, slot, a.Name)]
				if !ok {
					st = nil
					break
				}
				st = append(st, ops.FromSlice(append([]float32(nil), v...), len(v)))
			}
			if st != nil {
				state[a.Name] = st
			}
		}
		if err := cp.alphaOpt.SetState(state); err != nil {
			return fmt.Errorf("interp: restore state: %s: PACT's α: %w", cp.pol.Range, err)
		}
	}
	return nil
}

// packMask encodes a 0/1 mask as base64 bits, least significant bit first.
func packMask(m []float32) string {
	b := make([]byte, (len(m)+7)/8)
	for i, v := range m {
		if v != 0 {
			b[i/8] |= 1 << (i % 8)
		}
	}
	return base64.StdEncoding.EncodeToString(b)
}

// unpackMask decodes packMask's output for a mask of n elements.
func unpackMask(s string, n int) ([]float32, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(b) != (n+7)/8 {
		return nil, fmt.Errorf("%d bytes for %d elements", len(b), n)
	}
	m := make([]float32, n)
	for i := range m {
		if b[i/8]&(1<<(i%8)) != 0 {
			m[i] = 1
		}
	}
	return m, nil
}
