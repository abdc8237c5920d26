package stdlib

import (
	"fmt"
	"math"
	"os"

	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/ops"
)

// KD is Hinton et al.'s knowledge distillation (Distiller's
// KnowledgeDistillationPolicy): with p = softmax(z/T),
//
//	L = Student·CE(y, z_s) + Distill·T²·KL(p_t ‖ p_s)
//
// where the KL divergence is summed over classes and averaged over the batch, and the
// teacher's logits z_t carry no gradient. The zero value is not usable: set T > 0.
type KD struct {
	// T is the softmax temperature.
	T float64
	// Student weighs the cross-entropy against the labels; Distill the distillation term.
	Student, Distill float64

	ps, pt, p1 []float64
}

// Check reports whether the configuration is valid.
func (kd *KD) Check() error {
	if !(kd.T > 0) || math.IsInf(kd.T, 0) {
		return fmt.Errorf("stdlib: distill: temperature %v must be positive", kd.T)
	}
	if !(kd.Student >= 0) || !(kd.Distill >= 0) {
		return fmt.Errorf("stdlib: distill: weights %v and %v must be non-negative", kd.Student, kd.Distill)
	}
	return nil
}

// Loss returns the distillation loss L and the unscaled KL term (Distiller's "Distill
// Loss") of a batch of student and teacher logits (N×classes, row-major) and labels,
// and writes dL/dz_s into dlogits:
//
//	dL/dz_s = Student·(softmax(z_s) − onehot(y))/N + Distill·T·(p_s − p_t)/N
//
// It panics if the lengths do not match (a programming error).
func (kd *KD) Loss(dlogits, student, teacher []float32, labels []int32, classes int) (loss, kl float64) {
	n := len(labels)
	if len(student) != n*classes || len(teacher) != n*classes || len(dlogits) != n*classes {
		panic("stdlib: KD.Loss: logits, labels and classes do not fit")
	}
	if cap(kd.ps) < classes {
		kd.ps, kd.pt, kd.p1 = make([]float64, classes), make([]float64, classes), make([]float64, classes)
	}
	ps, pt, p1 := kd.ps[:classes], kd.pt[:classes], kd.p1[:classes]
	var ce float64
	inv := 1 / float64(n)
	for i := 0; i < n; i++ {
		zs, zt := student[i*classes:(i+1)*classes], teacher[i*classes:(i+1)*classes]
		lse1 := softmax(p1, zs, 1)
		lseS := softmax(ps, zs, kd.T)
		lseT := softmax(pt, zt, kd.T)
		y := int(labels[i])
		ce += lse1 - float64(zs[y])
		for c := 0; c < classes; c++ {
			if pt[c] > 0 {
				// log p_t − log p_s with log p = z/T − lse.
				kl += pt[c] * ((float64(zt[c])/kd.T - lseT) - (float64(zs[c])/kd.T - lseS))
			}
			g := kd.Student * p1[c]
			if c == y {
				g -= kd.Student
			}
			g += kd.Distill * kd.T * (ps[c] - pt[c])
			dlogits[i*classes+c] = float32(g * inv)
		}
	}
	ce *= inv
	kl *= inv
	return kd.Student*ce + kd.Distill*kd.T*kd.T*kl, kl
}

// softmax writes softmax(z/t) into p and returns log Σ exp(z/t).
func softmax(p []float64, z []float32, t float64) float64 {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, float64(v)/t)
	}
	var s float64
	for c, v := range z {
		p[c] = math.Exp(float64(v)/t - mx)
		s += p[c]
	}
	for c := range p {
		p[c] /= s
	}
	return mx + math.Log(s)
}

// KDHooks applies a [KD] during training (from epoch Start to End, End 0 meaning to the
// end): at BeforeBackward it runs Teacher in evaluation mode on the minibatch, replaces
// the step's loss by the distillation loss and its logit gradient by the distillation
// gradient. Embed it in a host's hooks, or use it as nn.Hooks directly.
type KDHooks struct {
	nn.NopHooks
	// KD is the loss; Teacher the trained teacher model (not updated).
	KD *KD
	// Teacher takes the student's inputs and scores as many classes.
	Teacher *nn.Model
	// Start and End bound the active epochs [Start, End); End 0 means no end.
	Start, End int
	// LastKL is the unscaled KL term of the last minibatch.
	LastKL float64
}

