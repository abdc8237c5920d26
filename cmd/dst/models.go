package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/nn"
)

// ModelsCmd lists the model zoo.
type ModelsCmd struct{}

// Run prints one line per model: name, parameter count, input shape, description.
func (c *ModelsCmd) Run(g *Globals) error {
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tPARAMETERS\tINPUT\tDESCRIPTION")
	for _, m := range nn.Models() {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", m.Name, thousands(int64(m.Params)), m.Input, m.Description)
	}
	return tw.Flush()
}

// modelParams returns the parameter table of a zoo model, for the checker.
func modelParams(name string) ([]lang.ParamInfo, error) {
	m, err := nn.New(name, 0)
	if err != nil {
		return nil, usageError("%v", err)
	}
	return paramTable(m), nil
}

// paramTable converts a model's parameters to the checker's table.
func paramTable(m *nn.Model) []lang.ParamInfo {
	ps := m.Params()
	out := make([]lang.ParamInfo, len(ps))
	for i, p := range ps {
		out[i] = lang.ParamInfo{Name: p.Name, Shape: p.Shape(), Kind: p.Kind.String(), Layer: p.Layer}
	}
	return out
}

// thousands formats n with comma separators: 2293000 → "2,293,000".
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// scheduleModel returns the model to run or check a schedule against when --model is not
// given: the one its header names, or def when it names none. A header naming no zoo
// model is an error (with the nearest name): running another model than the one the
// script was written for would only fail later, or silently train the wrong network.
func scheduleModel(file string, src []byte, def string) (string, error) {
	name := lang.HeaderModel(src)
	if name == "" {
		return def, nil
	}
	if _, err := nn.New(name, 0); err != nil {
		return "", fmt.Errorf("%s: its '# model:' header names a model that is not in the zoo: %s (give --model to override the header)",
			file, strings.TrimPrefix(err.Error(), "nn: "))
	}
	return name, nil
}
