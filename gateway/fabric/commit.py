"""Commit status: the signed per-transaction request, and a listener that learns every status from filtered blocks."""

# Asking ``CommitStatus`` once per transaction costs a signature and a round trip each. A
# channel's :class:`CommitListener` instead follows one ``Deliver.DeliverFiltered`` stream (as the
# official clients' filtered block events do): each block lists its transactions with their
# validation codes, so a submitted transaction's status arrives with its block, whatever the
# number of calls in flight. A transaction is watched *before* it is submitted, and the stream
# resumes after the last block it delivered, so no status can be missed; whenever the stream is
# not positioned (starting, reconnecting) callers fall back to ``CommitStatus``.

from __future__ import annotations

import asyncio
import functools
import logging
import random
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import events_pb2, transaction_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from orchestrator.gateway.fabric.signing import SigningIdentity
from orchestrator.gateway.fabric.wakeups import resolve, wake_all

if TYPE_CHECKING:
    from orchestrator.gateway.fabric.client import EventStream
    from orchestrator.gateway.fabric.network import Network

logger = logging.getLogger(__name__)

_LAST_BLOCK: Final = 2**64 - 1
_VALID: Final[int] = transaction_pb2.VALID


def signed_commit_status_request(identity: SigningIdentity, channel: str, tx_id: str
                                 ) -> gateway_pb2.SignedCommitStatusRequest:
    """The request, signed: peers only tell a transaction's fate to identities the channel admits."""
    request = gateway_pb2.CommitStatusRequest(
        transaction_id=tx_id, channel_id=channel, identity=identity.creator
    ).SerializeToString()
    return gateway_pb2.SignedCommitStatusRequest(request=request, signature=identity.sign(request))


def signed_seek_envelope(identity: SigningIdentity, channel: str, start_block: int | None,
                         tls_cert_hash: bytes = b"") -> common_pb2.Envelope:
    """A signed Deliver request for blocks from ``start_block`` (``None``: the newest) on, without end.

    ``tls_cert_hash`` binds it to the TLS session of a peer that requires client certificates, which
    refuses the request without it.
    """
    start = (ab_pb2.SeekPosition(newest=ab_pb2.SeekNewest()) if start_block is None
             else ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=start_block)))
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    header = common_pb2.Header(
        channel_header=common_pb2.ChannelHeader(
            type=common_pb2.DELIVER_SEEK_INFO, timestamp=Timestamp(seconds=seconds, nanos=nanos), channel_id=channel,
            epoch=0, tls_cert_hash=tls_cert_hash,
        ).SerializeToString(),
        signature_header=common_pb2.SignatureHeader(creator=identity.creator).SerializeToString(),
    )
    seek = ab_pb2.SeekInfo(start=start, stop=ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=_LAST_BLOCK)))
    payload = common_pb2.Payload(header=header, data=seek.SerializeToString()).SerializeToString()
    return common_pb2.Envelope(payload=payload, signature=identity.sign(payload))


@dataclass(frozen=True)
class Status:
    """How a transaction was validated, and in which block."""

    tx_id: str
    code: int  # protos.TxValidationCode
    block_number: int

    @property
    def successful(self) -> bool:
        return self.code == _VALID


class Watch:
    """One submitted transaction awaiting its status from the listener (settled by the listener's thread)."""

    __slots__ = ("_lock", "_waiter", "broken", "settled", "status", "tx_id")

    def __init__(self, tx_id: str) -> None:
        self.tx_id = tx_id
        self.status: Status | None = None
        self.broken = False  # the stream failed: ask CommitStatus instead
        self.settled = False
        self._lock = threading.Lock()
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None

    def _settle(self, status: Status | None) -> tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None:
        """Record the outcome; the waiter to wake, if one waits (:func:`settle_all` wakes it)."""
        with self._lock:
            if self.settled:
                return None
            self.status = status
            self.broken = status is None
            self.settled = True
            waiter, self._waiter = self._waiter, None
        return waiter

    async def wait_async(self, timeout: float) -> bool:
        """Whether the watch settled (a status, or broken) within ``timeout``; waits without a thread."""
        with self._lock:
            if self.settled:
                return True
            loop = asyncio.get_running_loop()
            future: asyncio.Future[None] = loop.create_future()
            self._waiter = (loop, future)
        timer = loop.call_later(max(timeout, 0.0), resolve, (future,))
        try:
            await future
        finally:
            timer.cancel()
        return self.settled


