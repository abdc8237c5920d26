package repl

import (
	"fmt"
	"io"
	"strings"

	"github.com/dst-dev/dst/lang"
)

// commandHelp is the one-line description of every command, in the order help lists them.
var commandHelp = [][2]string{
	{"params", "every parameter: shape, elements, non-zeros, sparsity, mask"},
	{"show NAME", "statistics and a text histogram of a parameter (or layer weight, or buffer)"},
	{"sparsity", "the sparsity table of the weights (Distiller's columns)"},
	{"summary", "per-layer shapes, parameters, MACs and memory"},
	{"eval [N batches]", "evaluate on the test set, or on its first N minibatches"},
	{"train N epochs|steps", "train under the live schedule; the epoch position carries over"},
	{"schedule", "the live schedule and the epoch position"},
	{"undo", "restore weights, masks, buffers and schedule to before the last change"},
	{"save FILE", "write a checkpoint (weights, masks, optimizer state, epoch) to a new file"},
	{"save! FILE", "write a checkpoint, replacing FILE if it exists (never the checkpoint the session read)"},
	{"load FILE", "read a checkpoint into the model"},
	{"help [statement|method]", "this list, or a statement's methods, or a method's arguments"},
	{":type EXPR", "the type the checker gives an expression, and its value"},
	{"exit", "leave (or Ctrl-D)"},
}

// commandNames are the words that start a command.
var commandNames = []string{"params", "show", "sparsity", "summary", "eval", "train", "schedule", "undo", "save", "save!", "load", "help", ":type", "exit", "quit"}

// statementNames are the statement keywords, in manual order.
var statementNames = []string{"let", "prune", "regularize", "quantize", "lr", "distill", "thin"}

// cmdHelp prints the command list, a statement's methods or a method's signature.
func (s *Session) cmdHelp(in *input, args []field) error {
	table, err := s.table()
	if err != nil {
		return s.failErr(in, "No builtins", err)
	}
	switch len(args) {
	case 0:
		s.printf("Commands:\n")
		for _, c := range commandHelp {
			s.printf("  %-26s %s\n", c[0], c[1])
		}
		s.printf("\nStatements (docs/language.md): %s.\n", strings.Join(statementNames, ", "))
		s.printf("A statement without a window runs now (prune fc1 level 50%%); with a window it joins the\nschedule that train follows. help STATEMENT lists its methods; help METHOD explains one.\n")
		return nil
	case 1, 2:
	default:
		return s.failAt(in, 0, len(in.text), "Usage", "help [statement [method]] or help method")
	}
	a := args[0]
	if len(args) == 2 {
		sig := table.Lookup(a.s, args[1].s)
		if sig == nil {
			return s.failAt(in, args[1].off, len(args[1].s), "Unknown method", "%s has no method %s; its methods are %s.", a.s, args[1].s, strings.Join(table.Methods(a.s), ", "))
		}
		writeSignature(s.out, sig)
		return nil
	}
	if a.s == "let" {
		s.printf("let NAME = EXPR\n\n  Binds NAME to a value (number, fraction, range, list or string) for every later\n  statement. :type NAME shows what the checker makes of it.\n")
		return nil
	}
	if ms := table.Methods(a.s); len(ms) > 0 {
		s.printf("%s methods (help %s METHOD for one):\n", a.s, a.s)
		for _, m := range ms {
			sig := table.Lookup(a.s, m)
			def := ""
			if sig.Default {
				def = " (default)"
			}
			s.printf("  %-14s %s%s\n", m, firstSentence(sig.Doc), def)
		}
		return nil
	}
	var found []*lang.Signature
	for _, sig := range table.All() {
		names := append([]string{sig.Method}, sig.Aliases...)
		for _, n := range names {
			if n == a.s {
				found = append(found, sig)
				break
			}
		}
	}
	if len(found) == 0 {
		for _, c := range commandHelp {
			if strings.Fields(c[0])[0] == a.s {
				s.printf("%s\n  %s\n", c[0], c[1])
				return nil
			}
		}
		var cands []string
		cands = append(cands, statementNames...)
		cands = append(cands, commandNames...)
		for _, sig := range table.All() {
			cands = append(cands, sig.Method)
		}
		detail := fmt.Sprintf("%s is not a command, statement or method.", a.s)
		if sug := nearest(a.s, cands); sug != "" {
			detail += fmt.Sprintf(" Did you mean %s?", sug)
		}
		return s.failAt(in, a.off, len(a.s), "No help", "%s", detail)
	}
	for i, sig := range found {
		if i > 0 {
			s.printf("\n")
		}
		writeSignature(s.out, sig)
	}
	return nil
}

// firstSentence returns the first sentence of a doc paragraph.
func firstSentence(doc string) string {
	if i := strings.Index(doc, ". "); i >= 0 {
		doc = doc[:i+1]
	}
	if r := []rune(doc); len(r) > 90 {
		doc = strings.TrimRight(string(r[:87]), " ") + "..."
	}
	return doc
}

