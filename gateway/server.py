"""The gateway server: gRPC API, health, reflection, metrics, TLS, and an orderly shutdown."""

# Shutdown (SIGTERM/SIGINT or :meth:`Gateway.stop`): health turns NOT_SERVING and readiness
# false, new calls are refused (UNAVAILABLE), event streams end cleanly, in-flight calls get
# the grace period to finish and a moment for their responses to leave, then the gRPC server
# stops, the ledger threads finish what they run and the ledgers close.

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import logging
import signal
import threading
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

import grpc
import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

import orchestrator
from orchestrator.gateway.config import ConfigError, GatewayConfig
from orchestrator.gateway.events import EventHub
from orchestrator.gateway.fabric.stats import FabricStats
from orchestrator.gateway.interceptors import chain
from orchestrator.gateway.interceptors.access_log import AccessLogInterceptor
from orchestrator.gateway.interceptors.admission import AdmissionInterceptor
from orchestrator.gateway.interceptors.errors import ErrorInterceptor
from orchestrator.gateway.interceptors.headers import HeadersInterceptor
from orchestrator.gateway.interceptors.metrics import MetricsInterceptor
from orchestrator.gateway.interceptors.mspid import MspidCertificateInterceptor
from orchestrator.gateway.interceptors.requestid import RequestIdInterceptor
from orchestrator.gateway.invoke import create_invoker, mode
from orchestrator.gateway.invoke.base import Invoker, ReportsLedgers, ReportsReadiness
from orchestrator.gateway.ledger.faults import LedgerState
from orchestrator.gateway.metrics import GatewayMetrics, MetricsServer
from orchestrator.gateway.reflection import add_reflection
from orchestrator.gateway.servicers import Servicers
from orchestrator.gateway.tls import OrgCertificateAuthorities, server_credentials
from orchestrator.shared.functions import SERVICES

logger = logging.getLogger(__name__)

T = TypeVar("T")

SERVICE_NAMES: Final = tuple(service.full_name for service in SERVICES)

#: After the last in-flight call returned, how long its connection may still flush the response.
RESPONSE_LINGER: Final = 0.25
#: Health service that answers SERVING while the process runs (liveness and startup probes): unlike
#: the server's overall health it stays SERVING while a ledger is failed, so that a storage fault
#: takes the gateway out of rotation without restarting it.
LIVENESS_SERVICE: Final = "liveness"
#: How often gRPC health follows readiness (a ledger failing or recovering), in seconds.
HEALTH_POLL: Final = 0.2


def _options(config: GatewayConfig) -> list[tuple[str, int]]:
    return [
        ("grpc.max_receive_message_length", config.max_message_size),
        ("grpc.max_send_message_length", config.max_response_size),
        ("grpc.so_reuseport", 0),  # a second gateway on the same port must fail, not share it
        ("grpc.keepalive_time_ms", 60_000),  # find dead subscribers
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),  # tolerate client keepalives
        ("grpc.http2.max_pings_without_data", 0),
    ]


