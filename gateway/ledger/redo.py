"""The redo log: acknowledged calls not yet committed to SQLite, one appended record each.

The embedded ledger commits calls to SQLite in groups (a commit rewrites every page the
call touched, about 25 of them for one task, which costs more than the call itself).
Until its group commits, an acknowledged call lives here: one ``write`` of its write set
and event, which is in the operating system's hands when the call returns, so it survives
a ``kill -9`` (with ``durable=True`` each record is also synced: it survives a power loss).
At open, the records after the last committed call are applied again.

A record is ``length, crc32`` and a body: call number, timestamp, the counts and lengths of
everything that follows, transaction id, event payload, the written keys, then their values.
A record that is cut short or whose checksum fails is the unacknowledged tail of a killed
process, and ends the log.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

_HEAD: Final = struct.Struct("<II")  # body length, crc32 of the body
_CALL: Final = struct.Struct("<QqIII")  # call number, timestamp, tx id length, event length, writes
_ABSENT: Final = 0xFFFFFFFF  # the length of a deleted value, or of a missing event


@dataclass(frozen=True)
class RedoRecord:
    """One acknowledged call: what it wrote (``None`` deletes) and the event payload it emitted."""

    call: int
    timestamp_ns: int
    tx_id: str
    event: bytes | None
    writes: Sequence[tuple[bytes, bytes | None]]


def encode(record: RedoRecord) -> bytes:
    """The bytes appended for ``record``: header and body."""
    tx_id = record.tx_id.encode("utf-8")
    event = record.event
    keys = [key for key, _ in record.writes]
    values = [value for _, value in record.writes]
    lengths = [len(key) for key in keys]
    lengths += [_ABSENT if value is None else len(value) for value in values]
    body = b"".join((
        _CALL.pack(record.call, record.timestamp_ns, len(tx_id), _ABSENT if event is None else len(event),
                   len(keys)),
        struct.pack(f"<{len(lengths)}I", *lengths),
        tx_id,
        event or b"",
        *keys,
        *[value for value in values if value is not None],
    ))
    return _HEAD.pack(len(body), zlib.crc32(body)) + body


def decode_all(data: bytes) -> Iterator[RedoRecord]:
    """The records of a log's contents, up to the first one that is incomplete or corrupt."""
    position = 0
    while position + _HEAD.size <= len(data):
        length, checksum = _HEAD.unpack_from(data, position)
        body = data[position + _HEAD.size:position + _HEAD.size + length]
        if len(body) < length or zlib.crc32(body) != checksum:
            return
        yield _decode_body(body)
        position += _HEAD.size + length


def _decode_body(body: bytes) -> RedoRecord:
    call, timestamp_ns, tx_length, event_length, count = _CALL.unpack_from(body)
    lengths = struct.unpack_from(f"<{2 * count}I", body, _CALL.size)
    position = _CALL.size + 8 * count
    tx_id = body[position:position + tx_length].decode("utf-8")
    position += tx_length
    event: bytes | None = None
    if event_length != _ABSENT:
        event = body[position:position + event_length]
        position += event_length
    keys: list[bytes] = []
    for length in lengths[:count]:
        keys.append(body[position:position + length])
        position += length
    values: list[bytes | None] = []
    for length in lengths[count:]:
        if length == _ABSENT:
            values.append(None)
        else:
            values.append(body[position:position + length])
            position += length
    return RedoRecord(call, timestamp_ns, tx_id, event, list(zip(keys, values, strict=True)))


class RedoLog:
    """The append-only file beside a ledger's database."""

    def __init__(self, path: Path, *, durable: bool = False) -> None:
        self.path = Path(path)
        self.durable = durable
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        self.size = os.fstat(self._fd).st_size

    def records_after(self, call: int) -> list[RedoRecord]:
        """The records of calls after ``call``, in order (those up to it are already committed)."""
        with open(self.path, "rb") as handle:
            data = handle.read()
        return [record for record in decode_all(data) if record.call > call]

    def append(self, record: RedoRecord) -> None:
        """Append one record; it is acknowledged once this returns."""
        data = encode(record)
        written = os.write(self._fd, data)
        while written < len(data):  # a regular file takes it all at once; be safe anyway
            written += os.write(self._fd, data[written:])
        if self.durable:
            os.fdatasync(self._fd)
        self.size += len(data)

    def reset(self) -> None:
        """Empty the log: every record in it is committed to the database."""
        if self.size:
            os.ftruncate(self._fd, 0)
            if self.durable:
                os.fsync(self._fd)
            self.size = 0

    def close(self) -> None:
        os.close(self._fd)


__all__ = ["RedoLog", "RedoRecord", "decode_all", "encode"]
