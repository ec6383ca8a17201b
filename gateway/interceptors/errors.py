"""The one place where exceptions become gRPC statuses."""

# - domain errors (``OrcError``, ``IllegalTransitionError``) and chaincode error texts
#   (``ChaincodeError``): by the code in their text, :func:`orchestrator.shared.errors.status_name_for`
#   (ERR-1; no code: UNKNOWN, ERR-2); the message is the domain text, code first;
# - ``InvocationError`` (transport) and :class:`RejectedCall` (gateway checks): their own status;
# - ``LedgerFault`` (the embedded ledger's storage): UNAVAILABLE, RESOURCE_EXHAUSTED (disk full)
#   or DATA_LOSS (damaged files), by its ``status_name``; the ledger logs the cause once;
# - anything else: INTERNAL ``internal error``; the traceback goes to the log only, with the
#   request id the client can quote.

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import grpc.aio

from orchestrator.gateway.interceptors import BehaviorInterceptor, Call, StreamBehavior, UnaryBehavior, current_call
from orchestrator.gateway.invoke.base import TX_ID_TRAILER, ChaincodeError, InvocationError
from orchestrator.gateway.ledger.faults import LedgerFault
from orchestrator.shared.errors import IllegalTransitionError, OrcError, status_name_for

logger = logging.getLogger(__name__)


class RejectedCall(Exception):
    """The gateway refuses the call before invoking anything (headers, membership, certificate)."""

    def __init__(self, status: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return self.message


def status_of(exc: Exception, request_id: str = "-") -> tuple[grpc.StatusCode, str]:
    """The status code and message a client gets for ``exc``."""
    if isinstance(exc, OrcError | IllegalTransitionError | ChaincodeError):
        text = str(exc)
        return grpc.StatusCode[status_name_for(text)], text
    if isinstance(exc, InvocationError | RejectedCall):
        return exc.status, exc.message
    if isinstance(exc, LedgerFault):
        return grpc.StatusCode[exc.status_name], exc.message
    return grpc.StatusCode.INTERNAL, f"internal error (request id {request_id})"


def _log(call: Call, exc: Exception, status: grpc.StatusCode) -> None:
    if status == grpc.StatusCode.INTERNAL and not isinstance(exc, OrcError):
        logger.error("%s failed", call.method, exc_info=exc)
    elif isinstance(exc, LedgerFault):
        logger.debug("%s: %s", call.method, exc)  # the ledger logged its change of state once
    elif isinstance(exc, InvocationError) and exc.__cause__ is not None:
        logger.warning("%s: %s (%s)", call.method, exc.message, exc.__cause__)
    else:
        logger.debug("%s: %s", call.method, exc)


class ErrorInterceptor(BehaviorInterceptor):
    """Turn what the call raised into its status; record the status for the outer interceptors."""

    async def _fail(self, context: grpc.aio.ServicerContext[Any, Any], exc: Exception) -> None:
        call = current_call()
        status, message = status_of(exc, call.request_id)
        call.status, call.details = status, message
        _log(call, exc, status)
        if isinstance(exc, InvocationError) and exc.tx_id:
            await context.abort(status, message, trailing_metadata=((TX_ID_TRAILER, exc.tx_id),))
        await context.abort(status, message)

    def wrap_unary(self, behavior: UnaryBehavior, method: str) -> UnaryBehavior:
        async def unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            try:
                return await behavior(request, context)
            except grpc.aio.AbortError:
                raise
            except Exception as exc:  # the mapping point: every failure gets a status here
                await self._fail(context, exc)

        return unary

    def wrap_stream(self, behavior: StreamBehavior, method: str) -> StreamBehavior:
        async def stream(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            try:
                async for message in behavior(request, context):
                    yield message
            except grpc.aio.AbortError:
                raise
            except Exception as exc:  # the mapping point: every failure gets a status here
                await self._fail(context, exc)

        return stream