def settle_all(outcomes: Iterable[tuple[Watch, Status | None]]) -> None:
    """Settle watches, waking each waiting event loop once for all of them: one thread hop per block, not per
    transaction."""
    wake_all(waiter for waiter in (watch._settle(status) for watch, status in outcomes) if waiter is not None)


class CommitListener:
    """Every transaction status of one channel, read from one peer's filtered blocks in a background thread."""

    def __init__(self, network: Network, *, backoff: float = 0.05, backoff_max: float = 5.0) -> None:
        self._network = network
        self._backoff = backoff
        self._backoff_max = backoff_max
        self._lock = threading.Lock()
        self._watches: dict[str, Watch] = {}
        self._position: int | None = None  # last block delivered
        self._healthy = False
        self._stop = threading.Event()
        self._stream: EventStream | None = None
        self._thread = threading.Thread(target=self._run, name=f"fabric-commits-{network.channel}", daemon=True)
        self._thread.start()

    @property
    def positioned(self) -> bool:
        """Whether the stream is delivering blocks: watches registered now cannot miss their block."""
        return self._healthy

    def watch(self, tx_id: str) -> Watch | None:
        """Start watching ``tx_id`` (before submitting it); ``None`` when the stream is not positioned."""
        with self._lock:
            if not self._healthy:
                return None
            watch = self._watches[tx_id] = Watch(tx_id)
            return watch

    def forget(self, watch: Watch) -> None:
        with self._lock:
            if self._watches.get(watch.tx_id) is watch:
                del self._watches[watch.tx_id]

    def _break_watches(self) -> None:
        with self._lock:
            self._healthy = False
            watches, self._watches = list(self._watches.values()), {}
        settle_all((watch, None) for watch in watches)

    def _run(self) -> None:
        backoff = self._backoff
        failed: list[str] = []
        client = self._network.gateway.client
        while not self._stop.is_set():
            start = None if self._position is None else self._position + 1
            seek = functools.partial(signed_seek_envelope, self._network.gateway.identity, self._network.channel, start)
            try:
                stream = client.open_filtered_blocks(seek, skip=failed, fallback=self._network.fallback)
            except ValueError:  # the caller closed the gRPC channels: nothing more to listen to
                return
            with self._lock:
                if self._stop.is_set():
                    stream.close()
                    return
                self._stream = stream
            try:
                proven = False
                for response in stream:
                    if not proven:
                        for reader in (client, *self._network.fallback):
                            reader.report_reachable(stream.address)
                        proven = True
                    if response.WhichOneof("Type") != "filtered_block":
                        logger.warning("filtered blocks of %s from %s ended with status %s", self._network.channel,
                                       stream.address, common_pb2.Status.Name(response.status))
                        break
                    self._deliver(response.filtered_block)
                    backoff, failed = self._backoff, []
            except Exception as exc:  # grpc.RpcError mostly; never let the listener die
                if self._stop.is_set():
                    return
                detail = exc.details() if isinstance(exc, grpc.RpcError) else str(exc)
                logger.info("filtered blocks of %s from %s failed (%s), reconnecting", self._network.channel,
                            stream.address, detail)
                for reader in (client, *self._network.fallback):
                    reader.report_unreachable(stream.address)
                failed.append(stream.address)
                if len(failed) >= len(client.addresses) + sum(len(c.addresses) for c in self._network.fallback):
                    failed = []
            finally:
                stream.close()
                self._break_watches()
            self._stop.wait(random.uniform(backoff / 2, backoff))
            backoff = min(backoff * 2, self._backoff_max)

    def _deliver(self, block: events_pb2.FilteredBlock) -> None:
        number = block.number
        settled = []
        with self._lock:
            self._position = number
            self._healthy = True
            if self._watches:
                for tx in block.filtered_transactions:
                    watch = self._watches.pop(tx.txid, None)
                    if watch is not None:
                        settled.append((watch, Status(tx.txid, tx.tx_validation_code, number)))
        settle_all(settled)

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.close()
        self._thread.join(timeout=10)
        self._break_watches()


__all__ = ["CommitListener", "Status", "Watch", "signed_commit_status_request", "signed_seek_envelope"]