// writeSignature prints a method's usage line, doc, arguments and windows.
func writeSignature(w io.Writer, sig *lang.Signature) {
	head := sig.Statement
	if sig.Statement == "prune" || sig.Statement == "regularize" || sig.Statement == "quantize" {
		head += " SELECTOR"
	}
	if sig.Statement == "distill" {
		head += " from TEACHER"
	}
	head += " " + sig.Method
	for _, a := range sig.Args {
		if a.Positional {
			head += " " + strings.ToUpper(a.Name)
		}
	}
	fmt.Fprintf(w, "%s\n", head)
	if len(sig.Aliases) > 0 {
		fmt.Fprintf(w, "  also written: %s\n", strings.Join(sig.Aliases, ", "))
	}
	fmt.Fprintf(w, "\n%s\n", indentWrap(sig.Doc, 2, 88))
	if len(sig.Args) > 0 {
		fmt.Fprintf(w, "\n  arguments:\n")
		for _, a := range sig.Args {
			var attrs []string
			attrs = append(attrs, a.Type.String())
			if a.Type == lang.TypeEnum {
				attrs[0] = "one of " + strings.Join(a.Enum, "|")
			}
			if a.Required {
				attrs = append(attrs, "required")
			}
			if a.Positional {
				attrs = append(attrs, "positional")
			}
			if a.Default != "" {
				attrs = append(attrs, "default "+a.Default)
			}
			fmt.Fprintf(w, "    %-20s %s\n", a.Name, strings.Join(attrs, ", "))
			if a.Doc != "" {
				fmt.Fprintf(w, "%s\n", indentWrap(a.Doc, 6, 88))
			}
		}
	}
	if len(sig.Granularities) > 0 {
		fmt.Fprintf(w, "\n  granularities: %s (default %s)\n", strings.Join(sig.Granularities, ", "), sig.Granularities[0])
	}
	if len(sig.Rankings) > 0 {
		fmt.Fprintf(w, "  rankings (by): %s\n", strings.Join(sig.Rankings, ", "))
	}
	var forms []string
	for _, f := range sig.Windows {
		forms = append(forms, string(f))
	}
	if len(forms) == 0 {
		forms = []string{"any"}
	}
	line := "  windows: " + strings.Join(forms, ", ")
	if sig.DefaultWindow != "" {
		line += " (default: " + sig.DefaultWindow + ")"
	}
	if sig.NeedsEnd {
		line += "; the window must end"
	}
	fmt.Fprintln(w, line)
}

// indentWrap wraps text to width with indent spaces before every line.
func indentWrap(text string, indent, width int) string {
	pad := strings.Repeat(" ", indent)
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && indent+len(line)+1+len(word) > width {
			lines = append(lines, pad+line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, pad+line)
	}
	return strings.Join(lines, "\n")
}

// probeTypes are the argument types :type tries, most specific first.
var probeTypes = []lang.ArgType{lang.TypeInteger, lang.TypeFraction, lang.TypeNumber, lang.TypeFractionRange,
	lang.TypeNumberRange, lang.TypeIntList, lang.TypeNumberList, lang.TypeString}

// probeTable has one lr method per probe type, taking one positional argument x.
func probeTable() *lang.Builtins {
	var sigs []lang.Signature
	for i, t := range probeTypes {
		sigs = append(sigs, lang.Signature{Statement: "lr", Method: fmt.Sprintf("probe%d", i),
			Args: []lang.ArgSpec{{Name: "x", Type: t, Required: true, Positional: true}}})
	}
	return lang.MustBuiltins(sigs...)
}

// cmdType prints the type the checker gives an expression, with its value. The
// expression is bound as `let _=EXPR` in place of `:type ` (same length, so
// diagnostics point into the input) and then given to probe methods of each type.
func (s *Session) cmdType(in *input, rest string, restOff int) error {
	if strings.TrimSpace(rest) == "" {
		return s.failAt(in, 0, len(in.text), "Usage", ":type EXPR")
	}
	lead := restOff - len(":type") // spaces before :type
	src := s.source(in, false)
	copy(src[in.off+lead:], "let _=")
	typ, v, diags := s.probe(src, "_")
	if diags != nil {
		return s.report(in.relevant(diags))
	}
	if typ == "" {
		return s.failAt(in, restOff, len(rest), "No type", "The expression is valid but fits none of the argument types (%s).", probeNames())
	}
	s.printf("%s = %s\n", typ, showValue(v))
	return nil
}

func probeNames() string {
	var n []string
	for _, t := range probeTypes {
		n = append(n, t.String())
	}
	return strings.Join(n, ", ")
}

// typeOf returns the type and value of a bound name.
func (s *Session) typeOf(name string, in *input) (string, lang.Value, bool) {
	typ, v, diags := s.probe(s.source(in, false), name)
	return typ, v, diags == nil && typ != ""
}

// probe checks src (which binds name) followed by `lr probeK name at epoch 0` for each
// probe type, and returns the first type that fits with its value. It returns the
// diagnostics when src itself has errors.
func (s *Session) probe(src []byte, name string) (string, lang.Value, lang.Diagnostics) {
	table := probeTable()
	if _, diags := lang.CheckSource(Filename, src, lang.Env{Builtins: table}); diags.HasErrors() {
		return "", lang.Value{}, diags
	}
	for i, t := range probeTypes {
		full := append(append([]byte(nil), src...), fmt.Sprintf("lr probe%d %s at epoch 0\n", i, name)...)
		prog, diags := lang.CheckSource(Filename, full, lang.Env{Builtins: table})
		if diags.HasErrors() || prog == nil || len(prog.Policies) == 0 {
			continue
		}
		return t.String(), prog.Policies[len(prog.Policies)-1].Args["x"], nil
	}
	return "", lang.Value{}, nil
}

// showValue renders a value, fractions also as a percentage.
func showValue(v lang.Value) string {
	switch v.Type {
	case lang.TypeFraction:
		return fmt.Sprintf("%s (%s%%)", v, trimFloat(v.Num*100))
	case lang.TypeFractionRange:
		return fmt.Sprintf("%s (%s%% -> %s%%)", v, trimFloat(v.From*100), trimFloat(v.To*100))
	}
	return v.String()
}

func trimFloat(x float64) string {
	s := fmt.Sprintf("%.6f", x)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// nearest is lang's "did you mean" (lang.Suggest), so every part of dst suggests
// names the same way.
func nearest(name string, cands []string) string { return lang.Suggest(name, cands) }
