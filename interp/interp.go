package interp

import (
	"fmt"
	"log/slog"

	"github.com/dst-dev/dst/interp/internal/softmask"
	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
	"github.com/dst-dev/dst/stdlib"
)

// Options is what a program is compiled against. The zero value compiles a program with
// no parameters and no optimizer, which is enough only for scripts that select nothing.
type Options struct {
	// Params are the model's parameters in model order (nn.Model.Params()). Every name a
	// policy selected must be among them. They are held, not copied: the Scheduler
	// changes their values, gradients and masks.
	Params []*nn.Param
	// Optimizer receives learning-rate changes; required when the program has lr
	// policies. An [nn.Optimizer] also has its state shrunk by thinning.
	Optimizer LRSetter
	// Model is the model the parameters belong to; required by thin statements and
	// `then thin`, ignored otherwise.
	Model *nn.Model
	// Builtins are the host's own methods, checked and dispatched like stdlib's. Each
	// must have a signature whose statement and method no stdlib builtin uses.
	Builtins []Builtin
	// Epochs is the run length in epochs, given to the checker so open windows end at
	// the run's end; 0 means unknown.
	Epochs int
	// Activations returns, for the apoz or mean_activation ranking, the per-filter
	// activation statistics a structure pruner ranks by. It is called once per policy at
	// compile time; the function it returns is called when the policy prunes, so a host
	// can collect fresh statistics then. Nil means the host collects none, and policies
	// ranking by activations are compile errors.
	Activations func(r stdlib.Ranking) stdlib.ActivationStats
	// OptimizerMasks reports that the host's optimizer re-applies every parameter's mask
	// to its values (and state) after each step, as nn's optimizers do. The Scheduler
	// then skips its own re-application at OnMinibatchEnd, which costs one pass over the
	// masked weights per minibatch. Leave it false when the host updates weights itself.
	OptimizerMasks bool
	// Seed seeds what a policy initialises at compile time (the layers WRPN's widen
	// creates); the same seed gives the same model.
	Seed uint64
	// Logger receives a record whenever a pruner sets masks, a schedule changes the
	// learning rate or the model is thinned; nil discards them.
	Logger *slog.Logger
}

// LRSetter is the part of an optimizer that learning-rate policies use. [nn.SGD] and
// [nn.Adam] implement it.
type LRSetter interface {
	// LR returns the current learning rate.
	LR() float64
	// SetLR sets the learning rate for the following steps.
	SetLR(lr float64)
}

// Builtin is a method the host adds to the language: its typed signature, checked at
// compile time like stdlib's, and the function that implements it.
//
// A prune builtin is called where a stdlib pruner would be (at OnEpochBegin of active
// epochs, at OnMinibatchBegin for step windows, at OnTrainingBegin/End for before/after
// training) and installs masks with [nn.Param.SetMask]. A regularize builtin is called in
// BeforeBackward on every minibatch of an active epoch and adds its loss to
// Call.Train.Loss and its gradient to the parameters' gradients. An lr builtin is
// called at OnEpochBegin of active epochs and sets Call.Optimizer's rate. Other
// statements cannot have host builtins.
type Builtin struct {
	// Signature is the method's signature; Statement must be prune, regularize or lr.
	Signature lang.Signature
	// Func implements the method. It must not keep Call after returning.
	Func func(c *Call) error
}

// Call is what a host builtin receives at each invocation.
type Call struct {
	// Policy is the checked policy being run: its arguments, window and range.
	Policy *lang.Policy
	// Params are the parameters the policy's selector matched, in model order.
	Params []*nn.Param
	// Event is the hook being run.
	Event Event
	// Epoch is the 0-based epoch; Step the minibatch within it, or -1 outside one.
	Epoch, Step int
	// StepsPerEpoch is the number of minibatches per epoch, 0 before the first one.
	StepsPerEpoch int
	// Train is the minibatch in BeforeBackward (regularize builtins), nil otherwise.
	Train *nn.Step
	// Optimizer is Options.Optimizer (lr builtins may change its rate); may be nil.
	Optimizer LRSetter
}

// notSupported maps statements a later issue implements to the issue.
var notSupported = map[string]string{}

// hostStatements are the statements a host builtin may extend.
var hostStatements = map[string]bool{lang.KindPrune: true, lang.KindRegularize: true, lang.KindLR: true}

// Table returns the builtin table a program is checked against under o: stdlib's
// signatures plus the host's. It reports a host builtin with a bad or clashing
// signature, or without a function.
func (o *Options) Table() (*lang.Builtins, error) {
	b := stdlib.Signatures()
	for _, hb := range o.Builtins {
		if hb.Func == nil {
			return nil, fmt.Errorf("interp: host builtin %s %s has no Func", hb.Signature.Statement, hb.Signature.Method)
		}
		if !hostStatements[hb.Signature.Statement] {
			return nil, fmt.Errorf("interp: host builtin %s %s: only prune, regularize and lr methods can be added", hb.Signature.Statement, hb.Signature.Method)
		}
		if err := b.Add(hb.Signature); err != nil {
			return nil, fmt.Errorf("interp: host builtin: %w", err)
		}
	}
	return b, nil
}

