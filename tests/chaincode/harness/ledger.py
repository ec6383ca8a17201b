"""The harness peer's ledger: versioned world state, simulations that record read/write sets, MVCC validation."""

# Fabric's rules, as far as a chaincode can observe them:
# - a simulation reads committed state only (never its own writes) under a shared lock, so
#   commits wait for running simulations (Fabric's txmgr holds its commit lock likewise);
# - every key read is recorded with its version (block, tx) or as absent; every range query
#   is recorded with the keys the peer fetched and whether it reached its end; writes are the
#   last value per key, an empty value being a delete (Fabric's newKVWrite);
# - a simulation that ran a paginated query may not write, and one that wrote may not run one;
# - validation replays a block's transactions in order: a read whose version changed
#   (MVCC_READ_CONFLICT) or a range that would now return other keys or versions
#   (PHANTOM_READ_CONFLICT) invalidates the transaction, which then writes nothing.

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.peer import transaction_pb2
from sortedcontainers import SortedDict

Version = tuple[int, int]  # (block number, transaction number) of the last write

#: Fabric's lifecycle marker of an initialized chaincode, in the chaincode's own namespace.
INITIALIZED_KEY = "\x00" + chr(0x10FFFF) + "initialized"

VALID = transaction_pb2.VALID
MVCC_READ_CONFLICT = transaction_pb2.MVCC_READ_CONFLICT
PHANTOM_READ_CONFLICT = transaction_pb2.PHANTOM_READ_CONFLICT
DUPLICATE_TXID = transaction_pb2.DUPLICATE_TXID


def code_name(code: int) -> str:
    """``VALID``, ``MVCC_READ_CONFLICT`` …"""
    return transaction_pb2.TxValidationCode.Name(code)


class SimulationError(Exception):
    """The simulator refuses an operation (Fabric's text, which the peer sends back as ERROR)."""


class RWLock:
    """Many simulations or one commit; a waiting commit holds back new simulations (Go's RWMutex)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting_writers = 0

    def acquire_read(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: not self._writer and not self._waiting_writers)
            self._readers += 1

    def release_read(self) -> None:
        with self._cond:
            self._readers -= 1
            if not self._readers:
                self._cond.notify_all()

    def acquire_write(self) -> None:
        with self._cond:
            self._waiting_writers += 1
            self._cond.wait_for(lambda: not self._writer and not self._readers)
            self._waiting_writers -= 1
            self._writer = True

    def release_write(self) -> None:
        with self._cond:
            self._writer = False
            self._cond.notify_all()


class VersionedState:
    """One chaincode namespace: key -> (value, version), in key order."""

    def __init__(self) -> None:
        self._entries: SortedDict = SortedDict()
        self.lock = RWLock()

    def get(self, key: str) -> tuple[bytes, Version] | None:
        return self._entries.get(key)  # type: ignore[no-any-return]

    def range(self, start: str, end: str, *, inclusive_end: bool = False) -> Iterator[tuple[str, bytes, Version]]:
        """Entries from ``start`` to ``end`` (exclusive unless ``inclusive_end``; ``""`` = to the last key)."""
        keys = self._entries.irange(start or None, end or None, inclusive=(True, inclusive_end))
        for key in keys:
            value, version = self._entries[key]
            yield key, value, version

    def apply(self, writes: dict[str, bytes | None], version: Version) -> None:
        for key, value in writes.items():
            if value is None:
                self._entries.pop(key, None)
            else:
                self._entries[key] = (value, version)

    def __getitem__(self, key: str) -> tuple[bytes, Version]:
        return self._entries[key]  # type: ignore[no-any-return]

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def items(self) -> dict[str, bytes]:
        """A copy of the whole state (for tests)."""
        return {key: value for key, (value, _) in self._entries.items()}

    def __len__(self) -> int:
        return len(self._entries)


@dataclass
class RangeQuery:
    """One range query as Fabric's rwset records it."""

    start: str
    end: str
    exhausted: bool = False
    reads: list[tuple[str, Version]] = field(default_factory=list)


