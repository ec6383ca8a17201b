"""The embedded ledger: a world state and an event log in one SQLite file per channel/chaincode.

A call is one SQL transaction: its writes, its events and its log entry commit together or
not at all. Writers are serialized by a lock (the embedded equivalent of Fabric's ordering:
no update can be lost), readers run concurrently on their own WAL snapshots. The world state
keeps Fabric's semantics: the call's reads and scans see committed state only.
An acknowledged call is in the WAL, which survives a ``kill -9`` of the process
(``synchronous=FULL`` also survives power loss, at the cost of one fsync per call).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from orchestrator.gateway.ledger.eventlog import SCHEMA as EVENT_SCHEMA
from orchestrator.gateway.ledger.eventlog import EventLog, append_events
from orchestrator.shared import contract
from orchestrator.shared.store.transaction import CHAINCODE_EVENT_NAME
from orchestrator.shared.store.worldstate import Page, TxInfo

T = TypeVar("T")

STATE_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
"""

_SCAN_BATCH = 256
_IN_BATCH = 500  # keys per ``IN (...)`` lookup, well under SQLite's bound on parameters
_IN_MIN = 8  # fewer keys are read one by one
_CHECKPOINT_EVERY = 64  # commits between background checkpoints


def _k(key: str) -> bytes:
    return key.encode("utf-8")


