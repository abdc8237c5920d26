package tfevents

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The subset of tensorflow/core/util/event.proto and
// tensorflow/core/framework/summary.proto that TensorBoard's scalar and histogram
// dashboards read, encoded by hand with protowire:
//
//	message Event {
//	  double wall_time = 1;
//	  int64 step = 2;
//	  oneof what { string file_version = 3; Summary summary = 5; SessionLog session_log = 6; ... }
//	}
//	message SessionLog { enum SessionStatus { STATUS_UNSPECIFIED = 0; START = 1; ... } SessionStatus status = 1; ... }
//	message Summary { repeated Value value = 1; }
//	message Summary.Value {
//	  string tag = 1;
//	  oneof value { float simple_value = 2; HistogramProto histo = 5; ... }
//	}
//	message HistogramProto {
//	  double min = 1; double max = 2; double num = 3; double sum = 4; double sum_squares = 5;
//	  repeated double bucket_limit = 6 [packed = true];
//	  repeated double bucket = 7 [packed = true];
//	}
//
// Decoding skips fields it does not know, as any protobuf parser must, and accepts the
// repeated doubles both packed and unpacked.

// Field numbers.
const (
	eventWallTime    = 1
	eventStep        = 2
	eventFileVersion = 3
	eventSummary     = 5
	eventSessionLog  = 6

	sessionLogStatus = 1
	sessionStart     = 1 // SessionLog.START

	summaryValue = 1

	valueTag         = 1
	valueSimpleValue = 2
	valueHisto       = 5

	histoMin         = 1
	histoMax         = 2
	histoNum         = 3
	histoSum         = 4
	histoSumSquares  = 5
	histoBucketLimit = 6
	histoBucket      = 7
)

// Event is one decoded record of an event file. In the files this package writes, every
// event is a file version, a summary (Values) or a session start (Start).
type Event struct {
	// WallTime is the time the event was written, in seconds since the Unix epoch.
	WallTime float64
	// Step is the global step (dst uses the epoch or the optimizer step).
	Step int64
	// FileVersion is "brain.Event:2" in a file's first event and empty otherwise.
	FileVersion string
	// Values are the summary values of the event, in file order; nil if it has none.
	Values []Value
	// Start says the event is a SessionLog with status START (see [Writer.Restart]).
	Start bool
}

// Value is one tagged summary value: a scalar or a histogram.
type Value struct {
	// Tag names the series, for example "sparsity/weights/conv1.weight".
	Tag string
	// Simple is the scalar's value; meaningful only when HasSimple is true.
	Simple float32
	// HasSimple says the value is a scalar (simple_value was present).
	HasSimple bool
	// Histo is the histogram, or nil for a scalar.
	Histo *Histogram
}

// Histogram is TensorFlow's HistogramProto. Bucket i counts the values v with
// BucketLimit[i-1] <= v < BucketLimit[i] (the first bucket is bounded below by -DBL_MAX).
type Histogram struct {
	// Min and Max are the smallest and largest values; Num is their count.
	Min, Max, Num float64
	// Sum and SumSquares are Σv and Σv².
	Sum, SumSquares float64
	// BucketLimit holds the buckets' upper limits, increasing; Bucket their counts.
	BucketLimit, Bucket []float64
}

// appendDouble appends a fixed64 double field.
func appendDouble(b []byte, num protowire.Number, v float64) []byte {
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, math.Float64bits(v))
}

// appendPackedDoubles appends a packed repeated double field; nothing if vs is empty.
func appendPackedDoubles(b []byte, num protowire.Number, vs []float64) []byte {
	if len(vs) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(8*len(vs)))
	for _, v := range vs {
		b = protowire.AppendFixed64(b, math.Float64bits(v))
	}
	return b
}

// appendHistogram appends h encoded as a HistogramProto message body.
func appendHistogram(b []byte, h *Histogram) []byte {
	b = appendDouble(b, histoMin, h.Min)
	b = appendDouble(b, histoMax, h.Max)
	b = appendDouble(b, histoNum, h.Num)
	b = appendDouble(b, histoSum, h.Sum)
	b = appendDouble(b, histoSumSquares, h.SumSquares)
	b = appendPackedDoubles(b, histoBucketLimit, h.BucketLimit)
	return appendPackedDoubles(b, histoBucket, h.Bucket)
}

// appendValue appends v encoded as a Summary.Value message body.
func appendValue(b []byte, v *Value) []byte {
	b = protowire.AppendTag(b, valueTag, protowire.BytesType)
	b = protowire.AppendString(b, v.Tag)
	if v.HasSimple {
		b = protowire.AppendTag(b, valueSimpleValue, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(v.Simple))
	}
	if v.Histo != nil {
		b = protowire.AppendTag(b, valueHisto, protowire.BytesType)
		b = protowire.AppendBytes(b, appendHistogram(nil, v.Histo))
	}
	return b
}

