"""Request id: the ``reqid`` header when sent exactly once, otherwise 8 random hex digits (api.md 5.1)."""

# It opens the call record every other interceptor uses and sets the id for log lines.

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any, Final

import grpc.aio

from orchestrator.gateway.interceptors import (
    CALL,
    BehaviorInterceptor,
    Call,
    StreamBehavior,
    UnaryBehavior,
    header_values,
)
from orchestrator.gateway.logs import REQUEST_ID

HEADER: Final = "reqid"
_MAX_LENGTH: Final = 128  # a client's id goes into every log line: keep it bounded


def request_id_of(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    """The client's id when it sent one usable value, else a fresh one."""
    values = header_values(context, HEADER)
    if len(values) == 1 and values[0] and len(values[0]) <= _MAX_LENGTH and values[0].isprintable():
        return str(values[0])
    return f"{random.getrandbits(32):08x}"  # a label for log lines, not a secret: no system call


class RequestIdInterceptor(BehaviorInterceptor):
    """Outermost: give the call its id and its record."""

    def _open(self, context: grpc.aio.ServicerContext[Any, Any], method: str, streaming: bool) -> Call:
        call = Call(method=method, request_id="", streaming=streaming)
        CALL.set(call)  # first: the record keeps the headers the other interceptors read too
        call.request_id = request_id_of(context)
        REQUEST_ID.set(call.request_id)
        return call

    def wrap_unary(self, behavior: UnaryBehavior, method: str) -> UnaryBehavior:
        async def unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            self._open(context, method, False)
            return await behavior(request, context)

        return unary

    def wrap_stream(self, behavior: StreamBehavior, method: str) -> StreamBehavior:
        async def stream(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            self._open(context, method, True)
            async for message in behavior(request, context):
                yield message

        return stream
