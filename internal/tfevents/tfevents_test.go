package tfevents

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fixedClock returns a clock that starts at t0 and advances by one second per call.
func fixedClock(t0 time.Time) func() time.Time {
	var mu sync.Mutex
	t := t0
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		r := t
		t = t.Add(time.Second)
		return r
	}
}

// t0 is the fixed start time of the test writers.
var t0 = time.Unix(1_700_000_000, 500_000_000)

// newTestWriter creates a writer with a fixed clock in a fresh temporary directory.
func newTestWriter(t *testing.T) *Writer {
	t.Helper()
	w, err := create(t.TempDir(), fixedClock(t0))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// readAll decodes all events of path, failing the test on any error.
func readAll(t *testing.T, path string) []*Event {
	t.Helper()
	evs, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestCRC32C(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want uint32
	}{
		// Check values of CRC-32C (RFC 3720 B.4 and the usual "123456789").
		{"check", []byte("123456789"), 0xe3069283},
		{"32 zeros", make([]byte, 32), 0x8a9136aa},
		{"32 ones", bytes.Repeat([]byte{0xff}, 32), 0x62a8ab43},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := crc32.Checksum(tc.in, castagnoli)
			if got != tc.want {
				t.Fatalf("crc32c = %#08x, want %#08x", got, tc.want)
			}
			masked := ((tc.want>>15 | tc.want<<17) + 0xa282ead8)
			if m := maskedCRC(tc.in); m != masked {
				t.Fatalf("maskedCRC = %#08x, want %#08x", m, masked)
			}
		})
	}
}

func TestRecordFraming(t *testing.T) {
	data := []byte("hello")
	rec := appendRecord(nil, data)
	if len(rec) != 8+4+len(data)+4 {
		t.Fatalf("record length %d", len(rec))
	}
	want := []byte{5, 0, 0, 0, 0, 0, 0, 0}
	if !bytes.Equal(rec[:8], want) {
		t.Fatalf("length field % x, want % x", rec[:8], want)
	}
	got, err := readRecord(bytes.NewReader(rec), 0)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("readRecord = %q, %v", got, err)
	}
}

func TestRoundTrip(t *testing.T) {
	w := newTestWriter(t)
	if err := w.Scalar("loss", 0, 2.5); err != nil {
		t.Fatal(err)
	}
	if err := w.Scalar("Performance/Validation/Top1", 7, 98.76); err != nil {
		t.Fatal(err)
	}
	if err := w.Scalar("neg", -3, -1e-7); err != nil {
		t.Fatal(err)
	}
	if err := w.Histogram("weights/fc1.weight", 1<<40, []float32{-1, 0, 0.5, 0.5, 3}); err != nil {
		t.Fatal(err)
	}
	if err := w.Restart(12); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	h, err := NewHistogram([]float32{-1, 0, 0.5, 0.5, 3})
	if err != nil {
		t.Fatal(err)
	}
	wall := func(i int) float64 { return wallTime(t0.Add(time.Duration(i) * time.Second)) }
	want := []*Event{
		{WallTime: wall(0), FileVersion: FileVersion},
		{WallTime: wall(1), Values: []Value{{Tag: "loss", Simple: 2.5, HasSimple: true}}},
		{WallTime: wall(2), Step: 7, Values: []Value{{Tag: "Performance/Validation/Top1", Simple: 98.76, HasSimple: true}}},
		{WallTime: wall(3), Step: -3, Values: []Value{{Tag: "neg", Simple: -1e-7, HasSimple: true}}},
		{WallTime: wall(4), Step: 1 << 40, Values: []Value{{Tag: "weights/fc1.weight", Histo: h}}},
		{WallTime: wall(5), Step: 12, Start: true},
	}
	if diff := cmp.Diff(want, readAll(t, w.Path())); diff != "" {
		t.Fatalf("events differ (-want +got):\n%s", diff)
	}
	if h.Num != 5 || h.Min != -1 || h.Max != 3 || h.Sum != 3 || h.SumSquares != 1+0.25+0.25+9 {
		t.Fatalf("histogram stats %+v", h)
	}
}

