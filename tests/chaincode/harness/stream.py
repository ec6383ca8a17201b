"""The peer's side of one chaincode stream: dial the chaincode server, register it, run transactions on it."""

# What Fabric's peer does (core/chaincode/handler.go), for an external-service chaincode:
# dial ``protos.Chaincode/Connect``; wait for the chaincode's REGISTER (ChaincodeID = package
# id); answer REGISTERED then READY (with ChaincodeAdditionalParams on Fabric 3.1+); then, per
# transaction, send INIT or TRANSACTION (ChaincodeInput, txid, channel, SignedProposal) and
# serve the chaincode's state requests for that (channel, txid) from the transaction's
# simulation until COMPLETED or ERROR arrives. Range queries go out in batches of 100 results
# (QueryResponse.has_more, continued by QUERY_STATE_NEXT, dropped by QUERY_STATE_CLOSE or at
# the last batch); a paginated range query answers its whole page at once with
# QueryResponseMetadata(fetched_records_count, bookmark). A request for a transaction that is
# not running is answered ERROR "no ledger context"; a message the peer does not expect ends
# the stream. KEEPALIVEs from the chaincode are ignored; the peer may send its own.
#
# The simulation is anything with ``get/put/delete/scan/scan_page`` (``ledger.Simulation`` or
# the Fabric-gateway stand-in's), so another peer implementation can reuse this connection.

from __future__ import annotations

import collections
import itertools
import logging
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

import grpc
from fabric_protos.ledger.queryresult import kv_query_result_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    chaincode_pb2,
    chaincode_shim_pb2,
    chaincode_shim_pb2_grpc,
    proposal_pb2,
    proposal_response_pb2,
)
from google.protobuf.message import DecodeError

logger = logging.getLogger(__name__)

shim = chaincode_shim_pb2
Message = shim.ChaincodeMessage
Type = shim.ChaincodeMessage.Type

#: Fabric's chaincode.executetimeout default.
EXECUTE_TIMEOUT: Final = 30.0
#: Fabric's QueryResponseGenerator.MaxResultLimit: results per range-query batch.
MAX_RESULTS_PER_BATCH: Final = 100
#: Fabric's ledger.state.totalQueryLimit default.
TOTAL_QUERY_LIMIT: Final = 100_000
MAX_MESSAGE_SIZE: Final = 100 * 1024 * 1024
#: The messages Fabric gives the endorser when a chaincode did not answer.
TIMEOUT_EXPIRED: Final = "timeout expired while executing transaction"
STREAM_TERMINATED: Final = "chaincode stream terminated"

_END: Final = object()


class SimulationBackend(Protocol):
    """Serves one transaction's state requests (committed reads, recorded writes)."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, value: bytes) -> None: ...

    def delete(self, key: str) -> None: ...

    def scan(self, start: str, end: str) -> Iterator[tuple[str, bytes]]: ...

    def scan_page(self, start: str, end: str, page_size: int, bookmark: str
                  ) -> tuple[list[tuple[str, bytes]], str]: ...


@dataclass(frozen=True)
class Capabilities:
    """What the peer announces in READY: 0 = not supported (Fabric 2.5); Fabric 3.1's defaults are 1000."""

    write_batch: int = 0
    get_multiple: int = 0

    def ready_payload(self) -> bytes:
        if not (self.write_batch or self.get_multiple):
            return b""  # a Fabric 2.5 peer sends READY without payload
        return chaincode_pb2.ChaincodeAdditionalParams(
            use_write_batch=bool(self.write_batch), max_size_write_batch=self.write_batch,
            use_get_multiple_keys=bool(self.get_multiple), max_size_get_multiple_keys=self.get_multiple,
        ).SerializeToString()


FABRIC_2_5: Final = Capabilities()
FABRIC_3_1: Final = Capabilities(write_batch=1000, get_multiple=1000)


