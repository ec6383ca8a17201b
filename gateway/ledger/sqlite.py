"""The embedded ledger: a world state and an event log in one SQLite file per channel/chaincode.

A call is atomic: its writes and its events are recorded together or not at all. Writers
are serialized by a lock (the embedded equivalent of Fabric's ordering: no update can be
lost), readers run concurrently on their own WAL snapshots. The world state keeps Fabric's
semantics: the call's reads and scans see committed state only. An acknowledged call is in
the redo log or in the WAL, both of which survive a ``kill -9`` of the process
(``synchronous=FULL`` also survives power loss, at the cost of one fsync per call).
Storage faults stop the ledger until it heals by itself; damaged files stop it until repaired
(:class:`SqliteLedger`, :mod:`~orchestrator.gateway.ledger.faults`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Final, TypeVar

from orchestrator.gateway.ledger.eventlog import SCHEMA as EVENT_SCHEMA
from orchestrator.gateway.ledger.eventlog import EventLog, append_events
from orchestrator.gateway.ledger.faults import (
    LedgerCorrupt,
    LedgerFault,
    LedgerState,
    LedgerStatus,
    LedgerUnavailable,
    as_fault,
    describe,
    fault_kind,
)
from orchestrator.gateway.ledger.redo import RedoLog, RedoRecord, RedoScan, call_ranges
from orchestrator.shared import contract
from orchestrator.shared.store.transaction import CHAINCODE_EVENT_NAME
from orchestrator.shared.store.worldstate import Page, TxInfo

T = TypeVar("T")

logger = logging.getLogger(__name__)

STATE_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
"""

