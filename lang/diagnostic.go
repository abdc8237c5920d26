package lang

import (
	"fmt"
	"sort"

	"github.com/alecthomas/participle/v2/lexer"
)

// Pos is a position in a source file.
type Pos struct {
	// Offset is the 0-based byte offset.
	Offset int
	// Line is the 1-based line number.
	Line int
	// Column is the 1-based byte column within the line.
	Column int
}

func posOf(p lexer.Position) Pos { return Pos{Offset: p.Offset, Line: p.Line, Column: p.Column} }

// Range is a span of a source file: Start is inclusive, End exclusive.
type Range struct {
	// Filename is the name the file was parsed under.
	Filename string
	// Start is the first byte of the range.
	Start Pos
	// End is one past the last byte of the range.
	End Pos
}

// String renders the range as file:line:col.
func (r Range) String() string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

func rangeOf(start, end lexer.Position) Range {
	if end.Offset < start.Offset {
		end = start
	}
	return Range{Filename: start.Filename, Start: posOf(start), End: posOf(end)}
}

// Severity says whether a diagnostic stops a script from running.
type Severity int

const (
	// Error diagnostics make a script invalid.
	Error Severity = iota
	// Warning diagnostics point at likely mistakes; the script still runs.
	Warning
)

// String returns "error" or "warning".
func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Related is a secondary location attached to a diagnostic, such as the other policy of
// a conflict.
type Related struct {
	// Message says what is at Range ("the other policy is here").
	Message string
	// Range is the location.
	Range Range
}

// Diagnostic is one problem found in a script.
type Diagnostic struct {
	// Severity is Error or Warning.
	Severity Severity
	// Summary is a short, capitalised phrase without a final period ("Unknown method").
	Summary string
	// Detail is one or more full sentences saying what was found and what was expected.
	Detail string
	// Subject is the range the diagnostic is about; nil for file-level problems.
	Subject *Range
	// Context is an optional wider range (the whole statement) that contains Subject.
	Context *Range
	// Related lists other locations involved, in a stable order.
	Related []Related
}

// Error renders the diagnostic on one line: "file:line:col: summary: detail".
func (d *Diagnostic) Error() string {
	prefix := ""
	if d.Subject != nil {
		prefix = d.Subject.String() + ": "
	}
	if d.Severity == Warning {
		prefix += "warning: "
	}
	if d.Detail == "" {
		return prefix + d.Summary
	}
	return prefix + d.Summary + "; " + d.Detail
}

// Diagnostics is a list of diagnostics. It implements error, so a non-empty list can be
// returned as one; callers can type-assert to get every entry.
type Diagnostics []*Diagnostic

// HasErrors reports whether any diagnostic has severity Error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Errs returns only the diagnostics of severity Error.
func (ds Diagnostics) Errs() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == Error {
			out = append(out, d)
		}
	}
	return out
}

// Error renders the first diagnostic and says how many more there are:
// "a.dst:3:7: Unknown method; ..., and 2 more".
func (ds Diagnostics) Error() string {
	switch len(ds) {
	case 0:
		return "no diagnostics"
	case 1:
		return ds[0].Error()
	}
	return fmt.Sprintf("%s, and %d more", ds[0].Error(), len(ds)-1)
}

// Sort orders diagnostics by file, position, then severity and summary, and drops exact
// duplicates. It returns the sorted list.
func (ds Diagnostics) Sort() Diagnostics {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		ra, rb := a.Subject, b.Subject
		switch {
		case ra == nil && rb != nil:
			return true
		case ra != nil && rb == nil:
			return false
		case ra != nil && rb != nil:
			if ra.Filename != rb.Filename {
				return ra.Filename < rb.Filename
			}
			if ra.Start.Offset != rb.Start.Offset {
				return ra.Start.Offset < rb.Start.Offset
			}
		}
		return false
	})
	out := ds[:0]
	for i, d := range ds {
		if i > 0 && sameDiag(out[len(out)-1], d) {
			continue
		}
		out = append(out, d)
	}
	return out
}

func sameDiag(a, b *Diagnostic) bool {
	if a.Severity != b.Severity || a.Summary != b.Summary || a.Detail != b.Detail {
		return false
	}
	if (a.Subject == nil) != (b.Subject == nil) {
		return false
	}
	return a.Subject == nil || *a.Subject == *b.Subject
}

func errorAt(r Range, summary, detail string, args ...any) *Diagnostic {
	rr := r
	return &Diagnostic{Severity: Error, Summary: summary, Detail: fmt.Sprintf(detail, args...), Subject: &rr}
}

func warningAt(r Range, summary, detail string, args ...any) *Diagnostic {
	d := errorAt(r, summary, detail, args...)
	d.Severity = Warning
	return d
}
