package lang

import (
	"fmt"
	"sort"
)

// ArgType is the type of a builtin's argument. The checker converts the expression a
// script writes into a [Value] of this type, or reports why it cannot.
type ArgType int

// The argument types a builtin can declare.
const (
	// TypeNumber is any finite number.
	TypeNumber ArgType = iota
	// TypePositive is a number > 0.
	TypePositive
	// TypeNonNegative is a number >= 0.
	TypeNonNegative
	// TypeInteger is a whole number >= 0.
	TypeInteger
	// TypeFraction is a number in [0, 1), written 0.7 or 70%.
	TypeFraction
	// TypeFractionRange is `a -> b` with both ends fractions and a < b.
	TypeFractionRange
	// TypeNumberRange is `a -> b` with both ends finite numbers (for example a learning-rate
	// ramp); the ends may be in either order.
	TypeNumberRange
	// TypeBits is a bit width, an integer in 1..32, written 8 or `8 bits`.
	TypeBits
	// TypeString is a double-quoted string.
	TypeString
	// TypeIdent is a bare name that is not a let binding (for example a model name).
	TypeIdent
	// TypeNumberList is a list of numbers, `[0.1, 0.5]`.
	TypeNumberList
	// TypeIntList is a list of integers >= 0, `[1, 8, 1, 1]`.
	TypeIntList
	// TypeEnum is one of the names in [ArgSpec.Enum], written as a bare name.
	TypeEnum
	// TypeFlag is a boolean switched on by writing the argument's name alone.
	TypeFlag
)

var argTypeNames = [...]string{
	TypeNumber:        "number",
	TypePositive:      "positive number",
	TypeNonNegative:   "non-negative number",
	TypeInteger:       "integer",
	TypeFraction:      "fraction",
	TypeFractionRange: "fraction range",
	TypeNumberRange:   "number range",
	TypeBits:          "bit width",
	TypeString:        "string",
	TypeIdent:         "name",
	TypeNumberList:    "number list",
	TypeIntList:       "integer list",
	TypeEnum:          "enum",
	TypeFlag:          "flag",
}

// String returns the type's name as the manual and the diagnostics spell it.
func (t ArgType) String() string {
	if int(t) >= 0 && int(t) < len(argTypeNames) {
		return argTypeNames[t]
	}
	return fmt.Sprintf("ArgType(%d)", int(t))
}

// ArgSpec describes one argument of a builtin method.
type ArgSpec struct {
	// Name is the argument's name, used as `name=value` or `name value` in a script and as
	// the key of [Policy.Args].
	Name string
	// Type is the argument's type.
	Type ArgType
	// Enum lists the allowed names when Type is TypeEnum. Writing one of them alone as an
	// argument sets this argument, when no other argument of the method accepts that name.
	Enum []string
	// Default is the value used when the script omits the argument, written in .dst syntax
	// ("0.1", "8", "sym", "false"). Empty means no default: the argument is absent from
	// [Policy.Args] unless Required, in which case omitting it is an error.
	Default string
	// Required reports that the script must give the argument.
	Required bool
	// Positional reports that the argument may be given by position, without its name.
	// Positional arguments are filled in the order they appear in [Signature.Args].
	Positional bool
	// Doc is a one-sentence description for `help` and the manual.
	Doc string
	// Bounds, when set, are the inclusive lowest and highest values a number argument
	// may take beyond what its type allows (WRPN's widen: [1, 8]).
	Bounds *[2]float64
	// OpenBounds makes both ends of Bounds exclusive (linear QAT's ema_decay: (0, 1)).
	OpenBounds bool
}

// WindowForm names one way of writing a policy's window. Signatures list the forms they
// accept in [Signature.Windows].
type WindowForm string

// The window forms.
const (
	// FormAt is `at epoch N`.
	FormAt WindowForm = "at"
	// FormList is `at epochs [a, b, ...]`.
	FormList WindowForm = "list"
	// FormRange is `from epoch A [to B] [every K epochs|steps]` or `every K epochs|steps`.
	FormRange WindowForm = "range"
	// FormBefore is `before training`.
	FormBefore WindowForm = "before"
	// FormAfter is `after training`.
	FormAfter WindowForm = "after"
)

