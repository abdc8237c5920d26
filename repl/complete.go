package repl

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dst-dev/dst/lang"
)

// clauseWords are the words that may follow a statement's selector besides methods,
// arguments and granularities.
var clauseWords = []string{"by", "then", "thin", "at", "from", "to", "every", "before", "after", "except",
	"epoch", "epochs", "step", "steps", "training", "bits", "override"}

// Complete returns completions for the word before byte offset pos of line, in the form
// liner's WordCompleter wants: the text before the word, the candidates (each the whole
// word), and the text after pos. The first word completes to commands and statement
// keywords; after save, save! and load, to file paths; after show, to parameter and buffer
// names; in a statement, to parameter names, the statement's methods and argument names,
// granularities and clause keywords; after help, to statements and methods.
func (s *Session) Complete(line string, pos int) (head string, completions []string, tail string) {
	pos = min(max(pos, 0), len(line))
	start := pos
	for start > 0 && !strings.ContainsRune(" \t[,=(", rune(line[start-1])) {
		start--
	}
	head, word, tail := line[:start], line[start:pos], line[pos:]
	fields := strings.Fields(head)
	var cands []string
	if len(fields) == 0 {
		cands = append(append([]string(nil), commandNames...), statementNames...)
		return head, filterPrefix(cands, word), tail
	}
	table, _ := s.table()
	switch first := fields[0]; first {
	case "save", "save!", "load":
		return head, completePath(word), tail
	case "show":
		return head, filterPrefix(s.names(), word), tail
	case "help":
		if len(fields) == 1 {
			cands = append(append(cands, statementNames...), commandNames...)
		}
		for _, sig := range table.All() {
			if len(fields) == 1 || sig.Statement == fields[1] {
				cands = append(cands, sig.Method)
			}
		}
	case "train":
		if len(fields) == 2 {
			cands = []string{"epochs", "steps"}
		}
	case "eval":
		if len(fields) == 2 {
			cands = []string{"batches"}
		}
	case "prune", "regularize", "quantize", "lr", "distill", "thin":
		for _, p := range s.m.Params() {
			cands = append(cands, p.Name, p.Layer)
		}
		methods := table.Methods(first)
		cands = append(cands, methods...)
		used := map[string]bool{}
		for _, f := range fields {
			used[f] = true
		}
		for _, m := range methods {
			sig := table.Lookup(first, m)
			if !used[m] && !(sig.Default && !anyUsed(used, methods)) {
				continue
			}
			for _, a := range sig.Args {
				cands = append(cands, a.Name)
				cands = append(cands, a.Enum...)
			}
			cands = append(cands, sig.Rankings...)
		}
		if first == "prune" || first == "regularize" {
			cands = append(cands, lang.Granularities()...)
		}
		cands = append(cands, clauseWords...)
	}
	return head, filterPrefix(cands, word), tail
}

func anyUsed(used map[string]bool, names []string) bool {
	for _, n := range names {
		if used[n] {
			return true
		}
	}
	return false
}

// filterPrefix returns the distinct candidates that start with prefix, sorted.
func filterPrefix(cands []string, prefix string) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range cands {
		if c != "" && strings.HasPrefix(c, prefix) && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

// completePath completes a file path; folders get a trailing slash.
func completePath(word string) []string {
	dir, base := filepath.Split(word)
	readDir := dir
	if readDir == "" {
		readDir = "."
	}
	if strings.HasPrefix(readDir, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			readDir = filepath.Join(home, readDir[2:])
		}
	}
	entries, err := os.ReadDir(readDir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, base) || (strings.HasPrefix(name, ".") && !strings.HasPrefix(base, ".")) {
			continue
		}
		if e.IsDir() {
			name += "/"
		}
		out = append(out, dir+name)
	}
	sort.Strings(out)
	return out
}
