"""The one edge to the wire: raw ``gateway.Gateway`` calls to peers, asynchronous, bounded, with failover."""

# Every call takes an absolute deadline and is awaited on the caller's event loop, so no thread
# waits for a peer and the number of calls in flight is bounded only by each peer's slots. An
# endpoint that can ``connect`` an asyncio channel gets one per event loop, on first use there: its
# calls complete on the loop itself. Otherwise a unary call is started with the shared channel's
# ``future()``, whose completion, on gRPC's own thread, wakes the loop (one thread hop per call).
# (grpc.aio completes every call through the loop that started its engine, the first to create an
# asyncio channel or server: in the gateway, the serving loop; another loop's completions are
# forwarded to it by that loop.) A peer serves at most ``max_in_flight`` of our calls at once:
# past that bound calls queue here (a Fabric 2.5 peer would otherwise refuse them with UNKNOWN
# "too many requests for /gateway.Gateway", its ``limits.concurrency.gatewayService``, 500 by
# default). If a peer refuses anyway (other clients share it), the call is retried with jittered
# backoff until the deadline.
#
# A peer that cannot be reached opens its circuit: calls skip it at once, without waiting on it,
# and a background probe (the channel's own connection attempts, ``channel_ready_future``) closes
# the circuit as soon as the peer accepts a connection again. When every peer of the
# organization is unreachable, the call goes to the ``fallback`` peers (other organizations'
# peers of the channel, which accept proposals signed by any member); when none answers either,
# it fails with UNAVAILABLE and every endpoint's message in its details.
#
# Synchronous callers (the init job, scripts) use :func:`run_blocking`, which runs a coroutine
# on one shared background event loop.

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import grpc
import grpc.aio
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import events_pb2
from google.protobuf.message import Message

from orchestrator.gateway.fabric.errors import ErrorDetail, GatewayError, details_of

logger = logging.getLogger(__name__)

#: Fabric 2.5's default ``peer.limits.concurrency.gatewayService``.
DEFAULT_MAX_IN_FLIGHT: Final = 500
_SERVICE: Final = "/gateway.Gateway/"
_METHODS: Final = {
    "Evaluate": (gateway_pb2.EvaluateRequest, gateway_pb2.EvaluateResponse),
    "Endorse": (gateway_pb2.EndorseRequest, gateway_pb2.EndorseResponse),
    "Submit": (gateway_pb2.SubmitRequest, gateway_pb2.SubmitResponse),
    "CommitStatus": (gateway_pb2.SignedCommitStatusRequest, gateway_pb2.CommitStatusResponse),
}

#: How long closing waits for an asyncio channel to close on its loop, seconds.
_CLOSE_WAIT: Final = 5.0

T = TypeVar("T")
ErrorFactory = Callable[..., GatewayError]


@dataclass(frozen=True)
class Endpoint:
    """A peer's Gateway service: its address (for messages), the gRPC channel the caller owns, and our bound.

    ``connect`` dials an asyncio channel to the same peer (called on the loop that will use it); unary
    calls then go through it instead of ``channel``, which keeps serving the event streams.
    """

    address: str
    channel: grpc.Channel
    mspid: str = ""
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    connect: Callable[[], grpc.aio.Channel] | None = None
    tls_cert_hash: bytes = b""  # SHA-256 of our client certificate (mutual TLS): Deliver requests carry it


class Slots:
    """A counting semaphore awaited from any event loop and released from any thread.

    A released slot goes to the oldest waiter, through its own loop; a waiter that gave up
    meanwhile passes it on.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._free = size
        self._lock = threading.Lock()
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()

    @property
    def in_use(self) -> int:
        return self.size - self._free

    def take(self) -> None:
        """Take a slot without waiting, even past the bound (long-lived streams the peer counts too)."""
        with self._lock:
            self._free -= 1

    async def acquire(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a slot; whether one was acquired."""
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return True
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append((loop, waiter))
        acquired = False
        try:
            await asyncio.wait_for(waiter, max(timeout, 0.0))
            acquired = True
        except TimeoutError:
            pass
        finally:
            if not acquired:
                # already chosen (ValueError): the hand-over finds the waiter done and passes the slot on
                with self._lock, contextlib.suppress(ValueError):
                    self._waiters.remove((loop, waiter))
                if waiter.done() and not waiter.cancelled():  # handed over just as the wait ended
                    self.release()
        return acquired

    def _hand_over(self, waiter: asyncio.Future[None]) -> None:
        if waiter.done():  # the waiter gave up after being chosen
            self.release()
        else:
            waiter.set_result(None)

    def release(self) -> None:
        with self._lock:
            if not self._waiters or self._free < 0:  # nobody waits, or streams took slots past the bound
                self._free += 1
                return
            loop, waiter = self._waiters.popleft()
        try:
            loop.call_soon_threadsafe(self._hand_over, waiter)
        except RuntimeError:  # that loop is closed
            self.release()


