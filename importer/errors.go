package importer

import (
	"fmt"
	"strings"
)

// Error is a problem in a Distiller YAML file, at a position of that file.
type Error struct {
	// Filename is the YAML file's name as given to [Convert].
	Filename string
	// Line and Column are 1-based; 0 means the position is unknown (the error concerns
	// the whole file).
	Line, Column int
	// Msg says what is wrong and names the construct: the section, the component or
	// policy, the key.
	Msg string
	// Gap names the Distiller construct dst's language cannot express when that is the
	// reason for the error ("per-activation quantizer override"); it is empty when the
	// file itself is wrong (an unknown key, a duplicate key, a bad value).
	Gap string
}

// Error formats e as file:line:col: message.
func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.Filename, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.Filename, e.Line, e.Column, e.Msg)
}

// ErrorList is every error found in one file, in file order. Its Error method reads
// "first, and N more", so it travels as an error; callers type-assert to get them all.
type ErrorList []*Error

// Error returns the first error and how many more there are.
func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "importer: no errors"
	case 1:
		return l[0].Error()
	}
	return fmt.Sprintf("%s (and %d more)", l[0].Error(), len(l)-1)
}

// Details returns every error, one per line.
func (l ErrorList) Details() string {
	var b strings.Builder
	for _, e := range l {
		b.WriteString(e.Error())
		b.WriteByte('\n')
	}
	return b.String()
}

// NotScheduleError reports a well-formed YAML file that is not a compression schedule:
// one of Distiller's AMC layer lists or an activation-statistics file.
type NotScheduleError struct {
	// Filename is the YAML file's name.
	Filename string
	// Kind is [KindAMC] or [KindStats].
	Kind FileKind
}

// Error says what the file is instead of a schedule.
func (e *NotScheduleError) Error() string {
	return fmt.Sprintf("%s: not a compression schedule: %s", e.Filename, e.Kind.Describe())
}

// FileKind classifies a Distiller YAML file.
type FileKind int

// The kinds of Distiller YAML file.
const (
	// KindSchedule is a compression schedule or quantizer configuration (any of version,
	// pruners, regularizers, quantizers, lr_schedulers, extensions, policies).
	KindSchedule FileKind = iota
	// KindAMC is an AMC layer-list configuration (top-level key network).
	KindAMC
	// KindStats is an activation-statistics file for post-training quantization
	// (module name -> inputs/output -> min, max, avg_min, ...).
	KindStats
	// KindUnknown is YAML that is none of the above.
	KindUnknown
)

// Describe returns a phrase naming the kind for messages and the compatibility report.
func (k FileKind) Describe() string {
	switch k {
	case KindSchedule:
		return "compression schedule"
	case KindAMC:
		return "AMC layer-list configuration (top-level key network:), read by Distiller's amc.py, not by the scheduler"
	case KindStats:
		return "activation statistics for post-training quantization (use it with quantize linear stats=\"FILE\")"
	}
	return "not a Distiller file"
}
