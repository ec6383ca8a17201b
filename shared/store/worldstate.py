"""The world-state interface: the smallest surface the store needs from a ledger.

Two implementations satisfy it structurally: the chaincode shim's stub (a Fabric peer)
and the gateway's embedded SQLite ledger. Both keep Fabric's semantics: reads and range
scans see *committed* state only, never the calling transaction's own pending writes.
Read-your-writes is the job of :class:`orchestrator.shared.store.transaction.Transaction`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from google.protobuf.timestamp_pb2 import Timestamp


@dataclass(frozen=True)
class TxInfo:
    """What a transaction knows about itself: set by the ledger, identical on every endorser."""

    tx_id: str
    timestamp_ns: int  # transaction timestamp, nanoseconds since the epoch (GEN-5)
    creator_msp: str  # the caller's MSP ID (GEN-2)
    channel: str
    read_only: bool = False  # evaluated, never ordered: paginated scans are allowed

    def timestamp(self) -> Timestamp:
        """The transaction timestamp as a protobuf ``Timestamp``."""
        seconds, nanos = divmod(self.timestamp_ns, 1_000_000_000)
        return Timestamp(seconds=seconds, nanos=nanos)


@dataclass(frozen=True)
class Page:
    """One page of a range scan; ``bookmark`` is the first key of the next page, or ``""``."""

    entries: list[tuple[str, bytes]]
    bookmark: str


class WorldState(Protocol):
    """Committed-state access for one transaction."""

    @property
    def info(self) -> TxInfo: ...

    def get(self, key: str) -> bytes | None:
        """Committed value of ``key``, or ``None``."""
        ...

    def get_multiple(self, keys: Sequence[str]) -> list[bytes | None]:
        """Committed values of ``keys``, in order: one round trip where the ledger can (Fabric 3.1+)."""
        ...

    def put(self, key: str, value: bytes) -> None:
        """Record a write; invisible to this transaction's own reads."""
        ...

    def delete(self, key: str) -> None:
        """Record a deletion."""
        ...

    def scan(self, start: str, end: str) -> Iterator[tuple[str, bytes]]:
        """Committed entries with ``start <= key < end``, in key (UTF-8 byte) order."""
        ...

    def scan_page(self, start: str, end: str, page_size: int, bookmark: str) -> Page:
        """One page of ``scan`` starting at ``bookmark`` (or ``start``); read-only transactions only."""
        ...

    def set_event(self, name: str, payload: bytes) -> None:
        """Attach the transaction's (single) chaincode event."""
        ...
