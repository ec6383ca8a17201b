"""The message body: an Event as upstream's protojson, proto field names, unpopulated fields emitted."""

# Upstream's forwarder marshalled each event with Go's protojson, ``UseProtoNames`` and
# ``EmitUnpopulated``. Backends parse that JSON, so this module writes the same text: fields in
# declaration order; scalars at their default and empty lists and maps written out; unset
# message fields as ``null``; a oneof only when one of its fields is set; enums by name;
# 64-bit integers as strings; bytes in base64; Timestamps in RFC 3339 with 0, 3, 6 or 9
# fractional digits; map keys sorted; no whitespace. Go adds no space either when it writes
# compact JSON for a program to read.
#
# The walk is planned once per message type (a tuple of field plans), so encoding an event
# costs a pass over its set fields, not a descriptor lookup per field.

from __future__ import annotations

import base64
import json
import math
import struct
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from orchestrator.api import event_pb2

_Writer = Callable[[Any], str]
_string: Final = json.JSONEncoder(ensure_ascii=False).encode  # escapes only '"', '\\' and controls, like Go
_FLOAT32: Final = struct.Struct("<f")


def encode_event(event: event_pb2.Event) -> bytes:
    """The AMQP body of ``event``: upstream's JSON, UTF-8."""
    return _message_writer(event.DESCRIPTOR)(event).encode()


def _float_text(value: float, *, single: bool) -> str:
    """A float as Go's protojson writes it: shortest round-trip digits, ``e`` notation outside [1e-6, 1e21)."""
    if math.isnan(value):
        return '"NaN"'
    if math.isinf(value):
        return '"Infinity"' if value > 0 else '"-Infinity"'
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    digits = repr(value)
    if single:  # the shortest text that reads back as the same float32
        target = _FLOAT32.pack(value)
        for precision in range(1, 10):
            candidate = f"{value:.{precision}g}"
            if _FLOAT32.pack(float(candidate)) == target:
                digits = candidate
                break
    exact = Decimal(digits)
    magnitude = abs(exact)
    if Decimal("1e-6") <= magnitude < Decimal("1e21"):
        text = format(exact, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, _, exponent = f"{exact:e}".partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    sign, power = exponent[0], exponent[1:].lstrip("0") or "0"
    return f"{mantissa}e{sign}{power}"


def _scalar_writer(field: FieldDescriptor) -> _Writer:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return _string
    if kind == FieldDescriptor.TYPE_BOOL:
        return lambda value: "true" if value else "false"
    if kind in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_SINT64,
                FieldDescriptor.TYPE_FIXED64, FieldDescriptor.TYPE_SFIXED64):
        return lambda value: f'"{value}"'
    if kind in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
        single = kind == FieldDescriptor.TYPE_FLOAT
        return lambda value: _float_text(value, single=single)
    if kind == FieldDescriptor.TYPE_BYTES:
        return lambda value: '"' + base64.b64encode(value).decode() + '"'
    if kind == FieldDescriptor.TYPE_ENUM:
        enum = field.enum_type
        return lambda value: f'"{enum.values_by_number[value].name}"' if value in enum.values_by_number else str(value)
    if kind == FieldDescriptor.TYPE_MESSAGE:
        return lambda value: _message_writer(value.DESCRIPTOR)(value)
    return str  # int32, uint32, sint32, fixed32, sfixed32


def _timestamp(value: Any) -> str:
    return '"' + str(value.ToJsonString()) + '"'


_WELL_KNOWN: Final[dict[str, _Writer]] = {"google.protobuf.Timestamp": _timestamp}
_WRITERS: dict[str, _Writer] = {}


def _message_writer(descriptor: Descriptor) -> _Writer:
    writer = _WRITERS.get(descriptor.full_name)
    if writer is None:
        writer = _WELL_KNOWN.get(descriptor.full_name) or _plan(descriptor)
        _WRITERS[descriptor.full_name] = writer
    return writer


def _plan(descriptor: Descriptor) -> _Writer:
    """The writer of one message type: one step per field, in declaration order; a step may write nothing."""
    steps = [_step(field) for field in descriptor.fields]

    def write(message: Any) -> str:
        return "{" + ",".join(part for step in steps if (part := step(message)) is not None) + "}"

    return write


def _step(field: FieldDescriptor) -> Callable[[Any], str | None]:
    name, key = field.name, _string(field.name) + ":"
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        write_key = _scalar_writer(field.message_type.fields_by_name["key"])
        write_value = _scalar_writer(field.message_type.fields_by_name["value"])
        quote_key = field.message_type.fields_by_name["key"].type != FieldDescriptor.TYPE_STRING

        def map_step(message: Any) -> str:
            entries = getattr(message, name)
            return key + "{" + ",".join(
                (f'"{write_key(k).strip(chr(34))}"' if quote_key else write_key(k)) + ":" + write_value(entries[k])
                for k in sorted(entries)) + "}"
        return map_step
    writer = _scalar_writer(field)
    if field.label == FieldDescriptor.LABEL_REPEATED:
        return lambda message: key + "[" + ",".join(map(writer, getattr(message, name))) + "]"
    if field.containing_oneof is not None:  # written only when set (proto3 ``optional`` is a oneof too)
        return lambda message: key + writer(getattr(message, name)) if message.HasField(name) else None
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return lambda message: key + (writer(getattr(message, name)) if message.HasField(name) else "null")
    return lambda message: key + writer(getattr(message, name))