class SqliteWorldState:
    """The :class:`~orchestrator.shared.store.worldstate.WorldState` of one call on the embedded ledger."""

    def __init__(self, conn: sqlite3.Connection, info: TxInfo) -> None:
        self._conn = conn
        self._info = info
        self.writes: dict[str, bytes | None] = {}
        self.event: tuple[str, bytes] | None = None

    @property
    def info(self) -> TxInfo:
        return self._info

    def get(self, key: str) -> bytes | None:
        row = self._conn.execute("SELECT value FROM state WHERE key = ?", (_k(key),)).fetchone()
        return None if row is None else bytes(row[0])

    def get_multiple(self, keys: Sequence[str]) -> list[bytes | None]:
        if len(keys) < _IN_MIN:  # a few point lookups beat planning an IN list
            return [self.get(key) for key in keys]
        encoded = [_k(key) for key in keys]
        found: dict[bytes, bytes] = {}
        for start in range(0, len(encoded), _IN_BATCH):
            chunk = encoded[start:start + _IN_BATCH]
            marks = ",".join("?" * len(chunk))
            found.update(self._conn.execute(f"SELECT key, value FROM state WHERE key IN ({marks})", chunk))
        return [found.get(key) for key in encoded]

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
    """One channel's (and chaincode's) embedded ledger."""

    def __init__(self, path: Path, channel: str, *, synchronous: str = "NORMAL") -> None:
        self.path = Path(path)
        self.channel = channel
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()
        self._writer = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._writer.execute("PRAGMA journal_mode = WAL")
        self._writer.execute(f"PRAGMA synchronous = {synchronous}")
        self._writer.execute("PRAGMA cache_size = -65536")
        # Checkpoints move WAL pages into the database file; run them beside the writers
        # (sqlite3 releases the GIL) instead of inside the commit of whichever call crosses
        # the WAL threshold.
        self._writer.execute("PRAGMA wal_autocheckpoint = 0")
        self._writer.executescript(STATE_SCHEMA + EVENT_SCHEMA)
        self._readers = threading.local()
        self._all_readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._commits = 0
        # Transaction timestamps only ever increase, across restarts too (events sort by them):
        # the last one recorded is the latest event's (every call that records anything emits one).
        self._last_ts_ns = self._writer.execute("SELECT COALESCE(MAX(ts_ns), 0) FROM events").fetchone()[0]
        self.events = EventLog(str(self.path), channel)
        self._checkpoint_due = threading.Event()
        self._stopping = False
        self._checkpointer = threading.Thread(target=self._checkpoint_loop, name=f"checkpoint-{channel}", daemon=True)
        self._checkpointer.start()

    def _checkpoint_loop(self) -> None:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            while not self._stopping:
                self._checkpoint_due.wait(timeout=1.0)
                self._checkpoint_due.clear()
                if not self._stopping:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

    # -- calls -------------------------------------------------------------------------

    def submit(
        self, creator_msp: str, function: str, argument: bytes, *, tx_id: str | None = None,
        timestamp_ns: int | None = None,
    ) -> bytes:
        """Run a contract function as one committed transaction and return its reply."""
        return self.run_write(
            lambda ws: contract.invoke(ws, function, argument),
            creator_msp=creator_msp, tx_id=tx_id, timestamp_ns=timestamp_ns,
        )

    def evaluate(self, creator_msp: str, function: str, argument: bytes) -> bytes:
        """Run a read-only contract function on a consistent snapshot."""
        return self.run_read(lambda ws: contract.invoke(ws, function, argument), creator_msp=creator_msp)

    def run_write(
        self, body: Callable[[SqliteWorldState], T], *, creator_msp: str,
        tx_id: str | None = None, timestamp_ns: int | None = None,
    ) -> T:
        """Run ``body`` on a fresh world state and commit what it wrote, atomically."""
        with self._write_lock:
            ts = timestamp_ns if timestamp_ns is not None else max(time.time_ns(), self._last_ts_ns + 1)
            info = TxInfo(tx_id or _new_tx_id(creator_msp), ts, creator_msp, self.channel, read_only=False)
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                world_state = SqliteWorldState(conn, info)
                result = body(world_state)
                self._apply(conn, world_state)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._last_ts_ns = max(self._last_ts_ns, ts)
            self._commits += 1
            if self._commits % _CHECKPOINT_EVERY == 0:
                self._checkpoint_due.set()
        if world_state.event is not None:
            self.events.notify_committed()
        return result

    def run_read(self, body: Callable[[SqliteWorldState], T], *, creator_msp: str) -> T:
        """Run ``body`` read-only on a snapshot of committed state."""
        conn = self._reader()
        info = TxInfo(_new_tx_id(creator_msp), time.time_ns(), creator_msp, self.channel, read_only=True)
        conn.execute("BEGIN")
        try:
            return body(SqliteWorldState(conn, info))
        finally:
            conn.execute("ROLLBACK")

    @staticmethod
    def _apply(conn: sqlite3.Connection, world_state: SqliteWorldState) -> None:
        puts: list[tuple[bytes, bytes]] = []
        deletes: list[tuple[bytes]] = []
        for key, value in world_state.writes.items():
            if value is None:
                deletes.append((key.encode("utf-8"),))
            else:
                puts.append((key.encode("utf-8"), value))
        if puts:
            conn.executemany("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", puts)
        if deletes:
            conn.executemany("DELETE FROM state WHERE key = ?", deletes)
        info = world_state.info
        if world_state.event is not None and world_state.event[0] == CHAINCODE_EVENT_NAME:
            append_events(conn, info.tx_id, world_state.event[1])

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

    def dump(self) -> list[tuple[bytes, bytes]]:
        """Every state entry, in key order (determinism tests compare dumps)."""
        return [(bytes(k), bytes(v)) for k, v in self._reader().execute("SELECT key, value FROM state ORDER BY key")]

    def close(self) -> None:
        """Stop followers and close connections (a final WAL checkpoint keeps the file tidy)."""
        self.events.close()
        self._stopping = True
        self._checkpoint_due.set()
        self._checkpointer.join()
        with self._write_lock:
            self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._writer.close()
        with self._readers_lock:
            for conn in self._all_readers:
                conn.close()
            self._all_readers.clear()


def _new_tx_id(creator_msp: str) -> str:
    """A Fabric-shaped transaction id: SHA-256 of a random nonce and the creator, in hex."""
    return hashlib.sha256(os.urandom(24) + creator_msp.encode()).hexdigest()
