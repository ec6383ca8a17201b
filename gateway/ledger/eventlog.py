"""The event log: every orchestrator event in ledger order, queryable and followable.

Embedded mode writes it in the same SQLite transaction as the world state, so an event is
recorded if and only if its call committed. Fabric mode fills it from the peer's chaincode
events, together with a checkpoint (block, transaction index) in the same commit, so a
restarted gateway resumes without gap or duplicate. Either way the gateway serves
``QueryEvents`` (EVT-7…EVT-10) and ``SubscribeToEvents`` from here.

A position (``seq``) is an event's rank in the ledger: blocks, transactions in a block, events in
emission order. Every replica fills its log from the same chain in that order, so a position
means the same event on every replica, and a replica that has not recorded it yet can wait.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import itertools
import json
import sqlite3
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from google.protobuf import timestamp_pb2

from orchestrator.api import common_pb2, event_pb2
from orchestrator.shared.errors import InvalidAssetError
from orchestrator.shared.events import transaction_id_of
from orchestrator.shared.store.documents import DEFAULT_MAX_RESPONSE_BYTES, PageRequest, message_bytes, take_page
from orchestrator.shared.store.transaction import decode_event_records

# Every event is one row plus one entry per index: the two indexes serve the queries backends
# make (a time window, one asset's history); kind and metadata filters narrow those scans.
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tx_id TEXT NOT NULL,
    ts_ns INTEGER NOT NULL,
    asset_key TEXT NOT NULL,
    asset_kind INTEGER NOT NULL,
    event_kind INTEGER NOT NULL,
    metadata TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_time ON events (ts_ns, id);
CREATE INDEX IF NOT EXISTS events_by_asset ON events (asset_key, ts_ns, id);
"""

#: Bytes of recent events kept in memory for followers by default.
RECENT_EVENTS_BYTES: Final = 4 * 1024 * 1024


#: ``await locate(tx_id, timeout)``: wait until a committed transaction's events are in the log (True), or
#: learn that the transaction did not commit as valid (False); raises :class:`EventLogBehindError` on timeout.
#: A coroutine: the wait holds no thread, however many callers wait and however long.
Locator = Callable[[str, float], Awaitable[bool]]


class EventLogBehindError(Exception):
    """This log has not recorded yet what a request refers to (a page token or an event of another replica)."""


@dataclass(frozen=True)
class LoggedEvent:
    """An event and its position in the ledger."""

    seq: int
    event: event_pb2.Event


def _ts_ns(timestamp: timestamp_pb2.Timestamp) -> int:
    return timestamp.seconds * 1_000_000_000 + timestamp.nanos


def append_events(
    conn: sqlite3.Connection, tx_id: str, payload: bytes, skip_ids: Collection[str] = (), *,
    first_seq: int | None = None,
) -> list[bytes]:
    """Record the events of one chaincode event payload (in emission order) on ``conn``.

    Runs inside the caller's SQL transaction; events whose id is in ``skip_ids`` (already logged)
    are left out. Positions follow the last one unless ``first_seq`` gives the first. Returns the
    recorded events, serialized.
    """
    records = [(e, raw) for e, raw in decode_event_records(payload) if e.id not in skip_ids]
    conn.executemany(
        "INSERT INTO events (seq, id, tx_id, ts_ns, asset_key, asset_kind, event_kind, metadata, payload)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (None if first_seq is None else first_seq + n, e.id, tx_id, _ts_ns(e.timestamp), e.asset_key,
             e.asset_kind, e.event_kind, json.dumps(dict(e.metadata), sort_keys=True) if e.metadata else "{}", raw)
            for n, (e, raw) in enumerate(records)
        ],
    )
    return [raw for _, raw in records]