func TestFileName(t *testing.T) {
	dir := t.TempDir()
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	clock := func() time.Time { return t0 }
	base := fmt.Sprintf("events.out.tfevents.%d.%s", t0.Unix(), host)
	for _, want := range []string{base, base + ".1", base + ".2"} {
		w, err := create(dir, clock)
		if err != nil {
			t.Fatal(err)
		}
		if got := filepath.Base(w.Path()); got != want {
			t.Errorf("file name %q, want %q", got, want)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if evs := readAll(t, w.Path()); len(evs) != 1 || evs[0].FileVersion != FileVersion {
			t.Errorf("%s: events %+v, want only the file version", want, evs)
		}
	}
}

func TestClosed(t *testing.T) {
	w := newTestWriter(t)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"Scalar":    w.Scalar("x", 0, 1),
		"Histogram": w.Histogram("x", 0, []float32{1}),
		"Restart":   w.Restart(1),
		"Flush":     w.Flush(),
		"Close":     w.Close(),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

func TestFlushMakesEventsVisible(t *testing.T) {
	w := newTestWriter(t)
	defer w.Close()
	if err := w.Scalar("a", 1, 1); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if evs := readAll(t, w.Path()); len(evs) != 2 || evs[1].Values[0].Tag != "a" {
		t.Fatalf("after Flush: %+v", evs)
	}
}

// writeSample writes a small file with every kind of event and returns its bytes.
func writeSample(t *testing.T) []byte {
	t.Helper()
	w := newTestWriter(t)
	if err := w.Scalar("s", 1, 0.25); err != nil {
		t.Fatal(err)
	}
	if err := w.Histogram("h", 2, []float32{-2, 0, 1}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeAll decodes every event in b and returns the first error, or nil at a clean end.
func decodeAll(b []byte) (int, error) {
	r := NewReader(bytes.NewReader(b))
	for n := 0; ; n++ {
		if _, err := r.Next(); err == io.EOF {
			return n, nil
		} else if err != nil {
			return n, err
		}
	}
}

func TestCorruptByteDetected(t *testing.T) {
	b := writeSample(t)
	if n, err := decodeAll(b); err != nil || n != 3 {
		t.Fatalf("clean file: %d events, %v", n, err)
	}
	// Every single-byte change anywhere in the file must fail a CRC check: CRC-32C
	// detects all burst errors up to 32 bits.
	for i := range b {
		for _, flip := range []byte{0x01, 0x80, 0xff} {
			c := bytes.Clone(b)
			c[i] ^= flip
			_, err := decodeAll(c)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("byte %d ^ %#02x: err = %v, want ErrCorrupt", i, flip, err)
			}
		}
	}
}

func TestTruncationDetected(t *testing.T) {
	b := writeSample(t)
	// Record boundaries, where a cut leaves a shorter but valid file.
	bounds := map[int]bool{0: true}
	for off := 0; off < len(b); {
		n := int(b[off]) | int(b[off+1])<<8 // records here are < 64 KiB
		off += n + 16
		bounds[off] = true
	}
	for cut := 0; cut < len(b); cut++ {
		_, err := decodeAll(b[:cut])
		if bounds[cut] {
			if err != nil {
				t.Errorf("cut at record boundary %d: %v", cut, err)
			}
			continue
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("cut at %d: err = %v, want ErrCorrupt", cut, err)
		}
	}
}

func TestErrorNamesOffset(t *testing.T) {
	b := writeSample(t)
	first := int(b[0]) + 16
	b[first+12] ^= 1 // first data byte of the second record
	_, err := decodeAll(b)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("offset %d", first)) {
		t.Fatalf("err = %v, want it to name offset %d", err, first)
	}
}

func TestBadEventPayload(t *testing.T) {
	// A well-framed record whose payload is not a valid Event.
	rec := appendRecord(nil, []byte{0x0a, 0x05, 'x'}) // field 1 as bytes, truncated
	_, err := NewReader(bytes.NewReader(rec)).Next()
	if err == nil || errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "offset 0") {
		t.Fatalf("err = %v, want a decoding error at offset 0", err)
	}
}

func TestDefaultLimits(t *testing.T) {
	n := len(defaultLimits)
	if n%2 != 1 || defaultLimits[n/2] != 0 {
		t.Fatalf("limits not symmetric around 0: n=%d mid=%v", n, defaultLimits[n/2])
	}
	if defaultLimits[n/2+1] != 1e-12 || defaultLimits[n-1] != math.MaxFloat64 || defaultLimits[0] != -math.MaxFloat64 {
		t.Fatalf("ends: %v %v %v", defaultLimits[0], defaultLimits[n/2+1], defaultLimits[n-1])
	}
	for i := 1; i < n; i++ {
		if defaultLimits[i] <= defaultLimits[i-1] {
			t.Fatalf("limits not increasing at %d", i)
		}
		if j := n - 1 - i; defaultLimits[j] != -defaultLimits[i] {
			t.Fatalf("limit %d is %v, limit %d is %v", i, defaultLimits[i], j, defaultLimits[j])
		}
	}
	if got := defaultLimits[n-2]; got >= 1e20 || got*1.1 < 1e20 {
		t.Fatalf("largest finite limit %v, want the last 1e-12·1.1^k below 1e20", got)
	}
}

func TestHistogram(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	normal := make([]float32, 1000)
	for i := range normal {
		normal[i] = float32(rng.NormFloat64() * 0.05)
	}
	tests := []struct {
		name   string
		values []float32
	}{
		{"empty", nil},
		{"zero", []float32{0}},
		{"zeros", []float32{0, 0, 0}},
		{"mixed", []float32{-1, 0, 0.5, 0.5, 3}},
		{"tiny", []float32{1e-13, -1e-13, 1e-12}},
		{"huge", []float32{math.MaxFloat32, -math.MaxFloat32}},
		{"normal", normal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := NewHistogram(tc.values)
			if err != nil {
				t.Fatal(err)
			}
			checkHistogram(t, h, tc.values)
		})
	}
}

