"""The unit of work: one call, one transaction, read-your-writes through one overlay.

The ledgers below give Fabric's semantics (reads see committed state only). The rules need
to see their own writes (a batch whose tasks depend on each other, a status changed
earlier in the call), so every read goes through this overlay first. Nothing reaches the
world state until :meth:`Transaction.commit`, which flushes the writes in sorted key order
and attaches the call's events as one chaincode event: a call that raises writes nothing,
on either ledger, and two endorsers produce byte-identical write sets.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Final

from orchestrator.api import event_pb2
from orchestrator.shared.errors import InternalError
from orchestrator.shared.events import event_id
from orchestrator.shared.store.worldstate import Page, TxInfo, WorldState

#: Name of the one chaincode event a transaction carries (upstream's name).
CHAINCODE_EVENT_NAME: Final = "chaincode-updates"

_ABSENT: Final = object()


class Transaction:
    """A transaction-local overlay above a :class:`WorldState`."""

    def __init__(self, world_state: WorldState) -> None:
        self._world_state = world_state
        self._writes: dict[str, bytes | None] = {}  # None marks a deletion
        self._reads: dict[str, bytes | None] = {}  # committed values already fetched
        self._events: list[event_pb2.Event] = []
        self._committed = False
        self._writable = not world_state.info.read_only  # checked on every write: kept as one flag

    def __enter__(self) -> Transaction:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Leaving without commit() discards everything: nothing was sent to the world state.
        return None

    @property
    def info(self) -> TxInfo:
        return self._world_state.info

    # -- reads -------------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        """Value of ``key`` as this transaction sees it (its own writes first)."""
        if key in self._writes:
            return self._writes[key]
        return self.get_committed(key)

    def get_committed(self, key: str) -> bytes | None:
        """Committed value of ``key``, ignoring this transaction's writes (GEN-6, BATCH-3)."""
        cached = self._reads.get(key, _ABSENT)
        if cached is _ABSENT:
            cached = self._world_state.get(key)
            self._reads[key] = cached
        return cached  # type: ignore[return-value]  # not _ABSENT any more: a value or None

    def prefetch_committed(self, keys: Iterable[str]) -> None:
        """Fetch the committed values of ``keys`` not read yet, in one ledger round trip.

        A batch that will check hundreds of keys one by one asks for them together first:
        on a Fabric 3.1 peer that is one GET_STATE_MULTIPLE instead of a GET_STATE per key.
        """
        missing = sorted({key for key in keys if key not in self._reads})
        if missing:
            self._reads.update(zip(missing, self._world_state.get_multiple(missing), strict=True))

    def exists_committed(self, key: str) -> bool:
        """Whether ``key`` exists in committed state."""
        return self.get_committed(key) is not None

    def scan(self, start: str, end: str) -> Iterator[tuple[str, bytes]]:
        """Entries in ``[start, end)`` as this transaction sees them, in key order."""
        pending = sorted(k for k in self._writes if start <= k < end)
        if not pending:
            yield from self._world_state.scan(start, end)
            return
        index = 0
        for key, value in self._world_state.scan(start, end):
            while index < len(pending) and pending[index] < key:
                written = self._writes[pending[index]]
                if written is not None:
                    yield pending[index], written
                index += 1
            if index < len(pending) and pending[index] == key:
                written = self._writes[key]
                if written is not None:
                    yield key, written
                index += 1
                continue
            yield key, value
        for key in pending[index:]:
            written = self._writes[key]
            if written is not None:
                yield key, written

    def scan_page(self, start: str, end: str, page_size: int, bookmark: str) -> Page:
        """One page of committed entries; only read-only transactions page (as Fabric)."""
        if not self.info.read_only:
            raise InternalError("paginated queries are only allowed in read-only transactions")
        return self._world_state.scan_page(start, end, page_size, bookmark)

    # -- writes ------------------------------------------------------------------------

    def put(self, key: str, value: bytes) -> None:
        if not self._writable:
            self._refuse_write()
        self._writes[key] = value

    def delete(self, key: str) -> None:
        if not self._writable:
            self._refuse_write()
        self._writes[key] = None

    def _refuse_write(self) -> None:
        if self.info.read_only:
            raise InternalError("a read-only transaction cannot write")
        raise InternalError("transaction already committed")

    # -- events ------------------------------------------------------------------------

    def emit(self, event: event_pb2.Event) -> event_pb2.Event:
        """Record an event; its id and timestamp derive from the transaction (EVT-2, determinism)."""
        if not self._writable:
            self._refuse_write()
        event.id = event_id(self.info.tx_id, len(self._events))
        event.timestamp.CopyFrom(self.info.timestamp())
        self._events.append(event)
        return event

    @property
    def events(self) -> list[event_pb2.Event]:
        return list(self._events)

    # -- commit ------------------------------------------------------------------------

    def commit(self) -> None:
        """Flush writes in sorted key order and attach the events as one chaincode event."""
        if self._committed:
            raise InternalError("transaction already committed")
        self._committed = True
        self._writable = False
        for key in sorted(self._writes):
            value = self._writes[key]
            if value is None:
                self._world_state.delete(key)
            else:
                self._world_state.put(key, value)
        if self._events:
            self._world_state.set_event(CHAINCODE_EVENT_NAME, encode_events(self._events))


def encode_events(events: list[event_pb2.Event]) -> bytes:
    """Payload of the chaincode event: the call's events, in emission order.

    The bytes of ``QueryEventsResponse(events=events)`` serialized deterministically, written
    field by field: building that message would copy every event (and the asset it carries)
    first, which costs several times the serialization itself.
    """
    parts: list[bytes] = []
    for event in events:
        body = event.SerializeToString(deterministic=True)
        parts.append(_EVENTS_TAG + _varint(len(body)))
        parts.append(body)
    return b"".join(parts)


_EVENTS_TAG: Final = b"\x0a"  # QueryEventsResponse.events: field 1, length-delimited


def _varint(value: int) -> bytes:
    """Protobuf's base-128 encoding of a length."""
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_events(payload: bytes) -> list[event_pb2.Event]:
    """Inverse of :func:`encode_events`."""
    return list(event_pb2.QueryEventsResponse.FromString(payload).events)


def decode_event_records(payload: bytes) -> list[tuple[event_pb2.Event, bytes]]:
    """Each event of a chaincode event payload with its own serialized form.

    The form is the event's slice of the payload (field 1 of ``QueryEventsResponse``, repeated),
    so storing an event costs no re-encoding: a 1,000-task batch would otherwise serialize every
    task a third time.
    """
    events = decode_events(payload)
    slices = _repeated_field_slices(payload, tag=0x0A)
    if len(slices) != len(events):  # not the shape encode_events writes: encode each event again
        slices = [event.SerializeToString(deterministic=True) for event in events]
    return list(zip(events, slices, strict=True))


def _repeated_field_slices(payload: bytes, tag: int) -> list[bytes]:
    """Bodies of the length-delimited fields with one-byte ``tag``; [] when another shape is met."""
    slices: list[bytes] = []
    position, end = 0, len(payload)
    while position < end:
        field_tag = payload[position]
        if field_tag & 0x80 or field_tag & 0x07 != 2:  # a multi-byte tag or a field not length-delimited
            return []
        position += 1
        length = shift = 0
        while True:
            if position >= end:
                return []
            byte = payload[position]
            position += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        if position + length > end:
            return []
        if field_tag == tag:
            slices.append(payload[position:position + length])
        position += length
    return slices


__all__ = ["CHAINCODE_EVENT_NAME", "Transaction", "decode_event_records", "decode_events", "encode_events"]