// Env returns the checker's environment for o: the parameter table of Options.Params,
// the builtins of [Options.Table] and the run length.
func (o *Options) Env() (lang.Env, error) {
	b, err := o.Table()
	if err != nil {
		return lang.Env{}, err
	}
	infos := make([]lang.ParamInfo, len(o.Params))
	for i, p := range o.Params {
		if p == nil {
			return lang.Env{}, fmt.Errorf("interp: Options.Params[%d] is nil", i)
		}
		infos[i] = lang.ParamInfo{Name: p.Name, Shape: p.Shape(), Kind: p.Kind.String(), Layer: p.Layer}
	}
	return lang.Env{Params: infos, Builtins: b, Epochs: o.Epochs}, nil
}

// Check parses and checks src against the parameters and builtins of opt. It returns
// every diagnostic (warnings included); the program is nil when any is an error. A
// malformed host builtin is reported as a diagnostic without a source range.
func Check(filename string, src []byte, opt Options) (*lang.Program, lang.Diagnostics) {
	env, err := opt.Env()
	if err != nil {
		return nil, lang.Diagnostics{{Severity: lang.Error, Summary: "Invalid options", Detail: err.Error()}}
	}
	return lang.CheckSource(filename, src, env)
}

// CompileSource checks src (see [Check]) and compiles it. Check errors are returned as
// [lang.Diagnostics]; warnings are dropped (use Check and Compile to see them).
func CompileSource(filename string, src []byte, opt Options) (*Scheduler, error) {
	prog, diags := Check(filename, src, opt)
	if diags.HasErrors() {
		return nil, diags.Errs()
	}
	return Compile(prog, opt)
}

// Compile binds a checked program to opt's parameters and returns a fresh Scheduler. prog
// must have been checked against a builtin table that holds opt's host builtins (as
// [Check] does). Problems tied to a policy — a selected name missing from Params, a
// method without implementation, a pruner whose Check rejects the parameters, a statement
// not supported yet — are returned as [lang.Diagnostics] with the policy's range.
func Compile(prog *lang.Program, opt Options) (*Scheduler, error) {
	if prog == nil {
		return nil, fmt.Errorf("interp: Compile: nil program")
	}
	byName := make(map[string]*nn.Param, len(opt.Params))
	for _, p := range opt.Params {
		if p == nil {
			return nil, fmt.Errorf("interp: Compile: nil parameter in Options.Params")
		}
		if _, dup := byName[p.Name]; dup {
			return nil, fmt.Errorf("interp: Compile: parameter %s given twice", p.Name)
		}
		byName[p.Name] = p
	}
	host := make(map[string]func(*Call) error, len(opt.Builtins))
	for _, hb := range opt.Builtins {
		host[hb.Signature.Statement+" "+hb.Signature.Method] = hb.Func
	}
	s := &Scheduler{opt: opt, log: opt.Logger, step: -1}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if opt.Optimizer != nil {
		s.baseLR = opt.Optimizer.LR()
	}
	var diags lang.Diagnostics
	fail := func(pol *lang.Policy, summary, format string, args ...any) {
		r := pol.Range
		diags = append(diags, &lang.Diagnostic{Severity: lang.Error, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: &r})
	}
	seen := map[*nn.Param]bool{}
	for _, pol := range prog.Policies {
		cp := &policy{pol: pol, name: pol.Kind + " " + pol.Method}
		if issue, ok := notSupported[pol.Kind]; ok {
			fail(pol, "Not supported yet", "not supported yet: %s (%s); this interpreter runs prune, regularize, lr and thin policies.", pol.Kind, issue)
			continue
		}
		for _, name := range pol.Params {
			p, ok := byName[name]
			if !ok {
				fail(pol, "Unknown parameter", "The policy selects %s, which is not among the parameters the program is compiled against.", name)
				continue
			}
			cp.params = append(cp.params, p)
		}
		if (pol.Kind == lang.KindPrune || pol.Kind == lang.KindRegularize) && len(pol.Params) == 0 {
			fail(pol, "No parameters", "The policy selects no parameter; check it against the model's parameter table.")
			continue
		}
		if err := s.build(cp, host[pol.Kind+" "+pol.Method]); err != nil {
			fail(pol, "Cannot compile policy", "%s: %v", cp.name, err)
			continue
		}
		s.pols = append(s.pols, cp)
		for _, p := range cp.params {
			if !seen[p] && (pol.Kind == lang.KindPrune || pol.Kind == lang.KindRegularize) {
				seen[p] = true
				s.masked = append(s.masked, p)
			}
		}
	}
	if len(diags) > 0 {
		return nil, diags
	}
	return s, nil
}

