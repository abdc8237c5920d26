package tfevents

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzReader checks that no input makes the reader or the Event decoder panic or loop,
// and that whatever they decode survives re-encoding.
func FuzzReader(f *testing.F) {
	var seed []byte
	for _, e := range []*Event{
		{WallTime: 1, FileVersion: FileVersion},
		{WallTime: 2, Step: 3, Values: []Value{{Tag: "s", Simple: 0.5, HasSimple: true}}},
		{WallTime: 3, Step: 4, Start: true},
	} {
		seed = appendRecord(seed, marshalEvent(e))
	}
	h, err := NewHistogram([]float32{-1, 0, 2})
	if err != nil {
		f.Fatal(err)
	}
	seed = appendRecord(seed, marshalEvent(&Event{Step: 5, Values: []Value{{Tag: "h", Histo: h}}}))
	f.Add(seed)
	f.Add(appendRecord(nil, []byte{0x2a, 0x02, 0x0a, 0x00}))
	f.Add([]byte{})
	f.Add(marshalEvent(&Event{Step: 5, Values: []Value{{Tag: "h", Histo: h}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		// The record framing stops almost every mutation at the CRC, so decode the input
		// as a bare Event message too.
		if e, err := unmarshalEvent(b); err == nil {
			checkReencode(t, e)
		}
		r := NewReader(bytes.NewReader(b))
		for range len(b)/16 + 1 {
			e, err := r.Next()
			if err == io.EOF || errors.Is(err, ErrCorrupt) {
				return
			}
			if err != nil {
				continue // a well-framed record that is not an Event; the next may be fine
			}
			checkReencode(t, e)
		}
	})
}

// checkReencode checks that an event of one kind (what this package writes) survives
// encoding and decoding unchanged.
func checkReencode(t *testing.T, e *Event) {
	t.Helper()
	kinds := 0
	for _, k := range []bool{e.FileVersion != "", e.Start, len(e.Values) > 0} {
		if k {
			kinds++
		}
	}
	if kinds != 1 {
		return
	}
	again, err := unmarshalEvent(marshalEvent(e))
	if err != nil {
		t.Fatalf("re-decoding %+v: %v", e, err)
	}
	if diff := cmp.Diff(e, again, cmpopts.EquateNaNs()); diff != "" {
		t.Fatalf("re-encoded event differs (-decoded +again):\n%s", diff)
	}
}
