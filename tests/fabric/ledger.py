"""The stand-in channel ledger: versioned world state, simulations that record read/write sets, blocks, validation."""

# It follows Fabric's rules where the gateway can observe them: a simulation reads committed
# state only (a transaction never sees its own writes) and records the version of each key it
# read and the results of each range scan; validation replays the transactions of a block in
# order and invalidates one whose read versions changed (MVCC_READ_CONFLICT), whose range
# scans would now return other keys or versions (PHANTOM_READ_CONFLICT), whose endorsements do
# not satisfy the chaincode's policy, whose creator signature is bad, or whose id is already in
# the ledger. Only valid transactions write, and only their chaincode events are delivered.

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from fabric_protos.common import common_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.peer import chaincode_event_pb2, proposal_pb2, proposal_response_pb2, transaction_pb2
from google.protobuf.message import DecodeError
from sortedcontainers import SortedDict

from tests.fabric.msp import MspError, MspManager

Version = tuple[int, int]  # (block number, transaction number) of the last write

#: Fabric's lifecycle marker of an initialized chaincode (in the chaincode's own namespace).
INITIALIZED_KEY = "\x00" + chr(0x10FFFF) + "initialized"


class RWLock:
    """Many simulations or one commit, writer first (Go's RWMutex): a pending commit stops new simulations."""

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