class Gateway:
    """One gateway: build with a configuration (and optionally an invoker), ``await start()``, ``await stop()``."""

    def __init__(self, config: GatewayConfig, *, invoker: Invoker | None = None) -> None:
        self.config = config
        self.metrics = GatewayMetrics()
        self._invoker = invoker
        self._server: grpc.aio.Server | None = None
        self._metrics_server: MetricsServer | None = None
        self._health = health.aio.HealthServicer()
        self._executor = concurrent.futures.ThreadPoolExecutor(config.workers, thread_name_prefix="ledger")
        self._serving = False
        self._stopped: asyncio.Event | None = None
        self._stopping = False
        self.port = 0
        self.metrics_port = 0
        self.events: EventHub | None = None
        self._admission = AdmissionInterceptor()
        self._health_watch: asyncio.Task[None] | None = None

    @property
    def invoker(self) -> Invoker:
        if self._invoker is None:
            raise RuntimeError("the gateway is not started")
        return self._invoker

    def ready(self) -> bool:
        """Readiness: serving, not shutting down, the invoker can serve calls and no ledger is failed."""
        return not self.unready()

    def unready(self) -> list[str]:
        """Why calls cannot be served now (empty: ready); ``/readyz`` lists these lines."""
        if not self._serving or self._stopping or self._invoker is None:
            return ["shutting down" if self._stopping else "not serving yet"]
        invoker = self._invoker
        reachable = not isinstance(invoker, ReportsReadiness) or invoker.ready()
        problems = [] if reachable else ["no peer or ledger reachable"]
        if isinstance(invoker, ReportsLedgers):
            problems += [f"ledger {status.name} {status.state.name.lower()}: {status.cause}"
                         for status in invoker.ledger_states() if status.state is not LedgerState.UP]
        return problems

    async def start(self) -> None:
        """Open the invoker, bind the ports and start serving.

        Raises:
            ConfigError: TLS files or addresses are unusable.
            ModeNotAvailableError: the configured mode is not built in.
            DataDirInUseError: another gateway uses the data directory.
        """
        try:
            await self._start()
        except BaseException:
            await self.stop(0)
            raise

    async def _start(self) -> None:
        config = self.config
        self._stopped = asyncio.Event()
        chaincode_required = mode(config.mode).chaincode_header_required
        org_cas = OrgCertificateAuthorities.load(config.org_ca)
        credentials = server_credentials(config, org_cas) if config.tls else None
        if self._invoker is None:
            self._invoker = create_invoker(config)
        if isinstance(self._invoker, ReportsLedgers):
            self.metrics.watch_ledgers(self._invoker.ledger_states)
        fabric_stats = getattr(self._invoker, "stats", None)
        if isinstance(fabric_stats, FabricStats):
            self.metrics.watch_fabric(fabric_stats.snapshot)
        self.events = EventHub(self.run, buffer_bytes=config.subscriber_buffer_bytes, metrics=self.metrics)
        servicers = Servicers(self._invoker, self.run, self.events, max_response_bytes=config.max_response_bytes)
        interceptors = chain(
            RequestIdInterceptor(),
            MetricsInterceptor(self.metrics),
            AccessLogInterceptor(),
            ErrorInterceptor(),
            MspidCertificateInterceptor(org_cas) if org_cas.by_mspid else None,
            HeadersInterceptor(config.channels, chaincode_required=chaincode_required),
            self._admission,  # after the headers: a refused call is logged with its mspid and channel
        )
        server = grpc.aio.server(interceptors=interceptors, options=_options(config))
        server.add_generic_rpc_handlers(servicers.handlers())
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        add_reflection(server, (*SERVICE_NAMES, health.SERVICE_NAME))
        try:
            if credentials is not None:
                self.port = server.add_secure_port(config.listen, credentials)
            else:
                self.port = server.add_insecure_port(config.listen)
        except RuntimeError as exc:
            raise ConfigError(f"cannot listen on {config.listen}: {exc}") from None
        self._server = server
        await server.start()
        for name in ("", *SERVICE_NAMES, LIVENESS_SERVICE):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self._serving = True
        self._health_watch = asyncio.create_task(self._follow_readiness())
        if config.metrics_listen:
            try:
                self._metrics_server = MetricsServer(self.metrics, config.metrics_listen, self.unready)
            except OSError as exc:
                raise ConfigError(f"cannot serve metrics on {config.metrics_listen}: {exc.strerror}") from None
            self._metrics_server.start()
            self.metrics_port = self._metrics_server.port
        self._announce()

    def _announce(self) -> None:
        config = self.config
        logger.info("orchestrator gateway %s serving on %s (%s mode%s)", orchestrator.__version__,
                    _shown(config.listen, self.port), config.mode,
                    f", data in {config.data_dir.resolve()}" if config.mode == "embedded" else "")
        if not config.tls:
            logger.warning("TLS is off: calls and the 'mspid' header travel in clear text and are trusted as sent; "
                           "give --tls-cert/--tls-key (and --org-ca for mutual TLS) outside a trusted network")
        elif not config.org_ca:
            logger.warning("no --org-ca: the 'mspid' header is not checked against client certificates")
        if not config.channels.restricted:
            logger.warning("no channel configuration: any organization may use any channel%s; give --config "
                           "with a 'channels:' section to restrict",
                           f" (each new channel name opens a new ledger, {config.max_ledgers} at most: "
                           "--max-ledgers)" if config.mode == "embedded" else "")

    async def _follow_readiness(self) -> None:
        """Turn gRPC health NOT_SERVING while a ledger is failed, SERVING again once it recovered."""
        serving = True
        while not self._stopping:
            await asyncio.sleep(HEALTH_POLL)
            ready = self.ready()
            if ready != serving and not self._stopping:
                serving = ready
                status = health_pb2.HealthCheckResponse.SERVING if ready else health_pb2.HealthCheckResponse.NOT_SERVING
                for name in ("", *SERVICE_NAMES):
                    await self._health.set(name, status)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on the ledger threads, in a copy of the caller's context (request id)."""
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(context.run, fn, *args, **kwargs))

    async def stop(self, grace: float | None = None) -> None:
        """Stop serving; in-flight calls get ``grace`` seconds (the configured grace period by default)."""
        if self._stopping:
            if self._stopped is not None:
                await self._stopped.wait()
            return
        started = self._serving  # a start that failed stops quietly: its error says it all
        self._stopping = True
        if self._health_watch is not None:
            self._health_watch.cancel()
        grace = self.config.grace_period if grace is None else grace
        if started:
            logger.info("shutting down: %.1fs for in-flight calls", grace)
        await self._health.enter_graceful_shutdown()
        self._admission.close()
        if self.events is not None:
            self.events.close()
        if self._server is not None:
            await self._drain(grace)
        self._serving = False
        await asyncio.get_running_loop().run_in_executor(None, self._release)
        if self._stopped is not None:
            self._stopped.set()
        if started:
            logger.info("gateway stopped")

    async def _drain(self, grace: float) -> None:
        """Let admitted calls finish and their responses leave, then stop the gRPC server.

        The server would free a connection as soon as its last call returns, possibly before the
        response is through; what is still running at the end of ``grace`` is cancelled.
        """
        assert self._server is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        if grace > 0 and await self._admission.drained(grace):
            await asyncio.sleep(min(RESPONSE_LINGER, max(0.0, deadline - loop.time())))
        await self._server.stop(max(0.0, deadline - loop.time()))

    def _release(self) -> None:
        self._executor.shutdown(wait=True)
        if self.events is not None:
            self.events.join()
        if self._invoker is not None:
            self._invoker.close()
        if self._metrics_server is not None:
            self._metrics_server.stop()

    async def wait_stopped(self) -> None:
        """Return once :meth:`stop` completed."""
        if self._stopped is not None:
            await self._stopped.wait()


