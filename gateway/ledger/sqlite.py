"""The embedded ledger: a world state and an event log in one SQLite file per channel/chaincode.

A call is atomic: its writes and its events are recorded together or not at all. Writers
are serialized by a lock (the embedded equivalent of Fabric's ordering: no update can be
lost), readers run concurrently on their own WAL snapshots. The world state keeps Fabric's
semantics: the call's reads and scans see committed state only. An acknowledged call is in
the redo log or in the WAL, both of which survive a ``kill -9`` of the process
(``synchronous=FULL`` also survives power loss, at the cost of one fsync per call).
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
from orchestrator.gateway.ledger.redo import RedoLog, RedoRecord
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
    """

    def __init__(
        self, path: Path, channel: str, *, synchronous: str = "NORMAL", cache_bytes: int = CACHE_BYTES,
        event_cache_bytes: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.channel = channel
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.RLock()  # reentrant: close() flushes while holding it
        self._writer = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._writer.execute("PRAGMA journal_mode = WAL")
        self._writer.execute(f"PRAGMA synchronous = {synchronous}")
        self._writer.execute("PRAGMA cache_size = -65536")
        self._writer.execute("PRAGMA temp_store = MEMORY")  # the savepoint journal of each call
        # Checkpoints move WAL pages into the database file; run them beside the writers
        # (sqlite3 releases the GIL) instead of inside the commit of whichever call crosses
        # the WAL threshold.
        self._writer.execute("PRAGMA wal_autocheckpoint = 0")
        self._writer.executescript(STATE_SCHEMA + EVENT_SCHEMA + CALLS_SCHEMA)
        self._redo = RedoLog(self.path.with_name(self.path.name + "-redo"), durable=synchronous.upper() == "FULL")
        self._group_calls = 0  # calls in the open SQL transaction
        self._group_writes = 0
        self._group_started = 0.0
        self._failure: BaseException | None = None
        self._cache: dict[str, bytes | None] = {}  # committed values, for writers (SqliteWorldState)
        self._cache_bytes = 0  # what the cache holds, about (see _cost)
        self._cache_limit = cache_bytes
        self._calls = self._replay()  # number of the last call acknowledged
        # Transaction timestamps only ever increase, across restarts too (events sort by them):
        # the last one recorded is the latest event's (every call that records anything emits one).
        self._last_seq, self._last_ts_ns = _event_bounds(self._writer)
        self._readers = threading.local()
        self._all_readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self.events = EventLog(str(self.path), channel, flush=self.flush, cache_bytes=event_cache_bytes)
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
        """
        return self.run_write(
            lambda ws: contract.invoke(ws, function, argument),
            creator_msp=creator_msp, tx_id=tx_id, timestamp_ns=timestamp_ns, wait=wait,
        )

    def evaluate(self, creator_msp: str, function: str, argument: bytes, *, wait: bool = True) -> bytes:
        """Run a read-only contract function on a consistent snapshot.

        Raises:
            LedgerBusy: ``wait`` is false, calls wait to be committed and another call holds the ledger.
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
            ts = timestamp_ns if timestamp_ns is not None else max(time.time_ns(), self._last_ts_ns + 1)
            info = TxInfo(tx_id or _new_tx_id(creator_msp), ts, creator_msp, self.channel, read_only=False)
            world_state = SqliteWorldState(self._writer, info, self._cache)
            try:
                result = body(world_state)  # reads only: a failure here leaves nothing to undo
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
        conn = self._reader()
        info = TxInfo(_new_tx_id(creator_msp), time.time_ns(), creator_msp, self.channel, read_only=True)
        conn.execute("BEGIN")
        try:
            return body(SqliteWorldState(conn, info))
        finally:
            conn.execute("ROLLBACK")

    def flush(self, *, wait: bool = True) -> None:
        """Commit the open group to SQLite, so that other connections see every acknowledged call.

        Raises:
            LedgerBusy: ``wait`` is false, there is something to commit and another call holds the ledger.
        """
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
        # The first call of a group needs no savepoint: undoing it is rolling back the transaction
        # (and a 1,000-task batch, nearly always first, would copy every page it touches).
        savepoint = self._group_calls > 0
        if savepoint:
            conn.execute("SAVEPOINT call")
        else:
            conn.execute("BEGIN IMMEDIATE")
            self._group_started = time.monotonic()
        try:
            events = _apply(conn, world_state.info.tx_id, writes, payload, self._last_seq + 1)
        except BaseException:
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
                self._redo.append(RedoRecord(call, info.timestamp_ns, info.tx_id, payload, writes))
                if savepoint:
                    conn.execute("RELEASE call")
                self._calls = call
                self._group_calls += 1
                self._group_writes += len(writes)
                if self._group_calls == 1:
                    self._wake.set()  # the background thread commits the group when it is old enough
        except BaseException as exc:
            # The redo log may now end with part of this call's record, or hold it without its
            # writes: nothing more may be appended after it. The calls before are safe in the log.
            if self._failure is None:
                self._fail(exc)
            raise
        first = self._last_seq + 1
        self._last_seq += len(events)
        return [(first + n, raw) for n, raw in enumerate(events)]

    def _undo_call(self, savepoint: bool) -> None:
        """Drop the writes of a call that failed while being applied; the group goes on without it."""
        conn = self._writer
        try:
            if savepoint:
                conn.execute("ROLLBACK TO call")
                conn.execute("RELEASE call")
            else:
                conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            self._fail(exc)

    def _commit_group(self) -> None:
        """Commit the open SQL transaction with the number of its last call."""
        conn = self._writer
        try:
            conn.execute(_SET_LAST_CALL, (self._calls,))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            # The group's calls are acknowledged: they are in the redo log, and the next open
            # applies them again. Until then this ledger takes nothing more.
            self._fail(exc)
            raise
        self._group_calls = self._group_writes = 0
        if self._redo.size > REDO_RESET_BYTES:
            self._redo.reset()
        self._checkpoint_due = True
        self._wake.set()

    def _fail(self, exc: BaseException) -> None:
        self._failure = exc
        with contextlib.suppress(sqlite3.Error):
            self._writer.execute("ROLLBACK")

    def _check_usable(self) -> None:
        if self._failure is not None:
            raise sqlite3.OperationalError(
                f"the ledger {self.path} failed to commit ({self._failure}); reopen it to recover its calls")

    def _replay(self) -> int:
        """Apply the acknowledged calls that the last process did not commit; return the last call's number."""
        conn = self._writer
        row = conn.execute("SELECT last FROM calls WHERE id = 0").fetchone()
        last = 0 if row is None else int(row[0])
        records = self._redo.records_after(last)
        if records:
            next_seq = _event_bounds(conn)[0] + 1
            conn.execute("BEGIN IMMEDIATE")
            for record in records:
                if record.call != last + 1:
                    break  # never written that way: stop at a gap rather than apply out of order
                next_seq += len(_apply(conn, record.tx_id, record.writes, record.event, next_seq))
                last = record.call
            conn.execute(_SET_LAST_CALL, (last,))
            conn.execute("COMMIT")
        self._redo.reset()
        return last

    def _background_loop(self) -> None:
        """Commit groups once they are :data:`GROUP_AGE` old, and checkpoint the WAL after commits."""
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            while not self._stopping:
                pending = self._group_calls and self._failure is None
                age = time.monotonic() - self._group_started
                try:
                    if pending and age >= GROUP_AGE:
                        self.flush()
                    if self._checkpoint_due:
                        self._checkpoint_due = False
                        self._checkpoint(conn)
                except sqlite3.Error:  # a failed commit stops the ledger's writes; calls raise from then on
                    logger.exception("committing or checkpointing ledger %s failed", self.path)
                self._wake.wait(timeout=max(GROUP_AGE - age, 0.001) if pending else 1.0)
                self._wake.clear()
        finally:
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
        if frames < WAL_RESTART_FRAMES or self._failure is not None:
            return
        with self._write_lock:  # not a try-lock: back-to-back calls would starve it
            if self._failure is None:
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
        """Commit what is pending, stop followers and close connections (a final checkpoint keeps the file tidy)."""
        self.events.close()
        self._stopping = True
        self._wake.set()
        self._background.join()
        with self._write_lock:
            if self._failure is None:
                self.flush()
                self._redo.reset()
                self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._writer.close()
            self._redo.close()
        with self._readers_lock:
            for conn in self._all_readers:
                conn.close()
            self._all_readers.clear()


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
