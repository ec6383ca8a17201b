"""The forwarder's Prometheus metrics, and the HTTP endpoint serving them with /healthz and /readyz."""

# /healthz answers 200 while the process serves HTTP; /readyz answers 200 only when the broker
# and every channel's gateway stream are connected. Both return a JSON status: per channel,
# whether its stream is connected, the last confirmed event, the events awaiting a confirm and
# the lag (ledger time between the newest event on the ledger and the last one confirmed).

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

logger = logging.getLogger(__name__)


class ForwarderMetrics:
    """The forwarder's metrics, on a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.published = Counter(
            "orchestrator_forwarder_events_published", "Events the broker confirmed.", ("channel",),
            registry=self.registry)
        self.repeated = Counter(
            "orchestrator_forwarder_events_repeated",
            "Events published again after a restart or a reconnection: the broker may already have had them.",
            ("channel",), registry=self.registry)
        self.broker_connected = Gauge(
            "orchestrator_forwarder_broker_connected", "1 when the broker connection is open.",
            registry=self.registry)
        self.gateway_connected = Gauge(
            "orchestrator_forwarder_gateway_connected", "1 when the channel's event stream is open.", ("channel",),
            registry=self.registry)
        self.unconfirmed = Gauge(
            "orchestrator_forwarder_unconfirmed_events", "Events published, not yet confirmed.",
            registry=self.registry)
        self.lag = Gauge(
            "orchestrator_forwarder_lag_seconds",
            "Ledger time between the channel's newest event and the last one the broker confirmed.",
            ("channel",), registry=self.registry)
        self.reconnects = Counter(
            "orchestrator_forwarder_reconnects", "Connections opened again after a failure.", ("peer",),
            registry=self.registry)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class StatusServer:
    """HTTP on its own port: ``/metrics``, ``/healthz``, ``/readyz``; ``status()`` gives (ready, details)."""

    def __init__(self, metrics: ForwarderMetrics, address: str,
                 status: Callable[[], tuple[bool, dict[str, Any]]]) -> None:
        host, _, port = address.rpartition(":")
        host = host.strip("[]")
        server_class = _IPv6HTTPServer if ":" in host else ThreadingHTTPServer
        self._http = server_class((host, int(port)), _handler(metrics, status))
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, name="forwarder-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._http.server_address[1])

    def start(self) -> None:
        self._thread.start()
        logger.info("metrics, /healthz and /readyz on port %d", self.port)

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()


class _IPv6HTTPServer(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _handler(metrics: ForwarderMetrics,
             status: Callable[[], tuple[bool, dict[str, Any]]]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, metrics.exposition(), CONTENT_TYPE_LATEST)
            elif path in ("/healthz", "/readyz"):
                ready, details = status()
                code = 200 if ready or path == "/healthz" else 503
                self._answer(code, json.dumps({"ready": ready, **details}, indent=1).encode() + b"\n",
                             "application/json")
            else:
                self._answer(404, b"not found\n", "text/plain; charset=utf-8")

        def _answer(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            logger.debug("status http: " + format, *args)

    return Handler