@dataclass(frozen=True)
class EndorsementPolicy:
    """Which organizations must endorse: ``any`` one member, ``all`` of them, or a ``majority``."""

    rule: str
    members: tuple[str, ...]

    def required(self) -> int:
        return {"any": 1, "all": len(self.members), "majority": len(self.members) // 2 + 1}[self.rule]

    def satisfied_by(self, mspids: set[str]) -> bool:
        return len(mspids & set(self.members)) >= self.required()


@dataclass
class ChaincodeDefinition:
    """A chaincode committed on the channel."""

    name: str
    policy: EndorsementPolicy
    version: str = "1.0"
    init_required: bool = False


@dataclass
class RangeRead:
    start: str
    end: str
    exhausted: bool
    reads: list[tuple[str, Version]]


class Simulation:
    """One proposal run on committed state: what it read (with versions), scanned and wrote, and its event."""

    def __init__(self, ledger: ChannelLedger, namespace: str) -> None:
        self._state = ledger.namespace(namespace)
        self.namespace = namespace
        self.reads: dict[str, Version | None] = {}
        self.range_reads: list[RangeRead] = []
        self.writes: dict[str, bytes | None] = {}
        self.event: tuple[str, bytes] | None = None
        self.paginated = False

    def get(self, key: str) -> bytes | None:
        entry = self._state.get(key)
        if key not in self.reads:
            self.reads[key] = None if entry is None else entry[1]
        return None if entry is None else entry[0]

    def put(self, key: str, value: bytes) -> None:
        self.writes[key] = bytes(value)

    def delete(self, key: str) -> None:
        self.writes[key] = None

    def scan(self, start: str, end: str) -> Iterator[tuple[str, bytes]]:
        """Committed entries in ``[start, end)``; the scan is recorded for phantom detection as it is consumed."""
        record = RangeRead(start, end, False, [])
        self.range_reads.append(record)
        keys = list(self._state.irange(start, end, inclusive=(True, False))) if end else \
            list(self._state.irange(start, None))
        for key in keys:
            entry = self._state.get(key)
            if entry is None:
                continue
            record.reads.append((key, entry[1]))
            yield key, entry[0]
        record.exhausted = True

    def scan_page(self, start: str, end: str, page_size: int, bookmark: str) -> tuple[list[tuple[str, bytes]], str]:
        """One page from ``bookmark`` (or ``start``) and the next bookmark (``""`` at the end)."""
        self.paginated = True
        low = max(start, bookmark) if bookmark else start
        entries: list[tuple[str, bytes]] = []
        for key in self._state.irange(low, end or None, inclusive=(True, False)):
            entry = self._state.get(key)
            if entry is None:
                continue
            if len(entries) == page_size:
                return entries, key
            entries.append((key, entry[0]))
        return entries, ""

    def set_event(self, name: str, payload: bytes) -> None:
        self.event = (name, bytes(payload))

    def close(self) -> None:
        """Mark unfinished scans: Fabric then validates them only up to the last key read."""
        for record in self.range_reads:
            if not record.exhausted and record.reads:
                record.end = record.reads[-1][0]

    def rwset(self) -> bytes:
        """The ``rwset.TxReadWriteSet`` (deterministic: reads and writes sorted by key)."""
        self.close()
        kv = kv_rwset_pb2.KVRWSet()
        for key in sorted(self.reads):
            version = self.reads[key]
            read = kv.reads.add(key=key)
            if version is not None:
                read.version.block_num, read.version.tx_num = version
        for record in self.range_reads:
            info = kv.range_queries_info.add(start_key=record.start, end_key=record.end,
                                             itr_exhausted=record.exhausted)
            info.raw_reads.SetInParent()
            for key, (block, tx) in record.reads:
                info.raw_reads.kv_reads.add(key=key, version=kv_rwset_pb2.Version(block_num=block, tx_num=tx))
        for key in sorted(self.writes):
            value = self.writes[key]
            kv.writes.add(key=key, is_delete=value is None, value=value or b"")
        tx = rwset_pb2.TxReadWriteSet(data_model=rwset_pb2.TxReadWriteSet.KV)
        tx.ns_rwset.add(namespace=self.namespace, rwset=kv.SerializeToString(deterministic=True))
        return tx.SerializeToString(deterministic=True)


@dataclass
class CommittedTx:
    tx_id: str
    code: int
    event: chaincode_event_pb2.ChaincodeEvent | None = None


@dataclass
class Block:
    number: int
    transactions: list[CommittedTx] = field(default_factory=list)


class ChannelLedger:
    """One channel: world state per chaincode namespace, the chain of blocks, and commit notifications."""

    def __init__(self, channel: str, msp: MspManager, members: tuple[str, ...]) -> None:
        self.channel = channel
        self.msp = msp
        self.members = members
        self.chaincodes: dict[str, ChaincodeDefinition] = {}
        self._state: dict[str, SortedDict] = {}
        self.blocks: list[Block] = [Block(0)]  # block 0: the channel's configuration block
        self._tx_index: dict[str, tuple[int, int]] = {}  # tx id -> (block number, validation code)
        self.lock = RWLock()
        self._committed = threading.Condition()
        self.on_commit: list[Callable[[Block], None]] = []

    def define(self, definition: ChaincodeDefinition) -> None:
        self.chaincodes[definition.name] = definition
        self._state.setdefault(definition.name, SortedDict())

    def namespace(self, name: str) -> SortedDict:
        return self._state.setdefault(name, SortedDict())

    @property
    def height(self) -> int:
        return len(self.blocks)

    # -- simulation ----------------------------------------------------------------------

    def simulate(self, namespace: str) -> Simulation:
        """A new simulation; hold :attr:`lock` for reading while it runs."""
        return Simulation(self, namespace)

    # -- status and events -----------------------------------------------------------------

    def status(self, tx_id: str) -> tuple[int, int] | None:
        """(block number, validation code) of a committed transaction, or ``None``."""
        return self._tx_index.get(tx_id)

    def wait_status(self, tx_id: str, timeout: float | None) -> tuple[int, int] | None:
        with self._committed:
            self._committed.wait_for(lambda: tx_id in self._tx_index, timeout)
            return self._tx_index.get(tx_id)

    def wait_height(self, height: int, timeout: float) -> bool:
        """Block until the chain has more than ``height`` blocks (True) or the timeout passes."""
        with self._committed:
            return self._committed.wait_for(lambda: len(self.blocks) > height, timeout)

    def block_of(self, tx_id: str) -> int | None:
        found = self._tx_index.get(tx_id)
        return None if found is None else found[0]

    # -- validation and commit ---------------------------------------------------------------

    def commit(self, envelopes: list[bytes]) -> Block:
        """Validate a block of transactions in order, apply the valid ones, and notify waiters."""
        self.lock.acquire_write()
        try:
            number = len(self.blocks)
            block = Block(number)
            updates: dict[tuple[str, str], tuple[bytes | None, Version]] = {}
            seen: set[str] = set()
            for index, envelope in enumerate(envelopes):
                tx_id, code, event, writes = self._validate(envelope, updates, seen)
                if code == transaction_pb2.VALID:
                    for (namespace, key), value in writes.items():
                        updates[(namespace, key)] = (value, (number, index))
                else:
                    event = None
                if tx_id:
                    seen.add(tx_id)
                block.transactions.append(CommittedTx(tx_id, code, event))
            for (namespace, key), (value, version) in updates.items():
                state = self.namespace(namespace)
                if value is None:
                    state.pop(key, None)
                else:
                    state[key] = (value, version)
            with self._committed:
                self.blocks.append(block)
                for tx in block.transactions:
                    if tx.tx_id and tx.tx_id not in self._tx_index:
                        self._tx_index[tx.tx_id] = (number, tx.code)
                self._committed.notify_all()
        finally:
            self.lock.release_write()
        for callback in self.on_commit:
            callback(block)
        return block

    def _current(self, namespace: str, key: str, updates: dict[tuple[str, str], tuple[bytes | None, Version]]
                 ) -> Version | None:
        pending = updates.get((namespace, key))
        if pending is not None:
            return None if pending[0] is None else pending[1]
        entry = self.namespace(namespace).get(key)
        return None if entry is None else entry[1]

    def _range_now(self, namespace: str, start: str, end: str, inclusive_end: bool,
                   updates: dict[tuple[str, str], tuple[bytes | None, Version]]) -> list[tuple[str, Version]]:
        state = self.namespace(namespace)
        found: dict[str, Version] = {
            key: state[key][1] for key in state.irange(start, end or None, inclusive=(True, inclusive_end))
        }
        for (ns, key), (value, version) in updates.items():
            if ns != namespace or key < start or (end and (key > end if inclusive_end else key >= end)):
                continue
            if value is None:
                found.pop(key, None)
            else:
                found[key] = version
        return sorted(found.items())

    def _validate(self, envelope_bytes: bytes, updates: dict[tuple[str, str], tuple[bytes | None, Version]],
                  seen: set[str]) -> tuple[str, int, chaincode_event_pb2.ChaincodeEvent | None,
                                           dict[tuple[str, str], bytes | None]]:
        try:
            envelope = common_pb2.Envelope.FromString(envelope_bytes)
            payload = common_pb2.Payload.FromString(envelope.payload)
            channel_header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
            signature_header = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
        except DecodeError:
            return "", transaction_pb2.BAD_PAYLOAD, None, {}
        tx_id = channel_header.tx_id
        if channel_header.type != common_pb2.ENDORSER_TRANSACTION or channel_header.channel_id != self.channel:
            return tx_id, transaction_pb2.BAD_CHANNEL_HEADER, None, {}
        if hashlib.sha256(signature_header.nonce + signature_header.creator).hexdigest() != tx_id:
            return tx_id, transaction_pb2.BAD_PROPOSAL_TXID, None, {}
        if tx_id in self._tx_index or tx_id in seen:
            return tx_id, transaction_pb2.DUPLICATE_TXID, None, {}
        try:
            creator = self.msp.verify(signature_header.creator, envelope.payload, envelope.signature)
        except MspError:
            return tx_id, transaction_pb2.BAD_CREATOR_SIGNATURE, None, {}
        if creator.mspid not in self.members:
            return tx_id, transaction_pb2.BAD_CREATOR_SIGNATURE, None, {}
        try:
            transaction = transaction_pb2.Transaction.FromString(payload.data)
            action_payload = transaction_pb2.ChaincodeActionPayload.FromString(transaction.actions[0].payload)
            prp_bytes = action_payload.action.proposal_response_payload
            response_payload = proposal_response_pb2.ProposalResponsePayload.FromString(prp_bytes)
            action = proposal_pb2.ChaincodeAction.FromString(response_payload.extension)
            rwset = rwset_pb2.TxReadWriteSet.FromString(action.results)
        except (DecodeError, IndexError):
            return tx_id, transaction_pb2.BAD_PAYLOAD, None, {}
        definition = self.chaincodes.get(action.chaincode_id.name)
        if definition is None:
            return tx_id, transaction_pb2.INVALID_CHAINCODE, None, {}
        endorsers: set[str] = set()
        for endorsement in action_payload.action.endorsements:
            try:
                endorsers.add(self.msp.verify(endorsement.endorser, prp_bytes + endorsement.endorser,
                                              endorsement.signature).mspid)
            except MspError:
                continue
        if not definition.policy.satisfied_by(endorsers):
            return tx_id, transaction_pb2.ENDORSEMENT_POLICY_FAILURE, None, {}
        writes: dict[tuple[str, str], bytes | None] = {}
        for ns in rwset.ns_rwset:
            kv = kv_rwset_pb2.KVRWSet.FromString(ns.rwset)
            for read in kv.reads:
                expected = (read.version.block_num, read.version.tx_num) if read.HasField("version") else None
                if self._current(ns.namespace, read.key, updates) != expected:
                    return tx_id, transaction_pb2.MVCC_READ_CONFLICT, None, {}
            for info in kv.range_queries_info:
                recorded = [(r.key, (r.version.block_num, r.version.tx_num)) for r in info.raw_reads.kv_reads]
                now = self._range_now(ns.namespace, info.start_key, info.end_key, not info.itr_exhausted, updates)
                if now != recorded:
                    return tx_id, transaction_pb2.PHANTOM_READ_CONFLICT, None, {}
            for write in kv.writes:
                writes[(ns.namespace, write.key)] = None if write.is_delete else bytes(write.value)
        event = chaincode_event_pb2.ChaincodeEvent.FromString(action.events) if action.events else None
        return tx_id, transaction_pb2.VALID, event, writes

    def blocks_from(self, number: int) -> list[Block]:
        with self._committed:
            return self.blocks[number:]


__all__ = [
    "INITIALIZED_KEY", "Block", "ChaincodeDefinition", "ChannelLedger", "CommittedTx", "EndorsementPolicy",
    "RWLock", "RangeRead", "Simulation", "Version",
]