@dataclass(frozen=True)
class Completion:
    """How the chaincode ended a transaction (Fabric's processChaincodeExecutionResult)."""

    response: proposal_response_pb2.Response | None  # COMPLETED: the chaincode's Response
    event: chaincode_event_pb2.ChaincodeEvent | None = None
    error: str = ""  # ERROR message, timeout or stream end: the endorser fails the proposal with it

    @property
    def status(self) -> int:
        return self.response.status if self.response is not None else 500

    @property
    def message(self) -> str:
        return self.response.message if self.response is not None else self.error

    @property
    def payload(self) -> bytes:
        return self.response.payload if self.response is not None else b""

    @property
    def ok(self) -> bool:
        return self.response is not None and self.response.status < 400


@dataclass
class _Transaction:
    channel: str
    txid: str
    backend: SimulationBackend
    done: threading.Event = field(default_factory=threading.Event)
    completion: Completion | None = None
    iterators: dict[str, tuple[Iterator[tuple[str, bytes]], list[tuple[str, bytes]], list[int]]] = field(
        default_factory=dict)
    next_iterator: itertools.count = field(default_factory=itertools.count)
    requests: int = 0


class ChaincodeConnection:
    """One peer-to-chaincode stream. ``connect()``, then ``execute()`` from any number of threads."""

    def __init__(
        self, address: str, *, credentials: grpc.ChannelCredentials | None = None,
        capabilities: Capabilities = FABRIC_2_5, execute_timeout: float = EXECUTE_TIMEOUT,
        server_name: str | None = None,
    ) -> None:
        self.address = address
        self.capabilities = capabilities
        self.execute_timeout = execute_timeout
        self.ccid = ""
        self.keepalives_received = 0
        self.unexpected: queue.SimpleQueue[Message] = queue.SimpleQueue()  # messages outside any transaction
        self.served: collections.Counter[str] = collections.Counter()  # state requests by message type
        options = [("grpc.max_send_message_length", MAX_MESSAGE_SIZE),
                   ("grpc.max_receive_message_length", MAX_MESSAGE_SIZE)]
        if server_name:
            options.append(("grpc.ssl_target_name_override", server_name))
        self._channel = (grpc.secure_channel(address, credentials, options=options) if credentials is not None
                         else grpc.insecure_channel(address, options=options))
        self._outgoing: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._transactions: dict[tuple[str, str], _Transaction] = {}
        self._registered = threading.Event()
        self._closed = threading.Event()
        self._call: grpc.Future | None = None
        self.close_reason = ""

    # -- the stream ----------------------------------------------------------------------

    def open(self, timeout: float = 10.0) -> Message:
        """Dial and wait for the chaincode's first message (REGISTER for a well-behaved one), without answering."""
        grpc.channel_ready_future(self._channel).result(timeout=timeout)
        stub = chaincode_shim_pb2_grpc.ChaincodeStub(self._channel)
        self._call = stub.Connect(self._requests())
        self._first: queue.SimpleQueue[Message | None] = queue.SimpleQueue()
        threading.Thread(target=self._read, daemon=True, name=f"peer-stream-{self.address}").start()
        try:
            first = self._first.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"{self.address} sent nothing within {timeout} s") from None
        if first is None:
            raise ConnectionError(f"{self.address} closed the stream before registering: {self.close_reason}")
        return first

    def connect(self, timeout: float = 10.0) -> ChaincodeConnection:
        """Dial, accept the chaincode's registration (REGISTERED, READY): transactions can flow."""
        first = self.open(timeout)
        if first.type != Message.REGISTER:
            raise ConnectionError(f"expected REGISTER, got {Type.Name(first.type)}")
        self.ccid = chaincode_pb2.ChaincodeID.FromString(first.payload).name
        if not self.ccid:
            raise ConnectionError("error in handling register chaincode, chaincodeID name is empty")
        self.send(Message(type=Message.REGISTERED))
        self.send(Message(type=Message.READY, payload=self.capabilities.ready_payload()))
        self._registered.set()
        return self

    def _requests(self) -> Iterator[Message]:
        while (message := self._outgoing.get()) is not _END:
            yield message  # type: ignore[misc]

    def send(self, message: Message) -> None:
        """Send one message on the stream (the one writer is the request iterator: sends are serialized)."""
        self._outgoing.put(message)

    def send_keepalive(self) -> None:
        self.send(Message(type=Message.KEEPALIVE))

    def _read(self) -> None:
        assert self._call is not None
        first = True
        try:
            for message in self._call:
                if first:
                    first = False
                    self._first.put(message)
                    continue
                self._dispatch(message)
            self.close_reason = "the chaincode ended the stream"
        except grpc.RpcError as exc:
            self.close_reason = f"{exc.code().name}: {exc.details()}"  # type: ignore[attr-defined]
        finally:
            if first:
                self._first.put(None)
            self._terminate()

    def _terminate(self) -> None:
        self._closed.set()
        self._outgoing.put(_END)
        for tx in list(self._transactions.values()):
            if tx.completion is None:
                tx.completion = Completion(None, error=STREAM_TERMINATED)
            tx.done.set()

    @property
    def connected(self) -> bool:
        return self._registered.is_set() and not self._closed.is_set()

    def wait_closed(self, timeout: float) -> bool:
        """Block until the stream ended (chaincode gone or closed); ``False`` on timeout."""
        return self._closed.wait(timeout)

    def close(self) -> None:
        """Hang up, as a peer that goes away does (running transactions end with "chaincode stream terminated")."""
        self._outgoing.put(_END)
        if self._call is not None:
            self._call.cancel()
        self._closed.wait(5.0)
        self._channel.close()

    def __enter__(self) -> ChaincodeConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ----------------------------------------------------------------------

    def execute(
        self, channel: str, txid: str, signed_proposal: proposal_pb2.SignedProposal | None, args: Sequence[bytes],
        backend: SimulationBackend, *, is_init: bool = False, timeout: float | None = None,
        decorations: dict[str, bytes] | None = None,
    ) -> Completion:
        """Run one transaction on the chaincode, serving its state requests from ``backend``."""
        key = (channel, txid)
        tx = _Transaction(channel, txid, backend)
        if self._transactions.setdefault(key, tx) is not tx:
            return Completion(None, error=f"txid: {txid}({channel}) exists")
        try:
            if self._closed.is_set():
                return Completion(None, error=STREAM_TERMINATED)
            message = Message(
                type=Message.INIT if is_init else Message.TRANSACTION, txid=txid, channel_id=channel,
                payload=chaincode_pb2.ChaincodeInput(args=list(args), is_init=is_init,
                                                     decorations=decorations or {}).SerializeToString())
            if signed_proposal is not None:
                message.proposal.CopyFrom(signed_proposal)
            self.send(message)
            if not tx.done.wait(self.execute_timeout if timeout is None else timeout):
                return Completion(None, error=TIMEOUT_EXPIRED)
            assert tx.completion is not None
            return tx.completion
        finally:
            self._transactions.pop(key, None)

    def _dispatch(self, message: Message) -> None:
        kind = message.type
        if kind == Message.KEEPALIVE:
            self.keepalives_received += 1
            return
        tx = self._transactions.get((message.channel_id, message.txid))
        if kind == Message.COMPLETED or kind == Message.ERROR:
            if tx is None or tx.done.is_set():
                self.unexpected.put(message)
                return
            if kind == Message.COMPLETED:
                try:
                    response = proposal_response_pb2.Response.FromString(message.payload)
                except DecodeError as exc:
                    tx.completion = Completion(None, error=f"failed to unmarshal response for transaction "
                                                           f"{message.txid}: {exc}")
                else:
                    event = message.chaincode_event if message.HasField("chaincode_event") else None
                    tx.completion = Completion(response, event)
            else:
                tx.completion = Completion(None, error="transaction returned with failure: "
                                                       + message.payload.decode("utf-8", "replace"))
            tx.iterators.clear()
            tx.done.set()
            return
        serve = _SERVERS.get(kind)
        if serve is None:
            self.unexpected.put(message)
            self.close_reason = f"peer cannot handle message ({Type.Name(kind)}) while in ready state"
            self.send(Message(type=Message.ERROR, txid=message.txid, channel_id=message.channel_id,
                              payload=self.close_reason.encode()))
            self._outgoing.put(_END)  # the peer ends the stream on an unexpected message
            return
        self.served[Type.Name(kind)] += 1
        if tx is None or tx.done.is_set():
            self._error(message, "no ledger context")
            return
        try:
            payload = serve(self, tx, message.payload)
        except Exception as exc:
            self._error(message, str(exc))
            return
        self.send(Message(type=Message.RESPONSE, payload=payload, txid=message.txid, channel_id=message.channel_id))

    def _error(self, message: Message, reason: str) -> None:
        text = f"{Type.Name(message.type)} failed: transaction ID: {message.txid}: {reason}"
        self.send(Message(type=Message.ERROR, payload=text.encode(), txid=message.txid,
                          channel_id=message.channel_id))

    # -- state requests (Fabric's Handle* functions) --------------------------------------------

    def _get_state(self, tx: _Transaction, payload: bytes) -> bytes:
        request = shim.GetState.FromString(payload)
        _no_collection(request.collection)
        return tx.backend.get(request.key) or b""

    def _get_state_multiple(self, tx: _Transaction, payload: bytes) -> bytes:
        request = shim.GetStateMultiple.FromString(payload)
        _no_collection(request.collection)
        values = [tx.backend.get(key) or b"" for key in request.keys]
        return shim.GetStateMultipleResult(values=values).SerializeToString()

    def _put_state(self, tx: _Transaction, payload: bytes) -> bytes:
        request = shim.PutState.FromString(payload)
        _no_collection(request.collection)
        tx.backend.put(request.key, request.value)
        return b""

    def _del_state(self, tx: _Transaction, payload: bytes) -> bytes:
        request = shim.DelState.FromString(payload)
        _no_collection(request.collection)
        tx.backend.delete(request.key)
        return b""

    def _write_batch(self, tx: _Transaction, payload: bytes) -> bytes:
        batch = shim.WriteBatchState.FromString(payload)
        for record in batch.rec:
            _no_collection(record.collection)
            if record.type == shim.WriteRecord.PUT_STATE:
                tx.backend.put(record.key, record.value)
            elif record.type == shim.WriteRecord.DEL_STATE:
                tx.backend.delete(record.key)
            else:
                raise ValueError("unknown operation type")
        return b""

    def _get_state_by_range(self, tx: _Transaction, payload: bytes) -> bytes:
        request = shim.GetStateByRange.FromString(payload)
        _no_collection(request.collection)
        metadata = shim.QueryMetadata.FromString(request.metadata) if request.metadata else None
        iterator_id = str(next(tx.next_iterator))
        if metadata is not None and (metadata.pageSize or metadata.bookmark):
            limit = metadata.pageSize if 0 < metadata.pageSize < TOTAL_QUERY_LIMIT else TOTAL_QUERY_LIMIT
            entries, bookmark = tx.backend.scan_page(request.startKey, request.endKey, limit, metadata.bookmark)
            response = shim.QueryResponse(results=[_result(key, value) for key, value in entries], has_more=False,
                                          id=iterator_id, metadata=shim.QueryResponseMetadata(
                                              fetched_records_count=len(entries), bookmark=bookmark)
                                          .SerializeToString())
            return response.SerializeToString()
        scan = iter(tx.backend.scan(request.startKey, request.endKey))
        state: tuple[Iterator[tuple[str, bytes]], list[tuple[str, bytes]], list[int]] = (scan, [], [0])
        tx.iterators[iterator_id] = state
        return self._batch(tx, iterator_id, state)

    def _batch(self, tx: _Transaction, iterator_id: str,
               state: tuple[Iterator[tuple[str, bytes]], list[tuple[str, bytes]], list[int]]) -> bytes:
        # Fabric's BuildQueryResponse: fill a batch; the result that overflows it was already
        # fetched (and recorded) and opens the next batch.
        scan, pending, total = state
        while True:
            if total[0] >= TOTAL_QUERY_LIMIT:
                break
            result = next(scan, None)
            if result is None:
                break
            if len(pending) == MAX_RESULTS_PER_BATCH:
                batch = pending[:]
                pending[:] = [result]
                total[0] += 1
                return shim.QueryResponse(results=[_result(k, v) for k, v in batch], has_more=True,
                                          id=iterator_id).SerializeToString()
            pending.append(result)
            total[0] += 1
        batch = pending[:]
        pending.clear()
        tx.iterators.pop(iterator_id, None)
        return shim.QueryResponse(results=[_result(k, v) for k, v in batch], has_more=False,
                                  id=iterator_id).SerializeToString()

    def _query_state_next(self, tx: _Transaction, payload: bytes) -> bytes:
        request = shim.QueryStateNext.FromString(payload)
        state = tx.iterators.get(request.id)
        if state is None:
            raise ValueError("query iterator not found")
        return self._batch(tx, request.id, state)

    def _query_state_close(self, tx: _Transaction, payload: bytes) -> bytes:
        request = shim.QueryStateClose.FromString(payload)
        tx.iterators.pop(request.id, None)
        return shim.QueryResponse(has_more=False, id=request.id).SerializeToString()


