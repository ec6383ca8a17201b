"""The API servicers, derived from the service descriptors: one generic path for every RPC."""

# Each unary RPC becomes a contract invocation by its chaincode function name
# (:mod:`orchestrator.shared.functions`): read-only ones are evaluated, the others submitted.
# ``QueryEvents`` and ``SubscribeToEvents`` are served from the event log (``GATEWAY_SERVED``).
# Requests arrive as raw bytes and are parsed here, so a malformed message is an
# INVALID_ARGUMENT with the reason, not gRPC's opaque INTERNAL. Adding an RPC to ``proto/``
# needs no code here.

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, Final, TypeAlias, cast

import grpc
import grpc.aio
from google.protobuf.message import DecodeError, Message

import orchestrator
from orchestrator.api import event_pb2, info_pb2
from orchestrator.gateway.events import EventHub
from orchestrator.gateway.interceptors import current_call
from orchestrator.gateway.invoke.base import InvocationError, Invoker, InvokesAsync, RunsAtOnce, Target
from orchestrator.gateway.ledger.eventlog import EventLogBehindError
from orchestrator.shared import codec
from orchestrator.shared.errors import InvalidAssetError, not_found
from orchestrator.shared.functions import BY_METHOD, SERVICES, Function
from orchestrator.shared.store.documents import DEFAULT_MAX_RESPONSE_BYTES

#: Bounded calls (``Function.bounded``) up to this request size run on the event loop when their
#: ledger is free: about 6 tasks, a few milliseconds at most during which the loop serves nothing else.
RUN_AT_ONCE_MAX_BYTES: Final = 8192

#: Longest wait, in seconds, for this gateway's event log to record an event or page another replica
#: served (Fabric mode, several replicas); then the call is answered UNAVAILABLE and can be retried.
CATCH_UP_WAIT: Final = 30.0
CATCH_UP_ANSWER_MARGIN: Final = 0.25

QUERY_EVENTS: Final = "orchestrator.EventService.QueryEvents"
SUBSCRIBE_TO_EVENTS: Final = "orchestrator.EventService.SubscribeToEvents"

#: The context of a call on the asyncio server (request and response types vary by RPC).
Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]


def parse(function: Function, raw: bytes) -> Message:
    """The request message of ``function`` from its wire bytes.

    Raises:
        InvalidAssetError: not a valid encoding of the request type.
    """
    try:
        return function.request.FromString(raw)
    except DecodeError as exc:
        raise InvalidAssetError(f"{function.request.DESCRIPTOR.full_name} is not valid: cannot decode: {exc}"
                                ) from None


def _fill_version(response: Message) -> Message:
    cast(info_pb2.QueryVersionResponse, response).orchestrator = orchestrator.__version__  # INFO-1: the gateway's own
    return response


#: Responses the gateway completes after the contract answered, by full method name.
RESPONSE_HOOKS: Final[dict[str, Callable[[Message], Message]]] = {
    "orchestrator.InfoService.QueryVersion": _fill_version,
}