// checkHistogram checks h against values by brute force: the stats, that limits increase,
// that no two empty buckets are adjacent (runs are collapsed), and that every kept bucket
// counts exactly the values in [previous limit, limit).
func checkHistogram(t *testing.T, h *Histogram, values []float32) {
	t.Helper()
	if h.Num != float64(len(values)) {
		t.Errorf("Num = %v, want %d", h.Num, len(values))
	}
	if len(h.Bucket) != len(h.BucketLimit) || len(h.Bucket) == 0 {
		t.Fatalf("%d buckets, %d limits", len(h.Bucket), len(h.BucketLimit))
	}
	var sum, sq float64
	lo, hi := 0.0, 0.0
	for i, f := range values {
		v := float64(f)
		sum += v
		sq += v * v
		if i == 0 || v < lo {
			lo = v
		}
		if i == 0 || v > hi {
			hi = v
		}
	}
	if h.Min != lo || h.Max != hi || h.Sum != sum || h.SumSquares != sq {
		t.Errorf("stats %v %v %v %v, want %v %v %v %v", h.Min, h.Max, h.Sum, h.SumSquares, lo, hi, sum, sq)
	}
	prev := math.Inf(-1)
	for i, limit := range h.BucketLimit {
		if limit <= prev {
			t.Fatalf("limit %d = %v not above %v", i, limit, prev)
		}
		if i > 0 && h.Bucket[i] == 0 && h.Bucket[i-1] == 0 {
			t.Errorf("adjacent empty buckets %d and %d", i-1, i)
		}
		n := 0
		for _, f := range values {
			if v := float64(f); v >= prev && v < limit {
				n++
			}
		}
		if h.Bucket[i] != float64(n) {
			t.Errorf("bucket %d [%v, %v) counts %v, want %d", i, prev, limit, h.Bucket[i], n)
		}
		prev = limit
	}
}