def _no_collection(collection: str) -> None:
    if collection:
        raise ValueError("private data is not supported by the test peer")


def _result(key: str, value: bytes) -> shim.QueryResultBytes:
    return shim.QueryResultBytes(resultBytes=kv_query_result_pb2.KV(key=key, value=value).SerializeToString())


def _unsupported(what: str) -> object:
    def refuse(self: ChaincodeConnection, tx: _Transaction, payload: bytes) -> bytes:
        raise ValueError(f"{what} is not supported by the test peer (a LevelDB peer)")

    return refuse


_SERVERS = {
    Message.GET_STATE: ChaincodeConnection._get_state,
    Message.GET_STATE_MULTIPLE: ChaincodeConnection._get_state_multiple,
    Message.PUT_STATE: ChaincodeConnection._put_state,
    Message.DEL_STATE: ChaincodeConnection._del_state,
    Message.WRITE_BATCH_STATE: ChaincodeConnection._write_batch,
    Message.GET_STATE_BY_RANGE: ChaincodeConnection._get_state_by_range,
    Message.QUERY_STATE_NEXT: ChaincodeConnection._query_state_next,
    Message.QUERY_STATE_CLOSE: ChaincodeConnection._query_state_close,
    Message.GET_QUERY_RESULT: _unsupported("ExecuteQuery (rich queries)"),
    Message.GET_HISTORY_FOR_KEY: _unsupported("history queries"),
    Message.GET_STATE_METADATA: _unsupported("state metadata"),
    Message.PUT_STATE_METADATA: _unsupported("state metadata"),
    Message.GET_PRIVATE_DATA_HASH: _unsupported("private data"),
    Message.PURGE_PRIVATE_DATA: _unsupported("private data"),
    Message.INVOKE_CHAINCODE: _unsupported("chaincode-to-chaincode calls"),
}


__all__ = [
    "EXECUTE_TIMEOUT", "FABRIC_2_5", "FABRIC_3_1", "MAX_RESULTS_PER_BATCH", "STREAM_TERMINATED", "TIMEOUT_EXPIRED",
    "Capabilities", "ChaincodeConnection", "Completion", "SimulationBackend",
]
