package lang

import (
	"sort"
	"strings"
)

// Suggest returns the candidate closest to name, or "" when none is close enough to be
// a likely typo: the "did you mean" every dst diagnostic uses. Case and underscores are
// folded, the allowed edit distance grows with the name's length, and ties go to the
// candidate that sorts first. Tools built on lang (the REPL, the Distiller importer)
// call it so all of dst suggests names the same way.
func Suggest(name string, candidates []string) string { return suggest(name, candidates) }

// suggest returns the candidate closest to name, or "" when none is close enough. Case
// and underscores are folded before comparing; the allowed edit distance grows with the
// name's length (1 edit per 3 characters, at least 1), so short names only match near
// misses. Ties go to the candidate that sorts first, so the answer is deterministic.
func suggest(name string, candidates []string) string {
	best := nearest(name, candidates, 1)
	if len(best) == 0 {
		return ""
	}
	return best[0]
}

// nearest returns up to n candidates within the allowed distance of name, closest first.
func nearest(name string, candidates []string, n int) []string {
	type scored struct {
		s string
		d int
	}
	key := fold(name)
	limit := len(key) / 3
	if limit < 1 {
		limit = 1
	}
	var found []scored
	seen := map[string]bool{}
	for _, c := range candidates {
		if seen[c] || c == name {
			continue
		}
		seen[c] = true
		ck := fold(c)
		d := editDistance(key, ck, limit)
		if d <= limit || (len(key) >= 3 && strings.HasPrefix(ck, key)) {
			found = append(found, scored{c, d})
		}
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].d != found[j].d {
			return found[i].d < found[j].d
		}
		return found[i].s < found[j].s
	})
	var out []string
	for i := 0; i < len(found) && i < n; i++ {
		out = append(out, found[i].s)
	}
	return out
}

// closestNames returns the n candidates with the smallest edit distance to name, however
// far, closest first; it is used to list "nearest parameter names".
func closestNames(name string, candidates []string, n int) []string {
	type scored struct {
		s string
		d int
	}
	key := fold(name)
	all := make([]scored, 0, len(candidates))
	for _, c := range candidates {
		all = append(all, scored{c, editDistance(key, fold(c), 1<<30)})
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].d != all[j].d {
			return all[i].d < all[j].d
		}
		return all[i].s < all[j].s
	})
	var out []string
	for i := 0; i < len(all) && i < n; i++ {
		out = append(out, all[i].s)
	}
	return out
}

func fold(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "_", ""))
}

// editDistance is the optimal-string-alignment distance of a and b (Levenshtein plus
// transposition of adjacent characters), or a value > limit once it is certain to
// exceed limit.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	if len(a) > 256 || len(b) > 256 {
		if a == b {
			return 0
		}
		return limit + 1
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
