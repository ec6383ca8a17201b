"""The harness peer: endorse signed proposals through a real chaincode server, commit them with Fabric's validation."""

# ``endorse`` is what Fabric's endorser does with a proposal: check it (header, txid derived
# from nonce and creator, creator signature, not a duplicate), apply the lifecycle's
# init-exactly-once rule when the definition requires init (which reads — and for an init,
# writes — the "initialized" key), simulate it on the chaincode, and return the chaincode's
# response with the read/write set and chaincode event. ``commit`` orders endorsements into
# one block and validates them in order (duplicate txid, MVCC, phantoms): only valid ones
# write, only theirs emit events. ``submit`` hands an endorsement to a background orderer that
# cuts a block of whatever is pending, as a loaded ordering service does.

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field

from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.peer import chaincode_event_pb2, proposal_response_pb2

from tests.chaincode.harness.identity import Identity, identity_for
from tests.chaincode.harness.ledger import (
    DUPLICATE_TXID,
    INITIALIZED_KEY,
    VALID,
    RangeQuery,
    Simulation,
    Version,
    VersionedState,
    code_name,
    commit_block,
)
from tests.chaincode.harness.proposal import Proposal, ProposalError, build_proposal, unpack_proposal
from tests.chaincode.harness.stream import ChaincodeConnection


class EndorsementError(Exception):
    """The chaincode (or the endorser) refused the proposal: Fabric's "chaincode response <status>, <message>"."""

    def __init__(self, tx_id: str, status: int, message: str) -> None:
        super().__init__(f"chaincode response {status}, {message}")
        self.tx_id = tx_id
        self.status = status
        self.message = message


class CommitError(Exception):
    """The transaction was ordered but invalidated at commit (its writes were not applied)."""

    def __init__(self, tx_id: str, code: int) -> None:
        super().__init__(f"transaction {tx_id} invalidated: {code_name(code)}")
        self.tx_id = tx_id
        self.code = code


@dataclass
class Endorsement:
    """The outcome of endorsing one proposal on one peer."""

    proposal: Proposal
    response: proposal_response_pb2.Response
    event: chaincode_event_pb2.ChaincodeEvent | None
    read_set: dict[str, Version | None] = field(default_factory=dict)
    range_queries: list[RangeQuery] = field(default_factory=list)
    write_set: dict[str, bytes | None] = field(default_factory=dict)
    kv_rwset: kv_rwset_pb2.KVRWSet | None = None
    rwset: bytes = b""  # serialized TxReadWriteSet: byte-identical on deterministic endorsers

    @property
    def tx_id(self) -> str:
        return self.proposal.tx_id

    @property
    def ok(self) -> bool:
        return self.response.status < 400

    @property
    def payload(self) -> bytes:
        return self.response.payload

    def check(self) -> Endorsement:
        """Raises: EndorsementError: the endorsement failed."""
        if not self.ok:
            raise EndorsementError(self.tx_id, self.response.status, self.response.message)
        return self


@dataclass(frozen=True)
class CommittedEvent:
    block: int
    tx_id: str
    event: chaincode_event_pb2.ChaincodeEvent


@dataclass(frozen=True)
class Block:
    number: int
    transactions: tuple[tuple[str, int], ...]  # (tx id, validation code)