# The number of the ledger's last committed call: the redo log holds the calls after it.
CALLS_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (id INTEGER PRIMARY KEY CHECK (id = 0), last INTEGER NOT NULL);
"""
_SET_LAST_CALL = "INSERT OR REPLACE INTO calls (id, last) VALUES (0, ?)"

#: A group commits once it holds this many calls ...
GROUP_CALLS: Final = 256
#: ... or this many writes (a 1,000-task batch commits on its own) ...
GROUP_WRITES: Final = 4096
#: ... or when its first call is this many seconds old.
GROUP_AGE: Final = 0.2
#: Bytes of committed values the writer keeps in memory by default (emptied when full).
CACHE_BYTES: Final = 32 * 1024 * 1024
#: What a cached entry costs beyond its key and value (dict slot, two bytes objects).
_ENTRY_OVERHEAD: Final = 100
#: WAL frames (4 kB pages, so 64 MB) past which the WAL is started over after a checkpoint.
WAL_RESTART_FRAMES: Final = 16_384
#: The redo log is emptied after a commit once it is this long.
REDO_RESET_BYTES: Final = 8 << 20
#: A failed ledger first tries to reopen this many seconds after the fault ...
RETRY_FIRST: Final = 0.05
#: ... then twice as long after each failed try, up to this.
RETRY_MAX: Final = 2.0

_SCAN_BATCH = 256
_IN_BATCH = 500  # keys per ``IN (...)`` lookup, well under SQLite's bound on parameters
_IN_MIN = 8  # fewer keys are read one by one


_UNKNOWN: Final = object()  # a key the cache knows nothing of


class LedgerBusy(Exception):
    """The call would have to wait for another one (raised only to callers that asked not to wait)."""


def _k(key: str) -> bytes:
    return key.encode("utf-8")


class SqliteWorldState:
    """The :class:`~orchestrator.shared.store.worldstate.WorldState` of one call on the embedded ledger.

    ``cache`` (writers only) holds committed values already read or written by earlier calls:
    every write of the ledger goes through its writer, which keeps the cache current.
    ``cached_bytes`` counts what this call added to it.
    """

    def __init__(self, conn: sqlite3.Connection, info: TxInfo, cache: dict[str, bytes | None] | None = None) -> None:
        self._conn = conn
        self._info = info
        self._cache = cache
        self.writes: dict[str, bytes | None] = {}
        self.event: tuple[str, bytes] | None = None
        self.cached_bytes = 0

    @property
    def info(self) -> TxInfo:
        return self._info

    def get(self, key: str) -> bytes | None:
        cache = self._cache
        if cache is None:
            return self._read(key)
        value = cache.get(key, _UNKNOWN)
        if value is _UNKNOWN:
            value = cache[key] = self._read(key)
            self.cached_bytes += _cost(key, value)
        return value  # type: ignore[return-value]  # not _UNKNOWN any more: a value or None

    def get_multiple(self, keys: Sequence[str]) -> list[bytes | None]:
        cache = self._cache
        if cache is None:
            return self._read_multiple(keys)
        missing = [key for key in dict.fromkeys(keys) if key not in cache]
        if missing:
            values = self._read_multiple(missing)
            cache.update(zip(missing, values, strict=True))
            self.cached_bytes += sum(map(_cost, missing, values))
        return [cache[key] for key in keys]

    def _read_multiple(self, keys: Sequence[str]) -> list[bytes | None]:
        if len(keys) < _IN_MIN:  # a few point lookups beat planning an IN list
            return [self._read(key) for key in keys]
        encoded = [_k(key) for key in keys]
        found: dict[bytes, bytes] = {}
        for start in range(0, len(encoded), _IN_BATCH):
            chunk = encoded[start:start + _IN_BATCH]
            marks = ",".join("?" * len(chunk))
            found.update(self._conn.execute(f"SELECT key, value FROM state WHERE key IN ({marks})", chunk))
        return [found.get(key) for key in encoded]

    def _read(self, key: str) -> bytes | None:
        row = self._conn.execute("SELECT value FROM state WHERE key = ?", (_k(key),)).fetchone()
        return None if row is None else bytes(row[0])

    def put(self, key: str, value: bytes) -> None:
        self.writes[key] = value

    def delete(self, key: str) -> None:
        self.writes[key] = None

    def scan(self, start: str, end: str) -> Iterator[tuple[str, bytes]]:
        low = _k(start)
        high = _k(end)
        while True:
            rows = self._conn.execute(
                "SELECT key, value FROM state WHERE key >= ? AND key < ? ORDER BY key LIMIT ?",
                (low, high, _SCAN_BATCH),
            ).fetchall()
            for key, value in rows:
                yield bytes(key).decode("utf-8"), bytes(value)
            if len(rows) < _SCAN_BATCH:
                return
            low = bytes(rows[-1][0]) + b"\x00"

    def scan_page(self, start: str, end: str, page_size: int, bookmark: str) -> Page:
        low = max(start, bookmark) if bookmark else start
        rows = self._conn.execute(
            "SELECT key, value FROM state WHERE key >= ? AND key < ? ORDER BY key LIMIT ?",
            (_k(low), _k(end), page_size + 1),
        ).fetchall()
        entries = [(bytes(k).decode("utf-8"), bytes(v)) for k, v in rows[:page_size]]
        next_bookmark = bytes(rows[page_size][0]).decode("utf-8") if len(rows) > page_size else ""
        return Page(entries, next_bookmark)

    def set_event(self, name: str, payload: bytes) -> None:
        self.event = (name, bytes(payload))


class SqliteLedger:
    """One channel's (and chaincode's) embedded ledger.

    Calls commit to SQLite in groups: a call's writes go into the open SQL transaction (in a
    savepoint, or as the transaction's first writes, so a failing call leaves nothing) and its
    record into the redo log, which makes it durable. The group commits when it holds
    :data:`GROUP_CALLS` calls or :data:`GROUP_WRITES` writes, when it is :data:`GROUP_AGE`
    seconds old, and before anything reads SQLite from another connection (an evaluation, a
    query of the event log), so readers always see every acknowledged call. A call that fills
    the group commits it at once and needs no redo record. Calls in one group see each other's
    writes: they share the writer's connection, and they are committed calls as far as the
    domain is concerned. ``wait=False`` on a call raises :class:`LedgerBusy` instead of
    waiting for another one (the gateway then hands the call to a worker thread).

    Storage faults (:mod:`~orchestrator.gateway.ledger.faults`) put the ledger in the FAILED
    state: calls raise the fault (UNAVAILABLE, RESOURCE_EXHAUSTED for a full disk) and the
    background thread reopens the files with backoff (:data:`RETRY_FIRST` doubling up to
    :data:`RETRY_MAX`). Reopening drops the open group and applies it again from the redo log,
    where every acknowledged call of it is, so nothing acknowledged is lost and nothing is
    half-applied. Damaged files (a database failing ``PRAGMA quick_check`` at open, a redo log
    with a bad record followed by valid ones) put it in the CORRUPT state: calls get DATA_LOSS
    until an operator repairs it with ``orchestrator-ledger``.
    """

    def __init__(
        self, path: Path, channel: str, *, synchronous: str = "NORMAL", chaincode: str = "",
        cache_bytes: int = CACHE_BYTES, event_cache_bytes: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.channel = channel
        self.chaincode = chaincode
        self.synchronous = synchronous
        self.what = f"the ledger of channel {channel}" + (f", chaincode {chaincode}" if chaincode else "")
        self._write_lock = threading.RLock()  # reentrant: close() flushes while holding it
        self._writer: sqlite3.Connection | None = None
        self._redo: RedoLog | None = None
        self._redo_cut: int | None = None  # the redo log's acknowledged length when a failed append left more
        self._group_calls = 0  # calls in the open SQL transaction
        self._group_writes = 0
        self._group_started = 0.0
        self._cache: dict[str, bytes | None] = {}  # committed values, for writers (SqliteWorldState)
        self._cache_bytes = 0  # what the cache holds, about (see _cost)
        self._cache_limit = cache_bytes
        self._calls = 0  # number of the last call acknowledged
        self._last_seq = self._last_ts_ns = 0
        self._state = LedgerState.UP
        self._fault: LedgerFault | None = None
        self._state_lock = threading.Lock()
        self._failures = 0
        self._failed_at = 0.0
        self._retry_in = RETRY_FIRST
        self._retry_at = 0.0
        self._readers = threading.local()
        self._all_readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        with self._write_lock:
            try:
                self._open(check=True)
            except Exception as exc:  # the ledger exists in a failed state; the background thread heals it
                if fault_kind(exc) is None:
                    self._close_files()
                    raise
                self._close_files()
                self._enter_fault(exc)
        self.events = EventLog(str(self.path), channel, flush=self.flush, last_seq=self._last_seq,
                               on_error=self._storage_error, cache_bytes=event_cache_bytes)
        self._wake = threading.Event()
        self._checkpoint_due = False
        self._stopping = False
        self._background = threading.Thread(target=self._background_loop, name=f"ledger-{channel}", daemon=True)
        self._background.start()

    # -- calls -------------------------------------------------------------------------

    def submit(
        self, creator_msp: str, function: str, argument: bytes, *, tx_id: str | None = None,
        timestamp_ns: int | None = None, wait: bool = True,
    ) -> bytes:
        """Run a contract function as one committed transaction and return its reply.

        Raises:
            LedgerBusy: ``wait`` is false and another call holds the ledger.
            LedgerFault: the ledger is failed or damaged; nothing was written.
        """
        return self.run_write(
            lambda ws: contract.invoke(ws, function, argument),
            creator_msp=creator_msp, tx_id=tx_id, timestamp_ns=timestamp_ns, wait=wait,
        )

    def evaluate(self, creator_msp: str, function: str, argument: bytes, *, wait: bool = True) -> bytes:
        """Run a read-only contract function on a consistent snapshot.

        Raises:
            LedgerBusy: ``wait`` is false, calls wait to be committed and another call holds the ledger.
            LedgerFault: the ledger is failed or damaged.
        """
        return self.run_read(lambda ws: contract.invoke(ws, function, argument), creator_msp=creator_msp, wait=wait)

    def run_write(
        self, body: Callable[[SqliteWorldState], T], *, creator_msp: str,
        tx_id: str | None = None, timestamp_ns: int | None = None, wait: bool = True,
    ) -> T:
        """Run ``body`` on a fresh world state and record what it wrote, atomically and durably."""
        if not self._write_lock.acquire(blocking=wait):
            raise LedgerBusy(str(self.path))
        try:
            self._check_usable()
            assert self._writer is not None
            ts = timestamp_ns if timestamp_ns is not None else max(time.time_ns(), self._last_ts_ns + 1)
            info = TxInfo(tx_id or _new_tx_id(creator_msp), ts, creator_msp, self.channel, read_only=False)
            world_state = SqliteWorldState(self._writer, info, self._cache)
            try:
                try:
                    result = body(world_state)  # reads only: a failure here leaves nothing to undo
                except sqlite3.Error as exc:
                    raise self._storage_error(exc) from exc
                recorded = self._record(world_state)
                self._cache.update(world_state.writes)  # recorded: these are the committed values now
                world_state.cached_bytes += sum(map(_cost, world_state.writes, world_state.writes.values()))
            finally:
                self._account_cache(world_state.cached_bytes)
            self._last_ts_ns = max(self._last_ts_ns, ts)
            if recorded:  # under the lock, so that followers hear of events in ledger order
                self.events.notify_committed(recorded)
        finally:
            self._write_lock.release()
        return result

    def _account_cache(self, added: int) -> None:
        """Count what a call added to the cache; empty it once past its budget (rewritten keys count twice)."""
        self._cache_bytes += added
        if self._cache_bytes > self._cache_limit:
            self._cache.clear()
            self._cache_bytes = 0

    def run_read(self, body: Callable[[SqliteWorldState], T], *, creator_msp: str, wait: bool = True) -> T:
        """Run ``body`` read-only on a snapshot holding every acknowledged call."""
        self.flush(wait=wait)
        info = TxInfo(_new_tx_id(creator_msp), time.time_ns(), creator_msp, self.channel, read_only=True)
        try:
            conn = self._reader()
            conn.execute("BEGIN")
        except sqlite3.Error as exc:
            raise self._storage_error(exc) from exc
        try:
            return body(SqliteWorldState(conn, info))
        except sqlite3.Error as exc:
            raise self._storage_error(exc) from exc
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")

    def flush(self, *, wait: bool = True) -> None:
        """Commit the open group to SQLite, so that other connections see every acknowledged call.

        Raises:
            LedgerBusy: ``wait`` is false, there is something to commit and another call holds the ledger.
            LedgerFault: the ledger is failed or damaged (its acknowledged calls are safe in the redo log).
        """
        if self._state is not LedgerState.UP:
            raise self._current_fault()
        if not self._group_calls:  # read without the lock: a call acknowledged before this one is seen
            return
        if not self._write_lock.acquire(blocking=wait):
            raise LedgerBusy(str(self.path))
        try:
            self._check_usable()
            if self._group_calls:
                self._commit_group()
        finally:
            self._write_lock.release()

    # -- the group -----------------------------------------------------------------------

    def _record(self, world_state: SqliteWorldState) -> list[tuple[int, bytes]]:
        """Add one call to the group: its writes, its events, then its redo record or the commit."""
        writes = [(key.encode("utf-8"), value) for key, value in world_state.writes.items()]
        payload = world_state.event[1] if world_state.event and world_state.event[0] == CHAINCODE_EVENT_NAME else None
        if not writes and payload is None:
            return []
        conn = self._writer
        redo = self._redo
        assert conn is not None and redo is not None
        # The first call of a group needs no savepoint: undoing it is rolling back the transaction
        # (and a 1,000-task batch, nearly always first, would copy every page it touches).
        savepoint = self._group_calls > 0
        try:
            if savepoint:
                conn.execute("SAVEPOINT call")
            else:
                conn.execute("BEGIN IMMEDIATE")
                self._group_started = time.monotonic()
            events = _apply(conn, world_state.info.tx_id, writes, payload, self._last_seq + 1)
        except BaseException as exc:
            if fault_kind(exc) is not None:  # SQLite may have rolled back more than this call: heal
                raise self._enter_fault(exc) from exc
            self._undo_call(savepoint)
            raise
        call = self._calls + 1
        try:
            if self._group_calls + 1 >= GROUP_CALLS or self._group_writes + len(writes) >= GROUP_WRITES:
                if savepoint:
                    conn.execute("RELEASE call")
                self._calls = call
                self._commit_group()  # this call's acknowledgement is the commit itself
            else:
                info = world_state.info
                redo.append(RedoRecord(call, info.timestamp_ns, info.tx_id, payload, writes))
                if savepoint:
                    conn.execute("RELEASE call")
                self._calls = call
                self._group_calls += 1
                self._group_writes += len(writes)
                if self._group_calls == 1:
                    self._wake.set()  # the background thread commits the group when it is old enough
        except LedgerFault:
            raise
        except BaseException as exc:
            # The call is not acknowledged; the group's earlier calls are, in the redo log. Reopening
            # drops the SQL transaction and applies them again from there.
            raise self._enter_fault(exc) from exc
        first = self._last_seq + 1
        self._last_seq += len(events)
        return [(first + n, raw) for n, raw in enumerate(events)]

    def _undo_call(self, savepoint: bool) -> None:
        """Drop the writes of a call that failed while being applied; the group goes on without it."""
        conn = self._writer
        assert conn is not None
        try:
            if savepoint:
                conn.execute("ROLLBACK TO call")
                conn.execute("RELEASE call")
            else:
                conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            self._enter_fault(exc)

    def _commit_group(self) -> None:
        """Commit the open SQL transaction with the number of its last call."""
        conn = self._writer
        redo = self._redo
        assert conn is not None and redo is not None
        try:
            conn.execute(_SET_LAST_CALL, (self._calls,))
            conn.execute("COMMIT")
        except BaseException as exc:
            # The group's calls are acknowledged: they are in the redo log, and healing (or the
            # next start) applies them again. Until then this ledger takes nothing more.
            raise self._enter_fault(exc) from exc
        self._group_calls = self._group_writes = 0
        if redo.size > REDO_RESET_BYTES:
            with contextlib.suppress(OSError):  # committed calls in the log are skipped when replaying
                redo.reset()
        self._checkpoint_due = True
        self._wake.set()

    # -- state -------------------------------------------------------------------------

    @property
    def state(self) -> LedgerState:
        return self._state

    def status(self) -> LedgerStatus:
        """State, failures so far and cause, for readiness and metrics."""
        fault = self._fault
        return LedgerStatus(self.channel, self.chaincode, self._state, self._failures,
                            "" if fault is None else fault.message)

    def _current_fault(self) -> LedgerFault:
        """A fresh exception for the fault the ledger is in (one per caller: tracebacks are per raise)."""
        fault = self._fault
        if fault is None:
            return LedgerUnavailable(f"{self.what} is unavailable")
        return type(fault)(fault.message)

    def _check_usable(self) -> None:
        if self._state is not LedgerState.UP:
            raise self._current_fault()

    def _storage_error(self, exc: sqlite3.Error) -> BaseException:
        """What to raise for an SQLite error met while serving: the ledger's fault, or ``exc`` (not a fault)."""
        if fault_kind(exc) is None:
            return exc
        return self._enter_fault(exc)

    def _enter_fault(self, exc: BaseException) -> LedgerFault:
        """Stop serving because of ``exc``; log once per change of state. Returns what the caller raises."""
        fault = as_fault(exc, self.what) or LedgerUnavailable(f"{self.what} is unavailable ({describe(exc)})")
        with self._state_lock:
            previous = self._state
            if previous is LedgerState.CORRUPT or (previous is LedgerState.FAILED and fault.state is previous):
                return self._current_fault()  # already down for this reason: the log line was written
            if previous is LedgerState.UP:
                self._failures += 1
                self._failed_at = time.monotonic()
            self._fault = fault
            self._state = fault.state
            self._retry_in = RETRY_FIRST
            self._retry_at = time.monotonic() + RETRY_FIRST
        if fault.state is LedgerState.CORRUPT:
            logger.error("%s is damaged and not served (%s): calls get %s; stop the gateway and run "
                         "'orchestrator-ledger inspect %s'", self.what, fault.detail or describe(exc),
                         fault.status_name, self.path)
        else:
            logger.error("%s failed (%s, file %s): calls get %s; retrying until it recovers", self.what,
                         describe(exc), self.path, fault.status_name)
        wake = getattr(self, "_wake", None)
        if wake is not None:
            wake.set()
        return type(fault)(fault.message)

    def _heal(self) -> None:
        """Reopen the files of a failed ledger and apply its redo log; back off when that fails too."""
        with self._write_lock:
            if self._state is not LedgerState.FAILED:
                return
            if self._redo is not None and self._redo_cut is None:
                self._redo_cut = self._redo.size
            self._close_files()
            try:
                replayed = self._open(check=False)
                assert self._redo is not None
                self._redo.probe()  # a log that grows again: the disk has room, the file takes writes
            except Exception as exc:
                self._close_files()
                if fault_kind(exc) is LedgerCorrupt:
                    self._enter_fault(exc)
                    return
                self._retry_in = min(self._retry_in * 2, RETRY_MAX)
                self._retry_at = time.monotonic() + self._retry_in
                logger.debug("%s still failing (%s); next try in %.2fs", self.what, describe(exc), self._retry_in)
                return
            with self._state_lock:
                self._state, self._fault = LedgerState.UP, None
            logger.warning("%s recovered after %.1fs: %d acknowledged calls applied again from the redo log",
                           self.what, time.monotonic() - self._failed_at, replayed)
            self.events.notify_committed()  # positions re-read from the store (the same events, in order)

    # -- files -------------------------------------------------------------------------

    def _open(self, *, check: bool) -> int:
        """Open the database and the redo log, apply the calls the redo log holds; return how many.

        ``check`` runs ``PRAGMA quick_check`` first (at start; healing an I/O fault skips it).

        Raises:
            LedgerCorrupt: the database fails the check, or the redo log lost acknowledged calls.
            sqlite3.Error, OSError: the files cannot be opened or written.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        writer = self._writer = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        writer.execute("PRAGMA journal_mode = WAL")
        if check:
            _quick_check(writer, self.what, self.path)
        writer.execute(f"PRAGMA synchronous = {self.synchronous}")
        writer.execute("PRAGMA cache_size = -65536")
        writer.execute("PRAGMA temp_store = MEMORY")  # the savepoint journal of each call
        # Checkpoints move WAL pages into the database file; run them beside the writers
        # (sqlite3 releases the GIL) instead of inside the commit of whichever call crosses
        # the WAL threshold.
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.executescript(STATE_SCHEMA + EVENT_SCHEMA + CALLS_SCHEMA)
        redo = self._redo = RedoLog(redo_path(self.path), durable=self.synchronous.upper() == "FULL")
        if self._redo_cut is not None:
            redo.truncate(self._redo_cut)  # what a failed append left beyond the last acknowledged call
            self._redo_cut = None
        self._cache.clear()
        self._cache_bytes = 0
        self._group_calls = self._group_writes = 0
        self._calls, replayed = self._replay()
        # Transaction timestamps only ever increase, across restarts too (events sort by them):
        # the last one recorded is the latest event's (every call that records anything emits one).
        self._last_seq, last_ts_ns = _event_bounds(writer)
        self._last_ts_ns = max(self._last_ts_ns, last_ts_ns)
        logger.info("%s open at %s: %d calls replayed from the redo log", self.what, self.path, replayed)
        return replayed

    def _close_files(self) -> None:
        """Close the writer and the redo log, dropping the open group (it is in the redo log)."""
        if self._writer is not None:
            with contextlib.suppress(sqlite3.Error):
                self._writer.close()
            self._writer = None
        if self._redo is not None:
            with contextlib.suppress(OSError):
                self._redo.close()
            self._redo = None
        self._group_calls = self._group_writes = 0

    def _replay(self) -> tuple[int, int]:
        """Apply the acknowledged calls that SQLite does not hold yet; (last call's number, calls applied).

        Raises:
            LedgerCorrupt: the redo log lost calls after the last committed one (damage, or a gap).
        """
        conn = self._writer
        redo = self._redo
        assert conn is not None and redo is not None
        row = conn.execute("SELECT last FROM calls WHERE id = 0").fetchone()
        last = 0 if row is None else int(row[0])
        found = redo.scan()
        _check_redo(found, last, self.what)
        records = sorted((record for record in found.records if record.call > last), key=lambda r: r.call)
        if records:
            next_seq = _event_bounds(conn)[0] + 1
            conn.execute("BEGIN IMMEDIATE")
            try:
                for record in records:
                    next_seq += len(_apply(conn, record.tx_id, record.writes, record.event, next_seq))
                conn.execute(_SET_LAST_CALL, (records[-1].call,))
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            last = records[-1].call
        redo.reset()
        return last, len(records)

    def _background_loop(self) -> None:
        """Commit groups once :data:`GROUP_AGE` old, checkpoint the WAL after commits, heal a failed ledger."""
        conn: sqlite3.Connection | None = None
        try:
            while not self._stopping:
                if self._state is not LedgerState.UP:
                    if conn is not None:  # free its file descriptors: they may be what is missing
                        conn.close()
                        conn = None
                    if self._state is LedgerState.FAILED and time.monotonic() >= self._retry_at:
                        with contextlib.suppress(LedgerFault):  # failed again while reading back: logged
                            self._heal()
                        continue
                    wait = self._retry_at - time.monotonic() if self._state is LedgerState.FAILED else 1.0
                    self._wake.wait(timeout=max(wait, 0.001))
                    self._wake.clear()
                    continue
                pending = self._group_calls
                age = time.monotonic() - self._group_started
                try:
                    if pending and age >= GROUP_AGE:
                        self.flush()
                    if self._checkpoint_due:
                        self._checkpoint_due = False
                        if conn is None:
                            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                        self._checkpoint(conn)
                except LedgerFault:
                    pass  # logged once by the change of state; the next turn heals
                except Exception as exc:
                    if fault_kind(exc) is None:
                        logger.exception("committing or checkpointing %s failed", self.what)
                    else:
                        self._enter_fault(exc)
                self._wake.wait(timeout=max(GROUP_AGE - age, 0.001) if pending else 1.0)
                self._wake.clear()
        finally:
            if conn is not None:
                conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        """Copy committed WAL pages into the database, beside the writers; restart a long WAL.

        SQLite starts writing the WAL from its beginning again only when a write transaction
        begins after a complete checkpoint, and the next group begins before a checkpoint running
        beside it completes: without a restart the WAL would grow for as long as calls keep coming
        (to 224 MB beside a 57 MB database in 10,000 calls), and every page read would search it.
        A restart holds the writers back only while the pages of the last group are copied.
        """
        frames = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
        if frames < WAL_RESTART_FRAMES or self._state is not LedgerState.UP:
            return
        with self._write_lock:  # not a try-lock: back-to-back calls would starve it
            if self._state is LedgerState.UP:
                self.flush()
                conn.execute("PRAGMA wal_checkpoint(RESTART)")  # busy (and retried later) while a reader is at work

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._readers, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA query_only = ON")
            self._readers.conn = conn
            with self._readers_lock:
                self._all_readers.append(conn)
        return conn

    # -- inspection --------------------------------------------------------------------

    @property
    def cached_bytes(self) -> int:
        """What the writer's cache of committed values holds now, counted entry by entry."""
        with self._write_lock:
            return sum(map(_cost, self._cache, self._cache.values()))

    @property
    def uncommitted_calls(self) -> int:
        """Acknowledged calls whose group is not committed to SQLite yet (they are in the redo log)."""
        return self._group_calls

    def dump(self) -> list[tuple[bytes, bytes]]:
        """Every state entry, in key order (determinism tests compare dumps)."""
        self.flush()
        return [(bytes(k), bytes(v)) for k, v in self._reader().execute("SELECT key, value FROM state ORDER BY key")]

    def close(self) -> None:
        """Commit what is pending, stop followers and close connections (a final checkpoint keeps the file tidy).

        A failed ledger closes as it is: its acknowledged calls are in the redo log, for the next start.
        """
        self.events.close()
        self._stopping = True
        self._wake.set()
        self._background.join()
        with self._write_lock:
            if self._state is LedgerState.UP:
                try:
                    self.flush()
                    assert self._redo is not None and self._writer is not None
                    self._redo.reset()
                    self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except LedgerFault:
                    pass  # logged; the redo log keeps the calls for the next start
                except (sqlite3.Error, OSError) as exc:
                    if fault_kind(exc) is None:
                        raise
                    self._enter_fault(exc)
            self._close_files()
        with self._readers_lock:
            for conn in self._all_readers:
                conn.close()
            self._all_readers.clear()


def redo_path(path: Path) -> Path:
    """The redo log beside the ledger's database file."""
    return path.with_name(path.name + "-redo")


def _quick_check(conn: sqlite3.Connection, what: str, path: Path) -> None:
    """``PRAGMA quick_check``: every page readable and well formed, in time linear in the file's size.

    Raises:
        LedgerCorrupt: the database is malformed.
    """
    problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check(10)")]
    if problems != ["ok"]:
        raise LedgerCorrupt(f"{what} is damaged and not served until repaired: its database fails an integrity check",
                            detail=f"database {path} fails PRAGMA quick_check: {'; '.join(problems)}")


def _check_redo(found: RedoScan, last: int, what: str) -> None:
    """Log what a redo log drops; refuse it when acknowledged calls would be lost.

    Raises:
        LedgerCorrupt: damage or a gap hides calls after ``last`` (not in the database).
    """
    if found.torn_bytes:
        logger.warning("redo log %s: dropping its torn tail, %d bytes at offset %d (%d incomplete record(s) of "
                       "calls never acknowledged: the process stopped while appending them)", found.path,
                       found.torn_bytes, found.torn_offset, found.torn_records)
    hiding = found.damage_hiding(last)
    missing = found.missing_after(last)
    if hiding or missing:
        where = hiding[0] if hiding else None
        detail = (f"redo log {found.path} is damaged at offset {where.offset} ({where.length} bytes) and "
                  f"{where.records_after} valid records follow" if where is not None else
                  f"redo log {found.path} misses calls")
        raise LedgerCorrupt(
            f"{what} is damaged and not served until repaired: its redo log lost acknowledged calls",
            detail=f"{detail}; calls {call_ranges(missing)} after the last committed call {last} are lost",
        )
    for region in found.damage:
        logger.warning("redo log %s: %d damaged bytes at offset %d, followed by %d valid records; the calls "
                       "they held were already committed to the database, nothing is lost", found.path,
                       region.length, region.offset, region.records_after)


def _apply(
    conn: sqlite3.Connection, tx_id: str, writes: Sequence[tuple[bytes, bytes | None]], event: bytes | None,
    first_seq: int,
) -> list[bytes]:
    """Write one call's state changes and events on ``conn``; return the events recorded."""
    puts = [(key, value) for key, value in writes if value is not None]
    if puts:
        conn.executemany("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", puts)
    if len(puts) < len(writes):
        conn.executemany("DELETE FROM state WHERE key = ?", [(key,) for key, value in writes if value is None])
    if event is None:
        return []
    return append_events(conn, tx_id, event, first_seq=first_seq)


def _event_bounds(conn: sqlite3.Connection) -> tuple[int, int]:
    """Position and timestamp of the latest event (0, 0 when none)."""
    seq, ts_ns = conn.execute("SELECT COALESCE(MAX(seq), 0), COALESCE(MAX(ts_ns), 0) FROM events").fetchone()
    return int(seq), int(ts_ns)


def _cost(key: str, value: bytes | None) -> int:
    """Approximate memory of one cache entry."""
    return len(key) + (len(value) if value else 0) + _ENTRY_OVERHEAD


def _new_tx_id(creator_msp: str) -> str:
    """A Fabric-shaped transaction id: SHA-256 of a random nonce and the creator, in hex."""
    return hashlib.sha256(os.urandom(24) + creator_msp.encode()).hexdigest()
