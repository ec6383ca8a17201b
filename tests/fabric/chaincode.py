"""How the stand-in peer runs a chaincode for a proposal: the executor seam, and the in-process executor."""

# The peer hands an executor the invocation (function, argument, transaction id, timestamp,
# creator) and a :class:`~tests.fabric.ledger.Simulation` to read and write through; the
# executor answers a Fabric ``Response`` (status, message, payload). The in-process executor
# runs :func:`orchestrator.shared.contract.invoke` directly; the chaincode-process executor
# (``tests/fabric/processes.py``) drives real chaincode servers through the peer-side harness.

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from orchestrator.shared import contract
from orchestrator.shared.functions import BY_NAME
from orchestrator.shared.store.worldstate import Page, TxInfo
from tests.fabric.ledger import Simulation


@dataclass(frozen=True)
class Invocation:
    """What the chaincode gets from a proposal."""

    channel: str
    chaincode: str
    tx_id: str
    timestamp_ns: int
    creator_msp: str
    creator: bytes  # serialized identity
    args: Sequence[bytes]
    signed_proposal: bytes
    is_init: bool = False

    @property
    def function(self) -> str:
        return self.args[0].decode("utf-8", "replace") if self.args else ""


@dataclass(frozen=True)
class Outcome:
    """The chaincode's ``Response``: 200 with a payload, or an error status with a message."""

    status: int
    message: str = ""
    payload: bytes = b""


class Executor(Protocol):
    """Runs one chaincode invocation of one organization's chaincode server."""

    def execute(self, invocation: Invocation, simulation: Simulation) -> Outcome: ...

    def stats(self) -> dict[str, float]:
        """``executions`` and ``cpu_seconds`` spent by the chaincode so far."""
        ...

    def close(self) -> None: ...


class _SimulationWorldState:
    """The :class:`~orchestrator.shared.store.worldstate.WorldState` of the contract, over a simulation."""

    def __init__(self, simulation: Simulation, info: TxInfo) -> None:
        self._simulation = simulation
        self._info = info

    @property
    def info(self) -> TxInfo:
        return self._info

    def get(self, key: str) -> bytes | None:
        return self._simulation.get(key)

    def get_multiple(self, keys: Sequence[str]) -> list[bytes | None]:
        return [self._simulation.get(key) for key in keys]

    def put(self, key: str, value: bytes) -> None:
        self._simulation.put(key, value)

    def delete(self, key: str) -> None:
        self._simulation.delete(key)

    def scan(self, start: str, end: str) -> Iterator[tuple[str, bytes]]:
        return self._simulation.scan(start, end)

    def scan_page(self, start: str, end: str, page_size: int, bookmark: str) -> Page:
        entries, next_bookmark = self._simulation.scan_page(start, end, page_size, bookmark)
        return Page(entries, next_bookmark)

    def set_event(self, name: str, payload: bytes) -> None:
        self._simulation.set_event(name, payload)


class InProcessExecutor:
    """The contract called in the peer's process (fast; for client tests that need no chaincode server).

    ``executions`` and ``cpu_seconds`` count what the contract cost (benchmarks report it per transaction).
    """

    def __init__(self) -> None:
        self.executions = 0
        self.cpu_seconds = 0.0
        self._lock = threading.Lock()

    def stats(self) -> dict[str, float]:
        return {"executions": self.executions, "cpu_seconds": self.cpu_seconds}

    def execute(self, invocation: Invocation, simulation: Simulation) -> Outcome:
        started = time.thread_time()
        try:
            return self._execute(invocation, simulation)
        finally:
            spent = time.thread_time() - started
            with self._lock:
                self.executions += 1
                self.cpu_seconds += spent

    def _execute(self, invocation: Invocation, simulation: Simulation) -> Outcome:
        function = BY_NAME.get(invocation.function)
        info = TxInfo(invocation.tx_id, invocation.timestamp_ns, invocation.creator_msp, invocation.channel,
                      read_only=bool(function and function.read_only))
        argument = invocation.args[1] if len(invocation.args) > 1 else b""
        try:
            payload = contract.invoke(_SimulationWorldState(simulation, info), invocation.function, argument)
        except Exception as exc:  # the chaincode answers every failure as an error response
            return Outcome(500, str(exc))
        return Outcome(200, "", payload)

    def close(self) -> None:
        return None


__all__ = ["Executor", "InProcessExecutor", "Invocation", "Outcome"]
