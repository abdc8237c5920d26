package lang

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// DiagnosticWriter prints diagnostics for people: a `file:line:col: severity: summary`
// header (first on the line, so editors can jump to it), the source line with the subject
// underlined, the detail wrapped to the width, and a `file:line:col: note:` line for each
// related location. Colour (ANSI) is used only when enabled; callers enable it only for
// terminals. The writer keeps no state between calls other than its configuration.
type DiagnosticWriter struct {
	w     io.Writer
	files map[string][]byte
	width int
	color bool
}

// NewDiagnosticWriter returns a writer that prints to w. files maps filenames to their
// source, for the snippets (a file missing from it is printed without snippet). width is
// the wrap width for details; 0 means 80.
func NewDiagnosticWriter(w io.Writer, files map[string][]byte, width uint, color bool) *DiagnosticWriter {
	if width == 0 {
		width = 80
	}
	return &DiagnosticWriter{w: w, files: files, width: int(width), color: color}
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[1;31m"
	ansiYellow = "\x1b[1;33m"
	ansiCyan   = "\x1b[1;36m"
)

func (dw *DiagnosticWriter) paint(code, s string) string {
	if !dw.color {
		return s
	}
	return code + s + ansiReset
}

// WriteDiagnostics sorts ds, drops duplicates and prints every entry, followed by a
// summary line ("2 errors, 1 warning") when ds is not empty.
func (dw *DiagnosticWriter) WriteDiagnostics(ds Diagnostics) error {
	sorted := append(Diagnostics(nil), ds...).Sort()
	for _, d := range sorted {
		if err := dw.WriteDiagnostic(d); err != nil {
			return err
		}
	}
	if len(sorted) == 0 {
		return nil
	}
	errs, warns := 0, 0
	for _, d := range sorted {
		if d.Severity == Error {
			errs++
		} else {
			warns++
		}
	}
	var parts []string
	if errs > 0 {
		parts = append(parts, plural(errs, "error"))
	}
	if warns > 0 {
		parts = append(parts, plural(warns, "warning"))
	}
	_, err := fmt.Fprintln(dw.w, strings.Join(parts, ", "))
	return err
}

func plural(n int, s string) string {
	if n == 1 {
		return "1 " + s
	}
	return fmt.Sprintf("%d %ss", n, s)
}

// WriteDiagnostic prints one diagnostic.
func (dw *DiagnosticWriter) WriteDiagnostic(d *Diagnostic) error {
	var b bytes.Buffer
	sev := dw.paint(ansiRed, "error")
	if d.Severity == Warning {
		sev = dw.paint(ansiYellow, "warning")
	}
	if d.Subject != nil {
		b.WriteString(dw.paint(ansiBold, d.Subject.String()+":") + " ")
	}
	fmt.Fprintf(&b, "%s: %s\n", sev, dw.paint(ansiBold, d.Summary))
	if d.Subject != nil {
		dw.snippet(&b, *d.Subject)
	}
	if d.Detail != "" {
		for _, line := range wrap(d.Detail, dw.width-2) {
			b.WriteString("  " + line + "\n")
		}
	}
	for _, r := range d.Related {
		fmt.Fprintf(&b, "%s %s: %s\n", dw.paint(ansiBold, r.Range.String()+":"), dw.paint(ansiCyan, "note"), r.Message)
		dw.snippet(&b, r.Range)
	}
	_, err := dw.w.Write(b.Bytes())
	return err
}

// snippet writes the subject's first line with a gutter and an underline. Control
// characters and invalid UTF-8 are shown as spaces and '?' so the output stays one line.
func (dw *DiagnosticWriter) snippet(b *bytes.Buffer, r Range) {
	src, ok := dw.files[r.Filename]
	if !ok || r.Start.Offset > len(src) || r.Start.Offset < 0 {
		return
	}
	lineStart := bytes.LastIndexByte(src[:r.Start.Offset], '\n') + 1
	lineEnd := bytes.IndexByte(src[r.Start.Offset:], '\n')
	if lineEnd < 0 {
		lineEnd = len(src)
	} else {
		lineEnd += r.Start.Offset
	}
	const maxLine = 200
	line := src[lineStart:lineEnd]
	startCol := r.Start.Offset - lineStart
	endCol := r.End.Offset - lineStart
	if r.End.Line != r.Start.Line || endCol > len(line) {
		endCol = len(line)
	}
	if endCol <= startCol {
		endCol = startCol + 1
	}
	// Keep long lines readable: show a window around the subject.
	cut := 0
	if len(line) > maxLine {
		cut = max(0, startCol-40)
		end := min(len(line), cut+maxLine)
		line = line[cut:end]
		startCol -= cut
		endCol = min(endCol-cut, len(line)+1)
	}
	shown, caretStart, caretLen := sanitizeLine(line, startCol, endCol)
	gutter := fmt.Sprintf("%5d | ", r.Start.Line)
	b.WriteString(gutter + shown + "\n")
	b.WriteString(strings.Repeat(" ", 6) + "| " + strings.Repeat(" ", caretStart) + dw.paint(ansiRed, strings.Repeat("^", max(caretLen, 1))) + "\n")
}

// sanitizeLine makes line printable and converts byte columns to display columns.
func sanitizeLine(line []byte, startByte, endByte int) (string, int, int) {
	var out strings.Builder
	caretStart, caretEnd := -1, -1
	col := 0
	for i := 0; i < len(line); {
		if i == startByte {
			caretStart = col
		}
		if i == endByte {
			caretEnd = col
		}
		r, size := utf8.DecodeRune(line[i:])
		if r == '\ufeff' { // a byte-order mark takes no column
			i += size
			continue
		}
		switch {
		case r == utf8.RuneError && size <= 1:
			out.WriteByte('?')
		case r == '\t':
			out.WriteByte(' ')
		case r < 0x20 || r == 0x7f:
			out.WriteByte(' ')
		default:
			out.WriteRune(r)
		}
		col++
		i += size
	}
	if caretStart < 0 {
		caretStart = col
	}
	if caretEnd < 0 {
		caretEnd = col
	}
	if caretEnd <= caretStart {
		caretEnd = caretStart + 1
	}
	return out.String(), caretStart, caretEnd - caretStart
}

// wrap breaks text into lines of at most width runes, at spaces.
func wrap(text string, width int) []string {
	if width < 20 {
		width = 20
	}
	var lines []string
	for _, para := range strings.Split(text, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			switch {
			case line == "":
				line = word
			case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > width:
				lines = append(lines, line)
				line = word
			default:
				line += " " + word
			}
		}
		lines = append(lines, line)
	}
	return lines
}

