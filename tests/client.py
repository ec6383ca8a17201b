"""A backend's view of the gateway: readable RPC calls over real gRPC, and a gateway to call."""

# ``client.register_algo(msg)`` calls ``/orchestrator.AlgoService/RegisterAlgo`` with the headers
# ``mspid``, ``channel``, ``chaincode`` of the client, like tests/network.py does in-process:
# the method name is the domain handler's name, resolved through
# :mod:`orchestrator.shared.functions`. Failures surface as ``grpc.RpcError`` (code, details).

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message import Message

from orchestrator.api import event_pb2, organization_pb2
from orchestrator.gateway.config import GatewayConfig
from orchestrator.gateway.server import GatewayThread
from orchestrator.shared.events import event_id
from orchestrator.shared.functions import BY_HANDLER, Function
from tests.handler_calls import HandlerCalls

TIMEOUT = 60.0


class GatewayClient(HandlerCalls):
    """One organization talking to a gateway on one channel/chaincode."""

    def __init__(
        self, channel: grpc.Channel, mspid: str = "MyOrg1MSP", *, channel_name: str = "mychannel",
        chaincode: str | None = "mycc", extra_metadata: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.channel = channel
        self.mspid = mspid
        self.channel_name = channel_name
        self.chaincode = chaincode
        self.metadata: tuple[tuple[str, str], ...] = (
            ("mspid", mspid), ("channel", channel_name), *((("chaincode", chaincode),) if chaincode else ()),
            *extra_metadata,
        )
        self._calls: dict[str, Callable[..., Any]] = {}

    def as_org(self, mspid: str) -> GatewayClient:
        """The same connection, calling as another organization."""
        return GatewayClient(self.channel, mspid, channel_name=self.channel_name, chaincode=self.chaincode)

    def stub(self, function: Function) -> Callable[..., Any]:
        """The raw gRPC callable of ``function`` (unary or server-streaming)."""
        callable_ = self._calls.get(function.name)
        if callable_ is None:
            factory = self.channel.unary_stream if function.server_streaming else self.channel.unary_unary
            callable_ = factory(function.grpc_path, request_serializer=function.request.SerializeToString,
                                response_deserializer=function.response.FromString)
            self._calls[function.name] = callable_
        return callable_

    def call(self, function: Function, request: Message | None = None, *, timeout: float | None = TIMEOUT,
             metadata: Sequence[tuple[str, str]] | None = None) -> Message:
        return self.stub(function)(
            request if request is not None else function.request(), timeout=timeout,
            metadata=self.metadata if metadata is None else tuple(metadata),
        )

    def register(self) -> GatewayClient:
        """Register this organization, accepting ALREADY_EXISTS (scenarios.md 1.1 item 3)."""
        try:
            self.register_organization(organization_pb2.RegisterOrganizationParam())
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
        return self

    def query_events(self, *, sort: int = 0, page_size: int = 500, **filters: Any) -> list[event_pb2.Event]:
        """Every event matching ``filters`` (EventQueryFilter fields), all pages."""
        events: list[event_pb2.Event] = []
        token = ""
        while True:
            page = self.call(BY_HANDLER["query_events"], event_pb2.QueryEventsParam(
                page_token=token, page_size=page_size, sort=sort, filter=event_pb2.EventQueryFilter(**filters)))
            events.extend(page.events)
            token = page.next_page_token
            if not token:
                return events

    def subscribe(self, start_event_id: str = "", *, timeout: float | None = None) -> Any:
        """A SubscribeToEvents stream (iterate it; ``cancel()`` it when done)."""
        return self.stub(BY_HANDLER["subscribe_to_events"])(
            event_pb2.SubscribeToEventsParam(start_event_id=start_event_id), timeout=timeout, metadata=self.metadata)


def emission_index(event_id_: str, *, limit: int = 100_000) -> int:
    """Index of an event in its transaction's emission order, recovered from the name-based UUID of its id."""
    tx_id = event_id_.rpartition(":")[0]
    for index in range(limit):
        if event_id(tx_id, index) == event_id_:
            return index
    raise ValueError(f"{event_id_} is not the id of one of the first {limit} events of its transaction")


def ledger_order(events: Sequence[event_pb2.Event]) -> list[event_pb2.Event]:
    """``events`` in ledger order, for ledgers where each transaction has a timestamp of its own (embedded mode).

    QueryEvents orders by timestamp then id (EVT-8), which is the ledger's order of transactions
    there but not of the events inside one; the index each id is named after gives that.
    """
    return sorted(events, key=lambda e: (e.timestamp.seconds, e.timestamp.nanos, emission_index(e.id)))


def test_config(data_dir: Path, **overrides: Any) -> GatewayConfig:
    """A gateway configuration for tests: loopback, free port, short grace period."""
    return replace(GatewayConfig(listen="127.0.0.1:0", data_dir=data_dir, grace_period=1.0), **overrides)


test_config.__test__ = False  # type: ignore[attr-defined]  # not a test, despite the name


@contextlib.contextmanager
def running_gateway(data_dir: Path, **overrides: Any) -> Iterator[GatewayThread]:
    """An in-process gateway on 127.0.0.1:<free port>, stopped on exit."""
    gateway = GatewayThread(test_config(data_dir, **overrides)).start()
    try:
        yield gateway
    finally:
        gateway.stop(grace=0)


@contextlib.contextmanager
def connected(address: str, credentials: grpc.ChannelCredentials | None = None,
              options: Sequence[tuple[str, Any]] = ()) -> Iterator[grpc.Channel]:
    """A client channel to ``address``, ready, closed on exit."""
    opts = [("grpc.max_receive_message_length", 64 * 1024 * 1024), *options]
    channel = (grpc.secure_channel(address, credentials, options=opts) if credentials is not None
               else grpc.insecure_channel(address, options=opts))
    try:
        grpc.channel_ready_future(channel).result(timeout=10)
        yield channel
    finally:
        channel.close()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, for a server a test or benchmark starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GatewayProcess:
    """``orchestrator-gateway`` run as scripts run it, in a subprocess; ``wait_serving()`` polls its health."""

    def __init__(self, data_dir: Path, *args: str, port: int | None = None, **popen: Any) -> None:
        import subprocess
        import sys

        self.port = port or free_port()
        self.address = f"127.0.0.1:{self.port}"
        script = Path(sys.executable).with_name("orchestrator-gateway")
        self.log_path = data_dir.parent / f"gateway-{self.port}.log"  # a file: a full pipe would stall the gateway
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [str(script), "--listen", self.address, "--data-dir", str(data_dir), "--grace-period", "10", *args],
                stderr=log, stdin=subprocess.DEVNULL, **popen,
            )

    def wait_serving(self, timeout: float = 30.0) -> GatewayProcess:
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        with grpc.insecure_channel(self.address) as channel:
            grpc.channel_ready_future(channel).result(timeout=timeout)
            answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
        return self

    def stop(self, signal_number: int) -> tuple[int, str]:
        """Send ``signal_number`` and wait: (exit status, everything logged)."""
        self.process.send_signal(signal_number)
        self.process.wait(timeout=60)
        return self.process.returncode, self.log_path.read_text()
