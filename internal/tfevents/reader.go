package tfevents

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

// Reader decodes the events of an event file one at a time, verifying the CRCs of every
// record. It is not safe for concurrent use.
type Reader struct {
	r   *bufio.Reader
	off int64
}

// NewReader returns a Reader of the event file contents in r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReader(r)} }

// Next returns the next event. It returns io.EOF after the last one, an error wrapping
// [ErrCorrupt] if a record fails its CRC checks or is cut short, and a decoding error if a
// record is not an Event message. Errors name the record's byte offset.
func (r *Reader) Next() (*Event, error) {
	data, err := readRecord(r.r, r.off)
	if err != nil {
		return nil, err
	}
	off := r.off
	r.off += int64(len(data)) + 16
	e, err := unmarshalEvent(data)
	if err != nil {
		return nil, fmt.Errorf("tfevents: record at offset %d: %w", off, err)
	}
	return e, nil
}

// ReadFile returns all events of the event file at path.
func ReadFile(path string) ([]*Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tfevents: %w", err)
	}
	defer f.Close()
	var evs []*Event
	r := NewReader(f)
	for {
		e, err := r.Next()
		if err == io.EOF {
			return evs, nil
		}
		if err != nil {
			return evs, fmt.Errorf("%s: %w", path, err)
		}
		evs = append(evs, e)
	}
}
