#!/usr/bin/env python3
"""tbread: an independent reader of TensorBoard event files.

Usage: tbread.py [--wall-time] PATH...

Each PATH is an event file or a directory, whose files with "tfevents" in their name are
read in name order. Every record's framing is checked (both masked CRC-32C values, computed
here in pure Python), each record is decoded as a tensorflow Event with message classes
built at run time from a hand-written descriptor (google.protobuf's descriptor_pb2 and
message_factory; no generated code, no TensorFlow), and one line is printed per item:

    file_version STEP VERSION
    session_start STEP                       (SessionLog START: a resumed run)
    scalar STEP TAG VALUE                    (VALUE as %.9g, which round-trips a float32)
    histo STEP TAG num=N min=A max=B sum=S sum_squares=Q limits=L1,L2,... counts=C1,C2,...
                                             (doubles as %.17g, which round-trips them)

With --wall-time each line starts with the event's wall time (%.17g). The exit status is 1,
with a message on stderr naming the file and byte offset, if a record is corrupt or cannot
be decoded. dst's Go tests run this script to cross-check internal/tfevents; it needs
Debian's python3-protobuf.
"""

import os
import struct
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

# CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, table-driven.
_CRC_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _build_classes():
    """Returns the Event message class, built from a descriptor of the needed subset of
    tensorflow/core/util/event.proto and tensorflow/core/framework/summary.proto."""
    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(
        name="dst_tbread_event.proto", package="tensorflow", syntax="proto3")

    def message(name, fields):
        m = fdp.message_type.add(name=name)
        for fname, number, ftype, label, type_name, packed in fields:
            f = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                f.type_name = type_name
            if packed:
                f.options.packed = True
        return m

    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    message("HistogramProto", [
        ("min", 1, F.TYPE_DOUBLE, opt, None, False),
        ("max", 2, F.TYPE_DOUBLE, opt, None, False),
        ("num", 3, F.TYPE_DOUBLE, opt, None, False),
        ("sum", 4, F.TYPE_DOUBLE, opt, None, False),
        ("sum_squares", 5, F.TYPE_DOUBLE, opt, None, False),
        ("bucket_limit", 6, F.TYPE_DOUBLE, rep, None, True),
        ("bucket", 7, F.TYPE_DOUBLE, rep, None, True),
    ])
    value = message("SummaryValue", [
        ("tag", 1, F.TYPE_STRING, opt, None, False),
        ("simple_value", 2, F.TYPE_FLOAT, opt, None, False),
        ("histo", 5, F.TYPE_MESSAGE, opt, ".tensorflow.HistogramProto", False),
    ])
    # simple_value and histo form the oneof "value", so presence is tracked.
    value.oneof_decl.add(name="value")
    for f in value.field:
        if f.name in ("simple_value", "histo"):
            f.oneof_index = 0
    message("Summary", [
        ("value", 1, F.TYPE_MESSAGE, rep, ".tensorflow.SummaryValue", False),
    ])
    session_log = message("SessionLog", [
        ("status", 1, F.TYPE_ENUM, opt, ".tensorflow.SessionLog.SessionStatus", False),
        ("checkpoint_path", 2, F.TYPE_STRING, opt, None, False),
        ("msg", 3, F.TYPE_STRING, opt, None, False),
    ])
    status = session_log.enum_type.add(name="SessionStatus")
    for name, number in (("STATUS_UNSPECIFIED", 0), ("START", 1), ("STOP", 2), ("CHECKPOINT", 3)):
        status.value.add(name=name, number=number)
    event = message("Event", [
        ("wall_time", 1, F.TYPE_DOUBLE, opt, None, False),
        ("step", 2, F.TYPE_INT64, opt, None, False),
        ("file_version", 3, F.TYPE_STRING, opt, None, False),
        ("summary", 5, F.TYPE_MESSAGE, opt, ".tensorflow.Summary", False),
        ("session_log", 6, F.TYPE_MESSAGE, opt, ".tensorflow.SessionLog", False),
    ])
    event.oneof_decl.add(name="what")
    for f in event.field:
        if f.name in ("file_version", "summary", "session_log"):
            f.oneof_index = 0

    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    desc = pool.FindMessageTypeByName("tensorflow.Event")
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(pool).GetPrototype(desc)


class CorruptError(Exception):
    pass


def records(data):
    """Yields (offset, payload) for every TFRecord in data, checking both CRCs."""
    off = 0
    while off < len(data):
        if len(data) - off < 12:
            raise CorruptError("offset %d: file ends inside a record header" % off)
        header = data[off:off + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[off + 8:off + 12])
        if length_crc != masked_crc(header):
            raise CorruptError("offset %d: length CRC mismatch" % off)
        end = off + 12 + length
        if end + 4 > len(data):
            raise CorruptError("offset %d: file ends inside the record" % off)
        payload = data[off + 12:end]
        (data_crc,) = struct.unpack("<I", data[end:end + 4])
        if data_crc != masked_crc(payload):
            raise CorruptError("offset %d: data CRC mismatch" % off)
        yield off, payload
        off = end + 4


def g17(v):
    return "%.17g" % v


def event_lines(ev):
    what = ev.WhichOneof("what")
    if what == "file_version":
        yield "file_version %d %s" % (ev.step, ev.file_version)
        return
    if what == "session_log":
        status = ev.session_log.DESCRIPTOR.fields_by_name["status"].enum_type
        yield "session_%s %d" % (status.values_by_number[ev.session_log.status].name.lower(), ev.step)
        return
    for v in ev.summary.value:
        kind = v.WhichOneof("value")
        if kind == "simple_value":
            yield "scalar %d %s %.9g" % (ev.step, v.tag, v.simple_value)
        elif kind == "histo":
            h = v.histo
            yield "histo %d %s num=%s min=%s max=%s sum=%s sum_squares=%s limits=%s counts=%s" % (
                ev.step, v.tag, g17(h.num), g17(h.min), g17(h.max), g17(h.sum),
                g17(h.sum_squares), ",".join(map(g17, h.bucket_limit)),
                ",".join(map(g17, h.bucket)))
        else:
            yield "other %d %s" % (ev.step, v.tag)


def expand(paths):
    for p in paths:
        if os.path.isdir(p):
            for name in sorted(os.listdir(p)):
                if "tfevents" in name:
                    yield os.path.join(p, name)
        else:
            yield p


def main(argv):
    args = argv[1:]
    wall = False
    if args and args[0] == "--wall-time":
        wall, args = True, args[1:]
    if not args:
        sys.stderr.write("usage: tbread.py [--wall-time] PATH...\n")
        return 2
    Event = _build_classes()
    out = sys.stdout
    for path in expand(args):
        with open(path, "rb") as f:
            data = f.read()
        try:
            for off, payload in records(data):
                ev = Event()
                try:
                    ev.ParseFromString(payload)
                except Exception as e:  # DecodeError and friends
                    raise CorruptError("offset %d: cannot decode Event: %s" % (off, e))
                for line in event_lines(ev):
                    if wall:
                        line = g17(ev.wall_time) + " " + line
                    out.write(line + "\n")
        except CorruptError as e:
            out.flush()
            sys.stderr.write("tbread: %s: %s\n" % (path, e))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
