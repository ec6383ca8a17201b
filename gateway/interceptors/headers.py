"""Headers ``mspid``, ``channel``, ``chaincode`` (api.md 5) and who may use which channel."""

# Checks, in upstream's order: ``mspid`` (exactly one non-empty value, else upstream's
# ``OE0003`` FAILED_PRECONDITION, kept for backends that look for it; then a plausible MSP ID,
# else INVALID_ARGUMENT: an organization registers under it for good), ``channel`` (exactly
# one, a Fabric channel name), membership of the organization in the channel configuration,
# then ``chaincode``. Where upstream answered UNKNOWN — which backends retry forever — this
# answers INVALID_ARGUMENT (header missing or malformed) or PERMISSION_DENIED (not a member)
# with a message naming the problem.

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Final

import grpc
import grpc.aio

from orchestrator.gateway.config import ChannelConfig
from orchestrator.gateway.interceptors import (
    BehaviorInterceptor,
    StreamBehavior,
    UnaryBehavior,
    current_call,
    header_values,
)
from orchestrator.gateway.interceptors.errors import RejectedCall
from orchestrator.gateway.invoke.base import Target, invalid_names
from orchestrator.shared.errors import BadRequestError

#: Longest MSP ID accepted (Fabric sets no bound; real ones are short names like ``Org1MSP``).
MAX_MSPID: Final = 128


def invalid_mspid(mspid: str) -> str | None:
    """Why ``mspid`` is not a plausible MSP ID, or ``None``.

    It is recorded on the ledger as an organization's identity: no control characters, no
    whitespace and no ``/`` (it names files and paths in Fabric's MSP layout), 128 characters at most.
    """
    if len(mspid) > MAX_MSPID:
        return f"invalid header 'mspid': longer than {MAX_MSPID} characters"
    for char in mspid:
        if not char.isprintable() or char.isspace() or char == "/":
            return f"invalid header 'mspid': {mspid!r} holds {char!r} (no control characters, whitespace or '/')"
    return None


def _single(context: grpc.aio.ServicerContext[Any, Any], key: str) -> str | None:
    """The header's value when sent exactly once and non-empty."""
    values = header_values(context, key)
    return values[0] if len(values) == 1 and values[0] else None


class HeadersInterceptor(BehaviorInterceptor):
    """Resolve the call's :class:`Target` from its headers, or refuse the call."""

    def __init__(self, channels: ChannelConfig, *, chaincode_required: bool) -> None:
        super().__init__()
        self.channels = channels
        self.chaincode_required = chaincode_required

    def target_of(self, context: grpc.aio.ServicerContext[Any, Any]) -> Target:
        """The call's target.

        Raises:
            BadRequestError: ``mspid`` missing, empty or repeated (GEN-7).
            RejectedCall: ``mspid`` not a plausible MSP ID, ``channel``/``chaincode`` missing, repeated or
                malformed (INVALID_ARGUMENT);
                organization not allowed on the channel or chaincode not offered there (PERMISSION_DENIED).
        """
        mspid = _single(context, "mspid")
        if mspid is None:
            raise BadRequestError("missing or invalid header 'mspid'")
        problem = invalid_mspid(mspid)
        if problem:
            raise RejectedCall(grpc.StatusCode.INVALID_ARGUMENT, problem)
        channel = _single(context, "channel")
        if channel is None:
            raise RejectedCall(grpc.StatusCode.INVALID_ARGUMENT, "missing or invalid header 'channel'")
        chaincode_values = header_values(context, "chaincode")
        if len(chaincode_values) > 1 or (chaincode_values and not chaincode_values[0]):
            raise RejectedCall(grpc.StatusCode.INVALID_ARGUMENT, "missing or invalid header 'chaincode'")
        chaincode = chaincode_values[0] if chaincode_values else ""
        problem = invalid_names(channel, chaincode)
        if problem:
            raise RejectedCall(grpc.StatusCode.INVALID_ARGUMENT, problem)
        self._check_membership(mspid, channel)
        if not chaincode and self.chaincode_required:
            raise RejectedCall(grpc.StatusCode.INVALID_ARGUMENT, "missing or invalid header 'chaincode'")
        self._check_chaincode(channel, chaincode)
        return Target(mspid, channel, chaincode)

    def _check_membership(self, mspid: str, channel: str) -> None:
        if self.channels.channels is None:
            return
        access = self.channels.channels.get(channel)
        if access is None or mspid not in access.organizations:
            if mspid not in self.channels.organizations():
                raise RejectedCall(grpc.StatusCode.PERMISSION_DENIED, f'organization "{mspid}" is unknown')
            raise RejectedCall(
                grpc.StatusCode.PERMISSION_DENIED, f'organization "{mspid}" has no access to channel "{channel}"'
            )

    def _check_chaincode(self, channel: str, chaincode: str) -> None:
        if not chaincode or self.channels.channels is None:
            return
        offered = self.channels.channels[channel].chaincodes
        if offered and chaincode not in offered:
            raise RejectedCall(
                grpc.StatusCode.PERMISSION_DENIED, f'chaincode "{chaincode}" is not available on channel "{channel}"'
            )

    def wrap_unary(self, behavior: UnaryBehavior, method: str) -> UnaryBehavior:
        async def unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            current_call().target = self.target_of(context)
            return await behavior(request, context)

        return unary

    def wrap_stream(self, behavior: StreamBehavior, method: str) -> StreamBehavior:
        async def stream(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            current_call().target = self.target_of(context)
            async for message in behavior(request, context):
                yield message

        return stream