// Signature describes one method of one statement: what a script may write after, for
// example, `prune SELECTOR agp`. The checker validates scripts against signatures and the
// interpreter dispatches on (Statement, Method). Signatures are plain data.
type Signature struct {
	// Statement is the statement keyword: prune, regularize, quantize, lr, distill or thin.
	Statement string
	// Method is the method name written after the selector (or after the keyword for lr and
	// thin).
	Method string
	// Aliases are other names accepted for Method (for example magnitude for threshold).
	// The checked program always carries Method.
	Aliases []string
	// Default reports that this is the method used when the script names none. At most one
	// method per statement is the default.
	Default bool
	// Doc is a one-paragraph description for `help` and the manual.
	Doc string
	// Args are the method's arguments, positional ones first in their order.
	Args []ArgSpec
	// Granularities lists the structures the method can act on (elements, filters,
	// channels, rows, cols, kernels, blocks, layers, rows_cols, channels_layers). The first
	// one is the default. Empty means the method takes no granularity.
	Granularities []string
	// Rankings lists the names accepted after `by` when the granularity is not elements.
	// The first one is the default. Empty means `by` is not allowed.
	Rankings []string
	// Windows lists the window forms the method accepts. Empty means every form.
	Windows []WindowForm
	// DefaultWindow is the window used when the script writes none, in .dst syntax
	// ("from epoch 0", "after training"). Empty means a window is required.
	DefaultWindow string
	// NeedsEnd reports that the window must end (`to B`, or a run length known to the
	// checker), as AGP's schedule is defined over the whole window.
	NeedsEnd bool
	// Masks reports that the method sets masks on the parameters it selects; two mask-setting
	// policies may not hold the same parameter in overlapping windows.
	Masks bool
	// Thin reports that `then thin` may follow the method.
	Thin bool
	// Overrides reports that the statement may carry a `{ override SELECTOR ARGS }` block.
	Overrides bool
	// OverrideArgs, when set, lists the only arguments an override line may give (a
	// quantization-aware training run has one bit width, so its override lines may only
	// say float); a flag among them must be set, not turned off. Empty means any
	// argument of the method.
	OverrideArgs []string
	// PreparesModel reports that the method prepares the whole model before training
	// and acts on it to the end of the run (quantization-aware training replaces every
	// ReLU by a quantized activation and re-quantizes the weights after every
	// mini-batch, Distiller's prepare_model): its window must be `from epoch 0`, with
	// no `to` and no `every`, and a script may hold only one policy of such methods.
	PreparesModel bool
	// Exclusive reports that two policies of this statement (any method) may not be active
	// on the same parameter, or for lr and distill at all, in overlapping windows.
	Exclusive bool
}

// Arg returns the argument called name, or nil.
func (s *Signature) Arg(name string) *ArgSpec {
	for i := range s.Args {
		if s.Args[i].Name == name {
			return &s.Args[i]
		}
	}
	return nil
}

// Builtins is a table of signatures, keyed by statement and method. The zero value is an
// empty table; build one with [NewBuiltins]. A Builtins is not modified by the checker and
// is safe for concurrent readers once built.
type Builtins struct {
	sigs  []*Signature
	index map[string]*Signature // statement + " " + method or alias
}

