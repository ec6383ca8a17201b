"""Prometheus metrics of the gateway and the HTTP endpoint serving them, with liveness and readiness."""

# Names follow go-grpc-prometheus (``grpc_server_handled_total`` …), which upstream exported,
# so existing dashboards keep working. Each gateway has its own registry: several gateways in
# one process (tests) do not share counters.

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from orchestrator.gateway.fabric.stats import FabricSnapshot
from orchestrator.gateway.ledger.faults import LedgerStatus

logger = logging.getLogger(__name__)

LATENCY_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class GatewayMetrics:
    """The gateway's metrics, on a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ("grpc_service", "grpc_method", "grpc_type")
        self.started = Counter("grpc_server_started", "RPCs started on the server.", labels, registry=self.registry)
        self.handled = Counter(
            "grpc_server_handled", "RPCs completed on the server, by status code.", (*labels, "grpc_code"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "grpc_server_handling_seconds", "Time from the start of an RPC to its status.", labels,
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.in_flight = Gauge("grpc_server_in_flight", "RPCs being served.", ("grpc_type",), registry=self.registry)
        self.events_streamed = Counter(
            "orchestrator_events_streamed", "Events sent to SubscribeToEvents streams.", ("channel",),
            registry=self.registry,
        )
        self.streams_exhausted = Counter(
            "orchestrator_event_streams_exhausted",
            "SubscribeToEvents streams ended with RESOURCE_EXHAUSTED: their client fell more than the byte "
            "budget behind.", ("channel",), registry=self.registry,
        )
        self.subscribers = Gauge(
            "orchestrator_event_subscribers", "Open SubscribeToEvents streams.", ("channel",), registry=self.registry
        )

    def watch_ledgers(self, states: Callable[[], Sequence[LedgerStatus]]) -> None:
        """Export ``orchestrator_ledger_state`` and ``orchestrator_ledger_failures_total``, read at each scrape."""
        self.registry.register(_LedgerCollector(states))

    def watch_fabric(self, snapshot: Callable[[], FabricSnapshot]) -> None:
        """Export Fabric mode's peer circuits, failovers and in-doubt outcomes, read at each scrape."""
        self.registry.register(_FabricCollector(snapshot))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _LedgerCollector(Collector):
    """Per ledger: its state (0 up, 1 failed and retrying, 2 damaged) and how often it failed."""

    def __init__(self, states: Callable[[], Sequence[LedgerStatus]]) -> None:
        self._states = states

    def collect(self) -> Iterable[Metric]:
        state = GaugeMetricFamily("orchestrator_ledger_state",
                                  "Embedded ledger state: 0 up, 1 failed (retrying), 2 damaged (needs repair).",
                                  labels=("channel", "chaincode"))
        failures = CounterMetricFamily("orchestrator_ledger_failures",
                                       "Times an embedded ledger stopped serving because of its storage.",
                                       labels=("channel", "chaincode"))
        for status in self._states():
            state.add_metric((status.channel, status.chaincode), status.state.value)
            failures.add_metric((status.channel, status.chaincode), status.failures)
        return [state, failures]


class _FabricCollector(Collector):
    """Peers set aside, calls served by another organization's peer, in-doubt transactions by outcome."""

    def __init__(self, snapshot: Callable[[], FabricSnapshot]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        snapshot = self._snapshot()
        circuits = GaugeMetricFamily(
            "orchestrator_fabric_peer_circuit_open",
            "1 while the peer is set aside (unreachable; calls skip it until it accepts a connection), else 0.",
            labels=("peer", "mspid"))
        for circuit in snapshot.circuits:
            circuits.add_metric((circuit.address, circuit.mspid), 1 if circuit.open else 0)
        failovers = CounterMetricFamily(
            "orchestrator_fabric_failovers",
            "Calls of an organization (mspid) served by another organization's peer (peer_mspid), because no "
            "peer of its own could be reached, by Gateway method.", labels=("mspid", "peer_mspid", "method"))
        for (mspid, peer_mspid, method), count in sorted(snapshot.failovers.items()):
            failovers.add_metric((mspid, peer_mspid, method), count)
        in_doubt = CounterMetricFamily(
            "orchestrator_fabric_in_doubt",
            "Transactions whose outcome was in doubt (possibly ordered, first status source failed), by how they "
            "settled: committed, invalidated, unknown (answered DEADLINE_EXCEEDED).", labels=("channel", "resolution"))
        for (channel, resolution), count in sorted(snapshot.in_doubt.items()):
            in_doubt.add_metric((channel, resolution), count)
        retries = CounterMetricFamily(
            "orchestrator_fabric_in_doubt_retries_answered",
            "Retried calls answered with the result of their earlier in-doubt transaction, which committed.",
            labels=("channel",))
        for channel, count in sorted(snapshot.in_doubt_retries.items()):
            retries.add_metric((channel,), count)
        return [circuits, failovers, in_doubt, retries]


class MetricsServer:
    """HTTP on its own port: ``/metrics``, ``/healthz`` (the process answers), ``/readyz`` (calls can be served).

    ``ready`` lists why calls cannot be served (empty: ready); ``/readyz`` answers 503 with those reasons.
    """

    def __init__(self, metrics: GatewayMetrics, address: str, ready: Callable[[], Sequence[str]]) -> None:
        host, _, port = address.rpartition(":")
        host = host.strip("[]")
        server_class = _IPv6HTTPServer if ":" in host else ThreadingHTTPServer  # "[::]:9100", "[::1]:9100"
        self._http = server_class((host, int(port)), _handler(metrics, ready))
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, name="metrics-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._http.server_address[1])

    def start(self) -> None:
        self._thread.start()
        host = str(self._http.server_address[0])
        logger.info("metrics, /healthz and /readyz on http://%s:%d", f"[{host}]" if ":" in host else host, self.port)

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()


class _IPv6HTTPServer(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _handler(metrics: GatewayMetrics, ready: Callable[[], Sequence[str]]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, metrics.exposition(), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                self._answer(200, b"ok\n")
            elif path == "/readyz":
                problems = ready()
                body = "".join(f"{problem}\n" for problem in problems)
                self._answer(503 if problems else 200, f"not ready\n{body}".encode() if problems else b"ready\n")
            else:
                self._answer(404, b"not found\n")

        def _answer(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            logger.debug("metrics http: " + format, *args)

    return Handler