// marshalEvent encodes e as an Event message: a file version if e has one, else a session
// start if e.Start, else a summary of e.Values.
func marshalEvent(e *Event) []byte {
	b := appendDouble(nil, eventWallTime, e.WallTime)
	if e.Step != 0 {
		b = protowire.AppendTag(b, eventStep, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(e.Step))
	}
	if e.FileVersion != "" {
		b = protowire.AppendTag(b, eventFileVersion, protowire.BytesType)
		return protowire.AppendString(b, e.FileVersion)
	}
	if e.Start {
		var sl []byte
		sl = protowire.AppendTag(sl, sessionLogStatus, protowire.VarintType)
		sl = protowire.AppendVarint(sl, sessionStart)
		b = protowire.AppendTag(b, eventSessionLog, protowire.BytesType)
		return protowire.AppendBytes(b, sl)
	}
	var sum []byte
	for i := range e.Values {
		sum = protowire.AppendTag(sum, summaryValue, protowire.BytesType)
		sum = protowire.AppendBytes(sum, appendValue(nil, &e.Values[i]))
	}
	b = protowire.AppendTag(b, eventSummary, protowire.BytesType)
	return protowire.AppendBytes(b, sum)
}

// field is one decoded protobuf field: its number and type, and its raw value (the varint
// or fixed bits in u, the bytes of a length-delimited field in bs).
type field struct {
	num protowire.Number
	typ protowire.Type
	u   uint64
	bs  []byte
}

// walk calls fn for every field of the message body b, in order. Groups and other fields
// fn does not want are consumed and passed on too; fn ignores what it does not know.
func walk(b []byte, fn func(f field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.u, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.u = uint64(v)
		case protowire.Fixed64Type:
			f.u, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			f.bs, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// wantType returns an error if f does not have wire type t.
func (f field) wantType(t protowire.Type) error {
	if f.typ != t {
		return fmt.Errorf("field %d has wire type %d, want %d", f.num, f.typ, t)
	}
	return nil
}

// doubles decodes a repeated double field, packed or not, appending to dst.
func (f field) doubles(dst []float64) ([]float64, error) {
	switch f.typ {
	case protowire.Fixed64Type:
		return append(dst, math.Float64frombits(f.u)), nil
	case protowire.BytesType:
		if len(f.bs)%8 != 0 {
			return dst, fmt.Errorf("field %d: packed doubles of %d bytes", f.num, len(f.bs))
		}
		for b := f.bs; len(b) > 0; {
			v, n := protowire.ConsumeFixed64(b)
			dst = append(dst, math.Float64frombits(v))
			b = b[n:]
		}
		return dst, nil
	}
	return dst, fmt.Errorf("field %d has wire type %d, want a double", f.num, f.typ)
}

// unmarshalHistogram decodes a HistogramProto message body.
func unmarshalHistogram(b []byte) (*Histogram, error) {
	h := new(Histogram)
	err := walk(b, func(f field) error {
		var dst *float64
		switch f.num {
		case histoMin:
			dst = &h.Min
		case histoMax:
			dst = &h.Max
		case histoNum:
			dst = &h.Num
		case histoSum:
			dst = &h.Sum
		case histoSumSquares:
			dst = &h.SumSquares
		case histoBucketLimit:
			var err error
			h.BucketLimit, err = f.doubles(h.BucketLimit)
			return err
		case histoBucket:
			var err error
			h.Bucket, err = f.doubles(h.Bucket)
			return err
		default:
			return nil
		}
		if err := f.wantType(protowire.Fixed64Type); err != nil {
			return err
		}
		*dst = math.Float64frombits(f.u)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("histogram: %w", err)
	}
	return h, nil
}

// unmarshalValue decodes a Summary.Value message body.
func unmarshalValue(b []byte) (Value, error) {
	var v Value
	err := walk(b, func(f field) error {
		switch f.num {
		case valueTag:
			if err := f.wantType(protowire.BytesType); err != nil {
				return err
			}
			v.Tag = string(f.bs)
		case valueSimpleValue:
			if err := f.wantType(protowire.Fixed32Type); err != nil {
				return err
			}
			v.Simple, v.HasSimple = math.Float32frombits(uint32(f.u)), true
		case valueHisto:
			if err := f.wantType(protowire.BytesType); err != nil {
				return err
			}
			h, err := unmarshalHistogram(f.bs)
			if err != nil {
				return err
			}
			v.Histo = h
		}
		return nil
	})
	if err != nil {
		return Value{}, fmt.Errorf("summary value: %w", err)
	}
	return v, nil
}

// unmarshalEvent decodes an Event message.
func unmarshalEvent(b []byte) (*Event, error) {
	e := new(Event)
	err := walk(b, func(f field) error {
		switch f.num {
		case eventWallTime:
			if err := f.wantType(protowire.Fixed64Type); err != nil {
				return err
			}
			e.WallTime = math.Float64frombits(f.u)
		case eventStep:
			if err := f.wantType(protowire.VarintType); err != nil {
				return err
			}
			e.Step = int64(f.u)
		case eventFileVersion:
			if err := f.wantType(protowire.BytesType); err != nil {
				return err
			}
			e.FileVersion = string(f.bs)
		case eventSessionLog:
			if err := f.wantType(protowire.BytesType); err != nil {
				return err
			}
			return walk(f.bs, func(g field) error {
				if g.num == sessionLogStatus {
					if err := g.wantType(protowire.VarintType); err != nil {
						return err
					}
					e.Start = g.u == sessionStart
				}
				return nil
			})
		case eventSummary:
			if err := f.wantType(protowire.BytesType); err != nil {
				return err
			}
			return walk(f.bs, func(g field) error {
				if g.num != summaryValue {
					return nil
				}
				if err := g.wantType(protowire.BytesType); err != nil {
					return err
				}
				v, err := unmarshalValue(g.bs)
				if err != nil {
					return err
				}
				e.Values = append(e.Values, v)
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	return e, nil
}
