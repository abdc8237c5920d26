package lang

import "strings"

// HeaderModel returns the model a script's leading comments name, in a line
// "# model: NAME" (as the examples carry, and "# Model: NAME …" as dst import writes),
// or "" when they name none; the header ends at the first statement. The name is not
// checked: the caller knows the models.
func HeaderModel(src []byte) string {
	for line := range strings.Lines(string(src)) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		rest, ok := strings.CutPrefix(line, "#")
		if !ok {
			return "" // the header ends at the first statement
		}
		rest = strings.TrimSpace(rest)
		if v, ok := strings.CutPrefix(rest, "model:"); ok {
			return headerName(v)
		}
		if v, ok := strings.CutPrefix(rest, "Model:"); ok {
			return headerName(v)
		}
	}
	return ""
}

// headerName is the first word of a "# model:" line's value, without trailing
// punctuation.
func headerName(v string) string {
	f := strings.Fields(v)
	if len(f) == 0 {
		return ""
	}
	return strings.TrimRight(f[0], ".,;")
}
