"""The chaincode side of one peer stream: registration, concurrent transactions, answers routed by channel and txid."""

# Fabric's protocol, as the peer drives it (core/chaincode/handler.go) and the Go shim answers
# it (fabric-chaincode-go shim/handler.go): the chaincode sends REGISTER, the peer answers
# REGISTERED then READY, then sends INIT or TRANSACTION messages; each one runs as its own
# transaction, which sends state requests carrying its channel and txid and waits for the
# RESPONSE or ERROR with the same pair, and ends with COMPLETED (or ERROR). Many transactions
# are in flight at once, so every answer is routed by (channel, txid) and every send goes
# through the one writer of the stream. The peer allows one pending request per transaction:
# a transaction sends its next request only once the previous one was answered.
#
# What this handler guarantees beyond the Go shim: a failure inside one transaction (a bad
# proposal, an exception in the chaincode, a refused state request) ends that transaction
# with an answer and touches nothing else; a stray answer for a finished transaction is
# dropped, not a reason to tear the stream down.

from __future__ import annotations

import enum
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Final, Protocol, TypeAlias

from fabric_protos.peer import chaincode_pb2, chaincode_shim_pb2, proposal_response_pb2
from google.protobuf.message import DecodeError

from orchestrator.chaincode.shim.stub import ChaincodeStub

logger = logging.getLogger(__name__)

Message: TypeAlias = chaincode_shim_pb2.ChaincodeMessage
MessageType = chaincode_shim_pb2.ChaincodeMessage.Type

OK: Final = 200
ERROR_THRESHOLD: Final = 400  # the endorser treats a status from here on as a chaincode error
ERROR: Final = 500

#: Seconds a transaction waits for the peer's answer to one state request (the peer's own
#: execute timeout is 30 s by default: past it nobody is waiting for the transaction anyway).
DEFAULT_REQUEST_TIMEOUT: Final = 120.0


class _Closed:
    """Put in a waiting transaction's queue when the stream ends."""


_CLOSED: Final = _Closed()


@dataclass(frozen=True)
class Response:
    """What a chaincode answers: Fabric's ``peer.Response`` (200 with a payload, or an error status and message)."""

    status: int
    message: str = ""
    payload: bytes = b""

    @classmethod
    def success(cls, payload: bytes = b"") -> Response:
        return cls(OK, "", payload)

    @classmethod
    def error(cls, message: str, status: int = ERROR) -> Response:
        return cls(status, message)

    def to_proto(self) -> proposal_response_pb2.Response:
        return proposal_response_pb2.Response(status=self.status, message=self.message, payload=self.payload)


class Chaincode(Protocol):
    """What the shim runs: one call per INIT or TRANSACTION message, on a worker thread."""

    def init(self, stub: ChaincodeStub) -> Response: ...

    def invoke(self, stub: ChaincodeStub) -> Response: ...


class PeerError(Exception):
    """The peer refused a state request (the text is the peer's); the transaction cannot go on."""


class StreamClosedError(PeerError):
    """The stream to the peer ended while a transaction was running; nobody waits for its answer."""


class ProtocolError(Exception):
    """A message the handler cannot accept in its state: answered by ERROR, then the stream ends."""


class State(enum.Enum):
    CREATED = "created"  # REGISTER sent, waiting for REGISTERED
    ESTABLISHED = "established"  # waiting for READY
    READY = "ready"  # transactions flow
    CLOSED = "closed"


@dataclass(frozen=True)
class PeerCapabilities:
    """What the peer announced in READY (Fabric 3.1+): batched writes and multi-key reads, with their sizes."""

    write_batch: int = 0  # largest WRITE_BATCH_STATE; 0 = one PUT_STATE/DEL_STATE per write (Fabric 2.5)
    get_multiple: int = 0  # largest GET_STATE_MULTIPLE; 0 = one GET_STATE per key

    @classmethod
    def from_ready(cls, payload: bytes) -> PeerCapabilities:
        if not payload:
            return cls()
        try:
            params = chaincode_pb2.ChaincodeAdditionalParams.FromString(payload)
        except DecodeError:
            return cls()  # the Go shim ignores an unreadable READY payload too
        # The Go shim raises announced sizes below 100 to 100.
        return cls(
            write_batch=max(params.max_size_write_batch, 100) if params.use_write_batch else 0,
            get_multiple=max(params.max_size_get_multiple_keys, 100) if params.use_get_multiple_keys else 0,
        )


