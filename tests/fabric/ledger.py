"""The stand-in channel ledger: world state per chaincode, blocks, and the validation a committing peer does."""

# Simulation, read/write sets and MVCC/phantom validation are the peer-side harness's
# (tests/chaincode/harness/ledger.py), so the stand-in network and the harness peer follow the
# same Fabric rules. On top of them the stand-in's validation invalidates a transaction whose
# endorsements do not satisfy the chaincode's policy, whose creator signature is bad, or whose id
# is already in the ledger; it checks every namespace a transaction touched against the writes of
# the block's earlier valid transactions. Only valid transactions write, and only their chaincode
# events are delivered.

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from fabric_protos.common import common_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.peer import chaincode_event_pb2, proposal_pb2, proposal_response_pb2, transaction_pb2
from google.protobuf.message import DecodeError

from tests.chaincode.harness import ledger as harness
from tests.chaincode.harness.ledger import INITIALIZED_KEY, RWLock, Version, VersionedState
from tests.fabric.msp import MspError, MspManager

#: Pending writes of a block's valid transactions: namespace -> key -> (value or ``None``, version).
Updates = dict[str, dict[str, tuple[bytes | None, Version]]]


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


class Simulation(harness.Simulation):
    """The harness's simulation of one proposal, plus the chaincode event the peer puts in its response."""

    def __init__(self, state: VersionedState, namespace: str) -> None:
        super().__init__(state, namespace)
        self.event: tuple[str, bytes] | None = None

    def set_event(self, name: str, payload: bytes) -> None:
        self.event = (name, bytes(payload))


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
        self._state: dict[str, VersionedState] = {}
        self.blocks: list[Block] = [Block(0)]  # block 0: the channel's configuration block
        self._tx_index: dict[str, tuple[int, int]] = {}  # tx id -> (block number, validation code)
        self.lock = RWLock()
        self._committed = threading.Condition()
        self.on_commit: list[Callable[[Block], None]] = []

    def define(self, definition: ChaincodeDefinition) -> None:
        self.chaincodes[definition.name] = definition
        self.namespace(definition.name)

    def namespace(self, name: str) -> VersionedState:
        return self._state.setdefault(name, VersionedState())

    @property
    def height(self) -> int:
        return len(self.blocks)

    # -- simulation ----------------------------------------------------------------------

    def simulate(self, namespace: str) -> Simulation:
        """A new simulation; hold :attr:`lock` for reading while it runs."""
        return Simulation(self.namespace(namespace), namespace)

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
            updates: Updates = {}
            seen: set[str] = set()
            for index, envelope in enumerate(envelopes):
                tx_id, code, event, writes = self._validate(envelope, updates, seen)
                if code == transaction_pb2.VALID:
                    for namespace, kv_writes in writes.items():
                        pending = updates.setdefault(namespace, {})
                        for key, value in kv_writes.items():
                            pending[key] = (value, (number, index))
                else:
                    event = None
                if tx_id:
                    seen.add(tx_id)
                block.transactions.append(CommittedTx(tx_id, code, event))
            for namespace, pending in updates.items():
                state = self.namespace(namespace)
                for key, (value, version) in pending.items():
                    state.apply({key: value}, version)
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

    def _validate(self, envelope_bytes: bytes, updates: Updates, seen: set[str]
                  ) -> tuple[str, int, chaincode_event_pb2.ChaincodeEvent | None, dict[str, dict[str, bytes | None]]]:
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
        writes: dict[str, dict[str, bytes | None]] = {}
        for ns in rwset.ns_rwset:
            kv = kv_rwset_pb2.KVRWSet.FromString(ns.rwset)
            code = harness.validate(self.namespace(ns.namespace), kv, updates.get(ns.namespace, {}))
            if code != transaction_pb2.VALID:
                return tx_id, code, None, {}
            writes.setdefault(ns.namespace, {}).update(harness.writes_of(kv))
        event = chaincode_event_pb2.ChaincodeEvent.FromString(action.events) if action.events else None
        return tx_id, transaction_pb2.VALID, event, writes

    def blocks_from(self, number: int) -> list[Block]:
        with self._committed:
            return self.blocks[number:]


__all__ = [
    "INITIALIZED_KEY", "Block", "ChaincodeDefinition", "ChannelLedger", "CommittedTx", "EndorsementPolicy",
    "Simulation", "Updates",
]
