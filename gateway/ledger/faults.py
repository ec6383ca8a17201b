"""Storage faults of the embedded ledger: what they are, what clients are told, what the ledger's state is.

One classification for every error the ledger's files can raise (SQLite's, and the
operating system's from the redo log), so that a given cause always gets the same answer:

- the disk is full (``SQLITE_FULL``, ``ENOSPC``, ``EDQUOT``, ``EFBIG`` past a file-size limit):
  RESOURCE_EXHAUSTED, the ledger heals once there is room again;
- any other I/O failure (``SQLITE_IOERR``, ``SQLITE_CANTOPEN`` — "unable to open database
  file", which is what running out of file descriptors looks like —, ``EIO``, ``EMFILE``):
  UNAVAILABLE, the ledger heals once the cause is gone;
- damaged files (a malformed database image, a bad redo record followed by valid ones):
  DATA_LOSS, the ledger stays down until an operator inspects and repairs it
  (``orchestrator-ledger``), because serving it could silently lose acknowledged calls.

Each fault carries the name of its gRPC status (this module stays free of grpc); the gateway's
error interceptor turns it into the status, the one place where exceptions become statuses.
"""

from __future__ import annotations

import enum
import errno
import sqlite3
from dataclasses import dataclass
from typing import ClassVar, Final

_FULL_ERRNOS: Final = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})

# SQLite primary result codes (the low byte of an extended code).
_SQLITE_NOMEM: Final = 7
_SQLITE_IOERR: Final = 10
_SQLITE_CORRUPT: Final = 11
_SQLITE_FULL: Final = 13
_SQLITE_CANTOPEN: Final = 14
_SQLITE_NOTADB: Final = 26
_SQLITE_UNAVAILABLE: Final = frozenset({
    5,  # BUSY: another process holds the file (it is locked by the data directory; be safe)
    6,  # LOCKED
    8,  # READONLY: the file or its directory became read-only
    _SQLITE_IOERR,
    _SQLITE_CANTOPEN,
    15,  # PROTOCOL: the WAL index could not be locked
})


class LedgerState(enum.Enum):
    """Where a ledger stands; the value is what the ``orchestrator_ledger_state`` metric reports."""

    UP = 0  # serving
    FAILED = 1  # a storage fault: calls are refused, the ledger retries by itself
    CORRUPT = 2  # damaged files: calls are refused until an operator repairs the ledger


class LedgerFault(Exception):
    """The ledger cannot serve a call because of its storage; ``status_name`` is the client's gRPC status."""

    status_name: ClassVar[str] = "UNAVAILABLE"
    state: ClassVar[LedgerState] = LedgerState.FAILED

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.message = message  # what the client is told: no file names
        self.detail = detail  # what the log says: files, offsets, counts

    def __str__(self) -> str:
        return self.message


class LedgerUnavailable(LedgerFault):
    """An I/O failure (EIO, no file descriptor left …): retry later; the ledger heals by itself."""


class LedgerFull(LedgerFault):
    """The disk holding the ledger is full: retry once there is room; the ledger heals by itself."""

    status_name = "RESOURCE_EXHAUSTED"


class LedgerCorrupt(LedgerFault):
    """The ledger's files are damaged: it is not served until repaired (``orchestrator-ledger``)."""

    status_name = "DATA_LOSS"
    state = LedgerState.CORRUPT


def fault_kind(exc: BaseException) -> type[LedgerFault] | None:
    """The kind of storage fault ``exc`` is, or ``None`` when it is not one (a bug, a constraint).

    A :class:`LedgerFault` is its own kind; an ``OSError`` goes by ``errno``; an ``sqlite3.Error``
    by its primary result code.
    """
    if isinstance(exc, LedgerFault):
        return type(exc)
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is None:
            return None
        primary = code & 0xFF
        if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            return LedgerCorrupt
        if primary in (_SQLITE_FULL, _SQLITE_NOMEM):
            return LedgerFull
        if primary in _SQLITE_UNAVAILABLE:
            return LedgerUnavailable
        return None
    if isinstance(exc, OSError):
        return LedgerFull if exc.errno in _FULL_ERRNOS else LedgerUnavailable
    return None


def as_fault(exc: BaseException, what: str) -> LedgerFault | None:
    """``exc`` as the fault a client is told of (``what`` names the ledger), or ``None`` when it is not one."""
    kind = fault_kind(exc)
    if kind is None:
        return None
    if isinstance(exc, LedgerFault):
        return exc
    if kind is LedgerCorrupt:
        return kind(f"{what} is damaged and not served until repaired ({describe(exc)})")
    reason = "the disk is full" if kind is LedgerFull else "storage failure"
    return kind(f"{what} is unavailable: {reason} ({describe(exc)}); retry later")


def describe(exc: BaseException) -> str:
    """A short, stable text for a storage error: the SQLite code name or the errno name, and the message."""
    if isinstance(exc, LedgerFault):
        return exc.message
    if isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", None)
        return f"{name}: {exc}" if name else str(exc)
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{errno.errorcode.get(exc.errno, exc.errno)}: {exc.strerror}"
    return f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class LedgerStatus:
    """What readiness and metrics report of one ledger."""

    channel: str
    chaincode: str
    state: LedgerState
    failures: int  # faults met since the ledger was opened
    cause: str = ""  # why it is not up

    @property
    def name(self) -> str:
        return f"{self.channel}/{self.chaincode}"


__all__ = [
    "LedgerCorrupt", "LedgerFault", "LedgerFull", "LedgerState", "LedgerStatus", "LedgerUnavailable", "as_fault",
    "describe", "fault_kind",
]
