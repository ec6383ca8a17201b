"""Admission: count orchestrator calls in flight, refuse new ones once the gateway drains for shutdown."""

# Why the gateway drains calls itself before stopping the gRPC server: the server frees its
# connections the moment its last call returns, which can cut off a large response still on
# its way to the client (the client sees UNAVAILABLE for a call that succeeded). Draining here
# first, then leaving the connections a moment to flush, lets every finished call reach its
# caller. Calls arriving during the drain get UNAVAILABLE, which backends retry elsewhere.

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import grpc.aio

from orchestrator.gateway.interceptors import BehaviorInterceptor, StreamBehavior, UnaryBehavior
from orchestrator.gateway.interceptors.errors import RejectedCall

REFUSED = "the gateway is shutting down: retry on another instance or once it restarted"


class AdmissionInterceptor(BehaviorInterceptor):
    """Let calls in while open; after :meth:`close`, refuse them and let :meth:`drained` wait for the rest."""

    def __init__(self) -> None:
        super().__init__()
        self._in_flight = 0
        self._open = True
        self._idle = asyncio.Event()
        self._idle.set()

    def close(self) -> None:
        """Refuse every call from now on; calls already admitted go on."""
        self._open = False

    async def drained(self, timeout: float) -> bool:
        """Wait until no admitted call is running; False if some still run after ``timeout`` seconds."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def _enter(self) -> None:
        if not self._open:
            raise RejectedCall(grpc.StatusCode.UNAVAILABLE, REFUSED)
        self._in_flight += 1
        self._idle.clear()

    def _leave(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()

    def wrap_unary(self, behavior: UnaryBehavior, method: str) -> UnaryBehavior:
        async def unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            self._enter()
            try:
                return await behavior(request, context)
            finally:
                self._leave()

        return unary

    def wrap_stream(self, behavior: StreamBehavior, method: str) -> StreamBehavior:
        async def stream(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            self._enter()
            try:
                async for message in behavior(request, context):
                    yield message
            finally:
                self._leave()

        return stream
