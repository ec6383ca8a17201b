"""The embedded invoker: the contract in-process, one SQLite ledger per (channel, chaincode)."""

# It runs exactly what the chaincode runs (:func:`orchestrator.shared.contract.invoke` on the
# envelope the gateway built), so embedded-mode tests exercise the dispatch and the argument
# encoding too. Ledgers in the data directory open at start (their checks and replay run then),
# new ones on first use; the data directory is locked so that two gateways never write the same files.

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Final

import grpc

from orchestrator.gateway.invoke.base import DataDirInUseError, InvocationError, Target, invalid_names
from orchestrator.gateway.ledger.eventlog import EventLog
from orchestrator.gateway.ledger.faults import LedgerStatus
from orchestrator.gateway.ledger.sqlite import CACHE_BYTES, LedgerBusy, SqliteLedger

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_CHAINCODE", "DataDirInUseError", "EmbeddedInvoker"]

#: Chaincode name of a channel's ledger when the ``chaincode`` header is absent and no default is configured.
DEFAULT_CHAINCODE: Final = "default"


class EmbeddedInvoker:
    """:class:`~orchestrator.gateway.invoke.base.Invoker` over SQLite files under ``data_dir``.

    ``data_dir/<channel>/<chaincode>.sqlite`` holds one ledger (world state and event log).
    ``default_chaincodes`` names, per channel, the ledger used when a call carries no
    ``chaincode`` header (otherwise :data:`DEFAULT_CHAINCODE`). ``synchronous`` is SQLite's
    setting: ``NORMAL`` survives a killed process, ``FULL`` also a power loss.

    ``max_ledgers`` caps the ledgers open at once (``None``: no cap, for a channel configuration,
    which bounds them itself): each costs files, a thread and caches, and without a configuration
    any caller can name new channels. ``cache_bytes`` and ``event_cache_bytes`` size each ledger's
    caches.
    """

    def __init__(
        self, data_dir: Path | str, *, default_chaincodes: Mapping[str, str] | None = None,
        synchronous: str = "NORMAL", max_ledgers: int | None = None, cache_bytes: int = CACHE_BYTES,
        event_cache_bytes: int | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.default_chaincodes = dict(default_chaincodes or {})
        self.synchronous = synchronous
        self.max_ledgers = max_ledgers
        self.cache_bytes = cache_bytes
        self.event_cache_bytes = event_cache_bytes
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = _lock_data_dir(self.data_dir)
        self._ledgers: dict[tuple[str, str], SqliteLedger] = {}
        self._open_lock = threading.Lock()
        self._closed = False
        self._open_existing()

    # -- Invoker -----------------------------------------------------------------------

    def evaluate(self, target: Target, function: str, argument: bytes, *, timeout: float | None = None) -> bytes:
        """Run a read-only contract function on a snapshot of committed state."""
        return self.ledger(target.channel, target.chaincode).evaluate(target.mspid, function, argument)

    def submit(self, target: Target, function: str, argument: bytes, *, timeout: float | None = None) -> bytes:
        """Run a contract function as one committed transaction.

        ``timeout`` is not enforced once the transaction runs: an SQLite transaction cannot
        be interrupted, and it is short (writers are serialized, not queued behind peers).
        """
        return self.ledger(target.channel, target.chaincode).submit(target.mspid, function, argument)

    def run_now(self, target: Target, function: str, argument: bytes, *, read_only: bool) -> bytes | None:
        """Run the call on this thread if its ledger is open and free, else ``None`` (never waits)."""
        ledger = self._ledgers.get(self._ledger_key(target.channel, target.chaincode))
        if ledger is None or self._closed:
            return None  # opening a ledger, or refusing calls while closing, is the waiting path's job
        try:
            if read_only:
                return ledger.evaluate(target.mspid, function, argument, wait=False)
            return ledger.submit(target.mspid, function, argument, wait=False)
        except LedgerBusy:
            return None

    def event_log(self, target: Target) -> EventLog:
        """The event log of the target's ledger."""
        return self.ledger(target.channel, target.chaincode).events

    def ready(self) -> bool:
        """Serving as long as not closed (ledgers open on demand, the data directory is locked).

        A failed ledger does not make the invoker unready: :meth:`ledger_states` reports it.
        """
        return not self._closed

    def ledger_states(self) -> list[LedgerStatus]:
        """State of every open ledger, for readiness and metrics."""
        return [ledger.status() for ledger in list(self._ledgers.values())]

    def close(self) -> None:
        """Close every ledger (a final checkpoint each) and release the data directory."""
        with self._open_lock:
            if self._closed:
                return
            self._closed = True
            ledgers = list(self._ledgers.values())
            self._ledgers.clear()
        for ledger in ledgers:
            try:
                ledger.close()
            except sqlite3.Error:
                logger.exception("closing ledger %s failed", ledger.path)
        self._lock_file.close()

    # -- ledgers -----------------------------------------------------------------------

    def ledger(self, channel: str, chaincode: str = "") -> SqliteLedger:
        """The ledger of (channel, chaincode), opened on first use.

        Raises:
            InvocationError: invalid names (INVALID_ARGUMENT), the invoker is closed (UNAVAILABLE) or
                ``max_ledgers`` are open already (RESOURCE_EXHAUSTED).
        """
        channel, chaincode = self._ledger_key(channel, chaincode)
        ledger = self._ledgers.get((channel, chaincode))
        if ledger is not None:
            return ledger
        problem = invalid_names(channel, chaincode)
        if problem:
            raise InvocationError(grpc.StatusCode.INVALID_ARGUMENT, problem)
        with self._open_lock:
            if self._closed:
                raise InvocationError(grpc.StatusCode.UNAVAILABLE, "the gateway is shutting down")
            ledger = self._ledgers.get((channel, chaincode))
            if ledger is None:
                if self.max_ledgers is not None and len(self._ledgers) >= self.max_ledgers:
                    raise InvocationError(
                        grpc.StatusCode.RESOURCE_EXHAUSTED,
                        f'cannot open a ledger for channel "{channel}", chaincode "{chaincode}": '
                        f"{self.max_ledgers} ledgers are open, the most --max-ledgers allows without a channel "
                        "configuration; raise --max-ledgers, or list the channels in a 'channels:' configuration",
                    )
                path = self.data_dir / channel / f"{chaincode}.sqlite"
                logger.info("opening ledger of channel %s, chaincode %s at %s", channel, chaincode, path)
                ledger = SqliteLedger(path, channel, synchronous=self.synchronous, chaincode=chaincode,
                                      cache_bytes=self.cache_bytes, event_cache_bytes=self.event_cache_bytes)
                self._ledgers[(channel, chaincode)] = ledger
        return ledger

    def _open_existing(self) -> None:
        """Open the ledgers already in the data directory, at start rather than at their first call.

        Each open checks the database and applies the redo log (and logs how many calls): a
        damaged or failing ledger shows in readiness from the start, not when a call reaches it.
        """
        for path in sorted(self.data_dir.glob("*/*.sqlite")):
            channel, chaincode = path.parent.name, path.stem
            if invalid_names(channel, chaincode) is not None:
                continue
            try:
                self.ledger(channel, chaincode)
            except InvocationError as exc:  # past --max-ledgers: the rest open at their first call, if ever
                logger.warning("not opening the other ledgers of %s at start: %s", self.data_dir, exc.message)
                return

    def _ledger_key(self, channel: str, chaincode: str) -> tuple[str, str]:
        return channel, chaincode or self.default_chaincodes.get(channel, DEFAULT_CHAINCODE)

    @property
    def open_ledgers(self) -> list[tuple[str, str]]:
        """(channel, chaincode) of every open ledger."""
        return sorted(self._ledgers)


def _lock_data_dir(data_dir: Path) -> IO[str]:
    """Hold an exclusive lock on the data directory for the process lifetime (released by the OS on a crash)."""
    handle = open(data_dir / ".lock", "a+")  # noqa: SIM115 - held until close()
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise DataDirInUseError(f"data directory {data_dir} is in use by another gateway") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle
