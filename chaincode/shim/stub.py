"""One transaction's ledger API: the world state the contract runs on, as state requests to the peer."""

# The stub satisfies :class:`orchestrator.shared.store.worldstate.WorldState` structurally
# (info, get, put, delete, scan, scan_page, set_event) and adds the Fabric calls around it
# (arguments, creator, composite keys, multi-key reads). Reads see committed state only: the
# peer's simulator gives exactly that. Each call checks its arguments, then sends one request
# and waits for its answer; the transaction runs on one thread, so it never has two requests
# pending (the peer would drop the second).
#
# Writes go one request each to a Fabric 2.5 peer. A peer that announced write batches
# (Fabric 3.1+) gets them buffered and sent at the end of the transaction in batches of the
# announced size, as the Go shim does: the contract flushes its writes at commit anyway, and
# reads never see them, so only the number of round trips changes.

from __future__ import annotations

import functools
import hashlib
import queue
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Final, TypeAlias

from fabric_protos.common import common_pb2
from fabric_protos.ledger.queryresult import kv_query_result_pb2
from fabric_protos.peer import chaincode_event_pb2, chaincode_pb2, proposal_pb2
from fabric_protos.peer import chaincode_shim_pb2 as shim
from google.protobuf.message import DecodeError
from google.protobuf.message import Message as ProtoMessage

from orchestrator.chaincode.identity import Caller, caller_of
from orchestrator.shared.store import keys
from orchestrator.shared.store.worldstate import Page, TxInfo

if TYPE_CHECKING:
    from orchestrator.chaincode.shim.handler import Handler, _Closed

Message: TypeAlias = shim.ChaincodeMessage

#: The Go shim's substitute for an empty start key of a simple-key range (keeps it out of the composite namespace).
EMPTY_KEY_SUBSTITUTE: Final = "\x01"
_VALID_HEADER_TYPES: Final = frozenset({common_pb2.ENDORSER_TRANSACTION, common_pb2.CONFIG})


class ChaincodeStub:
    """The ledger as one transaction sees it; built by the handler for each INIT or TRANSACTION."""

    def __init__(
        self, handler: Handler, channel_id: str, tx_id: str, chaincode_input: chaincode_pb2.ChaincodeInput,
        signed_proposal: proposal_pb2.SignedProposal | None, waiter: queue.SimpleQueue[Message | _Closed],
    ) -> None:
        self._handler = handler
        self._waiter = waiter
        self.channel_id = channel_id
        self.tx_id = tx_id
        self._input = chaincode_input
        self.args: list[bytes] = list(chaincode_input.args)
        self.is_init = chaincode_input.is_init
        self.event: chaincode_event_pb2.ChaincodeEvent | None = None
        self._open: list[RangeIterator] = []
        self._batch: dict[str, shim.WriteRecord] | None = {} if handler.capabilities.write_batch else None
        if signed_proposal is None:
            raise ValueError(f"[{tx_id[:8]}] transaction without a signed proposal")
        self.signed_proposal = signed_proposal
        self._read_proposal(signed_proposal)
        self.info = TxInfo(tx_id, self.timestamp_ns, self.caller.msp_id, channel_id, read_only=False)

    def _read_proposal(self, signed: proposal_pb2.SignedProposal) -> None:
        # Every layer is parsed, as the Go shim does (a malformed proposal is refused here), but
        # only the fields a transaction uses are read now; the transient map and the binding,
        # which no orchestrator function reads, are derived on first use.
        try:
            proposal = proposal_pb2.Proposal.FromString(signed.proposal_bytes)
            header_bytes = proposal.header
            if not header_bytes:
                raise ValueError("failed to extract Proposal fields: proposal header is nil")
            header = common_pb2.Header.FromString(header_bytes)
            channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
            signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
            self._payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
        except DecodeError as exc:
            raise ValueError(f"failed to extract proposal: {exc}") from exc
        if channel_header.type not in _VALID_HEADER_TYPES:
            raise ValueError(f"invalid channel header type {channel_header.type}: expected ENDORSER_TRANSACTION")
        creator = signature_header.creator
        self.creator: bytes = creator
        self.caller: Caller = caller_of(creator)
        self.nonce: bytes = signature_header.nonce
        self._epoch: int = channel_header.epoch
        # Transaction time (GEN-5): set by the client, the same on every endorser; never the clock.
        timestamp = channel_header.timestamp
        self.timestamp_ns: int = timestamp.seconds * 1_000_000_000 + timestamp.nanos

    @functools.cached_property
    def decorations(self) -> dict[str, bytes]:
        """What the peer's decorators added to the input (Fabric's ``GetDecorations``)."""
        return dict(self._input.decorations)

    @functools.cached_property
    def transient(self) -> dict[str, bytes]:
        """The proposal's transient map (Fabric's ``GetTransient``): data not written to the ledger."""
        return dict(self._payload.TransientMap)

    @functools.cached_property
    def binding(self) -> bytes:
        """Fabric's ``GetBinding``: SHA-256 of nonce, creator and epoch (little-endian), tying data to this proposal."""
        return hashlib.sha256(self.nonce + self.creator + self._epoch.to_bytes(8, "little")).digest()

    def set_read_only(self, read_only: bool) -> None:
        """Mark the call evaluated-only (paginated scans allowed, nothing written)."""
        self.info = TxInfo(self.tx_id, self.timestamp_ns, self.caller.msp_id, self.channel_id, read_only=read_only)

    # -- arguments ---------------------------------------------------------------------

    @property
    def function(self) -> str:
        """``Args[0]``, the function name (``""`` when there is none)."""
        return self.args[0].decode("utf-8", "replace") if self.args else ""

    @property
    def parameters(self) -> list[bytes]:
        return self.args[1:]

    # -- requests ------------------------------------------------------------------------

    def _call(self, kind: int, request: ProtoMessage) -> Message:
        payload = request.SerializeToString()
        return self._handler.request(self.channel_id, self.tx_id, self._waiter, kind, payload)

    # -- state -----------------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        """Committed value of ``key`` (``None`` when absent: Fabric stores no empty value)."""
        reply = self._call(Message.GET_STATE, shim.GetState(key=key))
        return reply.payload or None

    def get_multiple(self, keys_: Sequence[str]) -> list[bytes | None]:
        """Committed values of several keys, in one request per batch when the peer can (Fabric 3.1+)."""
        size = self._handler.capabilities.get_multiple
        if not size:
            return [self.get(key) for key in keys_]
        values: list[bytes | None] = []
        for start in range(0, len(keys_), size):
            reply = self._call(Message.GET_STATE_MULTIPLE, shim.GetStateMultiple(keys=keys_[start:start + size]))
            try:
                result = shim.GetStateMultipleResult.FromString(reply.payload)
            except DecodeError as exc:
                raise ValueError("could not unmarshal get state multiple keys response") from exc
            values.extend(value or None for value in result.values)
        return values

    def put(self, key: str, value: bytes) -> None:
        """Write ``key``; invisible to this transaction's reads. An empty value deletes, as in Fabric."""
        if not key:
            raise ValueError("key must not be an empty string")
        if self._batch is not None:
            self._batch[key] = shim.WriteRecord(key=key, value=value, type=shim.WriteRecord.PUT_STATE)
            return
        self._call(Message.PUT_STATE, shim.PutState(key=key, value=value))

    def delete(self, key: str) -> None:
        if self._batch is not None:
            self._batch[key] = shim.WriteRecord(key=key, type=shim.WriteRecord.DEL_STATE)
            return
        self._call(Message.DEL_STATE, shim.DelState(key=key))

    def scan(self, start: str, end: str) -> Iterator[tuple[str, bytes]]:
        """Committed entries with ``start <= key < end`` in key order, fetched from the peer batch by batch."""
        return self._range(start, end, b"")

    def scan_page(self, start: str, end: str, page_size: int, bookmark: str) -> Page:
        """One page from ``bookmark`` (or ``start``); the peer refuses it once the transaction wrote."""
        metadata = shim.QueryMetadata(pageSize=page_size, bookmark=bookmark).SerializeToString()
        iterator = self._range(start, end, metadata)
        entries = list(iterator)
        return Page(entries, iterator.bookmark)

    def set_event(self, name: str, payload: bytes) -> None:
        """The transaction's chaincode event (a second call replaces the first, as in Fabric)."""
        if not name:
            raise ValueError("event name can not be empty string")
        self.event = chaincode_event_pb2.ChaincodeEvent(event_name=name, payload=payload)

    def _range(self, start: str, end: str, metadata: bytes) -> RangeIterator:
        request = shim.GetStateByRange(startKey=start, endKey=end, metadata=metadata)
        iterator = RangeIterator(self, self._call(Message.GET_STATE_BY_RANGE, request).payload)
        if iterator.open_on_peer:
            self._open.append(iterator)
        return iterator

    # -- Fabric's key helpers ----------------------------------------------------------------

    def get_state_by_range(self, start: str, end: str) -> Iterator[tuple[str, bytes]]:
        """Fabric's ``GetStateByRange`` over simple keys (an empty start key means the first one)."""
        start = start or EMPTY_KEY_SUBSTITUTE
        for key in (start, end):
            if key.startswith(keys.COMPOSITE_NS):
                raise ValueError(f"first character of the key [{key}] contains a null character which is not allowed")
        return self.scan(start, end)

    def get_state_by_partial_composite_key(self, object_type: str, attributes: Sequence[str]
                                           ) -> Iterator[tuple[str, bytes]]:
        """Every entry whose composite key starts with ``object_type`` and ``attributes``."""
        start, end = keys.partial_key_range(object_type, attributes)
        return self.scan(start, end)

    @staticmethod
    def create_composite_key(object_type: str, attributes: Sequence[str]) -> str:
        return keys.composite_key(object_type, attributes)

    @staticmethod
    def split_composite_key(key: str) -> tuple[str, list[str]]:
        return keys.split_composite_key(key)

    # -- end of the transaction --------------------------------------------------------------

    def finish(self) -> None:
        """Close the iterators left open and send the buffered writes: the last requests before COMPLETED."""
        for iterator in self._open:
            iterator.close()
        self._open.clear()
        if self._batch:
            records = list(self._batch.values())
            self._batch.clear()
            size = self._handler.capabilities.write_batch
            for start in range(0, len(records), size):
                self._call(Message.WRITE_BATCH_STATE, shim.WriteBatchState(rec=records[start:start + size]))


class RangeIterator:
    """The results of one range query, batch by batch (``QUERY_STATE_NEXT``), closed by ``close()`` or the stub."""

    def __init__(self, stub: ChaincodeStub, payload: bytes) -> None:
        self._stub = stub
        self._closed = False
        self.bookmark = ""
        self._load(payload)

    def _load(self, payload: bytes) -> None:
        try:
            response = shim.QueryResponse.FromString(payload)
            if response.metadata:
                self.bookmark = shim.QueryResponseMetadata.FromString(response.metadata).bookmark
        except DecodeError as exc:
            raise ValueError(f"[{self._stub.tx_id[:8]}] GetStateByRangeResponse unmarshall error") from exc
        self._id = response.id
        self._has_more = response.has_more
        self._results = response.results
        self._index = 0

    @property
    def open_on_peer(self) -> bool:
        """Whether the peer still holds the iterator (more batches to fetch)."""
        return self._has_more and not self._closed

    def __iter__(self) -> RangeIterator:
        return self

    def __next__(self) -> tuple[str, bytes]:
        while self._index >= len(self._results):
            if not self._has_more:
                raise StopIteration
            reply = self._stub._call(Message.QUERY_STATE_NEXT, shim.QueryStateNext(id=self._id))
            self._load(reply.payload)
        kv = kv_query_result_pb2.KV.FromString(self._results[self._index].resultBytes)
        self._index += 1
        return kv.key, kv.value

    def close(self) -> None:
        """Tell the peer to drop the iterator, unless it already did (it does once the results are all sent)."""
        if self._closed:
            return
        self._closed = True
        if self._has_more:
            self._has_more = False
            self._stub._call(Message.QUERY_STATE_CLOSE, shim.QueryStateClose(id=self._id))


__all__ = ["EMPTY_KEY_SUBSTITUTE", "ChaincodeStub", "RangeIterator"]
