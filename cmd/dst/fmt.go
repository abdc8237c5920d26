package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/dst-dev/dst/internal/atomicfile"
	"github.com/dst-dev/dst/lang"
)

// FmtCmd formats .dst scripts in the canonical layout, like gofmt.
type FmtCmd struct {
	Files []string `arg:"" name:"file" help:"Scripts to format." placeholder:"FILE"`
	Write bool     `short:"w" help:"Write the result back to each file instead of to stdout."`
	List  bool     `short:"l" help:"List the files whose formatting differs from the canonical layout."`
	Diff  bool     `short:"d" help:"Print a unified diff of the changes instead of the result."`
}

// Run formats every file. Without flags the formatted scripts go to stdout. -w replaces
// a file keeping its permissions, and writes through a symbolic link to its target. A
// file with syntax errors is left untouched, its diagnostics go to stderr and the exit
// status is 1; an unreadable file is a usage error (status 2).
func (c *FmtCmd) Run(g *Globals) error {
	failed := 0
	for _, name := range c.Files {
		if err := g.Ctx.Err(); err != nil {
			return err
		}
		src, err := os.ReadFile(name)
		if err != nil {
			return usageError("%v", err)
		}
		out, diags := lang.Format(name, src)
		if diags.HasErrors() {
			dw := lang.NewDiagnosticWriter(g.Stderr, map[string][]byte{name: src}, diagWidth(g), isTerminal(g.Stderr) && os.Getenv("NO_COLOR") == "")
			if err := dw.WriteDiagnostics(diags.Errs()); err != nil {
				return err
			}
			failed++
			continue
		}
		changed := !bytes.Equal(src, out)
		if c.List && changed {
			fmt.Fprintln(g.Stdout, name)
		}
		if c.Diff && changed {
			writeUnifiedDiff(g.Stdout, name, src, out)
		}
		if c.Write && changed {
			// Through a symbolic link to its target: replacing the link with a regular
			// file would cut it off from the file it shares.
			target, err := filepath.EvalSymlinks(name)
			if err != nil {
				return usageError("%v", err)
			}
			if err := writeFileAtomic(target, out); err != nil {
				return err
			}
		}
		if !c.List && !c.Diff && !c.Write {
			if _, err := g.Stdout.Write(out); err != nil {
				return err
			}
		}
	}
	if failed > 0 {
		return exitCode(1, nil)
	}
	return nil
}

// writeFileAtomic replaces name with data, keeping the file's permissions (see
// atomicfile.Write).
func writeFileAtomic(name string, data []byte) error { return atomicfile.WriteFile(name, data) }

// splitLines splits text into lines, each without its newline.
func splitLines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

type diffOp struct {
	kind byte // ' ', '-', '+'
	line string
}

// lineDiff returns an edit script from a to b by longest common subsequence. Past
// 4M cells it gives up on alignment and replaces the whole file.
func lineDiff(a, b []string) []diffOp {
	n, m := len(a), len(b)
	if n*m > 4<<20 {
		var ops []diffOp
		for _, l := range a {
			ops = append(ops, diffOp{'-', l})
		}
		for _, l := range b {
			ops = append(ops, diffOp{'+', l})
		}
		return ops
	}
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []diffOp
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			ops = append(ops, diffOp{' ', a[i]})
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			ops = append(ops, diffOp{'-', a[i]})
			i++
		default:
			ops = append(ops, diffOp{'+', b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		ops = append(ops, diffOp{'-', a[i]})
	}
	for ; j < m; j++ {
		ops = append(ops, diffOp{'+', b[j]})
	}
	return ops
}

// writeUnifiedDiff writes a unified diff (three lines of context) of a → b.
func writeUnifiedDiff(w io.Writer, name string, a, b []byte) {
	ops := lineDiff(splitLines(a), splitLines(b))
	fmt.Fprintf(w, "--- %s\n+++ %s (formatted)\n", name, name)
	const context = 3
	// Line numbers before each op.
	aLine, bLine := make([]int, len(ops)+1), make([]int, len(ops)+1)
	for k, op := range ops {
		aLine[k+1], bLine[k+1] = aLine[k], bLine[k]
		if op.kind != '+' {
			aLine[k+1]++
		}
		if op.kind != '-' {
			bLine[k+1]++
		}
	}
	for k := 0; k < len(ops); {
		if ops[k].kind == ' ' {
			k++
			continue
		}
		start := max(0, k-context)
		end := k
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*context {
				end = min(end+context, len(ops))
				break
			}
			end = run
		}
		na, nb := aLine[end]-aLine[start], bLine[end]-bLine[start]
		fmt.Fprintf(w, "@@ -%d,%d +%d,%d @@\n", hunkStart(aLine[start], na), na, hunkStart(bLine[start], nb), nb)
		for _, op := range ops[start:end] {
			fmt.Fprintf(w, "%c%s\n", op.kind, op.line)
		}
		k = end
	}
}

// hunkStart is the 1-based first line of a hunk, or the line before an empty one.
func hunkStart(before, n int) int {
	if n == 0 {
		return before
	}
	return before + 1
}
