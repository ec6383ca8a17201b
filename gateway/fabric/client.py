"""The one edge to the wire: raw ``gateway.Gateway`` calls to an organization's peers, bounded, with failover."""

# Every call takes an absolute deadline. A peer serves at most ``max_in_flight`` of our calls at
# once: past that bound calls queue here (a Fabric 2.5 peer would otherwise refuse them with
# UNKNOWN "too many requests for /gateway.Gateway", its ``limits.concurrency.gatewayService``,
# 500 by default). If a peer refuses anyway (other clients share it), the call is retried with
# jittered backoff until the deadline. An unreachable peer (UNAVAILABLE) is set aside for a
# while and the call moves to the organization's next endpoint; when none answers, the call
# fails with UNAVAILABLE and every endpoint's message in its details.

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import events_pb2
from google.protobuf.message import Message

from orchestrator.gateway.fabric.errors import ErrorDetail, GatewayError, details_of

logger = logging.getLogger(__name__)

DEFAULT_MAX_IN_FLIGHT: Final = 400
_SERVICE: Final = "/gateway.Gateway/"
_METHODS: Final = {
    "Evaluate": (gateway_pb2.EvaluateRequest, gateway_pb2.EvaluateResponse),
    "Endorse": (gateway_pb2.EndorseRequest, gateway_pb2.EndorseResponse),
    "Submit": (gateway_pb2.SubmitRequest, gateway_pb2.SubmitResponse),
    "CommitStatus": (gateway_pb2.SignedCommitStatusRequest, gateway_pb2.CommitStatusResponse),
}

R = TypeVar("R", bound=Message)
ErrorFactory = Callable[..., GatewayError]


@dataclass(frozen=True)
class Endpoint:
    """A peer's Gateway service: its address (for messages), the gRPC channel the caller owns, and our bound."""

    address: str
    channel: grpc.Channel
    mspid: str = ""
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT


