package analysis

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dst-dev/dst/internal/atomicfile"
)

// partVersion is the version of the part file format.
const partVersion = 1

// PartName returns the file name of shard i of n: "sensitivity.part-0002-of-0004.json".
// The names of one sweep's shards sort in shard order.
func PartName(i, n int) string {
	return fmt.Sprintf("sensitivity.part-%04d-of-%04d.json", i, n)
}

// maxShards bounds the shard count a part may claim.
const maxShards = 1 << 16

// partGlob matches every part file name in a folder.
const partGlob = "sensitivity.part-*-of-*.json"

// Part is what one shard of a sensitivity sweep produces. Its JSON form is the part
// file; floats are written as strings with every digit (NaN included), so a merged
// sweep reproduces an unsharded one bit for bit.
type Part struct {
	// Version is the file format's version (1).
	Version int `json:"version"`
	// Model, Granularity, Levels, Params and Meta describe the whole sweep; they are the
	// same in every part of it.
	Model       string            `json:"model"`
	Granularity string            `json:"granularity"`
	Levels      []float64         `json:"levels"`
	Params      []string          `json:"params"`
	Meta        map[string]string `json:"meta,omitempty"`
	// Shard is this part's shard (0-based) of Shards.
	Shard  int `json:"shard"`
	Shards int `json:"shards"`
	// Points are the shard's evaluations, in increasing Index order.
	Points []PartPoint `json:"points"`
}

// PartPoint is one evaluation of a shard: Index is the point's position in the whole
// sweep (parameter-major: Params[Index / len(Levels)] at Levels[Index % len(Levels)]).
type PartPoint struct {
	// Index is the point's position in the whole sweep.
	Index int `json:"index"`
	// Top1 and Top5 are the accuracies in percent and Loss the mean cross-entropy of
	// the model with the point's parameter pruned to the point's level.
	Top1 jfloat `json:"top1"`
	Top5 jfloat `json:"top5"`
	Loss jfloat `json:"loss"`
}

// jfloat is a float64 that JSON carries as a string of its shortest exact decimal form,
// so NaN and ±Inf survive.
type jfloat float64

// MarshalJSON implements [json.Marshaler].
func (f jfloat) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, strconv.FormatFloat(float64(f), 'g', -1, 64)), nil
}

// UnmarshalJSON implements [json.Unmarshaler].
func (f *jfloat) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) { // out of range is ±Inf, which readers refuse by field
		return fmt.Errorf("%q is not a number", s)
	}
	*f = jfloat(v)
	return nil
}

// WritePart writes p as JSON to path, through a temporary file renamed into place so a
// reader never sees half a part.
func WritePart(path string, p *Part) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("analysis: write part %s: %w", path, err)
	}
	return writeFileAtomic(path, append(b, '\n'))
}

// ReadPart reads a part file.
func ReadPart(path string) (*Part, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("analysis: %w", err)
	}
	p := new(Part)
	if err := json.Unmarshal(b, p); err != nil {
		return nil, fmt.Errorf("analysis: part %s: %w", path, err)
	}
	if p.Version != partVersion {
		return nil, fmt.Errorf("analysis: part %s: format version %d, want %d", path, p.Version, partVersion)
	}
	if err := p.check(filepath.Base(path)); err != nil {
		return nil, fmt.Errorf("analysis: part %s: %w", path, err)
	}
	return p, nil
}

// check reports what in a part read from the file named base no sweep writes: levels
// outside [0, 1) or repeated, no or repeated parameters, a shard other than the one
// the file's name claims, and figures that are not finite or out of range (accuracies
// outside [0, 100] or a top-5 below the top-1, a negative loss).
func (p *Part) check(base string) error {
	for i, l := range p.Levels {
		if !(l >= 0 && l < 1) {
			return fmt.Errorf("levels[%d] is %v; want a sparsity in [0, 1)", i, l)
		}
		if j := slices.Index(p.Levels, l); j < i {
			return fmt.Errorf("levels[%d] repeats levels[%d] (%v)", i, j, l)
		}
	}
	for i, name := range p.Params {
		if name == "" {
			return fmt.Errorf("params[%d] is empty; want a parameter name", i)
		}
		if j := slices.Index(p.Params, name); j < i {
			return fmt.Errorf("params[%d] repeats params[%d] (%s)", i, j, name)
		}
	}
	var i, n int
	if _, err := fmt.Sscanf(base, "sensitivity.part-%d-of-%d.json", &i, &n); err == nil && base == PartName(i, n) && (i != p.Shard || n != p.Shards) {
		return fmt.Errorf("shard %d of %d, but the file name says shard %d of %d", p.Shard, p.Shards, i, n)
	}
	for k, pt := range p.Points {
		for _, f := range []struct {
			name    string
			v       jfloat
			lo, hi  float64
			wantErr string
		}{
			{"top1", pt.Top1, 0, 100, "an accuracy in [0, 100] (%)"},
			{"top5", pt.Top5, float64(pt.Top1), 100, "an accuracy in [top1, 100] (%)"},
			{"loss", pt.Loss, 0, math.MaxFloat64, "a finite loss >= 0"},
		} {
			if v := float64(f.v); !(v >= f.lo && v <= f.hi) {
				return fmt.Errorf("points[%d] (index %d): %s is %v; want %s", k, pt.Index, f.name, v, f.wantErr)
			}
		}
	}
	return nil
}

