"""Server interceptors, one concern per module, and the call record they share."""

# Order on the server, outermost first: request id → metrics → access log → error mapping →
# mspid certificate check → headers → admission (refusals while draining for shutdown, logged
# with the caller's mspid and channel). Each
# wraps the *behaviour* of orchestrator RPCs, unary and server-streaming alike (upstream
# checked unary calls only); health and reflection pass untouched. Wrapped handlers are built
# once per method and cached, so a call pays for the wrappers, not for rebuilding them.
#
# State travels in one :class:`Call` per RPC, held in a context variable: the request-id
# interceptor creates it, the headers interceptor fills in the target, the error interceptor
# the status, and the outer interceptors read it once the call is over.

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Final, cast

import grpc
import grpc.aio

from orchestrator.gateway.invoke.base import Target

#: Methods of these services skip every check (they need no headers, upstream exempted health too).
EXEMPT_PREFIXES: Final = ("/grpc.health.", "/grpc.reflection.")

UnaryBehavior = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]
StreamBehavior = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], AsyncIterator[Any]]


@dataclass
class Call:
    """What the interceptors learn about one RPC."""

    method: str  # full gRPC path, /orchestrator.AlgoService/RegisterAlgo
    request_id: str
    streaming: bool
    started: float = field(default_factory=time.perf_counter)
    target: Target | None = None
    status: grpc.StatusCode = grpc.StatusCode.OK
    details: str = ""
    streamed: int = 0  # messages sent on a stream
    headers: dict[str, list[str]] | None = None  # text metadata by key, read on first use

    @property
    def service(self) -> str:
        return self.method.rpartition("/")[0].lstrip("/")

    @property
    def method_name(self) -> str:
        return self.method.rpartition("/")[2]


CALL: ContextVar[Call | None] = ContextVar("orchestrator_call", default=None)


def current_call() -> Call:
    """The record of the RPC being served.

    Raises:
        LookupError: outside an RPC that went through the request-id interceptor.
    """
    call = CALL.get()
    if call is None:
        raise LookupError("no call: the request-id interceptor is not installed")
    return call


def header_values(context: grpc.aio.ServicerContext[Any, Any], key: str) -> list[str]:
    """Every value of metadata ``key`` (keys are lowercase on the wire; only ``-bin`` keys carry bytes).

    The metadata is read once per call (into its :class:`Call` record): every interceptor asks for a header.
    """
    call = CALL.get()
    headers = call.headers if call is not None else None
    if headers is None:
        headers = {}
        for k, value in context.invocation_metadata() or ():
            if isinstance(value, str):
                headers.setdefault(k, []).append(value)
        if call is not None:
            call.headers = headers
    return headers.get(key, [])


def exempt(method: str) -> bool:
    return method.startswith(EXEMPT_PREFIXES)


class BehaviorInterceptor(grpc.aio.ServerInterceptor):
    """Base of our interceptors: wrap unary and server-streaming behaviours of non-exempt methods."""

    def __init__(self) -> None:
        self._handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        method = handler_call_details.method
        cached = self._handlers.get(method)
        if cached is not None:
            return cached
        handler = await continuation(handler_call_details)
        if handler is None or exempt(method):
            return handler
        # On the asyncio server behaviours are coroutine functions taking an asyncio context;
        # grpc's stubs type RpcMethodHandler for the threaded server only, hence the casts.
        if handler.unary_unary is not None:
            wrapped = grpc.unary_unary_rpc_method_handler(
                self.wrap_unary(cast(UnaryBehavior, handler.unary_unary), method),
                request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer,
            )
        elif handler.unary_stream is not None:
            wrapped = grpc.unary_stream_rpc_method_handler(
                self.wrap_stream(cast(StreamBehavior, handler.unary_stream), method),
                request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer,
            )
        else:  # client streaming: the API has none
            return handler
        self._handlers[method] = wrapped
        return wrapped

    def wrap_unary(self, behavior: UnaryBehavior, method: str) -> UnaryBehavior:
        return behavior

    def wrap_stream(self, behavior: StreamBehavior, method: str) -> StreamBehavior:
        return behavior


def chain(*interceptors: grpc.aio.ServerInterceptor | None) -> Sequence[grpc.aio.ServerInterceptor]:
    """The interceptors to install, outermost first, skipping disabled ones (``None``)."""
    return [interceptor for interceptor in interceptors if interceptor is not None]
