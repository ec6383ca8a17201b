"""The invocation seam: what servicers need from a ledger, keyed by (mspid, channel, chaincode)."""

# Servicers are written once against :class:`Invoker`; the embedded invoker runs the contract
# in-process on SQLite, a Fabric invoker sends signed proposals to peers. Failures come back in
# one of three shapes, all mapped to a gRPC status by ``interceptors/errors.py`` alone:
#
# - domain exceptions (:class:`~orchestrator.shared.errors.OrcError`,
#   :class:`~orchestrator.shared.errors.IllegalTransitionError`), raised as they are by the
#   embedded invoker;
# - :class:`ChaincodeError`, the error text a chaincode returned (Fabric only returns text;
#   its code prefix decides the status, ERR-1);
# - :class:`InvocationError`, a transport-level failure with an explicit status
#   (ABORTED after exhausted MVCC retries, UNAVAILABLE, DEADLINE_EXCEEDED …).

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

import grpc

from orchestrator.gateway.ledger.eventlog import EventLog
from orchestrator.gateway.ledger.faults import LedgerStatus

#: Fabric's naming rules; they also keep header values from escaping the embedded data directory.
CHANNEL_NAME: Final = re.compile(r"^[a-z][a-z0-9.-]{0,248}$")
CHAINCODE_NAME: Final = re.compile(r"^[a-zA-Z0-9]+([-_][a-zA-Z0-9]+)*$")
MAX_CHAINCODE_NAME: Final = 128


def invalid_names(channel: str, chaincode: str) -> str | None:
    """Why ``channel`` or ``chaincode`` (``""``: none given) is not a name Fabric accepts, or ``None``."""
    if not CHANNEL_NAME.match(channel):
        return (f"invalid header 'channel': {channel!r} is not a channel name "
                "([a-z][a-z0-9.-]*, at most 249 characters)")
    if chaincode and (len(chaincode) > MAX_CHAINCODE_NAME or not CHAINCODE_NAME.match(chaincode)):
        return f"invalid header 'chaincode': {chaincode!r} is not a chaincode name ([a-zA-Z0-9]+([-_][a-zA-Z0-9]+)*)"
    return None


@dataclass(frozen=True)
class Target:
    """Who calls (``mspid``) and where (``channel``, ``chaincode``); ``chaincode`` may be ``""`` (embedded)."""

    mspid: str
    channel: str
    chaincode: str = ""


#: Trailing metadata naming the transaction whose outcome a failed call leaves in doubt.
TX_ID_TRAILER: Final = "orchestrator-tx-id"


class InvocationError(Exception):
    """The call failed outside the contract; ``status`` is what the client gets.

    ``tx_id`` names a transaction that may still commit (sent as the ``orchestrator-tx-id`` trailer).
    """

    def __init__(self, status: grpc.StatusCode, message: str, *, tx_id: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.tx_id = tx_id

    def __str__(self) -> str:
        return self.message


class DataDirInUseError(RuntimeError):
    """Another gateway holds the data directory (its ledgers or event logs): one writer per directory."""


class ChaincodeError(Exception):
    """The chaincode answered with an error text (``OE0002: algo with key "…" not found``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class Invoker(Protocol):
    """Contract invocations and event logs, per target. Implementations are thread-safe.

    ``argument`` and the returned bytes are envelopes of :mod:`orchestrator.shared.codec`;
    ``function`` is a chaincode function name (``orchestrator.algo:RegisterAlgo``).
    ``timeout`` is the caller's remaining deadline in seconds (``None``: no deadline).
    """

    def evaluate(self, target: Target, function: str, argument: bytes, *, timeout: float | None = None) -> bytes:
        """Run a read-only function on committed state; nothing is ordered or written.

        Raises:
            OrcError, IllegalTransitionError, ChaincodeError: the contract refused the call.
            InvocationError: the ledger could not be reached or answered in time.
        """
        ...

    def submit(self, target: Target, function: str, argument: bytes, *, timeout: float | None = None) -> bytes:
        """Run a function as a transaction and return its reply once it is committed.

        Raises:
            OrcError, IllegalTransitionError, ChaincodeError: the contract refused the call (nothing written).
            InvocationError: ordering, commit or connection failed; the write may or may not be committed
                when the status is DEADLINE_EXCEEDED or UNAVAILABLE.
        """
        ...

    def event_log(self, target: Target) -> EventLog:
        """The event log of the target's (channel, chaincode), in ledger order.

        Raises:
            InvocationError: the log cannot be opened.
        """
        ...

    def close(self) -> None:
        """Release ledgers and connections; called once, after the last call returned."""
        ...


@runtime_checkable
class InvokesAsync(Protocol):
    """Optional: an invoker whose calls are coroutines, awaited on the server's event loop without a thread."""

    async def evaluate_async(self, target: Target, function: str, argument: bytes, *,
                             timeout: float | None = None) -> bytes:
        """As :meth:`Invoker.evaluate`."""
        ...

    async def submit_async(self, target: Target, function: str, argument: bytes, *,
                           timeout: float | None = None) -> bytes:
        """As :meth:`Invoker.submit`."""
        ...


@runtime_checkable
class RunsAtOnce(Protocol):
    """Optional: an invoker that can run a call on the caller's thread when nothing would make it wait.

    The gateway runs small bounded calls this way on its event loop: handing them to a ledger
    thread costs more than the calls themselves.
    """

    def run_now(self, target: Target, function: str, argument: bytes, *, read_only: bool) -> bytes | None:
        """The reply, or ``None`` when the call would have to wait (for a busy or unopened ledger).

        Raises:
            OrcError, IllegalTransitionError, InvocationError: as ``evaluate`` and ``submit``.
        """
        ...


@runtime_checkable
class ReportsReadiness(Protocol):
    """Optional: an invoker that can tell whether it can serve calls now (``/readyz``)."""

    def ready(self) -> bool: ...


@runtime_checkable
class ReportsLedgers(Protocol):
    """Optional: an invoker with ledgers of its own, whose states readiness and metrics report."""

    def ledger_states(self) -> list[LedgerStatus]: ...