// build turns one policy into its runtime value: a stdlib pruner, regularizer or
// schedule, a host function or a thin mode, and checks it against its parameters.
func (s *Scheduler) build(cp *policy, hostFn func(*Call) error) error {
	pol := cp.pol
	cp.host = hostFn
	switch pol.Kind {
	case lang.KindPrune:
		cp.flags = readFlags(pol)
		if cp.flags.foldBN && s.opt.Model == nil {
			return fmt.Errorf("fold_bn needs the model (Options.Model), whose batch normalisations scale the weights it ranks")
		}
		if cp.flags.maskGradients && !cp.flags.forwardOnly {
			return fmt.Errorf("mask_gradients needs forward_only: ordinary masks already keep pruned weights and their gradients out of every update")
		}
		if cp.flags.doubleCopies {
			cp.flags.forwardOnly = true
		}
		if cp.host == nil {
			var bo stdlib.BuildOptions
			if r, err := stdlib.ParseRanking(pol.Ranking); err == nil && s.opt.Activations != nil &&
				(r == stdlib.APoZ || r == stdlib.MeanActivation) {
				bo.Activations = s.opt.Activations(r)
			}
			if cp.flags.foldBN {
				m := s.opt.Model
				bo.FoldBN = func(p *nn.Param) ([]float32, error) { return nn.FoldedWeight(m, p) }
				for _, p := range cp.params {
					if _, err := nn.FoldedWeight(m, p); err != nil {
						return err
					}
				}
			}
			pr, err := stdlib.NewPruner(pol, bo)
			if err != nil {
				return err
			}
			if err := pr.Check(cp.params); err != nil {
				return err
			}
			cp.pruner = pr
		}
		if cp.flags.forwardOnly {
			cp.soft = softmask.New(cp.params)
		}
		if pol.ThenThin {
			if err := s.needThin(); err != nil {
				return fmt.Errorf("then thin: %w", err)
			}
			if pol.Window.LastEpoch() < 0 {
				return fmt.Errorf("then thin needs a window that ends")
			}
		}
	case lang.KindRegularize:
		if pol.Window.Kind != lang.WindowEpochs {
			return fmt.Errorf("a regularizer acts on the minibatches of its epochs; %s never runs it", pol.Window)
		}
		cp.flags.keepMask = boolArg(pol, "keep_mask")
		if cp.host == nil {
			r, err := stdlib.NewRegularizer(pol)
			if err != nil {
				return err
			}
			if err := r.Check(cp.params); err != nil {
				return err
			}
			cp.reg = r
			if tm, ok := r.(stdlib.ThresholdMasker); ok {
				buf := make([]float32, cp.params[0].Len())
				on, err := tm.ThresholdMask(buf, cp.params[0])
				if err != nil {
					return err
				}
				if on {
					cp.thresh = tm
				}
			}
		}
		if pol.ThenThin {
			if err := s.needThin(); err != nil {
				return fmt.Errorf("then thin: %w", err)
			}
		}
	case lang.KindLR:
		if pol.Window.Kind != lang.WindowEpochs {
			return fmt.Errorf("a learning-rate schedule acts on epochs; %s never runs it", pol.Window)
		}
		if s.opt.Optimizer == nil {
			return fmt.Errorf("an lr policy needs an optimizer (Options.Optimizer)")
		}
		if cp.host == nil {
			lp, err := stdlib.NewLRPolicy(pol)
			if err != nil {
				return err
			}
			cp.lr = lp
		}
	case lang.KindQuantize:
		return s.buildQuantize(cp)
	case lang.KindDistill:
		return s.buildDistill(cp)
	case lang.KindThin:
		mode, err := nn.ParseThinMode(pol.Method)
		if err != nil {
			return err
		}
		cp.thinMode = mode
		if err := s.needThin(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("no implementation for %s statements", pol.Kind)
	}
	return nil
}

// needThin reports whether thinning can run under the options.
func (s *Scheduler) needThin() error {
	if s.opt.Model == nil {
		return fmt.Errorf("thinning needs the model (Options.Model)")
	}
	return nil
}

// flags are the fine-control switches of a prune policy (and keep_mask of a regularize
// policy), implemented by the interpreter rather than the pruner.
type flags struct {
	keepMask, forwardOnly, maskGradients, doubleCopies, discardMasks, skipFirst, foldBN bool
}

func boolArg(pol *lang.Policy, name string) bool {
	v, ok := pol.Arg(name)
	return ok && v.Bool
}

func readFlags(pol *lang.Policy) flags {
	return flags{
		keepMask:      boolArg(pol, "keep_mask"),
		forwardOnly:   boolArg(pol, "forward_only"),
		maskGradients: boolArg(pol, "mask_gradients"),
		doubleCopies:  boolArg(pol, "double_copies"),
		discardMasks:  boolArg(pol, "discard_masks"),
		skipFirst:     boolArg(pol, "skip_first_minibatch"),
		foldBN:        boolArg(pol, "fold_bn"),
	}
}
