"""The redo log: acknowledged calls not yet committed to SQLite, one appended record each.

The embedded ledger commits calls to SQLite in groups (a commit rewrites every page the
call touched, about 25 of them for one task, which costs more than the call itself).
Until its group commits, an acknowledged call lives here: one ``write`` of its write set
and event, which is in the operating system's hands when the call returns, so it survives
a ``kill -9`` (with ``durable=True`` each record is also synced: it survives a power loss).
At open, the records after the last committed call are applied again.

A record is ``length, crc32`` and a body: call number, timestamp, the counts and lengths of
everything that follows, transaction id, event payload, the written keys, then their values.
A bad record (cut short, or whose checksum fails) with nothing valid after it is a *torn
tail*: the unacknowledged call of a process that died while appending it, dropped with a
warning. A bad record followed by valid ones is *damage*: :func:`scan` finds the valid records
after it, and the ledger refuses to serve rather than lose the acknowledged calls it held.
"""

from __future__ import annotations

import contextlib
import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
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
    while True:
        found = _record_at(data, position)
        if found is None:
            return
        record, position = found
        yield record


def _record_at(data: bytes, position: int) -> tuple[RedoRecord, int] | None:
    """The valid record starting at ``position`` and the offset after it, or ``None``."""
    if position + _HEAD.size + _CALL.size > len(data):
        return None
    length, checksum = _HEAD.unpack_from(data, position)
    end = position + _HEAD.size + length
    if length < _CALL.size or end > len(data) or not _lengths_add_up(data, position + _HEAD.size, length):
        return None
    body = data[position + _HEAD.size:end]
    if zlib.crc32(body) != checksum:
        return None
    try:
        return _decode_body(body), end
    except (struct.error, UnicodeDecodeError, ValueError):  # a checksum that matches by chance
        return None


def _lengths_add_up(data: bytes, start: int, length: int) -> bool:
    """Whether the lengths a body declares add up to its size: checked before its checksum, which costs more."""
    _, _, tx_length, event_length, count = _CALL.unpack_from(data, start)
    fixed = _CALL.size + 8 * count + tx_length + (0 if event_length == _ABSENT else event_length)
    if fixed > length:
        return False
    lengths = struct.unpack_from(f"<{2 * count}I", data, start + _CALL.size)
    return bool(fixed + sum(lengths[:count]) + sum(n for n in lengths[count:] if n != _ABSENT) == length)


@dataclass(frozen=True)
class Damage:
    """Unreadable bytes followed by valid records: ``length`` bytes at ``offset``, then ``records_after`` records."""

    offset: int
    length: int
    records_after: int
    call_before: int | None  # number of the last valid call before the damage (None: at the head)
    call_after: int  # number of the first valid call after it


@dataclass(frozen=True)
class RedoScan:
    """What a redo log holds: every valid record, the damaged regions between them, and a torn tail.

    ``records`` are the valid records in file order, those after a damaged region included;
    ``torn_bytes`` are the bytes after the last valid record that form no record (an append cut
    short), ``torn_records`` an estimate of the records they held (at least one when any).
    """

    path: Path
    size: int
    records: list[RedoRecord] = field(default_factory=list)
    damage: list[Damage] = field(default_factory=list)
    torn_bytes: int = 0
    torn_records: int = 0

    @property
    def torn_offset(self) -> int:
        return self.size - self.torn_bytes

    def missing_after(self, last: int) -> list[int]:
        """Numbers of the calls after ``last`` (the last committed one) that no valid record holds.

        The log holds consecutive calls; those from ``last + 1`` to the last valid record must
        all be there to be replayed. A non-empty answer means acknowledged calls were lost.
        """
        needed = sorted(record.call for record in self.records if record.call > last)
        if not needed:
            return []
        present = set(needed)
        return [call for call in range(last + 1, needed[-1]) if call not in present]

    def damage_hiding(self, last: int) -> list[Damage]:
        """The damaged regions that held calls after ``last`` (not committed elsewhere)."""
        return [d for d in self.damage
                if d.call_after - 1 > last and (d.call_before is None or d.call_after - 1 > d.call_before)]