class _Peer:
    """Runtime state of one endpoint: its stubs, its in-flight slots, and when it last failed."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.slots = threading.BoundedSemaphore(endpoint.max_in_flight)
        self.down_until = 0.0
        self.ready = False  # answered our last call: proven reachable
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

    def detail(self, message: str) -> ErrorDetail:
        return ErrorDetail(self.endpoint.address, self.endpoint.mspid, message)


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
        self, endpoints: Sequence[Endpoint], *, down_period: float = 5.0, busy_backoff: float = 0.01,
        busy_backoff_max: float = 0.5, connect_timeout: float = 5.0,
    ) -> None:
        if not endpoints:
            raise ValueError("a Gateway client needs at least one endpoint")
        self._peers = [_Peer(endpoint) for endpoint in endpoints]
        self._connect_timeout = connect_timeout
        self._down_period = down_period
        self._busy_backoff = busy_backoff
        self._busy_backoff_max = busy_backoff_max

    @property
    def addresses(self) -> list[str]:
        return [peer.endpoint.address for peer in self._peers]

    def _order(self) -> list[_Peer]:
        """Endpoints in configured order: proven ones first, those that failed recently last (may be back)."""
        now = time.monotonic()
        return sorted(self._peers, key=lambda peer: (peer.down_until > now, not peer.ready))

    def call(self, method: str, request: Message, *, deadline: float, error: ErrorFactory, tx_id: str = "") -> Any:
        """Send ``request`` to ``method`` of the first peer that answers, before ``deadline`` (monotonic).

        Raises:
            GatewayError: (of class ``error``) the peer's status, or DEADLINE_EXCEEDED, or UNAVAILABLE
                when no endpoint could be reached.
        """
        backoff = self._busy_backoff
        while True:
            unreachable: list[ErrorDetail] = []
            busy: GatewayError | None = None
            order = self._order()
            for index, peer in enumerate(order):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not peer.slots.acquire(timeout=remaining):
                    raise error(grpc.StatusCode.DEADLINE_EXCEEDED,
                                f"{method} did not complete before the deadline", unreachable, tx_id=tx_id)
                # A peer that has not answered yet gets a connection budget when another endpoint, not
                # known down, could answer: an address that accepts but never answers must not eat the
                # caller's deadline (a status wait is exempt: it may take long on any peer).
                now = time.monotonic()
                budgeted = (not peer.ready and remaining > self._connect_timeout and method != "CommitStatus"
                            and any(other.down_until <= now for other in order[index + 1:]))
                timeout = self._connect_timeout if budgeted else remaining
                try:
                    response = peer.calls[method](request, timeout=max(timeout, 0.001))
                except grpc.RpcError as exc:
                    failure = error(exc.code(), exc.details() or "", details_of(exc), tx_id=tx_id)
                    if budgeted and failure.code == grpc.StatusCode.DEADLINE_EXCEEDED:
                        failure = error(grpc.StatusCode.UNAVAILABLE, f"no connection within {timeout:.1f}s",
                                        tx_id=tx_id)
                    if failure.code == grpc.StatusCode.UNAVAILABLE:
                        logger.warning("peer %s unavailable for %s: %s", peer.endpoint.address, method, failure.message)
                        peer.ready = False
                        peer.down_until = time.monotonic() + self._down_period
                        unreachable.append(peer.detail(failure.message))
                        continue
                    peer.ready = True  # it answered, if only to refuse
                    if failure.too_many_requests:
                        busy = failure
                        continue
                    raise failure from None
                finally:
                    peer.slots.release()
                peer.down_until, peer.ready = 0.0, True
                return response
            if busy is None:
                raise error(grpc.StatusCode.UNAVAILABLE, f"no peer could be reached for {method}", unreachable,
                            tx_id=tx_id)
            delay = min(random.uniform(0, backoff), deadline - time.monotonic())
            if delay <= 0:
                raise busy
            logger.debug("peers busy for %s, retrying in %.3fs", method, delay)
            time.sleep(delay)
            backoff = min(backoff * 2, self._busy_backoff_max)

    def open_events(self, request: gateway_pb2.SignedChaincodeEventsRequest, *, skip: Sequence[str] = ()
                    ) -> EventStream:
        """Open a ``ChaincodeEvents`` stream on the first peer not in ``skip`` (failures show while iterating).

        The stream holds one of the peer's slots until closed: the peer counts it against its limit too.
        """
        peers = [peer for peer in self._order() if peer.endpoint.address not in skip] or self._order()
        peer = peers[0]
        peer.slots.acquire()
        call = peer.chaincode_events(request)
        return EventStream(peer, call, peer.slots.release)

    def open_filtered_blocks(self, envelope: common_pb2.Envelope, *, skip: Sequence[str] = ()) -> EventStream:
        """Open a ``Deliver.DeliverFiltered`` stream (block numbers and transaction validation codes).

        The Deliver service has its own limit on a peer, so the stream takes none of our Gateway slots.
        """
        peers = [peer for peer in self._order() if peer.endpoint.address not in skip] or self._order()
        peer = peers[0]
        call = peer.deliver_filtered(iter([envelope]))
        return EventStream(peer, call, lambda: None)

    def report_reachable(self, address: str) -> None:
        """An endpoint answered on a stream: it is proven reachable."""
        for peer in self._peers:
            if peer.endpoint.address == address:
                peer.ready, peer.down_until = True, 0.0

    def report_unreachable(self, address: str) -> None:
        """Set an endpoint aside after a stream on it failed."""
        for peer in self._peers:
            if peer.endpoint.address == address:
                peer.ready, peer.down_until = False, time.monotonic() + self._down_period

    def ready(self) -> bool:
        """Whether some endpoint has not failed recently."""
        now = time.monotonic()
        return any(peer.down_until <= now for peer in self._peers)

    def close(self) -> None:
        """Nothing to release: the channels belong to the caller."""

__all__ = ["DEFAULT_MAX_IN_FLIGHT", "Endpoint", "EventStream", "GatewayClient"]
