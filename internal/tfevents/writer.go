// Package tfevents writes and reads TensorBoard event files: scalars and histograms framed
// as TFRecords, so that `tensorboard --logdir DIR` plots a dst run.
//
// No maintained Go writer exists, so the package frames records itself (length, masked
// CRC-32C of the length, data, masked CRC-32C of the data) and encodes the Event and
// Summary protobufs by hand with google.golang.org/protobuf/encoding/protowire; no
// generated code is involved. The [Reader] decodes the same subset and verifies both CRCs
// of every record; it is meant for tests and tools. tools/tbread.py is an independent
// reader in Python that the tests use as a cross-check.
//
// A run writes one file per process; a run resumed from a checkpoint creates a new file in
// the same directory and calls [Writer.Restart] with its first step, so TensorBoard drops
// the steps the interrupted run wrote after that checkpoint.
//
// A [Writer] is safe for concurrent use. Its methods buffer records in memory; [Writer.Flush]
// pushes them to the file and syncs it, and [Writer.Close] does the same and closes the file.
package tfevents

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// FileVersion is the file_version string of the first event of every event file.
const FileVersion = "brain.Event:2"

// ErrClosed is returned by the methods of a [Writer] that has been closed.
var ErrClosed = errors.New("tfevents: writer is closed")

// ErrNonFinite is wrapped by the error of a histogram of NaN or infinite values, which
// has no meaning (a diverged run's weights); nothing is written.
var ErrNonFinite = errors.New("not finite")

// Writer appends events to one event file. The zero value is not usable; call [Create].
type Writer struct {
	mu   sync.Mutex
	f    *os.File
	bw   *bufio.Writer
	path string
	now  func() time.Time
	buf  []byte // reused record buffer
}

// Create creates dir if needed and a new event file in it named
// events.out.tfevents.<unix seconds>.<hostname>, and writes the file_version event. If a
// file of that name already exists (two writers in the same second), a suffix ".1", ".2",
// … is added; an existing file is never overwritten.
func Create(dir string) (*Writer, error) {
	return create(dir, time.Now)
}

// create is Create with a clock, so tests can fix the wall time.
func create(dir string, now func() time.Time) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tfevents: create %s: %w", dir, err)
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	t := now()
	base := filepath.Join(dir, "events.out.tfevents."+strconv.FormatInt(t.Unix(), 10)+"."+host)
	path := base
	var f *os.File
	for i := 1; ; i++ {
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || i > 1000 {
			return nil, fmt.Errorf("tfevents: create event file: %w", err)
		}
		path = base + "." + strconv.Itoa(i)
	}
	w := &Writer{f: f, bw: bufio.NewWriter(f), path: path, now: now}
	if err := w.write(&Event{WallTime: wallTime(t), FileVersion: FileVersion}); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// wallTime converts t to seconds since the Unix epoch.
func wallTime(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// Path returns the event file's path.
func (w *Writer) Path() string { return w.path }

// write frames and buffers one event. It does not lock; callers hold w.mu or own w.
func (w *Writer) write(e *Event) error {
	if w.f == nil {
		return ErrClosed
	}
	w.buf = appendRecord(w.buf[:0], marshalEvent(e))
	if _, err := w.bw.Write(w.buf); err != nil {
		return fmt.Errorf("tfevents: write %s: %w", w.path, err)
	}
	return nil
}

// Scalar writes one scalar summary. TensorBoard stores scalars as float32, so v is
// rounded to the nearest float32.
func (w *Writer) Scalar(tag string, step int64, v float64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.write(&Event{
		WallTime: wallTime(w.now()),
		Step:     step,
		Values:   []Value{{Tag: tag, Simple: float32(v), HasSimple: true}},
	})
}

// Histogram writes the histogram of values (see [NewHistogram] for the buckets). It
// returns an error, and writes nothing, if a value is NaN or infinite.
func (w *Writer) Histogram(tag string, step int64, values []float32) error {
	h, err := NewHistogram(values)
	if err != nil {
		return fmt.Errorf("%w (tag %q, step %d)", err, tag, step)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.write(&Event{
		WallTime: wallTime(w.now()),
		Step:     step,
		Values:   []Value{{Tag: tag, Histo: h}},
	})
}

// Restart writes a SessionLog START event at step. A run resumed from a checkpoint calls
// it with its first step: TensorBoard then discards the events of earlier files whose step
// is >= step (the interrupted run's work after its last checkpoint, which the resumed run
// redoes), instead of drawing both.
func (w *Writer) Restart(step int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.write(&Event{WallTime: wallTime(w.now()), Step: step, Start: true})
}

// Flush writes the buffered events to the file and syncs it to stable storage.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flush()
}

// flush is Flush without the lock.
func (w *Writer) flush() error {
	if w.f == nil {
		return ErrClosed
	}
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("tfevents: write %s: %w", w.path, err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("tfevents: sync %s: %w", w.path, err)
	}
	return nil
}

// Close flushes the buffered events and closes the file. Later calls of any method return
// [ErrClosed].
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.flush()
	if w.f != nil {
		if cerr := w.f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("tfevents: close %s: %w", w.path, cerr)
		}
		w.f = nil
	}
	return err
}