async def _unary(method: grpc.UnaryUnaryMultiCallable[Any, Any], request: Message, timeout: float) -> Any:
    """One unary call, awaited without a thread: the gRPC future wakes this loop when it completes."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()
    call = method.future(request, timeout=timeout)

    def settle(_: Any) -> None:
        if done.cancelled():
            return
        try:
            done.set_result(call.result())
        except grpc.RpcError as exc:
            done.set_exception(exc)
        except grpc.FutureCancelledError:
            done.cancel()

    def completed(_: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits any more
            loop.call_soon_threadsafe(settle, None)

    call.add_done_callback(completed)
    try:
        return await done
    except asyncio.CancelledError:
        call.cancel()
        raise


class _Peer:
    """Runtime state of one endpoint: its stubs, its in-flight slots, and its circuit."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.slots = Slots(endpoint.max_in_flight)
        self.ready = False  # answered our last call: proven reachable
        self.open = False  # circuit open: unreachable, skipped until the probe connects
        self._probe: grpc.Future[None] | None = None
        self._lock = threading.Lock()
        self.calls = {
            name: endpoint.channel.unary_unary(
                _SERVICE + name, request_serializer=req.SerializeToString, response_deserializer=res.FromString
            )
            for name, (req, res) in _METHODS.items()
        }
        self.chaincode_events = endpoint.channel.unary_stream(
            _SERVICE + "ChaincodeEvents",
            request_serializer=gateway_pb2.SignedChaincodeEventsRequest.SerializeToString,
            response_deserializer=gateway_pb2.ChaincodeEventsResponse.FromString,
        )
        self.deliver_filtered = endpoint.channel.stream_stream(
            "/protos.Deliver/DeliverFiltered",
            request_serializer=common_pb2.Envelope.SerializeToString,
            response_deserializer=events_pb2.DeliverResponse.FromString,
        )
        # per event loop: its asyncio channel to the peer and that channel's unary methods
        self._loops: dict[asyncio.AbstractEventLoop, tuple[grpc.aio.Channel, dict[str, Any]]] = {}

    async def invoke(self, method: str, request: Message, timeout: float) -> Any:
        """One unary call to the peer, on the running loop's asyncio channel when the endpoint can connect one."""
        connect = self.endpoint.connect
        if connect is None:
            return await _unary(self.calls[method], request, timeout)
        loop = asyncio.get_running_loop()
        bound = self._loops.get(loop)
        if bound is None:
            bound = self._bind(loop, connect)
        return await bound[1][method](request, timeout=timeout)

    def _bind(self, loop: asyncio.AbstractEventLoop, connect: Callable[[], grpc.aio.Channel]
              ) -> tuple[grpc.aio.Channel, dict[str, Any]]:
        channel = connect()
        calls = {
            name: channel.unary_unary(
                _SERVICE + name, request_serializer=req.SerializeToString, response_deserializer=res.FromString
            )
            for name, (req, res) in _METHODS.items()
        }
        with self._lock:
            for old in [old for old in self._loops if old.is_closed()]:  # loops gone: nothing to close on them
                del self._loops[old]
            bound = self._loops.setdefault(loop, (channel, calls))
        if bound[0] is not channel:  # another call of this loop bound one meanwhile (cannot happen on one loop)
            loop.create_task(channel.close())
        return bound

    def detail(self, message: str) -> ErrorDetail:
        return ErrorDetail(self.endpoint.address, self.endpoint.mspid, message)

    def answered(self) -> None:
        self.ready = True

    def trip(self, reason: str) -> None:
        """Open the circuit and probe the peer in the background; calls skip it until it connects."""
        with self._lock:
            self.ready = False
            if self.open:
                return
            self.open = True
            try:
                probe = self._probe = grpc.channel_ready_future(self.endpoint.channel)
            except ValueError:  # the caller closed the channel
                return
        logger.warning("peer %s (%s) unreachable, set aside until it accepts a connection: %s",
                       self.endpoint.address, self.endpoint.mspid, reason)
        probe.add_done_callback(self._probed)

    def _probed(self, probe: grpc.Future[None]) -> None:
        if probe.cancelled():
            return
        with self._lock:
            if self._probe is not probe:
                return
            self._probe, self.open = None, False
        logger.info("peer %s (%s) accepts connections again", self.endpoint.address, self.endpoint.mspid)

    def close(self) -> None:
        """Stop probing, and close the asyncio channels on their loops (the shared channel is the caller's)."""
        with self._lock:
            probe, self._probe = self._probe, None
            bound, self._loops = self._loops, {}
        if probe is not None:
            probe.cancel()
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for loop, (channel, _) in bound.items():
            if loop.is_closed():
                continue
            if loop is current:
                loop.create_task(channel.close())
            elif loop.is_running():
                with contextlib.suppress(Exception):  # a loop that stops meanwhile takes its channel with it
                    asyncio.run_coroutine_threadsafe(channel.close(), loop).result(_CLOSE_WAIT)
            elif current is None:  # an idle loop (a caller's own, between runs): close on it now
                with contextlib.suppress(RuntimeError):  # it started meanwhile in another thread
                    loop.run_until_complete(channel.close())