def _shown(listen: str, port: int) -> str:
    host = listen.rpartition(":")[0]
    return f"{host}:{port}"


async def serve(config: GatewayConfig, *, signals: Sequence[int] = (signal.SIGTERM, signal.SIGINT)) -> None:
    """Run a gateway until one of ``signals`` arrives, then shut it down gracefully."""
    gateway = Gateway(config)
    await gateway.start()
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    for signum in signals:
        loop.add_signal_handler(signum, stop_requested.set)
    try:
        await stop_requested.wait()
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
        await gateway.stop()


class GatewayThread:
    """A gateway on its own event loop in a background thread: for tests and for embedding in a program."""

    def __init__(self, config: GatewayConfig, *, invoker: Invoker | None = None) -> None:
        self.gateway = Gateway(config, invoker=invoker)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="gateway-loop", daemon=True)

    @property
    def port(self) -> int:
        return self.gateway.port

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.gateway.port}"

    def start(self) -> GatewayThread:
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.gateway.start(), self._loop).result()
        except BaseException:
            self._shutdown_loop()
            raise
        return self

    def stop(self, grace: float | None = 0) -> None:
        """Stop the gateway (``grace`` as :meth:`Gateway.stop`) and the loop thread."""
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self.gateway.stop(grace), self._loop).result()
            self._shutdown_loop()

    def _shutdown_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> GatewayThread:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