// jsonPos and the types below are the JSON form of diagnostics.
type jsonPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Offset int `json:"offset"`
}

type jsonRange struct {
	File  string  `json:"file"`
	Start jsonPos `json:"start"`
	End   jsonPos `json:"end"`
}

type jsonRelated struct {
	Message string    `json:"message"`
	Range   jsonRange `json:"range"`
}

type jsonDiagnostic struct {
	Severity string        `json:"severity"`
	Summary  string        `json:"summary"`
	Detail   string        `json:"detail,omitempty"`
	Range    *jsonRange    `json:"range,omitempty"`
	Related  []jsonRelated `json:"related,omitempty"`
}

func toJSONRange(r Range) jsonRange {
	return jsonRange{
		File:  r.Filename,
		Start: jsonPos{Line: r.Start.Line, Column: r.Start.Column, Offset: r.Start.Offset},
		End:   jsonPos{Line: r.End.Line, Column: r.End.Column, Offset: r.End.Offset},
	}
}

// WriteJSON writes ds, sorted and without duplicates, as one JSON array for editors and
// CI: each element has severity, summary, detail, range {file, start, end} with 1-based
// line and byte column and 0-based offset (end exclusive), and related locations. An
// empty list is written as [].
func WriteJSON(w io.Writer, ds Diagnostics) error {
	sorted := append(Diagnostics(nil), ds...).Sort()
	out := make([]jsonDiagnostic, 0, len(sorted))
	for _, d := range sorted {
		jd := jsonDiagnostic{Severity: d.Severity.String(), Summary: d.Summary, Detail: d.Detail}
		if d.Subject != nil {
			r := toJSONRange(*d.Subject)
			jd.Range = &r
		}
		for _, rel := range d.Related {
			jd.Related = append(jd.Related, jsonRelated{Message: rel.Message, Range: toJSONRange(rel.Range)})
		}
		out = append(out, jd)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
