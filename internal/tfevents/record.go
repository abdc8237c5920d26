package tfevents

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// TFRecord framing, as written by TensorFlow's RecordWriter and read by TensorBoard:
//
//	uint64 length           little-endian
//	uint32 masked_crc32c(length bytes)
//	byte   data[length]
//	uint32 masked_crc32c(data)
//
// The CRC is CRC-32C (Castagnoli), masked as ((crc >> 15) | (crc << 17)) + 0xa282ead8 so
// that a CRC of data that itself contains CRCs stays well distributed.

// castagnoli is the CRC-32C table; it is built once and never changed.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maskDelta is TensorFlow's kMaskDelta.
const maskDelta = 0xa282ead8

// maskedCRC returns the masked CRC-32C of b.
func maskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, castagnoli)
	return ((c >> 15) | (c << 17)) + maskDelta
}

// maxRecordLen bounds the length a reader accepts, so a corrupted length field cannot make
// it allocate gigabytes. Event records written by this package are far smaller.
const maxRecordLen = 1 << 30

// ErrCorrupt is returned (wrapped, with the record's offset) by [Reader.Next] when a
// record's length or data does not match its CRC, or the file ends inside a record.
var ErrCorrupt = errors.New("tfevents: corrupt record")

// appendRecord appends data framed as one TFRecord to dst and returns the extended slice.
func appendRecord(dst, data []byte) []byte {
	var hdr [12]byte
	binary.LittleEndian.PutUint64(hdr[:8], uint64(len(data)))
	binary.LittleEndian.PutUint32(hdr[8:], maskedCRC(hdr[:8]))
	dst = append(dst, hdr[:]...)
	dst = append(dst, data...)
	return binary.LittleEndian.AppendUint32(dst, maskedCRC(data))
}

// readRecord reads one TFRecord from r at byte offset off (used only in messages). It
// returns io.EOF when r is at a clean end of file, and an error wrapping [ErrCorrupt] on a
// CRC mismatch or a truncated record.
func readRecord(r io.Reader, off int64) ([]byte, error) {
	var hdr [12]byte
	n, err := io.ReadFull(r, hdr[:])
	if err == io.EOF {
		return nil, io.EOF
	}
	if err == io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("%w at offset %d: file ends inside the header (%d of 12 bytes)", ErrCorrupt, off, n)
	}
	if err != nil {
		return nil, fmt.Errorf("tfevents: read record at offset %d: %w", off, err)
	}
	if got, want := binary.LittleEndian.Uint32(hdr[8:]), maskedCRC(hdr[:8]); got != want {
		return nil, fmt.Errorf("%w at offset %d: length CRC is %#08x, want %#08x", ErrCorrupt, off, got, want)
	}
	length := binary.LittleEndian.Uint64(hdr[:8])
	if length > maxRecordLen {
		return nil, fmt.Errorf("%w at offset %d: length %d exceeds the %d-byte limit", ErrCorrupt, off, length, maxRecordLen)
	}
	// Read through a growing buffer rather than allocating length bytes up front, so a
	// file that claims a huge record costs only what it really holds.
	var bb bytes.Buffer
	if n, err := io.CopyN(&bb, r, int64(length)+4); err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%w at offset %d: file ends inside the record (%d of %d bytes)", ErrCorrupt, off, n, length+4)
		}
		return nil, fmt.Errorf("tfevents: read record at offset %d: %w", off, err)
	}
	buf := bb.Bytes()
	data := buf[:length]
	if got, want := binary.LittleEndian.Uint32(buf[length:]), maskedCRC(data); got != want {
		return nil, fmt.Errorf("%w at offset %d: data CRC is %#08x, want %#08x", ErrCorrupt, off, got, want)
	}
	return data, nil
}