class Simulation:
    """One transaction simulated on committed state; what the chaincode's state requests read and wrote."""

    def __init__(self, state: VersionedState, namespace: str = "mycc") -> None:
        self._state = state
        self.namespace = namespace
        self.reads: dict[str, Version | None] = {}
        self.range_queries: list[RangeQuery] = []
        self.writes: dict[str, bytes | None] = {}
        self._paginated = False

    # -- what the chaincode asks ---------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        entry = self._state.get(key)
        self.reads[key] = None if entry is None else entry[1]
        return None if entry is None else entry[0]

    def put(self, key: str, value: bytes) -> None:
        self._check_write(key)
        self.writes[key] = bytes(value) if value else None  # an empty value is a delete, as in Fabric

    def delete(self, key: str) -> None:
        self._check_write(key)
        self.writes[key] = None

    def _check_write(self, key: str) -> None:
        if self._paginated:
            raise SimulationError("unsuppored transaction. Transaction has already performed a paginated query. "
                                  "Writes are not allowed")
        if not key:
            raise SimulationError("invalid key: empty")

    def scan(self, start: str, end: str) -> Iterator[tuple[str, bytes]]:
        """Committed entries in ``[start, end)``, each recorded as it is fetched."""
        record = RangeQuery(start, end)
        self.range_queries.append(record)
        for key, value, version in self._state.range(start, end):
            record.reads.append((key, version))
            yield key, value
        record.exhausted = True

    def scan_page(self, start: str, end: str, page_size: int, bookmark: str) -> tuple[list[tuple[str, bytes]], str]:
        """One page from ``bookmark`` (or ``start``) and the next page's first key (``""`` at the end)."""
        if self.writes:
            raise SimulationError("unsuppored transaction. Paginated queries are supported only in a read-only "
                                  "transaction")
        self._paginated = True
        low = max(start, bookmark) if bookmark else start
        record = RangeQuery(low, end)
        self.range_queries.append(record)
        entries: list[tuple[str, bytes]] = []
        for key, value, version in self._state.range(low, end):
            if len(entries) == page_size:
                return entries, key
            record.reads.append((key, version))
            entries.append((key, value))
        record.exhausted = True
        return entries, ""

    # -- the read/write set ----------------------------------------------------------------

    def kv_rwset(self) -> kv_rwset_pb2.KVRWSet:
        """Fabric's ``KVRWSet``: reads and writes sorted by key, range queries in execution order."""
        kv = kv_rwset_pb2.KVRWSet()
        for key in sorted(self.reads):
            version = self.reads[key]
            read = kv.reads.add(key=key)
            if version is not None:
                read.version.block_num, read.version.tx_num = version
        for record in self.range_queries:
            # A range left unfinished is validated up to the last key fetched, end key included.
            end = record.end if record.exhausted or not record.reads else record.reads[-1][0]
            info = kv.range_queries_info.add(start_key=record.start, end_key=end, itr_exhausted=record.exhausted)
            info.raw_reads.SetInParent()
            for key, (block, tx) in record.reads:
                info.raw_reads.kv_reads.add(key=key, version=kv_rwset_pb2.Version(block_num=block, tx_num=tx))
        for key in sorted(self.writes):
            value = self.writes[key]
            kv.writes.add(key=key, is_delete=value is None, value=value or b"")
        return kv

    def rwset(self) -> bytes:
        """The serialized ``rwset.TxReadWriteSet`` (deterministic bytes)."""
        tx = rwset_pb2.TxReadWriteSet(data_model=rwset_pb2.TxReadWriteSet.KV)
        tx.ns_rwset.add(namespace=self.namespace, rwset=self.kv_rwset().SerializeToString(deterministic=True))
        return tx.SerializeToString(deterministic=True)


def validate(state: VersionedState, kv: kv_rwset_pb2.KVRWSet, updates: dict[str, tuple[bytes | None, Version]]
             ) -> int:
    """Fabric's MVCC and phantom checks of one transaction against committed state plus ``updates``."""
    for read in kv.reads:
        expected = (read.version.block_num, read.version.tx_num) if read.HasField("version") else None
        if _current(state, read.key, updates) != expected:
            return MVCC_READ_CONFLICT
    for info in kv.range_queries_info:
        recorded = [(r.key, (r.version.block_num, r.version.tx_num)) for r in info.raw_reads.kv_reads]
        if _range_now(state, info.start_key, info.end_key, not info.itr_exhausted, updates) != recorded:
            return PHANTOM_READ_CONFLICT
    return VALID


def _current(state: VersionedState, key: str, updates: dict[str, tuple[bytes | None, Version]]) -> Version | None:
    pending = updates.get(key)
    if pending is not None:
        return None if pending[0] is None else pending[1]
    entry = state.get(key)
    return None if entry is None else entry[1]


def _range_now(state: VersionedState, start: str, end: str, inclusive_end: bool,
               updates: dict[str, tuple[bytes | None, Version]]) -> list[tuple[str, Version]]:
    found = {key: version for key, _, version in state.range(start, end, inclusive_end=inclusive_end)}
    for key, (value, version) in updates.items():
        if key < start or (end and (key > end if inclusive_end else key >= end)):
            continue
        if value is None:
            found.pop(key, None)
        else:
            found[key] = version
    return sorted(found.items())


def writes_of(kv: kv_rwset_pb2.KVRWSet) -> dict[str, bytes | None]:
    return {write.key: None if write.is_delete else bytes(write.value) for write in kv.writes}


def commit_block(state: VersionedState, number: int, rwsets: Sequence[kv_rwset_pb2.KVRWSet | None]) -> list[int]:
    """Validate and apply one block (``None`` = a transaction already judged invalid); the validation codes."""
    codes: list[int] = []
    updates: dict[str, tuple[bytes | None, Version]] = {}
    for index, kv in enumerate(rwsets):
        if kv is None:
            codes.append(DUPLICATE_TXID)
            continue
        code = validate(state, kv, updates)
        codes.append(code)
        if code == VALID:
            for key, value in writes_of(kv).items():
                updates[key] = (value, (number, index))
    for key, (value, version) in updates.items():
        state.apply({key: value}, version)
    return codes


__all__ = [
    "DUPLICATE_TXID", "INITIALIZED_KEY", "MVCC_READ_CONFLICT", "PHANTOM_READ_CONFLICT", "VALID", "RWLock",
    "RangeQuery", "Simulation", "SimulationError", "Version", "VersionedState", "code_name", "commit_block",
    "validate", "writes_of",
]