func TestHistogramNonFinite(t *testing.T) {
	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		if _, err := NewHistogram([]float32{1, v}); err == nil {
			t.Errorf("NewHistogram with %v: no error", v)
		}
	}
	w := newTestWriter(t)
	if err := w.Histogram("w", 3, []float32{float32(math.NaN())}); !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), `"w"`) {
		t.Errorf("Writer.Histogram with NaN: err = %v, want one naming the tag", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if evs := readAll(t, w.Path()); len(evs) != 1 {
		t.Errorf("a failed Histogram wrote %d events", len(evs)-1)
	}
}

func TestConcurrentWriters(t *testing.T) {
	w := newTestWriter(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if err := w.Scalar(fmt.Sprintf("g%d", g), int64(i), float64(i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if evs := readAll(t, w.Path()); len(evs) != 1+4*50 {
		t.Fatalf("%d events, want %d", len(evs), 1+4*50)
	}
}

// python is the interpreter tools/tbread.py runs under.
const python = "/usr/bin/python3"

// requirePythonProtobuf skips the test unless python3 with google.protobuf is installed.
func requirePythonProtobuf(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Skipf("independent reader not run: %s not found", python)
	}
	if out, err := exec.Command(python, "-c", "import google.protobuf").CombinedOutput(); err != nil {
		t.Skipf("independent reader not run: python3 has no google.protobuf (apt-get install python3-protobuf): %v: %s", err, out)
	}
}

// tbread runs tools/tbread.py on path and returns its stdout, stderr and error.
func tbread(t *testing.T, path string) (string, string, error) {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "..", "tools", "tbread.py"))
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(python, script, path)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	return stdout.String(), stderr.String(), err
}

// g17 formats a double as tbread.py does ("%.17g").
func g17(v float64) string { return fmt.Sprintf("%.17g", v) }

// joinG17 formats doubles as a comma-separated %.17g list.
func joinG17(vs []float64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = g17(v)
	}
	return strings.Join(s, ",")
}

func TestPythonReader(t *testing.T) {
	requirePythonProtobuf(t)
	rng := rand.New(rand.NewPCG(1, 1))
	w := newTestWriter(t)
	want := []string{"file_version 0 " + FileVersion}
	if err := w.Restart(40); err != nil { // a resumed run's first step
		t.Fatal(err)
	}
	want = append(want, "session_start 40")
	scalars := []float64{0, 1, -1, 0.1, 98.76, 1e-30, -3.5e20, math.MaxFloat32, float64(rng.Float32())}
	for i, v := range scalars {
		tag := fmt.Sprintf("Performance/Training/s%d", i)
		step := int64(i*1000 - 2)
		if err := w.Scalar(tag, step, v); err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("scalar %d %s %.9g", step, tag, float32(v)))
	}
	weights := make([]float32, 5000)
	for i := range weights {
		if rng.IntN(3) > 0 { // a third of the weights pruned to exactly zero
			weights[i] = float32(rng.NormFloat64() * 0.1)
		}
	}
	for i, vals := range [][]float32{weights, nil, {7}} {
		tag := fmt.Sprintf("weights/p%d", i)
		if err := w.Histogram(tag, int64(i), vals); err != nil {
			t.Fatal(err)
		}
		h, err := NewHistogram(vals)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("histo %d %s num=%s min=%s max=%s sum=%s sum_squares=%s limits=%s counts=%s",
			i, tag, g17(h.Num), g17(h.Min), g17(h.Max), g17(h.Sum), g17(h.SumSquares),
			joinG17(h.BucketLimit), joinG17(h.Bucket)))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := tbread(t, w.Path())
	if err != nil {
		t.Fatalf("tbread.py: %v\n%s", err, stderr)
	}
	got := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("tbread.py output differs (-want +got):\n%s", diff)
	}
	// Given the directory, it reads the event files in it.
	if dirOut, stderr, err := tbread(t, filepath.Dir(w.Path())); err != nil || dirOut != stdout {
		t.Errorf("tbread.py DIR: %v %s; output equal to the file's: %v", err, stderr, dirOut == stdout)
	}

	// The independent reader must reject a corrupted file too.
	b, err := os.ReadFile(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{3, 9, 30, len(b) / 2, len(b) - 1} {
		c := bytes.Clone(b)
		c[i] ^= 0x10
		bad := filepath.Join(t.TempDir(), "events.out.tfevents.bad")
		if err := os.WriteFile(bad, c, 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, err := tbread(t, bad)
		if err == nil || !strings.Contains(stderr, "CRC mismatch") {
			t.Errorf("byte %d flipped: tbread.py err = %v, stderr %q; want a CRC mismatch", i, err, stderr)
		}
	}
}

func BenchmarkHistogram431k(b *testing.B) {
	// As many values as LeNet-5's weights (431,080), a third of them pruned.
	rng := rand.New(rand.NewPCG(1, 1))
	values := make([]float32, 431_080)
	for i := range values {
		if rng.IntN(3) > 0 {
			values[i] = float32(rng.NormFloat64() * 0.05)
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(4 * len(values)))
	for b.Loop() {
		if _, err := NewHistogram(values); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(values)), "ns/value")
}