class Handler:
    """One peer stream. ``send`` is the stream's single writer; ``handle`` is fed every message the peer sends."""

    def __init__(
        self, chaincode: Chaincode, ccid: str, send: Callable[[Message], None], executor: Executor, *,
        end_stream: Callable[[], None] = lambda: None, peer: str = "peer",
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    ) -> None:
        self.chaincode = chaincode
        self.ccid = ccid
        self.peer = peer
        self.request_timeout = request_timeout
        self.state = State.CREATED
        self.capabilities = PeerCapabilities()
        self._send = send
        self._end_stream = end_stream
        self._executor = executor
        self._waiters: dict[tuple[str, str], queue.SimpleQueue[Message | _Closed]] = {}
        self._idle = threading.Condition()
        self._accepting = True
        self._by_state: dict[State, Callable[[Message], None]] = {
            State.CREATED: self._on_created,
            State.ESTABLISHED: self._on_established,
            State.READY: self._on_ready,
        }

    # -- the stream --------------------------------------------------------------------

    def start(self) -> None:
        """Register: the chaincode speaks first, naming its package id."""
        payload = chaincode_pb2.ChaincodeID(name=self.ccid).SerializeToString()
        self._send(Message(type=Message.REGISTER, payload=payload))

    def handle(self, message: Message) -> bool:
        """Process one message from the peer; ``False`` when the stream must end."""
        if message.type == Message.KEEPALIVE:
            self._send(message)  # echoed in any state, as the Go shim does
            return True
        on_message = self._by_state.get(self.state)
        if on_message is None:
            return False
        try:
            on_message(message)
        except ProtocolError as exc:
            logger.error("ending the stream of %s: %s", self.peer, exc)
            self._send(Message(type=Message.ERROR, payload=str(exc).encode(), txid=message.txid,
                               channel_id=message.channel_id))
            return False
        return True

    def close(self) -> None:
        """The stream ended: wake every waiting transaction (it then ends without an answer) and stop sending."""
        if self.state is State.CLOSED:
            return
        self.state = State.CLOSED
        for waiter in list(self._waiters.values()):
            waiter.put(_CLOSED)
        self._end_stream()

    def _on_created(self, message: Message) -> None:
        if message.type != Message.REGISTERED:
            raise self._unexpected(message)
        self.state = State.ESTABLISHED

    def _on_established(self, message: Message) -> None:
        if message.type != Message.READY:
            raise self._unexpected(message)
        self.capabilities = PeerCapabilities.from_ready(message.payload)
        self.state = State.READY
        logger.info("registered with %s as %s (write batch %d, multiple get %d)", self.peer, self.ccid,
                    self.capabilities.write_batch, self.capabilities.get_multiple)

    def _on_ready(self, message: Message) -> None:
        kind = message.type
        if kind == Message.RESPONSE or kind == Message.ERROR:
            waiter = self._waiters.get((message.channel_id, message.txid))
            if waiter is None:
                logger.warning("dropping %s from %s for transaction %s, which is not running",
                               MessageType.Name(kind), self.peer, _short(message.txid))
                return
            waiter.put(message)
        elif kind == Message.TRANSACTION or kind == Message.INIT:
            self._begin(message)
        else:
            raise self._unexpected(message)

    def _unexpected(self, message: Message) -> ProtocolError:
        return ProtocolError(f"[{_short(message.txid)}] chaincode cannot handle message "
                             f"({MessageType.Name(message.type)}) while in state: {self.state.value}")

    # -- transactions --------------------------------------------------------------------

    def _begin(self, message: Message) -> None:
        key = (message.channel_id, message.txid)
        if not self._accepting:
            self._refuse(message, "chaincode is shutting down")
            return
        waiter: queue.SimpleQueue[Message | _Closed] = queue.SimpleQueue()
        if self._waiters.setdefault(key, waiter) is not waiter:
            self._refuse(message, "transaction already in progress")
            return
        try:
            self._executor.submit(self._run, message, waiter)
        except RuntimeError:  # the executor is shut down
            self._waiters.pop(key, None)
            self._refuse(message, "chaincode is shutting down")

    def _refuse(self, message: Message, reason: str) -> None:
        logger.warning("refusing transaction %s from %s: %s", _short(message.txid), self.peer, reason)
        self._send(Message(type=Message.ERROR, payload=f"[{_short(message.txid)}] {reason}".encode(),
                           txid=message.txid, channel_id=message.channel_id))

    def _run(self, message: Message, waiter: queue.SimpleQueue[Message | _Closed]) -> None:
        reply: Message | None
        try:
            reply = self._execute(message, waiter)
        except StreamClosedError:
            reply = None
        except Exception as exc:  # this transaction only: answer it, never leave the peer waiting
            logger.warning("transaction %s failed before completing: %s", _short(message.txid), exc)
            reply = Message(type=Message.ERROR, payload=str(exc).encode(), txid=message.txid,
                            channel_id=message.channel_id)
        finally:
            self._waiters.pop((message.channel_id, message.txid), None)
            if not self._accepting:
                with self._idle:
                    self._idle.notify_all()
        if reply is not None and self.state is State.READY:
            self._send(reply)

    def _execute(self, message: Message, waiter: queue.SimpleQueue[Message | _Closed]) -> Message:
        try:
            chaincode_input = chaincode_pb2.ChaincodeInput.FromString(message.payload)
        except DecodeError as exc:
            raise ValueError(f"failed to unmarshal input: {exc}") from exc
        stub = ChaincodeStub(self, message.channel_id, message.txid, chaincode_input,
                             message.proposal if message.HasField("proposal") else None, waiter)
        is_init = message.type == Message.INIT
        try:
            response = self.chaincode.init(stub) if is_init else self.chaincode.invoke(stub)
        except PeerError:
            raise
        except Exception as exc:  # a chaincode is expected to answer errors itself; this is the safety net
            logger.exception("chaincode raised in transaction %s", _short(message.txid))
            response = Response.error(f"{type(exc).__name__}: {exc}")
        if is_init and response.status >= ERROR:  # as the Go shim: a failed init is an ERROR message
            return Message(type=Message.ERROR, payload=response.message.encode(), txid=message.txid,
                           channel_id=message.channel_id)
        if response.status < ERROR_THRESHOLD:
            stub.finish()
        completed = Message(type=Message.COMPLETED, payload=response.to_proto().SerializeToString(),
                            txid=message.txid, channel_id=message.channel_id)
        if stub.event is not None and response.status < ERROR_THRESHOLD:
            completed.chaincode_event.CopyFrom(stub.event)
        return completed

    def request(self, channel_id: str, txid: str, waiter: queue.SimpleQueue[Message | _Closed],
                kind: int, payload: bytes) -> Message:
        """Send one state request of a transaction and wait for its answer (RESPONSE)."""
        if self.state is not State.READY:
            raise StreamClosedError("the stream to the peer is closed")
        self._send(Message(type=kind, payload=payload, txid=txid, channel_id=channel_id))
        try:
            reply = waiter.get(timeout=self.request_timeout)
        except queue.Empty:
            raise PeerError(f"[{_short(txid)}] no answer to {MessageType.Name(kind)} within "
                            f"{self.request_timeout:g} s") from None
        if isinstance(reply, _Closed):
            raise StreamClosedError("the stream to the peer closed during the transaction")
        if reply.type == Message.RESPONSE:
            return reply
        if reply.type == Message.ERROR:
            raise PeerError(reply.payload.decode("utf-8", "replace"))
        raise PeerError(f"[{_short(txid)}] incorrect chaincode message {MessageType.Name(reply.type)} received. "
                        "Expecting RESPONSE or ERROR")

    # -- shutdown ------------------------------------------------------------------------

    @property
    def accepting(self) -> bool:
        """Whether new transactions are taken (``False`` once a graceful stop began)."""
        return self._accepting

    @property
    def in_flight(self) -> int:
        return len(self._waiters)

    def drain(self, timeout: float) -> bool:
        """Refuse new transactions and wait until the running ones answered; ``False`` on timeout."""
        self._accepting = False
        with self._idle:
            return self._idle.wait_for(lambda: not self._waiters, timeout)


def _short(txid: str) -> str:
    return txid[:8]


__all__ = [
    "DEFAULT_REQUEST_TIMEOUT", "ERROR", "ERROR_THRESHOLD", "OK", "Chaincode", "Handler", "PeerCapabilities",
    "PeerError", "ProtocolError", "Response", "State", "StreamClosedError",
]