class HarnessPeer:
    """One peer with one channel and one chaincode definition, served by the chaincode behind ``connection``."""

    def __init__(
        self, connection: ChaincodeConnection, *, channel: str = "mychannel", chaincode: str = "mycc",
        init_required: bool = False, version: str = "1.0", check_signatures: bool = True,
    ) -> None:
        self.connection = connection
        self.channel = channel
        self.chaincode = chaincode
        self.init_required = init_required
        self.version = version
        self.check_signatures = check_signatures
        self.state = VersionedState()
        self.blocks: list[Block] = [Block(0, ())]  # block 0: the channel's configuration
        self.events: list[CommittedEvent] = []
        self._committed: dict[str, tuple[int, int]] = {}  # tx id -> (block, code)
        self._commit_lock = threading.Lock()
        self._committed_cond = threading.Condition()
        self._pending: list[tuple[Endorsement, Future[int]]] = []
        self._orderer_cond = threading.Condition()
        self._orderer: threading.Thread | None = None
        self._closed = False
        #: Called after each block, under the commit lock (so in block order), with the block and its events.
        self.on_commit: list[Callable[[Block, list[CommittedEvent]], None]] = []

    # -- endorsement ---------------------------------------------------------------------

    def proposal(self, identity: Identity | str, function: str, *args: bytes, timestamp_ns: int | None = None,
                 is_init: bool = False) -> Proposal:
        """A proposal for this peer's channel and chaincode, signed by ``identity`` (or that MSP's member)."""
        signer = identity_for(identity) if isinstance(identity, str) else identity
        return build_proposal(signer, self.channel, self.chaincode, [function.encode(), *args],
                              timestamp_ns=timestamp_ns, is_init=is_init)

    def endorse(self, proposal: Proposal, *, timeout: float | None = None) -> Endorsement:
        """Simulate ``proposal`` on the chaincode; a refusal is an endorsement with an error response."""
        try:
            unpacked = unpack_proposal(proposal.signed, check_signature=self.check_signatures)
        except ProposalError as exc:
            return self._refused(proposal, str(exc))
        if unpacked.channel != self.channel:
            return self._refused(proposal, f"channel '{unpacked.channel}' not found")
        if unpacked.chaincode != self.chaincode:
            return self._refused(proposal, f"make sure the chaincode {unpacked.chaincode} has been successfully "
                                           f"defined on channel {self.channel} and try again")
        if unpacked.tx_id in self._committed:
            return self._refused(proposal, f"duplicate transaction found [{unpacked.tx_id}]")
        self.state.lock.acquire_read()
        try:
            simulation = Simulation(self.state, self.chaincode)
            refusal = self._check_init(unpacked, simulation)
            if refusal:
                return self._refused(proposal, refusal)
            completion = self.connection.execute(self.channel, unpacked.tx_id, proposal.signed, unpacked.args,
                                                 simulation, is_init=unpacked.is_init, timeout=timeout)
        finally:
            self.state.lock.release_read()
        if completion.response is None:
            return self._refused(proposal, f"error in simulation: {completion.error}")
        kv = simulation.kv_rwset()
        return Endorsement(
            proposal, completion.response, completion.event if completion.ok else None,
            dict(simulation.reads), list(simulation.range_queries), dict(simulation.writes), kv, simulation.rwset(),
        )

    def _check_init(self, proposal: Proposal, simulation: Simulation) -> str:
        """Fabric's lifecycle rule for init-required definitions (CheckInvocation); the refusal text or ``""``."""
        if not self.init_required:
            return f"chaincode '{self.chaincode}' does not require initialization but called as init" \
                if proposal.is_init else ""
        initialized = simulation.get(INITIALIZED_KEY) == self.version.encode()
        if proposal.is_init:
            if initialized:
                return f"chaincode '{self.chaincode}' is already initialized but called as init"
            simulation.put(INITIALIZED_KEY, self.version.encode())
            return ""
        if not initialized:
            return f"chaincode '{self.chaincode}' has not been initialized for this version, must call as init first"
        return ""

    @staticmethod
    def _refused(proposal: Proposal, message: str) -> Endorsement:
        return Endorsement(proposal, proposal_response_pb2.Response(status=500, message=message), None)

    # -- commit ----------------------------------------------------------------------------

    def commit(self, *endorsements: Endorsement) -> list[int]:
        """Order ``endorsements`` into one block and commit it; the validation code of each.

        Raises:
            ValueError: an endorsement failed (a client never submits those).
        """
        for endorsement in endorsements:
            if not endorsement.ok or endorsement.kv_rwset is None:
                raise ValueError(f"transaction {endorsement.tx_id} was not endorsed: {endorsement.response.message}")
        with self._commit_lock:
            self.state.lock.acquire_write()
            try:
                number = len(self.blocks)
                seen: set[str] = set()
                rwsets: list[kv_rwset_pb2.KVRWSet | None] = []
                for endorsement in endorsements:
                    duplicate = endorsement.tx_id in self._committed or endorsement.tx_id in seen
                    seen.add(endorsement.tx_id)
                    rwsets.append(None if duplicate else endorsement.kv_rwset)
                codes = commit_block(self.state, number, rwsets)
            finally:
                self.state.lock.release_write()
            block = Block(number, tuple((e.tx_id, c) for e, c in zip(endorsements, codes, strict=True)))
            events = [CommittedEvent(number, e.tx_id, e.event) for e, c in zip(endorsements, codes, strict=True)
                      if c == VALID and e.event is not None]
            with self._committed_cond:
                self.blocks.append(block)
                for endorsement, code in zip(endorsements, codes, strict=True):
                    if code != DUPLICATE_TXID:
                        self._committed[endorsement.tx_id] = (number, code)
                self.events.extend(events)
                self._committed_cond.notify_all()
            for callback in self.on_commit:
                callback(block, events)
        return codes

    def status(self, tx_id: str) -> tuple[int, int] | None:
        """(block number, validation code) of a committed transaction."""
        return self._committed.get(tx_id)

    def submit(self, endorsement: Endorsement) -> Future[int]:
        """Hand an endorsement to the orderer; the future gives its validation code once its block committed."""
        future: Future[int] = Future()
        with self._orderer_cond:
            if self._orderer is None:
                self._orderer = threading.Thread(target=self._order, daemon=True, name="harness-orderer")
                self._orderer.start()
            self._pending.append((endorsement, future))
            self._orderer_cond.notify()
        return future

    def _order(self) -> None:
        while True:
            with self._orderer_cond:
                self._orderer_cond.wait_for(lambda: self._pending or self._closed)
                if self._closed and not self._pending:
                    return
                batch, self._pending = self._pending, []
            try:
                codes = self.commit(*(endorsement for endorsement, _ in batch))
            except Exception as exc:
                for _, future in batch:
                    future.set_exception(exc)
                continue
            for (_, future), code in zip(batch, codes, strict=True):
                future.set_result(code)

    # -- conveniences -------------------------------------------------------------------------

    def invoke(self, identity: Identity | str, function: str, argument: bytes = b"", *, is_init: bool = False,
               timeout: float | None = None) -> bytes:
        """Endorse and commit (a block of its own); the chaincode's payload.

        Raises:
            EndorsementError: the chaincode refused the proposal.
            CommitError: the transaction was invalidated.
        """
        endorsement = self.endorse(self.proposal(identity, function, argument, is_init=is_init), timeout=timeout)
        endorsement.check()
        code = self.commit(endorsement)[0]
        if code != VALID:
            raise CommitError(endorsement.tx_id, code)
        return endorsement.payload

    def query(self, identity: Identity | str, function: str, argument: bytes = b"", *,
              timeout: float | None = None) -> bytes:
        """Endorse only (an evaluation): the chaincode's payload.

        Raises:
            EndorsementError: the chaincode refused the proposal.
        """
        return self.endorse(self.proposal(identity, function, argument), timeout=timeout).check().payload

    def events_from(self, block: int = 0) -> Iterable[CommittedEvent]:
        return [event for event in list(self.events) if event.block >= block]

    def close(self) -> None:
        with self._orderer_cond:
            self._closed = True
            self._orderer_cond.notify_all()
        self.connection.close()


__all__ = ["Block", "CommitError", "CommittedEvent", "Endorsement", "EndorsementError", "HarnessPeer"]
