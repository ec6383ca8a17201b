"""Prometheus: RPCs started and handled by status code, handling time, RPCs in flight."""

# Sits outside the error interceptor, so it sees the final status of every call, including
# refused ones; a cancelled call counts as CANCELLED.

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import grpc.aio

from orchestrator.gateway.interceptors import BehaviorInterceptor, StreamBehavior, UnaryBehavior, current_call
from orchestrator.gateway.metrics import GatewayMetrics


class MetricsInterceptor(BehaviorInterceptor):
    """Count and time every orchestrator RPC."""

    def __init__(self, metrics: GatewayMetrics) -> None:
        super().__init__()
        self.metrics = metrics

    def _labels(self, method: str, kind: str) -> tuple[str, str, str]:
        service, _, name = method.lstrip("/").partition("/")
        return service, name, kind

    def _handled(self, labels: tuple[str, str, str]) -> Callable[[grpc.StatusCode], Any]:
        """The handled counter of a method by status, its children kept (``labels()`` locks and looks up)."""
        children: dict[grpc.StatusCode, Any] = {}
        handled = self.metrics.handled

        def child(status: grpc.StatusCode) -> Any:
            counter = children.get(status)
            if counter is None:
                counter = children[status] = handled.labels(*labels, status.name)
            return counter

        return child

    def wrap_unary(self, behavior: UnaryBehavior, method: str) -> UnaryBehavior:
        labels = self._labels(method, "unary")
        started, latency = self.metrics.started.labels(*labels), self.metrics.latency.labels(*labels)
        in_flight = self.metrics.in_flight.labels("unary")
        handled = self._handled(labels)

        async def unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            started.inc()
            in_flight.inc()
            begin = time.perf_counter()
            call = current_call()
            try:
                return await behavior(request, context)
            except asyncio.CancelledError:
                call.status = grpc.StatusCode.CANCELLED
                raise
            finally:
                in_flight.dec()
                latency.observe(time.perf_counter() - begin)
                handled(call.status).inc()

        return unary

    def wrap_stream(self, behavior: StreamBehavior, method: str) -> StreamBehavior:
        labels = self._labels(method, "server_stream")
        started, latency = self.metrics.started.labels(*labels), self.metrics.latency.labels(*labels)
        in_flight = self.metrics.in_flight.labels("server_stream")
        handled = self._handled(labels)

        async def stream(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            started.inc()
            in_flight.inc()
            begin = time.perf_counter()
            call = current_call()
            try:
                async for message in behavior(request, context):
                    yield message
            except (asyncio.CancelledError, GeneratorExit):
                call.status = grpc.StatusCode.CANCELLED
                raise
            finally:
                in_flight.dec()
                latency.observe(time.perf_counter() - begin)
                handled(call.status).inc()

        return stream