def _transport_failure(code: grpc.StatusCode, details: Sequence[ErrorDetail]) -> bool:
    """The peer went away: UNAVAILABLE from the transport (not a peer answering UNAVAILABLE with its
    reasons), or CANCELLED, which only the peer's side can cause (our own cancellation is not an RpcError)."""
    return code == grpc.StatusCode.CANCELLED or (code == grpc.StatusCode.UNAVAILABLE and not details)


class EventStream:
    """An open event stream on one peer (``ChaincodeEvents``, ``DeliverFiltered``): iterate, ``close()`` to end."""

    def __init__(self, peer: _Peer, call: Any, on_close: Callable[[], None]) -> None:
        self.address = peer.endpoint.address
        self._call = call
        self._on_close = on_close
        self._closed = False
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[Any]:
        return self._call  # type: ignore[no-any-return]  # a gRPC streaming call iterates its responses

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._call.cancel()
        self._on_close()


class GatewayClient:
    """Calls to the Gateway services of one organization's peers (thread-safe; many calls in flight)."""

    def __init__(
        self, endpoints: Sequence[Endpoint], *, busy_backoff: float = 0.01, busy_backoff_max: float = 0.5,
        connect_timeout: float = 5.0,
    ) -> None:
        if not endpoints:
            raise ValueError("a Gateway client needs at least one endpoint")
        self._peers = [_Peer(endpoint) for endpoint in endpoints]
        self._connect_timeout = connect_timeout
        self._busy_backoff = busy_backoff
        self._busy_backoff_max = busy_backoff_max
        #: Told ``(method, peer mspid)`` when another organization's peer served a call (metrics).
        self.on_failover: Callable[[str, str], None] | None = None

    @property
    def addresses(self) -> list[str]:
        return [peer.endpoint.address for peer in self._peers]

    @property
    def in_flight(self) -> int:
        """Calls and streams holding one of the peers' slots now."""
        return sum(peer.slots.in_use for peer in self._peers)

    def _order(self) -> list[_Peer]:
        """Endpoints with a closed circuit in configured order, proven ones first."""
        return sorted((peer for peer in self._peers if not peer.open), key=lambda peer: not peer.ready)

    async def call(self, method: str, request: Message, *, deadline: float, error: ErrorFactory, tx_id: str = "",
                   fallback: Sequence[GatewayClient] = ()) -> Any:
        """Send ``request`` to ``method`` of the first peer that answers, before ``deadline`` (monotonic).

        Peers of ``fallback`` clients are tried only when every peer of this one is unreachable.

        Raises:
            GatewayError: (of class ``error``) the peer's status, or DEADLINE_EXCEEDED, or UNAVAILABLE
                when no endpoint could be reached.
        """
        backoff = self._busy_backoff
        while True:
            unreachable: list[ErrorDetail] = []
            busy: GatewayError | None = None
            for number, client in enumerate((self, *fallback)):
                group = client._order()
                unreachable += (peer.detail("unreachable (circuit open)") for peer in client._peers if peer.open)
                for index, peer in enumerate(group):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not await peer.slots.acquire(remaining):
                        raise error(grpc.StatusCode.DEADLINE_EXCEEDED,
                                    f"{method} did not complete before the deadline", unreachable, tx_id=tx_id)
                    # A peer that has not answered yet gets a connection budget when another endpoint could
                    # answer: an address that accepts but never answers must not eat the caller's deadline
                    # (a status wait is exempt: it may take long on any peer).
                    budgeted = (not peer.ready and remaining > self._connect_timeout and method != "CommitStatus"
                                and (index + 1 < len(group) or any(
                                    not other.open for later in fallback[number:] for other in later._peers)))
                    timeout = self._connect_timeout if budgeted else remaining
                    try:
                        response = await peer.invoke(method, request, max(timeout, 0.001))
                    except grpc.RpcError as exc:
                        failure = error(exc.code(), exc.details() or "", details_of(exc), tx_id=tx_id)
                        if budgeted and failure.code == grpc.StatusCode.DEADLINE_EXCEEDED:
                            failure = error(grpc.StatusCode.UNAVAILABLE, f"no connection within {timeout:.1f}s",
                                            tx_id=tx_id)
                        if _transport_failure(failure.code, failure.details):
                            peer.trip(f"{method}: {failure.message}")
                            unreachable.append(peer.detail(failure.message))
                            continue
                        peer.answered()  # it answered, if only to refuse
                        if failure.too_many_requests or failure.code == grpc.StatusCode.UNAVAILABLE:
                            busy = failure  # busy, or cannot reach what it needs: another peer may
                            continue
                        raise failure from None
                    finally:
                        peer.slots.release()
                    peer.answered()
                    if number and self.on_failover is not None:
                        self.on_failover(method, peer.endpoint.mspid)
                    return response
                if busy is not None:
                    break  # a peer of this group answers: no failover past it
            if busy is None:
                raise error(grpc.StatusCode.UNAVAILABLE, f"no peer could be reached for {method}", unreachable,
                            tx_id=tx_id, unreachable=True)
            if not busy.too_many_requests:
                raise busy
            delay = min(random.uniform(0, backoff), deadline - time.monotonic())
            if delay <= 0:
                raise busy
            logger.debug("peers busy for %s, retrying in %.3fs", method, delay)
            await asyncio.sleep(delay)
            backoff = min(backoff * 2, self._busy_backoff_max)

    def _stream_peer(self, skip: Sequence[str], fallback: Sequence[GatewayClient]) -> _Peer:
        for client in (self, *fallback):
            peers = [peer for peer in client._order() if peer.endpoint.address not in skip]
            if peers:
                return peers[0]
        candidates = self._order() or self._peers
        return candidates[0]

    def open_events(self, request: gateway_pb2.SignedChaincodeEventsRequest, *, skip: Sequence[str] = ()
                    ) -> EventStream:
        """Open a ``ChaincodeEvents`` stream on the first peer not in ``skip`` (failures show while iterating).

        The stream holds one of the peer's slots until closed: the peer counts it against its limit too.
        """
        peer = self._stream_peer(skip, ())
        peer.slots.take()
        call = peer.chaincode_events(request)
        return EventStream(peer, call, peer.slots.release)

    def open_filtered_blocks(self, seek: Callable[[bytes], common_pb2.Envelope], *, skip: Sequence[str] = (),
                             fallback: Sequence[GatewayClient] = ()) -> EventStream:
        """Open a ``Deliver.DeliverFiltered`` stream (block numbers and transaction validation codes).

        ``seek`` signs the request for the chosen peer, given the hash of the client certificate the
        gateway presents to it. Another organization's peer serves it when none of this one's is
        reachable. The Deliver service has its own limit on a peer, so the stream takes none of our
        Gateway slots.
        """
        peer = self._stream_peer(skip, fallback)
        if peer not in self._peers and self.on_failover is not None:
            self.on_failover("DeliverFiltered", peer.endpoint.mspid)
        call = peer.deliver_filtered(iter([seek(peer.endpoint.tls_cert_hash)]))
        return EventStream(peer, call, lambda: None)

    def _peer_at(self, address: str) -> _Peer | None:
        return next((peer for peer in self._peers if peer.endpoint.address == address), None)

    def report_reachable(self, address: str) -> None:
        """An endpoint answered on a stream: it is proven reachable."""
        peer = self._peer_at(address)
        if peer is not None:
            peer.answered()

    def report_unreachable(self, address: str) -> None:
        """A stream on an endpoint failed: open its circuit."""
        peer = self._peer_at(address)
        if peer is not None:
            peer.trip("stream failed")

    def circuits(self) -> list[tuple[str, str, bool]]:
        """Every endpoint: its address, its MSP ID, and whether its circuit is open."""
        return [(peer.endpoint.address, peer.endpoint.mspid, peer.open) for peer in self._peers]

    def unreachable(self) -> list[str]:
        """Addresses of the endpoints set aside (circuit open) until their probe connects."""
        return [peer.endpoint.address for peer in self._peers if peer.open]

    def ready(self) -> bool:
        """Whether some endpoint's circuit is closed."""
        return any(not peer.open for peer in self._peers)

    def close(self) -> None:
        """Stop probing; the channels belong to the caller."""
        for peer in self._peers:
            peer.close()


class _BackgroundLoop:
    """One event loop in a daemon thread, for synchronous callers of the asynchronous client."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="fabric-client", daemon=True).start()
                self._loop = loop
            return self._loop


_BACKGROUND: Final = _BackgroundLoop()


def run_blocking(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion on the shared background loop and return its result (or raise).

    For synchronous callers only: from a coroutine, await the coroutine instead.
    """
    loop = _BACKGROUND.loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        coroutine.close()
        raise RuntimeError("run_blocking called from the client's own loop")
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result()


__all__ = ["DEFAULT_MAX_IN_FLIGHT", "Endpoint", "EventStream", "GatewayClient", "Slots", "run_blocking"]
