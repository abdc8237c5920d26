package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/dst-dev/dst/analysis"
	"github.com/dst-dev/dst/nn"
)

// SummaryCmd prints a model's compute and size summary.
type SummaryCmd struct {
	Model      string `help:"Model from the zoo (default: the one the checkpoint names)." placeholder:"NAME"`
	Checkpoint string `help:"Checkpoint file (.safetensors) whose sparsity and thinned shapes to count." type:"existingfile" placeholder:"FILE"`
	JSON       bool   `name:"json" help:"Print the summary as JSON."`
}

// Run prints one row per Conv2d, Linear and BatchNorm2d layer and the totals.
func (c *SummaryCmd) Run(g *Globals) error {
	var (
		m   *nn.Model
		err error
	)
	switch {
	case c.Checkpoint != "":
		m, err = loadModel(c.Model, c.Checkpoint)
	case c.Model != "":
		m, err = nn.New(c.Model, 0)
		if err != nil {
			err = usageError("%v", err)
		}
	default:
		err = usageError("give --model NAME or --checkpoint FILE")
	}
	if err != nil {
		return err
	}
	s, err := analysis.Summarize(m)
	if err != nil {
		return err
	}
	// The zoo model's dense MACs, to show what thinning removed.
	var zooMACs int64
	if z, err := nn.New(m.Name, 0); err == nil {
		if zs, err := analysis.Summarize(z); err == nil {
			zooMACs = zs.Total.MACs
		}
	}
	if c.JSON {
		b, err := json.MarshalIndent(struct {
			*analysis.Summary
			ZooMACs int64 `json:"zoo_macs"`
		}{s, zooMACs}, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(g.Stdout, "%s\n", b)
		return err
	}
	return writeSummary(g, s, zooMACs)
}

// writeSummary prints the summary as an aligned table followed by the totals.
func writeSummary(g *Globals, s *analysis.Summary, zooMACs int64) error {
	// Numbers align right; names and types are padded so that they read left-aligned.
	nameW, typeW := len("NAME"), len("TYPE")
	for _, l := range s.Layers {
		nameW, typeW = max(nameW, len(l.Name)), max(typeW, len(l.Type))
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\t%-*s\tATTRS\tIFM\tOFM\tPARAMS\tNNZ\tMACS\tSPARSE MACS\tDENSE\tSPARSE\t\n", nameW, "NAME", typeW, "TYPE")
	row := func(l analysis.LayerSummary) {
		fmt.Fprintf(tw, "%-*s\t%-*s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", nameW, l.Name, typeW, l.Type, l.Attrs,
			shape(l.InShape), shape(l.OutShape), thousands(int64(l.Params)), thousands(int64(l.NNZ)),
			thousands(l.MACs), thousands(l.SparseMACs), byteSize(l.DenseBytes), byteSize(l.SparseBytes))
	}
	for _, l := range s.Layers {
		row(l)
	}
	row(s.Total)
	if err := tw.Flush(); err != nil {
		return err
	}
	t := s.Total
	fmt.Fprintf(g.Stdout, "\nModel: %s (input %s)\n", s.Model, shape(s.Input))
	fmt.Fprintf(g.Stdout, "Total MACs: %s\n", thousands(t.MACs))
	fmt.Fprintf(g.Stdout, "MACs left after sparsity: %s (%s of dense)\n", thousands(t.SparseMACs), percent(t.SparseMACs, t.MACs))
	switch {
	case zooMACs > 0 && t.MACs < zooMACs:
		fmt.Fprintf(g.Stdout, "MACs of the unthinned zoo model: %s (thinning left %s)\n", thousands(zooMACs), percent(t.MACs, zooMACs))
	case zooMACs > 0 && t.MACs > zooMACs:
		fmt.Fprintf(g.Stdout, "MACs of the zoo model: %s (widening made them %s)\n", thousands(zooMACs), percent(t.MACs, zooMACs))
	}
	fmt.Fprintf(g.Stdout, "Weights (no biases or BatchNorm): %s, %s non-zero (%s)\n", thousands(int64(t.Weights)), thousands(int64(t.WeightNNZ)), percent(int64(t.WeightNNZ), int64(t.Weights)))
	fmt.Fprintf(g.Stdout, "All parameters: %s\n", thousands(int64(t.Params)))
	_, err := fmt.Fprintf(g.Stdout, "Parameter memory: %s dense, %s with CSR weights\n", byteSize(t.DenseBytes), byteSize(t.SparseBytes))
	return err
}

// shape formats a shape as 1×20×24×24, or "-" when unknown.
func shape(s []int) string {
	if len(s) == 0 {
		return "-"
	}
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, "×")
}

// percent formats a/b as a percentage with two decimals ("-" when b is 0).
func percent(a, b int64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f%%", 100*float64(a)/float64(b))
}

// byteSize formats n bytes in B, KiB or MiB.
func byteSize(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%.2f MiB", float64(n)/(1024*1024))
}
