"""The chaincode as an external service: the gRPC server of ``protos.Chaincode/Connect`` that peers dial."""

# Chaincode as a service turns the roles around: the peer is the gRPC client and dials the
# chaincode, which then speaks first (REGISTER). Each accepted stream gets its own
# :class:`~orchestrator.chaincode.shim.handler.Handler`; transactions of every stream run on
# one shared pool of worker threads. Per stream, one reader thread feeds the handler, and the
# stream's response iterator is the one writer: every message any thread sends goes through
# one queue, so sends on the stream are serialized by construction (gRPC forbids concurrent
# writes; unserialized writes are how a shim drops messages and leaves the peer waiting).

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Final

import grpc
from fabric_protos.peer import chaincode_shim_pb2_grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from orchestrator.chaincode.shim.handler import DEFAULT_REQUEST_TIMEOUT, Chaincode, Handler, Message

logger = logging.getLogger(__name__)

#: Fabric's limits on chaincode stream messages (the Go shim's and the peer's): a 1,000-task
#: batch, its reply and its event travel in single messages.
MAX_MESSAGE_SIZE: Final = 100 * 1024 * 1024
DEFAULT_WORKERS: Final = 32
SERVICE_NAME: Final = "protos.Chaincode"

_END: Final = object()


@dataclass(frozen=True)
class TlsSettings:
    """The server's key pair, and the CA that issued the peers' client certificates (mutual TLS when set)."""

    key: bytes
    cert: bytes
    client_ca: bytes | None = None

    def credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials(
            [(self.key, self.cert)], root_certificates=self.client_ca, require_client_auth=self.client_ca is not None
        )


def _server_options(max_message_size: int) -> list[tuple[str, int]]:
    return [
        ("grpc.max_send_message_length", max_message_size),
        ("grpc.max_receive_message_length", max_message_size),
        # The Go shim's server keepalive: ping an idle peer every minute, give up after 20 s.
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.keepalive_permit_without_calls", 1),
        # Peers ping their chaincode connections every minute by default; gRPC's default
        # tolerance (one ping per 5 minutes) would answer GOAWAY and drop the stream.
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.so_reuseport", 0),
    ]


class _ChaincodeService(chaincode_shim_pb2_grpc.ChaincodeServicer):  # type: ignore[misc]  # fabric_protos is untyped
    def __init__(self, server: ChaincodeServer) -> None:
        self._server = server

    def Connect(self, request_iterator: Iterator[Message], context: grpc.ServicerContext) -> Iterator[Message]:
        outgoing: queue.SimpleQueue[object] = queue.SimpleQueue()
        server = self._server
        handler = Handler(
            server.chaincode, server.ccid, outgoing.put, server.executor, end_stream=lambda: outgoing.put(_END),
            peer=context.peer(), request_timeout=server.request_timeout,
        )
        server.attach(handler)
        context.add_callback(handler.close)  # the call ended under us: wake the waiting transactions
        handler.start()
        reader = threading.Thread(target=_read, args=(handler, request_iterator), daemon=True,
                                  name=f"chaincode-stream-{context.peer()}")
        reader.start()
        logger.info("peer %s connected", context.peer())
        try:
            while (message := outgoing.get()) is not _END:
                yield message
        finally:
            handler.close()
            server.detach(handler)
            logger.info("peer %s disconnected", context.peer())


def _read(handler: Handler, requests: Iterator[Message]) -> None:
    try:
        for message in requests:
            if not handler.handle(message):
                break
    except grpc.RpcError:
        pass  # the peer went away; closing below tells the waiting transactions
    except Exception:
        logger.exception("reading the stream of %s failed", handler.peer)
    finally:
        handler.close()


class ChaincodeServer:
    """Serves a chaincode to the peers that dial ``address``; ``start()``, then ``stop()`` (graceful)."""

    def __init__(
        self, chaincode: Chaincode, ccid: str, address: str, *, tls: TlsSettings | None = None,
        workers: int = DEFAULT_WORKERS, max_message_size: int = MAX_MESSAGE_SIZE,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    ) -> None:
        if not ccid:
            raise ValueError("the chaincode package id (CCID) must be set")
        if not address:
            raise ValueError("the listen address must be set")
        self.chaincode = chaincode
        self.ccid = ccid
        self.listen_address = address
        self.tls = tls
        self.request_timeout = request_timeout
        self.executor = futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chaincode-tx")
        self._handlers: set[Handler] = set()
        self._handlers_lock = threading.Lock()
        self._health = health.HealthServicer()
        # Each connected peer holds one gRPC worker for its stream; the rest serve health checks.
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="chaincode-grpc"),
                                 options=_server_options(max_message_size))
        chaincode_shim_pb2_grpc.add_ChaincodeServicer_to_server(_ChaincodeService(self), self._grpc)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._grpc)
        self.port = 0
        self._stopped = threading.Event()

    @property
    def address(self) -> str:
        host = self.listen_address.rsplit(":", 1)[0]
        return f"{'127.0.0.1' if host in ('0.0.0.0', '[::]', '') else host}:{self.port}"

    def start(self) -> ChaincodeServer:
        """Bind and serve.

        Raises:
            RuntimeError: the address cannot be bound.
        """
        try:
            if self.tls is None:
                self.port = self._grpc.add_insecure_port(self.listen_address)
            else:
                self.port = self._grpc.add_secure_port(self.listen_address, self.tls.credentials())
        except RuntimeError as exc:
            raise RuntimeError(f"cannot listen on {self.listen_address}: {exc}") from exc
        if not self.port:
            raise RuntimeError(f"cannot listen on {self.listen_address}")
        self._grpc.start()
        for service in ("", SERVICE_NAME):
            self._health.set(service, health_pb2.HealthCheckResponse.SERVING)
        logger.info("chaincode %s serving on %s (%s)", self.ccid, self.listen_address,
                    "plaintext" if self.tls is None else
                    "mutual TLS" if self.tls.client_ca is not None else "TLS")
        return self

    def attach(self, handler: Handler) -> None:
        with self._handlers_lock:
            self._handlers.add(handler)

    def detach(self, handler: Handler) -> None:
        with self._handlers_lock:
            self._handlers.discard(handler)

    @property
    def handlers(self) -> list[Handler]:
        """The connected peers' streams."""
        with self._handlers_lock:
            return list(self._handlers)

    def stop(self, grace: float = 10.0) -> None:
        """Refuse new transactions, let the running ones answer (up to ``grace`` seconds), then close every stream."""
        if self._stopped.is_set():
            return
        deadline = time.monotonic() + grace
        self._health.enter_graceful_shutdown()
        for handler in self.handlers:
            if not handler.drain(max(0.0, deadline - time.monotonic())):
                logger.warning("%d transaction(s) of %s still running at shutdown", handler.in_flight, handler.peer)
        for handler in self.handlers:
            handler.close()
        self._grpc.stop(max(0.0, deadline - time.monotonic())).wait()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self._stopped.set()
        logger.info("chaincode %s stopped", self.ccid)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until :meth:`stop` finished; ``False`` on timeout."""
        return self._stopped.wait(timeout)

    def __enter__(self) -> ChaincodeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop(grace=1.0)


__all__ = ["DEFAULT_WORKERS", "MAX_MESSAGE_SIZE", "SERVICE_NAME", "ChaincodeServer", "TlsSettings"]