class Servicers:
    """Generic handlers for every orchestrator service, over an :class:`Invoker`.

    ``run(fn, *args, **kwargs)`` awaits blocking ledger work off the event loop.
    """

    def __init__(self, invoker: Invoker, run: Callable[..., Awaitable[Any]], events: EventHub, *,
                 max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> None:
        self.invoker = invoker
        self.run = run
        self.events = events
        self.max_response_bytes = max_response_bytes

    def handlers(self) -> list[grpc.GenericRpcHandler]:
        """One generic handler per service of the API."""
        return [self._service_handler(service.full_name, service.methods) for service in SERVICES]

    def _service_handler(self, service: str, methods: Iterable[Any]) -> grpc.GenericRpcHandler:
        rpcs: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
        for method in methods:
            function = BY_METHOD[method.full_name]
            serializer = function.response.SerializeToString
            if method.full_name == SUBSCRIBE_TO_EVENTS:
                rpcs[method.name] = grpc.unary_stream_rpc_method_handler(
                    self._subscribe(function), response_serializer=serializer)
            elif method.full_name == QUERY_EVENTS:
                rpcs[method.name] = grpc.unary_unary_rpc_method_handler(
                    self._query_events(function), response_serializer=serializer)
            else:  # the contract's reply is already the response on the wire
                rpcs[method.name] = grpc.unary_unary_rpc_method_handler(self._invoke(function))
        return grpc.method_handlers_generic_handler(service, rpcs)

    # -- behaviours ----------------------------------------------------------------------

    def _invoke(self, function: Function) -> Callable[[bytes, Context], Awaitable[bytes]]:
        """The behaviour of a contract RPC: request bytes in, response bytes out.

        The request is parsed only to be refused early when malformed; the contract gets the
        bytes as they came, and its reply goes back as it is, without a decode and re-encode.
        """
        call_ledger = self.invoker.evaluate if function.read_only else self.invoker.submit
        invoker = self.invoker
        call_async = (invoker.evaluate_async if function.read_only else invoker.submit_async) \
            if isinstance(invoker, InvokesAsync) else None
        run_now = self.invoker.run_now if function.bounded and isinstance(self.invoker, RunsAtOnce) else None
        hook = RESPONSE_HOOKS.get(function.method.full_name)
        budget = self.max_response_bytes if function.read_only else None  # queries build pages within it

        async def invoke(raw: bytes, context: Context) -> bytes:
            call = current_call()
            parse(function, raw)
            timeout = _remaining(context)
            argument = codec.encode_serialized(raw, call.request_id, max_response_bytes=budget)
            target = _target()
            reply = None
            if run_now is not None and len(raw) <= RUN_AT_ONCE_MAX_BYTES:
                reply = run_now(target, function.name, argument, read_only=function.read_only)
            if reply is None:
                if call_async is not None:
                    reply = await call_async(target, function.name, argument, timeout=timeout)
                else:
                    reply = await self.run(call_ledger, target, function.name, argument, timeout=timeout)
            if hook is not None:
                return hook(codec.decode_message(reply, function.response)).SerializeToString()
            return codec.decode_serialized(reply, function.response)

        return invoke

    def _query_events(self, function: Function) -> Callable[[bytes, Context], Awaitable[Message]]:
        async def query_events(raw: bytes, context: Context) -> Message:
            param = cast(event_pb2.QueryEventsParam, parse(function, raw))
            log = await self.run(self.invoker.event_log, _target())
            try:
                response: Message = await self.events.query(log, param, self.max_response_bytes,
                                                            _catch_up_wait(context))
            except EventLogBehindError as exc:
                raise _behind(exc) from None
            return response

        return query_events

    def _subscribe(self, function: Function) -> Callable[[bytes, Context], AsyncIterator[Message]]:
        async def subscribe(raw: bytes, context: Context) -> AsyncIterator[Message]:
            param = cast(event_pb2.SubscribeToEventsParam, parse(function, raw))
            log = await self.run(self.invoker.event_log, _target())
            position = 0
            if param.start_event_id:
                try:
                    found = await self.events.resume_position(log, param.start_event_id, _catch_up_wait(context))
                except EventLogBehindError as exc:
                    raise _behind(exc) from None
                if found is None:
                    raise not_found("event", param.start_event_id)
                position = found
            async for event in self.events.subscribe(log, position, param.start_event_id):
                yield event

        return subscribe


def _behind(exc: EventLogBehindError) -> InvocationError:
    """UNAVAILABLE: this replica has not recorded yet what the request refers to; a retry (here, or on
    another replica) succeeds once it has, as for any transient unavailability."""
    return InvocationError(grpc.StatusCode.UNAVAILABLE, f"{exc}; retry the call")


def _catch_up_wait(context: Context) -> float:
    """How long a request may wait for this gateway's event log to reach what another replica served."""
    remaining = context.time_remaining()
    if remaining is None:
        return CATCH_UP_WAIT
    # leave time to answer UNAVAILABLE, which says what happened, before the caller's deadline does
    return max(0.0, min(float(remaining) - CATCH_UP_ANSWER_MARGIN, CATCH_UP_WAIT))


def _target() -> Target:
    target = current_call().target
    if target is None:
        raise LookupError("no target: the headers interceptor is not installed")
    return target


def _remaining(context: Context) -> float | None:
    """Seconds left before the caller's deadline, ``None`` without one.

    Raises:
        InvocationError: DEADLINE_EXCEEDED when none is left: the ledger is not even asked.
    """
    remaining = context.time_remaining()
    if remaining is None:
        return None
    if remaining <= 0:
        raise InvocationError(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded before the call was invoked")
    return float(remaining)