class EventLog:
    """Read side of the event log of one channel (and chaincode), over its SQLite file.

    ``flush`` (the embedded ledger's) commits acknowledged calls that are still in its redo
    log before the log is read from SQLite. Followers rarely need that: the events of the
    latest calls are kept in memory (``cache_bytes`` of them, :data:`RECENT_EVENTS_BYTES` by
    default), as the writer reported them, and served from there.
    """

    def __init__(
        self, path: str, channel: str, *, flush: Callable[[], None] | None = None, last_seq: int | None = None,
        on_error: Callable[[sqlite3.Error], BaseException] | None = None, cache_bytes: int | None = None,
        locate: Locator | None = None,
    ) -> None:
        self.path = path
        self.channel = channel
        self._flush = flush
        self._on_error = on_error  # the embedded ledger's: a storage error becomes its fault
        self._locate = locate
        self._local = threading.local()
        self._changed = threading.Condition()
        self._async_waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._last_seq = self._max_seq() if last_seq is None else last_seq
        self._recent: deque[tuple[int, bytes]] = deque()  # (seq, event), ends at _last_seq
        self._recent_bytes = 0
        self._cache_bytes = RECENT_EVENTS_BYTES if cache_bytes is None else cache_bytes
        self._closed = False

    # -- connections -------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
        return conn

    def _committed_reader(self) -> sqlite3.Connection:
        """A connection whose next read sees every acknowledged event."""
        if self._flush is not None:
            self._flush()
        return self._reader()

    def _read(self, sql: str, args: Sequence[object] = ()) -> list[Any]:
        """Rows of a query on committed events; a storage error is reported as the ledger's fault."""
        try:
            return self._committed_reader().execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            if self._on_error is None:
                raise
            raise self._on_error(exc) from exc

    def _max_seq(self) -> int:
        return int(self._read("SELECT COALESCE(MAX(seq), 0) FROM events")[0][0])

    # -- notifications -----------------------------------------------------------------

    def notify_committed(self, recorded: Sequence[tuple[int, bytes]] = ()) -> None:
        """Wake followers after new events were acknowledged.

        ``recorded`` are the new events (position, serialized event), all of them and in order;
        without them the newest position is read from the store.
        """
        with self._changed:
            recent = self._recent
            if recorded and recorded[0][0] == self._last_seq + 1:
                recent.extend(recorded)
                self._recent_bytes += sum(len(raw) for _, raw in recorded)
                while self._recent_bytes > self._cache_bytes and recent:
                    self._recent_bytes -= len(recent.popleft()[1])
                self._last_seq = recorded[-1][0]
            else:
                recent.clear()
                self._recent_bytes = 0
                self._last_seq = self._max_seq()
            self._changed.notify_all()
            self._wake_async_waiters()

    def close(self) -> None:
        """Release followers: waiting calls return at once."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
            self._wake_async_waiters()

    def _wake_async_waiters(self) -> None:
        """Wake the coroutines whose position is logged now, or all once closed (holding ``_changed``)."""
        if not self._async_waiters:
            return
        waiting = []
        for entry in self._async_waiters:
            seq, loop, waiter = entry
            if self._closed or self._last_seq > seq:
                with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits any more
                    loop.call_soon_threadsafe(_wake, waiter)
            else:
                waiting.append(entry)
        self._async_waiters = waiting

    @property
    def cached_bytes(self) -> int:
        """Bytes of the recent events kept in memory."""
        with self._changed:
            return sum(len(raw) for _, raw in self._recent)

    @property
    def closed(self) -> bool:
        return self._closed

    def wait_beyond(self, seq: int, timeout: float) -> bool:
        """Block until an event after ``seq`` is committed (True) or timeout/close (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._closed or self._last_seq > seq, timeout) and not self._closed

    async def wait_beyond_async(self, seq: int, timeout: float) -> bool:
        """:meth:`wait_beyond` for a coroutine: it waits on its event loop, without a thread."""
        with self._changed:
            if self._closed or self._last_seq > seq:
                return not self._closed
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[None] = loop.create_future()
            entry = (seq, loop, waiter)
            self._async_waiters.append(entry)
        try:
            await asyncio.wait_for(waiter, max(timeout, 0.0))
        except TimeoutError:
            pass
        finally:
            with self._changed, contextlib.suppress(ValueError):
                self._async_waiters.remove(entry)
        with self._changed:
            return self._last_seq > seq and not self._closed

    # -- reads -------------------------------------------------------------------------

    def _event(self, payload: bytes) -> event_pb2.Event:
        event = event_pb2.Event.FromString(payload)
        event.channel = self.channel  # EVT-3
        return event

    def after(self, seq: int, limit: int = 500, max_bytes: int | None = None) -> list[LoggedEvent]:
        """Events after position ``seq``, in ledger order: ``limit`` at most, and ``max_bytes`` (at least one)."""
        with self._changed:
            recent = self._recent
            if recent and recent[0][0] <= seq + 1:  # the recent events reach back to seq: no read
                first = seq + 1 - recent[0][0]
                rows = list(_within(itertools.islice(recent, first, first + limit), max_bytes))
                return [LoggedEvent(s, self._event(raw)) for s, raw in rows]
        rows = self._read("SELECT seq, payload FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))
        return [LoggedEvent(s, self._event(raw)) for s, raw in _within(rows, max_bytes)]

    def position_of(self, event_id: str) -> int | None:
        """Ledger position of an event id, or ``None`` when unknown."""
        rows = self._read("SELECT seq FROM events WHERE id = ?", (event_id,))
        return int(rows[0][0]) if rows else None

    def lookup(self, event_id: str) -> tuple[int | None, str | None]:
        """Where to resume a stream after ``event_id``: its position, or else the transaction to :meth:`locate`.

        An id this log does not hold yet may be one another replica already served: its
        transaction id says which transaction to wait for (EVT-2). ``(None, None)``: no such
        event can appear here (a malformed id, a transaction logged without it, or no locator).
        """
        position = self.position_of(event_id)
        if position is not None:
            return position, None
        tx_id = transaction_id_of(event_id)
        if tx_id is None or self._locate is None:
            return None, None
        if self._read("SELECT 1 FROM events WHERE tx_id = ? LIMIT 1", (tx_id,)):  # logged, without that event
            return None, None
        return None, tx_id

    async def locate(self, tx_id: str, wait: float) -> bool:
        """Wait, without a thread, up to ``wait`` seconds until transaction ``tx_id``'s events are in this log.

        False when the transaction did not commit as valid (or this log cannot locate transactions).

        Raises:
            EventLogBehindError: the transaction may exist but its events are not here after ``wait``.
        """
        if self._locate is None:
            return False
        return await self._locate(tx_id, wait)

    async def reach(self, position: int, wait: float) -> None:
        """Return once the log holds ``position``, waiting without a thread.

        Raises:
            EventLogBehindError: not within ``wait`` seconds.
        """
        if position > self._last_seq and not await self.wait_beyond_async(position - 1, wait):
            raise self._behind(position)

    def _reach(self, position: int) -> None:
        if position > self._last_seq and not self.wait_beyond(position - 1, 0):
            raise self._behind(position)

    def _behind(self, position: int) -> EventLogBehindError:
        return EventLogBehindError(f"the event log of channel {self.channel} holds {self._last_seq} events, "
                                   f"the request refers to event {position}: it is still catching up")

    @staticmethod
    def snapshot_of(page_token: str) -> int | None:
        """The position a page token's listing is pinned to (``None``: no token, or one without a snapshot).

        Raises:
            InvalidAssetError: the page token is not one this gateway issued.
        """
        return _decode_cursor(page_token)[2] if page_token else None

    def query(self, param: event_pb2.QueryEventsParam, max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
              ) -> event_pb2.QueryEventsResponse:
        """``QueryEvents``: filters EVT-7, order EVT-8, keyset pagination (PAGE-1, PAGE-2) on a pinned
        snapshot, within ``max_bytes``.

        The first page pins the newest position; every page of the listing holds only events up
        to it, so writers committing meanwhile neither shift pages nor slip in behind the cursor.
        A token pinned by another replica further than this log has come is refused at once: wait
        with :meth:`reach` (:meth:`snapshot_of` the token) before, off any thread.

        Raises:
            InvalidAssetError: the page token is not one this gateway issued.
            EventLogBehindError: the token's snapshot is not in this log.
        """
        descending = param.sort == common_pb2.DESCENDING
        where, args = _filter_clause(param.filter)
        if param.page_token:
            ts_ns, event_id, pinned = _decode_cursor(param.page_token)
            if pinned is not None:
                self._reach(pinned)
            where.append(f"(ts_ns, id) {'<=' if descending else '>='} (?, ?)")
            args += [ts_ns, event_id]
        else:
            pinned = self._max_seq()
        if pinned is not None:
            where.append("seq <= ?")
            args.append(pinned)
        direction = "DESC" if descending else "ASC"
        page = PageRequest(param.page_token, param.page_size, max_bytes)
        size = page.effective_size
        sql = (
            "SELECT ts_ns, id, payload FROM events"
            + (" WHERE " + " AND ".join(where) if where else "")
            + f" ORDER BY ts_ns {direction}, id {direction} LIMIT ?"
        )
        rows = self._read(sql, [*args, size + 1])
        candidates = ((self._event(payload), (ts_ns, event_id)) for ts_ns, event_id, payload in rows)
        events, token = take_page(candidates, page, message_bytes, lambda cursor: _encode_cursor(*cursor, pinned))
        return event_pb2.QueryEventsResponse(events=events, next_page_token=token)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _within(rows: Iterable[tuple[int, bytes]], max_bytes: int | None) -> Iterator[tuple[int, bytes]]:
    """The first ``rows`` (position, serialized event) whose events fit in ``max_bytes``, at least one."""
    used = 0
    for row in rows:
        used += len(row[1])
        if max_bytes is not None and used > max_bytes and used > len(row[1]):
            return
        yield row


def _filter_clause(flt: event_pb2.EventQueryFilter) -> tuple[list[str], list[object]]:
    where: list[str] = []
    args: list[object] = []
    if flt.asset_key:
        where.append("asset_key = ?")
        args.append(flt.asset_key)
    if flt.asset_kind:
        where.append("asset_kind = ?")
        args.append(flt.asset_kind)
    if flt.event_kind:
        where.append("event_kind = ?")
        args.append(flt.event_kind)
    for key, value in sorted(flt.metadata.items()):
        where.append("json_extract(metadata, ?) = ?")
        args += [f"$.{json.dumps(key)}", value]
    if flt.HasField("start"):
        where.append("ts_ns >= ?")
        args.append(_ts_ns(flt.start))
    if flt.HasField("end"):
        where.append("ts_ns <= ?")
        args.append(_ts_ns(flt.end))
    return where, args


def _encode_cursor(ts_ns: int, event_id: str, pinned: int | None) -> str:
    """The next page's first event (time, id) and the listing's snapshot position."""
    text = f"{ts_ns}/{event_id}" if pinned is None else f"{ts_ns}/{event_id}/{pinned}"
    return base64.urlsafe_b64encode(text.encode()).decode("ascii")


def _decode_cursor(token: str) -> tuple[int, str, int | None]:
    """Inverse of :func:`_encode_cursor`; tokens of earlier versions, without a snapshot, are still read."""
    try:
        parts = base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8").split("/")
        if len(parts) not in (2, 3) or not parts[1]:
            raise ValueError("not a cursor")
        pinned = int(parts[2]) if len(parts) == 3 else None
        if pinned is not None and pinned < 0:
            raise ValueError("negative position")
        return int(parts[0]), parts[1], pinned
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise InvalidAssetError(f"invalid page token {token!r}") from exc


__all__: Sequence[str] = ["SCHEMA", "EventLog", "EventLogBehindError", "Locator", "LoggedEvent", "append_events"]
