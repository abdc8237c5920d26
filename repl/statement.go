package repl

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/dst-dev/dst/interp"
	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
)

// windowOf returns a policy-like statement's window (nil when none was written) and
// whether st is such a statement.
func windowOf(st lang.Stmt) (*lang.WindowClause, bool) {
	switch st := st.(type) {
	case *lang.PolicyStmt:
		return st.Window, true
	case *lang.LRStmt:
		return st.Window, true
	case *lang.DistillStmt:
		return st.Window, true
	case *lang.ThinStmt:
		return st.Window, true
	}
	return nil, false
}

// inInput reports whether d is about the input (or about no place at all).
func (in *input) holds(d *lang.Diagnostic) bool {
	if d.Subject == nil {
		return true
	}
	return d.Subject.Start.Offset >= in.off && d.Subject.Start.Offset <= in.off+len(in.text)
}

// relevant keeps the errors (a conflict with an earlier statement is about both) and the
// warnings about the input; "Unused binding" warnings are dropped, as later inputs may
// use the bindings.
func (in *input) relevant(ds lang.Diagnostics) lang.Diagnostics {
	var out lang.Diagnostics
	for _, d := range ds {
		if d.Severity == lang.Warning && (d.Summary == "Unused binding" || !in.holds(d)) {
			continue
		}
		out = append(out, d)
	}
	return out
}

// statement runs a .dst statement: a let, a statement without window (now) or one with
// a window (into the live schedule).
func (s *Session) statement(ctx context.Context, in *input) error {
	src := s.source(in, false)
	f, diags := lang.Parse(Filename, src)
	if diags.HasErrors() {
		return s.report(in.relevant(diags))
	}
	var stmts []lang.Stmt // the input's statements (the bindings before it are parsed too)
	for _, st := range f.Stmts {
		if st.Span().Start.Offset >= in.off {
			stmts = append(stmts, st)
		}
	}
	switch len(stmts) {
	case 0:
		return nil // a comment
	case 1:
	default:
		r := stmts[1].Span()
		d := &lang.Diagnostic{Severity: lang.Error, Summary: "One statement per input",
			Detail: "Type one statement at a time; each runs (or joins the schedule) before the next is read.", Subject: &r}
		return s.report(lang.Diagnostics{d})
	}
	st := stmts[0]
	if _, ok := st.(*lang.LetStmt); ok {
		return s.let(in, src)
	}
	w, ok := windowOf(st)
	if !ok {
		return s.failAt(in, 0, len(in.text), "Not a statement", "Expected a command or a .dst statement.")
	}
	if w == nil {
		return s.now(in, src)
	}
	return s.schedule(in)
}

// let checks a binding against the earlier ones and keeps it.
func (s *Session) let(in *input, src []byte) error {
	_, diags := interp.Check(Filename, src, s.options())
	if err := s.report(in.relevant(diags)); err != nil {
		return err
	}
	s.chunks[in.idx].kind = kindLet
	name := strings.TrimSpace(strings.SplitN(strings.TrimSpace(in.text)[len("let"):], "=", 2)[0])
	if typ, v, ok := s.typeOf(name, in); ok {
		s.printf("%s = %s (%s)\n", name, showValue(v), typ)
	}
	return nil
}

// now runs a statement without window at once, or adds it to the schedule with its
// method's default window when the method cannot run before training.
func (s *Session) now(in *input, src []byte) error {
	nowSrc := append(append([]byte(nil), src[:len(src)-1]...), " before training\n"...)
	prog, diags := interp.Check(Filename, nowSrc, s.options())
	after := false // the statement runs as `after training` does: post-training quantization
	if diags.HasErrors() {
		for _, d := range diags.Errs() {
			if d.Subject != nil && d.Subject.End.Offset > in.off+len(in.text) {
				// The method does not run before training. One that runs only after
				// training runs now as at the end of training; any other joins the
				// schedule with its default window or is an error.
				afterSrc := append(append([]byte(nil), src[:len(src)-1]...), " after training\n"...)
				p, adiags := interp.Check(Filename, afterSrc, s.options())
				if adiags.HasErrors() || p == nil || len(p.Policies) == 0 || !afterOnly(p.Policies[len(p.Policies)-1]) {
					return s.schedule(in)
				}
				prog, after = p, true
				break
			}
		}
		if !after {
			return s.report(in.relevant(diags))
		}
	}
	if n := len(prog.Policies); !after && n > 0 && !runsNow(prog.Policies[n-1]) {
		// Regularizers, lr schedules and distillation act during training: the
		// statement joins the schedule with its default window (or is an error
		// when its method has none).
		return s.schedule(in)
	}
	sched, err := interp.Compile(prog, s.options())
	if err != nil {
		return s.failErr(in, "Cannot compile", err)
	}
	s.push(in.text)
	fire := sched.OnTrainingBegin
	if after {
		fire = sched.OnTrainingEnd
	}
	if err := fire(); err != nil {
		s.restore(s.pop())
		return s.failErr(in, "Runtime error", err)
	}
	s.parkSchedule() // thinning may have changed shapes under the live schedule
	for _, pol := range prog.Policies {
		// The statement had no window: say "now", not the window it ran in.
		s.printf("ran %s now\n", strings.TrimSuffix(strings.TrimSuffix(pol.String(), " before training"), " after training"))
		for _, name := range pol.Params {
			if p := s.m.Param(name); p != nil {
				s.printf("  %-24s %s\n", name, sparsityText(p))
			}
		}
	}
	return nil
}

// schedule checks the input with the live schedule and adds it.
func (s *Session) schedule(in *input) error {
	prog, diags := interp.Check(Filename, s.source(in, true), s.options())
	if err := s.report(in.relevant(diags)); err != nil {
		return err
	}
	if _, err := interp.Compile(prog, s.options()); err != nil {
		return s.failErr(in, "Cannot compile", err)
	}
	s.push(in.text)
	s.chunks[in.idx].kind = kindLive
	s.sched, s.schedState, s.schedTensors = nil, nil, nil
	if n := len(prog.Policies); n > 0 {
		s.printf("scheduled %s\n", prog.Policies[n-1])
	}
	return nil
}

// sparsityText describes a parameter's non-zeros: "50.00% sparse (196 of 392 non-zero)".
func sparsityText(p *nn.Param) string {
	n, nnz := p.Len(), p.NNZ()
	sp := 0.0
	if n > 0 {
		sp = 100 * float64(n-nnz) / float64(n)
	}
	return fmt.Sprintf("%.2f%% sparse (%d of %d non-zero)", sp, nnz, n)
}

// parkSchedule drops the compiled live schedule, keeping its state for the next compile.
func (s *Session) parkSchedule() {
	if s.sched != nil {
		if b, err := s.sched.MarshalState(); err == nil {
			s.schedState, s.schedTensors = b, stateTensors(s.sched)
		}
	}
	s.sched = nil
}

// afterOnly reports a quantizer that runs only `after training` (post-training
// quantization): without a window it runs now, as it would at the end of training.
func afterOnly(p *lang.Policy) bool {
	if p.Kind != lang.KindQuantize {
		return false
	}
	return slices.Contains(p.Signature.Windows, lang.FormAfter) && !slices.Contains(p.Signature.Windows, lang.FormBefore)
}

// runsNow reports whether a policy has work to do before training: pruning, thinning and
// quantizers that accept `before training`.
func runsNow(p *lang.Policy) bool {
	switch p.Kind {
	case lang.KindPrune, lang.KindThin:
		return true
	case lang.KindQuantize:
		for _, f := range p.Signature.Windows {
			if f == lang.FormBefore {
				return true
			}
		}
	}
	return false
}
