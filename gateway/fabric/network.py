"""A channel as one identity sees it: its contracts, and the chaincode events committed on it."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import grpc
from fabric_protos.gateway import gateway_pb2
from fabric_protos.orderer import ab_pb2

from orchestrator.gateway.fabric.client import EventStream, GatewayClient
from orchestrator.gateway.fabric.commit import CommitListener
from orchestrator.gateway.fabric.contract import Contract
from orchestrator.gateway.fabric.errors import ChaincodeEventsError, details_of
from orchestrator.gateway.fabric.signing import SigningIdentity

if TYPE_CHECKING:
    from orchestrator.gateway.fabric.gateway import Gateway


def signed_chaincode_events_request(
    identity: SigningIdentity, channel: str, chaincode: str, *, start_block: int | None = None,
    after_transaction_id: str = "",
) -> gateway_pb2.SignedChaincodeEventsRequest:
    """The signed request for the events of ``chaincode``: from ``start_block`` (``None``: the next commit),
    skipping everything up to and including ``after_transaction_id`` when it lies in that block."""
    if start_block is None:
        position = ab_pb2.SeekPosition(next_commit=ab_pb2.SeekNextCommit())
    else:
        position = ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=start_block))
    request = gateway_pb2.ChaincodeEventsRequest(
        channel_id=channel, chaincode_id=chaincode, identity=identity.creator, start_position=position,
        after_transaction_id=after_transaction_id,
    ).SerializeToString()
    return gateway_pb2.SignedChaincodeEventsRequest(request=request, signature=identity.sign(request))


class ChaincodeEvents:
    """An open stream of one chaincode's events: one response per block that has some, in ledger order."""

    def __init__(self, stream: EventStream) -> None:
        self._stream = stream

    @property
    def address(self) -> str:
        """The peer serving the stream."""
        return self._stream.address

    def __iter__(self) -> Iterator[gateway_pb2.ChaincodeEventsResponse]:
        """Responses as blocks commit.

        Raises:
            ChaincodeEventsError: the stream failed (CANCELLED after :meth:`close`).
        """
        try:
            yield from self._stream
        except grpc.RpcError as exc:
            raise ChaincodeEventsError(exc.code(), exc.details() or "", details_of(exc)) from None

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> ChaincodeEvents:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Network:
    """One channel; contracts are cheap views, created on demand."""

    def __init__(self, gateway: Gateway, channel: str) -> None:
        self.gateway = gateway
        self.channel = channel
        #: Other organizations' peers of the channel, used when none of ours can be reached.
        self.fallback: tuple[GatewayClient, ...] = tuple(gateway.fallback(channel)) if gateway.fallback else ()
        self._listener: CommitListener | None = None
        self._lock = threading.Lock()
        self._closed = False

    def get_contract(self, chaincode: str) -> Contract:
        return Contract(self, chaincode)

    def commit_listener(self) -> CommitListener | None:
        """The channel's commit listener (started on first use), or ``None`` when the gateway asks status per call."""
        if not self.gateway.options.commit_by_blocks or self._closed:
            return None
        if self._listener is None:
            with self._lock:
                if self._listener is None and not self._closed:
                    self._listener = CommitListener(self)
        return self._listener

    def close(self) -> None:
        """Stop the commit listener (the gRPC channels belong to the caller)."""
        with self._lock:
            self._closed = True
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    def chaincode_events(self, chaincode: str, *, start_block: int | None = None, after_transaction_id: str = "",
                         skip_peers: Sequence[str] = ()) -> ChaincodeEvents:
        """Open a stream of ``chaincode``'s events (see :func:`signed_chaincode_events_request`).

        ``skip_peers`` names endpoints to avoid (a stream just failed there).
        """
        request = signed_chaincode_events_request(
            self.gateway.identity, self.channel, chaincode, start_block=start_block,
            after_transaction_id=after_transaction_id,
        )
        return ChaincodeEvents(self.gateway.client.open_events(request, skip=skip_peers))


__all__ = ["ChaincodeEvents", "Network", "signed_chaincode_events_request"]