// NewBuiltins builds a table from sigs. It returns an error when two signatures share a
// statement and method (or alias), when a statement has two default methods, or when an
// argument is malformed (an enum without values, a default of the wrong type).
func NewBuiltins(sigs ...Signature) (*Builtins, error) {
	b := &Builtins{index: make(map[string]*Signature)}
	for i := range sigs {
		if err := b.Add(sigs[i]); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// MustBuiltins is like [NewBuiltins] but panics on error. It is meant for tables written
// in Go source, built once.
func MustBuiltins(sigs ...Signature) *Builtins {
	b, err := NewBuiltins(sigs...)
	if err != nil {
		panic(err)
	}
	return b
}

// Add adds a copy of s to the table. A host uses it to register its own methods.
func (b *Builtins) Add(s Signature) error {
	if b.index == nil {
		b.index = make(map[string]*Signature)
	}
	if !isStatement(s.Statement) {
		return fmt.Errorf("lang: signature %s %s: unknown statement %q", s.Statement, s.Method, s.Statement)
	}
	if s.Method == "" {
		return fmt.Errorf("lang: signature for %s has no method name", s.Statement)
	}
	for _, name := range append([]string{s.Method}, s.Aliases...) {
		if _, dup := b.index[s.Statement+" "+name]; dup {
			return fmt.Errorf("lang: signature %s %s: %s is defined twice", s.Statement, s.Method, name)
		}
	}
	if s.Default {
		if d := b.DefaultMethod(s.Statement); d != nil {
			return fmt.Errorf("lang: signature %s %s: %s already has the default method %s", s.Statement, s.Method, s.Statement, d.Method)
		}
	}
	seen := map[string]bool{}
	for _, a := range s.Args {
		if a.Name == "" || seen[a.Name] {
			return fmt.Errorf("lang: signature %s %s: argument name %q empty or repeated", s.Statement, s.Method, a.Name)
		}
		seen[a.Name] = true
		if a.Type == TypeEnum && len(a.Enum) == 0 {
			return fmt.Errorf("lang: signature %s %s: enum argument %s has no values", s.Statement, s.Method, a.Name)
		}
		if a.Default != "" {
			if _, err := parseDefault(a); err != nil {
				return fmt.Errorf("lang: signature %s %s: argument %s: default %q: %v", s.Statement, s.Method, a.Name, a.Default, err)
			}
		}
	}
	for _, name := range s.OverrideArgs {
		if !seen[name] {
			return fmt.Errorf("lang: signature %s %s: override argument %q is not an argument of the method", s.Statement, s.Method, name)
		}
	}
	if s.DefaultWindow != "" {
		if _, err := parseWindowText(s.DefaultWindow); err != nil {
			return fmt.Errorf("lang: signature %s %s: default window %q: %v", s.Statement, s.Method, s.DefaultWindow, err)
		}
	}
	c := s
	c.Args = append([]ArgSpec(nil), s.Args...)
	c.OverrideArgs = append([]string(nil), s.OverrideArgs...)
	b.sigs = append(b.sigs, &c)
	for _, name := range append([]string{s.Method}, s.Aliases...) {
		b.index[s.Statement+" "+name] = &c
	}
	return nil
}

// Lookup returns the signature of statement's method (or alias) name, or nil.
func (b *Builtins) Lookup(statement, method string) *Signature {
	if b == nil || b.index == nil {
		return nil
	}
	return b.index[statement+" "+method]
}

// DefaultMethod returns statement's default method, or nil.
func (b *Builtins) DefaultMethod(statement string) *Signature {
	if b == nil {
		return nil
	}
	for _, s := range b.sigs {
		if s.Statement == statement && s.Default {
			return s
		}
	}
	return nil
}

// Methods returns the method names (not aliases) of statement, sorted.
func (b *Builtins) Methods(statement string) []string {
	if b == nil {
		return nil
	}
	var out []string
	for _, s := range b.sigs {
		if s.Statement == statement {
			out = append(out, s.Method)
		}
	}
	sort.Strings(out)
	return out
}

// All returns every signature in the order they were added. The signatures must not be
// modified.
func (b *Builtins) All() []*Signature {
	if b == nil {
		return nil
	}
	return append([]*Signature(nil), b.sigs...)
}

// statementKeywords lists the statement keywords that take a method, in manual order.
var statementKeywords = []string{"prune", "regularize", "quantize", "lr", "distill", "thin"}

func isStatement(s string) bool {
	for _, k := range statementKeywords {
		if k == s {
			return true
		}
	}
	return false
}

// ParamInfo describes one parameter of the model a script is checked against.
type ParamInfo struct {
	// Name is the dotted parameter name ("conv1.weight", "layer1.0.conv2.weight").
	Name string
	// Shape is the parameter's shape, outermost dimension first.
	Shape []int
	// Kind is weight, bias, norm_weight, norm_bias or other.
	Kind string
	// Layer is the dotted name of the owning layer ("conv1"). Empty means the name without
	// its last component.
	Layer string
}

// layer returns p's layer name, derived from Name when Layer is empty.
func (p *ParamInfo) layer() string {
	if p.Layer != "" {
		return p.Layer
	}
	for i := len(p.Name) - 1; i >= 0; i-- {
		if p.Name[i] == '.' {
			return p.Name[:i]
		}
	}
	return ""
}

var granularities = []string{"elements", "filters", "channels", "rows", "cols", "kernels", "blocks", "layers", "rows_cols", "channels_layers"}

// Granularities returns every granularity name the language knows, in manual order.
func Granularities() []string { return append([]string(nil), granularities...) }

func isGranularity(s string) bool {
	for _, g := range granularities {
		if g == s {
			return true
		}
	}
	return false
}
