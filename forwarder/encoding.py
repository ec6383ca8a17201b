"""The message body: an Event as upstream's protojson, proto field names, unpopulated fields emitted."""

# Upstream's forwarder marshalled each event with Go's protojson, ``UseProtoNames`` and
# ``EmitUnpopulated``. Backends parse that JSON, so this module writes the same text: fields in
# declaration order; scalars at their default and empty lists and maps written out; unset
# message fields as ``null``; a oneof only when one of its fields is set; enums by name;
# 64-bit integers as strings; bytes in base64; Timestamps in RFC 3339 with 0, 3, 6 or 9
# fractional digits; map keys sorted; no whitespace. Go adds no space either when it writes
# compact JSON for a program to read.
#
# Each message type gets a writer made once, from generated source (as dataclasses and
# namedtuple make their methods): one f-string per run of fields that are always written, a
# test per field written only when set. An event is then written in one call that reads each
# field once, with no per-field function call for strings, enums and integers. This is most of
# the forwarder's work per event.

from __future__ import annotations

import base64
import json
import math
import struct
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.timestamp_pb2 import Timestamp

from orchestrator.api import event_pb2

_Writer = Callable[[Any], str]
#: JSONEncoder(ensure_ascii=False)'s string writer, called directly: escapes only '"', '\\' and controls, like Go.
_string: Final[Callable[[str], str]] = json.encoder.encode_basestring
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
        if field.message_type.full_name in _COMPILING:  # a type that contains itself: its writer is found later
            return lambda value: _message_writer(value.DESCRIPTOR)(value)
        return _message_writer(field.message_type)
    return str  # int32, uint32, sint32, fixed32, sfixed32


_DATES: dict[int, str] = {}  # whole seconds -> RFC 3339 text without "Z": events of a batch share a few
_DATES_KEPT: Final = 4096


def _timestamp(value: Any) -> str:
    """A Timestamp as protobuf's ``ToJsonString`` writes it (0, 3, 6 or 9 fractional digits), quoted."""
    seconds, nanos = value.seconds, value.nanos
    date = _DATES.get(seconds)
    if date is None or not 0 <= nanos < 1_000_000_000:
        text = str(value.ToJsonString())  # checks the range, raises ValueError outside it
        if len(_DATES) >= _DATES_KEPT:
            _DATES.clear()
        _DATES[seconds] = str(Timestamp(seconds=seconds).ToJsonString())[:-1]
        return '"' + text + '"'
    if nanos == 0:
        return '"' + date + 'Z"'
    if nanos % 1_000_000 == 0:
        return f'"{date}.{nanos // 1_000_000:03d}Z"'
    if nanos % 1_000 == 0:
        return f'"{date}.{nanos // 1_000:06d}Z"'
    return f'"{date}.{nanos:09d}Z"'


_WELL_KNOWN: Final[dict[str, _Writer]] = {"google.protobuf.Timestamp": _timestamp}
_WRITERS: dict[str, _Writer] = {}
_COMPILING: set[str] = set()


def _message_writer(descriptor: Descriptor) -> _Writer:
    """The writer of a message type, made with the writers of the types it contains on first use."""
    name = descriptor.full_name
    writer = _WRITERS.get(name)
    if writer is None:
        _COMPILING.add(name)
        try:
            writer = _WELL_KNOWN.get(name) or _compile(descriptor)
        finally:
            _COMPILING.discard(name)
        _WRITERS[name] = writer
    return writer


def _compile(descriptor: Descriptor) -> _Writer:
    """The writer of one message type: its fields in declaration order, each key with a leading comma.

    Values and constants are named (``_h0``, ``_h1``...) so that no quote appears inside an f-string slot.
    """
    names: dict[str, Any] = {}
    lines: list[str] = []
    run: list[str] = []  # f-string pieces of the fields always written, not yet emitted

    def helper(value: Any) -> str:
        name = f"_h{len(names)}"
        names[name] = value
        return name

    def flush() -> None:
        if run:
            lines.append(f"    text += f'{''.join(run)}'")
            run.clear()

    for field in descriptor.fields:
        key, attribute = f',"{field.name}":', f"m.{field.name}"
        value = _value_expression(field, attribute, helper)
        oneof = field.containing_oneof
        if oneof is not None and len(oneof.fields) > 1 and _contiguous(oneof):
            if field is oneof.fields[0]:  # the member that is set, if any, in one look-up
                flush()
                lines.append(f"    which = m.WhichOneof({oneof.name!r})")
            test = "if" if field is oneof.fields[0] else "elif"
            lines.append(f"    {test} which == {field.name!r}:\n        text += f'{key}{{{value}}}'")
        elif oneof is not None:
            flush()  # written only when set (proto3 ``optional`` is a oneof too)
            lines.append(f"    if m.HasField({field.name!r}):\n        text += f'{key}{{{value}}}'")
        elif field.label != FieldDescriptor.LABEL_REPEATED and field.type == FieldDescriptor.TYPE_MESSAGE:
            run.append(f"{key}{{{value} if m.HasField({helper(field.name)}) else {helper('null')}}}")
        else:
            run.append(f"{key}{{{value}}}")
    flush()
    source = "def write(m):\n    text = ''\n" + "\n".join(lines) + "\n    return '{' + text[1:] + '}'\n"
    exec(compile(source, f"<writer of {descriptor.full_name}>", "exec"), names)  # our own source
    writer: _Writer = names["write"]
    return writer


def _contiguous(oneof: Any) -> bool:
    """Whether the members of ``oneof`` follow one another in declaration order (as a ``oneof`` block declares them)."""
    indexes = [field.index for field in oneof.fields]
    return indexes == list(range(indexes[0], indexes[0] + len(indexes)))


def _value_expression(field: FieldDescriptor, attribute: str, helper: Callable[[Any], str]) -> str:
    """Python text, quote-free, that writes the JSON value of ``field`` (``attribute`` reads it)."""
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        return f"{helper(_map_writer(field))}({attribute})"
    if field.label == FieldDescriptor.LABEL_REPEATED:
        return f"{helper(_list_writer(_scalar_writer(field)))}({attribute})"
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return f"{helper(_string)}({attribute})"
    if kind == FieldDescriptor.TYPE_BOOL:
        return f"{helper(('false', 'true'))}[{attribute}]"
    if kind in _INT32:
        return attribute
    if kind == FieldDescriptor.TYPE_ENUM:
        texts = {number: f'"{value.name}"' for number, value in field.enum_type.values_by_number.items()}
        return f"({helper(texts)}.get({attribute}) or {attribute})"  # an unknown number is written as a number
    return f"{helper(_scalar_writer(field))}({attribute})"


def _list_writer(write: _Writer) -> _Writer:
    return lambda values: "[" + ",".join(map(write, values)) + "]"


_INT32: Final = frozenset((FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_SINT32,
                           FieldDescriptor.TYPE_FIXED32, FieldDescriptor.TYPE_SFIXED32))


def _map_writer(field: FieldDescriptor) -> _Writer:
    """A map as an object: keys sorted, non-string keys quoted (as Go writes them)."""
    key_field, value_field = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
    write_key, write_value = _scalar_writer(key_field), _scalar_writer(value_field)
    quote_key = key_field.type != FieldDescriptor.TYPE_STRING

    def write(entries: Any) -> str:
        return "{" + ",".join(
            (f'"{write_key(k).strip(chr(34))}"' if quote_key else write_key(k)) + ":" + write_value(entries[k])
            for k in sorted(entries)) + "}"
    return write