def scan(path: Path, data: bytes | None = None) -> RedoScan:
    """Read a whole redo log and tell its valid records from its damage and its torn tail.

    After a bad record the scan moves on byte by byte until a record validates again (its
    length fits and its CRC-32 matches): the cost is the damaged bytes, not the log.
    """
    if data is None:
        data = Path(path).read_bytes()
    records: list[RedoRecord] = []
    damage: list[Damage] = []
    position = 0
    bad_start: int | None = None
    size = len(data)
    while position < size:
        found = _record_at(data, position)
        if found is None:
            if bad_start is None:
                bad_start = position
            position = _next_plausible(data, position + 1)
            continue
        record, end = found
        if bad_start is not None:
            # records_after holds the index of the first record after the damage until all are known
            damage.append(Damage(bad_start, position - bad_start, len(records), records[-1].call if records else None,
                                 record.call))
            bad_start = None
        records.append(record)
        position = end
    counted = [Damage(d.offset, d.length, len(records) - d.records_after, d.call_before, d.call_after)
               for d in damage]
    torn = size - bad_start if bad_start is not None else 0
    return RedoScan(Path(path), size, records, counted, torn, _records_in_tail(data, bad_start) if torn else 0)


def _next_plausible(data: bytes, start: int) -> int:
    """The first offset from ``start`` whose length field could start a record (it fits), else the end.

    A record's first 4 bytes are its little-endian body length, at most what is left of the log:
    in a log under 16 MB its most significant byte is zero, which ``bytes.find`` locates at C
    speed; in damaged or random bytes few offsets pass, so megabytes of damage scan fast.
    """
    size = len(data)
    last = size - _HEAD.size - _CALL.size  # the last offset where a record can start
    if size >= 1 << 24:  # lengths may use all 4 bytes: try every offset
        return start if start <= last else size
    position = start
    while position <= last:
        zero = data.find(b"\x00", position + 3, last + 4)
        if zero < 0:
            return size
        candidate = zero - 3
        (length,) = struct.unpack_from("<I", data, candidate)
        if _CALL.size <= length <= size - candidate - _HEAD.size:
            return candidate
        position = candidate + 1
    return size


def _records_in_tail(data: bytes, start: int | None) -> int:
    """How many records a torn tail held, by following its length fields while they fit (at least 1)."""
    if start is None:
        return 0
    count, position = 0, start
    while position + _HEAD.size <= len(data):
        (length,) = struct.unpack_from("<I", data, position)
        count += 1
        position += _HEAD.size + length
    return max(count, 1)


def call_ranges(calls: Sequence[int]) -> str:
    """Call numbers for people: ``[3, 4, 5, 9]`` as ``"3-5, 9"``."""
    if not calls:
        return "none"
    parts: list[str] = []
    start = previous = calls[0]
    for call in [*calls[1:], None]:
        if call is not None and call == previous + 1:
            previous = call
            continue
        parts.append(f"{start}-{previous}" if previous > start else str(start))
        if call is not None:
            start = previous = call
    return ", ".join(parts)


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
    if position != len(body):
        raise ValueError("the lengths of a redo record do not add up to its size")
    return RedoRecord(call, timestamp_ns, tx_id, event, list(zip(keys, values, strict=True)))


class RedoLog:
    """The append-only file beside a ledger's database."""

    def __init__(self, path: Path, *, durable: bool = False) -> None:
        self.path = Path(path)
        self.durable = durable
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        self.size = os.fstat(self._fd).st_size

    def scan(self) -> RedoScan:
        """Every record of the log, its damage and its torn tail (see :func:`scan`)."""
        with open(self.path, "rb") as handle:
            return scan(self.path, handle.read())

    def truncate(self, size: int) -> None:
        """Cut the log back to ``size`` bytes: what an append that failed midway left after it."""
        os.ftruncate(self._fd, size)
        self.size = size

    def append(self, record: RedoRecord) -> None:
        """Append one record; it is acknowledged once this returns."""
        data = encode(record)
        try:
            written = os.write(self._fd, data)
            while written < len(data):  # a full disk takes part of it, then refuses the rest
                written += os.write(self._fd, data[written:])
            if self.durable:
                os.fdatasync(self._fd)
        except OSError:
            # Not acknowledged: take the partial record back, or no record may follow it (the
            # next open would take it for a torn tail, or for damage if others came after).
            with contextlib.suppress(OSError):  # if this fails too, the ledger cuts it back when it heals
                os.ftruncate(self._fd, self.size)
            raise
        self.size += len(data)

    def probe(self, size: int = 4096) -> None:
        """Append ``size`` bytes and take them back: raises while the disk is full or the file unwritable."""
        try:
            os.write(self._fd, bytes(size))
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self.size)

    def reset(self) -> None:
        """Empty the log: every record in it is committed to the database."""
        if self.size:
            os.ftruncate(self._fd, 0)
            if self.durable:
                os.fsync(self._fd)
            self.size = 0

    def close(self) -> None:
        os.close(self._fd)


__all__ = ["Damage", "RedoLog", "RedoRecord", "RedoScan", "call_ranges", "decode_all", "encode", "scan"]