// FindParts returns the part files named by paths: a file is taken as it is, a folder
// contributes every file matching sensitivity.part-*-of-*.json. The result is sorted.
func FindParts(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("analysis: %w", err)
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		m, err := filepath.Glob(filepath.Join(p, partGlob))
		if err != nil {
			return nil, fmt.Errorf("analysis: %w", err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("analysis: %s holds no part file (%s)", p, partGlob)
		}
		out = append(out, m...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Merge joins the parts of one sweep into its [Result]. The parts must describe the same
// sweep (model, granularity, levels, parameters, metadata and shard count), and together
// hold every shard exactly once, each with exactly its own points. names labels the
// parts in errors (file names; may be nil).
func Merge(parts []*Part, names []string) (*Result, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("analysis: merge: no parts")
	}
	label := func(i int) string {
		if i < len(names) {
			return names[i]
		}
		return fmt.Sprintf("part %d", i)
	}
	first := parts[0]
	if len(first.Levels) == 0 || len(first.Params) == 0 {
		return nil, fmt.Errorf("analysis: merge: %s describes an empty sweep", label(0))
	}
	total := len(first.Levels) * len(first.Params)
	if first.Shards < 1 || first.Shards > maxShards {
		return nil, fmt.Errorf("analysis: merge: %s claims %d shards (want 1 … %d)", label(0), first.Shards, maxShards)
	}
	seen := make([]int, first.Shards)
	for i := range seen {
		seen[i] = -1
	}
	vals := make([]*PartPoint, total)
	for i, p := range parts {
		if diff := sameSweep(first, p); diff != "" {
			return nil, fmt.Errorf("analysis: merge: %s and %s are parts of different sweeps (%s)", label(0), label(i), diff)
		}
		if p.Shard < 0 || p.Shard >= p.Shards {
			return nil, fmt.Errorf("analysis: merge: %s claims shard %d of %d", label(i), p.Shard, p.Shards)
		}
		if j := seen[p.Shard]; j >= 0 {
			return nil, fmt.Errorf("analysis: merge: shard %d of %d appears twice (%s and %s)", p.Shard, p.Shards, label(j), label(i))
		}
		seen[p.Shard] = i
		want := 0
		for j := p.Shard; j < total; j += p.Shards {
			want++
		}
		if len(p.Points) != want {
			return nil, fmt.Errorf("analysis: merge: %s (shard %d of %d) holds %d points, want %d; was the shard interrupted?", label(i), p.Shard, p.Shards, len(p.Points), want)
		}
		for k := range p.Points {
			pt := &p.Points[k]
			if pt.Index < 0 || pt.Index >= total || pt.Index%p.Shards != p.Shard || vals[pt.Index] != nil {
				return nil, fmt.Errorf("analysis: merge: %s holds point %d, which is not one of shard %d's", label(i), pt.Index, p.Shard)
			}
			vals[pt.Index] = pt
		}
	}
	var missing []string
	for s, j := range seen {
		if j < 0 {
			missing = append(missing, strconv.Itoa(s))
		}
	}
	switch {
	case len(missing) == 1:
		return nil, fmt.Errorf("analysis: merge: shard %s (of shards 0 to %d) is missing", missing[0], first.Shards-1)
	case len(missing) > 1:
		return nil, fmt.Errorf("analysis: merge: shards %s (of 0 to %d) are missing", strings.Join(missing, ", "), first.Shards-1)
	}
	r := &Result{
		Model: first.Model, Granularity: first.Granularity, Meta: first.Meta,
		Levels: slices.Clone(first.Levels), Params: slices.Clone(first.Params),
		Points: make([]Point, total),
	}
	for j, v := range vals {
		r.Points[j] = Point{
			Param: r.Params[j/len(r.Levels)], Sparsity: r.Levels[j%len(r.Levels)],
			Top1: float64(v.Top1), Top5: float64(v.Top5), Loss: float64(v.Loss),
		}
	}
	return r, nil
}

// sameSweep returns "" when a and b are parts of one sweep, else what differs.
func sameSweep(a, b *Part) string {
	switch {
	case a.Model != b.Model:
		return fmt.Sprintf("model %s vs %s", a.Model, b.Model)
	case a.Granularity != b.Granularity:
		return fmt.Sprintf("granularity %s vs %s", a.Granularity, b.Granularity)
	case !slices.Equal(a.Levels, b.Levels):
		return fmt.Sprintf("levels %v vs %v", a.Levels, b.Levels)
	case !slices.Equal(a.Params, b.Params):
		return fmt.Sprintf("parameters %v vs %v", a.Params, b.Params)
	case a.Shards != b.Shards:
		return fmt.Sprintf("%d vs %d shards", a.Shards, b.Shards)
	case !maps.Equal(a.Meta, b.Meta):
		for _, k := range slices.Sorted(maps.Keys(a.Meta)) {
			if a.Meta[k] != b.Meta[k] {
				return fmt.Sprintf("%s %q vs %q", k, a.Meta[k], b.Meta[k])
			}
		}
		for _, k := range slices.Sorted(maps.Keys(b.Meta)) {
			if _, ok := a.Meta[k]; !ok {
				return fmt.Sprintf("%s only in one", k)
			}
		}
	}
	return ""
}

// csvFloat formats v for the CSV: the shortest decimal that reads back as v.
func csvFloat(v float64) string {
	if math.IsNaN(v) {
		return "nan"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// WriteCSV writes the result as Distiller's sensitivity.csv: a header
// "parameter,sparsity,top1,top5,loss" and one line per point in report order.
func (r *Result) WriteCSV(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("parameter,sparsity,top1,top5,loss\n")
	for _, p := range r.Points {
		fmt.Fprintf(bw, "%s,%s,%s,%s,%s\n", p.Param, csvFloat(p.Sparsity), csvFloat(p.Top1), csvFloat(p.Top5), csvFloat(p.Loss))
	}
	return bw.Flush()
}

// ReadCSV reads a sensitivity CSV as [Result.WriteCSV] or Distiller write it: a header
// "parameter,sparsity,top1,top5,loss" (spaces allowed) and, for every parameter in turn,
// one line per level, every parameter with the same levels in the same order. The
// result has no model, granularity or metadata. Errors name the line.
func ReadCSV(r io.Reader) (*Result, error) {
	sc := bufio.NewScanner(r)
	res := &Result{}
	line := 0
	header := false
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		f := strings.Split(text, ",")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		if !header {
			if strings.Join(f, ",") != "parameter,sparsity,top1,top5,loss" {
				if !utf8.ValidString(text) || strings.ContainsFunc(text, func(r rune) bool { return unicode.IsControl(r) && r != '\t' }) {
					return nil, fmt.Errorf("analysis: sensitivity CSV line %d is not text (a binary file?); want the header parameter,sparsity,top1,top5,loss", line)
				}
				if r := []rune(text); len(r) > 80 {
					text = string(r[:80]) + "…"
				}
				return nil, fmt.Errorf("analysis: sensitivity CSV line %d: header %q, want parameter,sparsity,top1,top5,loss", line, text)
			}
			header = true
			continue
		}
		if len(f) != 5 {
			return nil, fmt.Errorf("analysis: sensitivity CSV line %d: %d fields, want 5", line, len(f))
		}
		var v [4]float64
		for i := range v {
			x, err := strconv.ParseFloat(f[i+1], 64)
			if err != nil {
				return nil, fmt.Errorf("analysis: sensitivity CSV line %d: %q is not a number", line, f[i+1])
			}
			v[i] = x
		}
		pt := Point{Param: f[0], Sparsity: v[0], Top1: v[1], Top5: v[2], Loss: v[3]}
		if len(res.Params) == 0 || res.Params[len(res.Params)-1] != pt.Param {
			if slices.Contains(res.Params, pt.Param) {
				return nil, fmt.Errorf("analysis: sensitivity CSV line %d: the lines of %s are not together", line, pt.Param)
			}
			if len(res.Params) == 1 {
				res.Levels = levelsOf(res.Points)
			}
			if len(res.Params) > 0 && !slices.Equal(levelsOf(res.Points[len(res.Points)-len(res.Levels):]), res.Levels) {
				return nil, fmt.Errorf("analysis: sensitivity CSV line %d: %s has other levels than %s", line, res.Params[len(res.Params)-1], res.Params[0])
			}
			res.Params = append(res.Params, pt.Param)
		}
		res.Points = append(res.Points, pt)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("analysis: sensitivity CSV: %w", err)
	}
	if len(res.Points) == 0 {
		return nil, fmt.Errorf("analysis: sensitivity CSV: no data")
	}
	if len(res.Params) == 1 {
		res.Levels = levelsOf(res.Points)
	}
	if n := len(res.Levels); len(res.Points) != n*len(res.Params) || !slices.Equal(levelsOf(res.Points[len(res.Points)-n:]), res.Levels) {
		return nil, fmt.Errorf("analysis: sensitivity CSV: %s has other levels than %s", res.Params[len(res.Params)-1], res.Params[0])
	}
	return res, nil
}

// levelsOf returns the sparsity of each point.
func levelsOf(pts []Point) []float64 {
	out := make([]float64, len(pts))
	for i, p := range pts {
		out[i] = p.Sparsity
	}
	return out
}

// WriteCSVFile writes the CSV to path atomically.
func (r *Result) WriteCSVFile(path string) error {
	var sb strings.Builder
	if err := r.WriteCSV(&sb); err != nil {
		return err
	}
	return writeFileAtomic(path, []byte(sb.String()))
}

// writeFileAtomic replaces path with b, so that readers see the old or the new file,
// never a partial one (see atomicfile.Write).
func writeFileAtomic(path string, b []byte) error {
	if err := atomicfile.WriteFile(path, b); err != nil {
		return fmt.Errorf("analysis: %w", err)
	}
	return nil
}