// BeforeBackward implements nn.Hooks.
func (h *KDHooks) BeforeBackward(s *nn.Step) error {
	if s.Epoch < h.Start || (h.End > 0 && s.Epoch >= h.End) {
		return nil
	}
	zt := h.Teacher.Forward(s.Input, false)
	if !sameInts(zt.Shape(), s.Logits.Shape()) {
		return fmt.Errorf("stdlib: distill: teacher %s gives logits %v, the student %v", h.Teacher.Name, zt.Shape(), s.Logits.Shape())
	}
	classes := s.Logits.Shape()[1]
	s.Loss, h.LastKL = h.KD.Loss(ops.F32(s.DLogits), ops.F32(s.Logits), ops.F32(zt), s.Labels, classes)
	return nil
}

func sameInts(a, b []int) bool {
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

// NewKD returns the distillation a checked distill policy describes; the teacher
// (Policy.Teacher) is the host's to load.
func NewKD(pol *lang.Policy) (*KD, error) {
	if pol.Kind != lang.KindDistill {
		return nil, fmt.Errorf("stdlib: NewKD: policy is %s, not distill", pol.Kind)
	}
	kd, _, err := buildKD(pol)
	return kd, err
}

// buildKD is NewKD returning the argument reader too, for the test that every declared
// argument is read.
func buildKD(pol *lang.Policy) (*KD, *args, error) {
	a := newArgs(pol)
	kd := &KD{T: a.numOr("temperature", 1), Student: a.numOr("student", 0.5), Distill: a.numOr("soft", 0.5)}
	a.used["model"] = true // the host's, when it loads the teacher (LoadTeacher)
	if a.err != nil {
		return nil, a, a.err
	}
	return kd, a, kd.Check()
}

// LoadTeacher returns the teacher a distill policy names (lang.Policy.Teacher): a
// checkpoint file holding the zoo model model, or, when model is "", the one its
// metadata names. A bare zoo model name is an error, since an untrained teacher teaches
// nothing.
func LoadTeacher(ref, model string) (*nn.Model, error) {
	if _, err := os.Stat(ref); err != nil {
		return nil, fmt.Errorf("stdlib: distill: teacher %q is not a checkpoint file (a zoo model needs trained weights): %w", ref, err)
	}
	ci, err := nn.ReadCheckpointInfo(ref)
	if err != nil {
		return nil, fmt.Errorf("stdlib: distill: teacher: %w", err)
	}
	switch {
	case model == "" && ci.Model == "":
		return nil, fmt.Errorf("stdlib: distill: teacher %s does not say which model it holds; name it with `model NAME`", ref)
	case model == "":
		model = ci.Model
	case ci.Model != "" && ci.Model != model:
		return nil, fmt.Errorf("stdlib: distill: teacher %s holds a %s, not the %s the policy names", ref, ci.Model, model)
	}
	m, err := nn.New(model, 0)
	if err != nil {
		return nil, fmt.Errorf("stdlib: distill: teacher %s: %w", ref, err)
	}
	if _, err := nn.LoadCheckpoint(ref, m, nil); err != nil {
		return nil, fmt.Errorf("stdlib: distill: teacher: %w", err)
	}
	return m, nil
}

// NewKDHooks returns the hooks of a checked distill policy: its loss, its window
// (the policy's epochs) and the teacher it names, loaded with [LoadTeacher].
func NewKDHooks(pol *lang.Policy) (*KDHooks, error) {
	kd, err := NewKD(pol)
	if err != nil {
		return nil, err
	}
	var model string
	if v, ok := pol.Arg("model"); ok {
		model = v.Str
	}
	t, err := LoadTeacher(pol.Teacher, model)
	if err != nil {
		return nil, err
	}
	h := &KDHooks{KD: kd, Teacher: t, Start: max(pol.Window.Start, 0)}
	if pol.Window.End != lang.NoEnd && pol.Window.End > 0 {
		h.End = pol.Window.End
	}
	return h, nil
}
