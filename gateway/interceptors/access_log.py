"""One INFO line per RPC: method, mspid, channel, status, duration, request id (via the log filter)."""

# Never the payloads: they carry asset addresses and permissions.

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any, Final

import grpc
import grpc.aio

from orchestrator.gateway.interceptors import BehaviorInterceptor, Call, StreamBehavior, UnaryBehavior, current_call

logger = logging.getLogger("orchestrator.gateway.access")

_IN_MESSAGE: Final = ("method", "status", "duration_ms")


def _log(call: Call) -> None:
    target = call.target
    duration_ms = round((time.perf_counter() - call.started) * 1000, 3)
    fields = {
        "method": call.method, "mspid": target.mspid if target else "", "channel": target.channel if target else "",
        "chaincode": target.chaincode if target else "", "status": call.status.name, "duration_ms": duration_ms,
        "request_id": call.request_id,
    }
    if call.streaming:
        fields["streamed"] = call.streamed
    if call.status != grpc.StatusCode.OK:
        fields["error"] = call.details
    logger.info("%s %s %.3fms", call.method, call.status.name, duration_ms,
                extra={**fields, "_text_omit": _IN_MESSAGE})


class AccessLogInterceptor(BehaviorInterceptor):
    """Log each call once it ends (a stream: when it closes)."""

    def wrap_unary(self, behavior: UnaryBehavior, method: str) -> UnaryBehavior:
        async def unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            call = current_call()
            try:
                return await behavior(request, context)
            except asyncio.CancelledError:
                call.status = grpc.StatusCode.CANCELLED
                raise
            finally:
                if logger.isEnabledFor(logging.INFO):
                    _log(call)

        return unary

    def wrap_stream(self, behavior: StreamBehavior, method: str) -> StreamBehavior:
        async def stream(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            call = current_call()
            try:
                async for message in behavior(request, context):
                    call.streamed += 1
                    yield message
            except (asyncio.CancelledError, GeneratorExit):
                call.status = grpc.StatusCode.CANCELLED
                raise
            finally:
                if logger.isEnabledFor(logging.INFO):
                    _log(call)

        return stream
