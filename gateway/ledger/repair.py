"""Inspect and repair embedded ledgers with the gateway stopped (``orchestrator-ledger``).

A ledger the gateway refuses to serve (DATA_LOSS) has a damaged database or a redo log that
lost acknowledged calls. :func:`inspect` reports, without changing anything, what is valid and
what would be lost; :func:`repair` keeps everything valid and drops the rest only when the loss
is accepted. Damaged files are kept beside the repaired ones (``*.damaged``), for the record.

What can be known exactly: the redo log's records are numbered calls, so the calls it lost are
known by number; events are numbered too, so unreadable events are counted exactly. The state
entries on unreadable database pages cannot be counted: the report gives the key range they lie in.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.gateway.ledger.eventlog import SCHEMA as EVENT_SCHEMA
from orchestrator.gateway.ledger.redo import RedoRecord, RedoScan, call_ranges, encode, scan
from orchestrator.gateway.ledger.sqlite import CALLS_SCHEMA, STATE_SCHEMA, SqliteLedger, redo_path

_BATCH = 1000


class GatewayRunning(Exception):
    """A gateway holds the data directory: ledgers are inspected and repaired with it stopped."""


@dataclass
class TableScan:
    """What could be read of one table: rows readable and the key ranges of unreadable pages.

    Each gap is (last key read before it, first key read after it); ``None`` after it: nothing
    readable up to the end; ``None`` before it: nothing readable from the start.
    """

    readable: int = 0
    gaps: list[tuple[object, object]] = field(default_factory=list)

    @property
    def damaged(self) -> bool:
        return bool(self.gaps)


@dataclass
class DatabaseReport:
    path: Path
    size: int = 0
    problems: list[str] = field(default_factory=list)  # from quick_check, or the error opening it
    last_call: int | None = None
    state: TableScan = field(default_factory=TableScan)
    events: TableScan = field(default_factory=TableScan)

    @property
    def damaged(self) -> bool:
        return bool(self.problems) or self.state.damaged or self.events.damaged

    @property
    def events_lost(self) -> int | None:
        """Unreadable events, counted from their positions (None: unknown, the last ones are unreadable)."""
        lost = 0
        for after, resumes in self.events.gaps:
            if resumes is None:
                return None
            lost += int(str(resumes)) - int(str(after or 0)) - 1
        return lost


@dataclass
class LedgerReport:
    """What :func:`inspect` found for one ledger."""

    database: DatabaseReport
    redo: RedoScan | None

    @property
    def path(self) -> Path:
        return self.database.path

    @property
    def last_call(self) -> int:
        if self.database.last_call is not None:
            return self.database.last_call
        # unreadable: take every call of the redo log as committed rather than apply one twice
        return max((r.call for r in self.redo.records), default=0) if self.redo else 0

    @property
    def calls_to_replay(self) -> int:
        return len(self.kept_records)

    @property
    def kept_records(self) -> list[RedoRecord]:
        """The redo log's records a start applies: after the last committed call, before the first lost one."""
        if self.redo is None:
            return []
        stop = min(self.calls_lost, default=1 << 62)
        return [r for r in self.redo.records if self.last_call < r.call < stop]

    @property
    def calls_lost(self) -> list[int]:
        """Acknowledged calls the redo log lost, and those after them (they cannot be applied without them)."""
        if self.redo is None:
            return []
        missing = self.redo.missing_after(self.last_call)
        if not missing:
            return []
        later = [r.call for r in self.redo.records if r.call > missing[0]]
        return sorted(set(missing) | set(later))

    @property
    def loses_data(self) -> bool:
        return self.database.damaged or bool(self.calls_lost)

    def lines(self) -> list[str]:
        db = self.database
        out = [f"ledger {db.path}"]
        if db.problems:
            out.append(f"  database: DAMAGED ({db.size} bytes): {'; '.join(db.problems)}")
        else:
            out.append(f"  database: ok ({db.size} bytes, quick_check passed)")
        out.append(f"  last committed call: {'unreadable' if db.last_call is None else db.last_call}")
        state = db.state
        out.append(f"  state entries readable: {state.readable}" + "".join(
            f"; entries after key {_shown(after)} and before key {_shown(resumes)} are unreadable "
            "(their number is unknown)" for after, resumes in state.gaps))
        lost = db.events_lost
        gaps = ", ".join(f"{int(str(after or 0)) + 1} to {'the end' if resumes is None else int(str(resumes)) - 1}"
                         for after, resumes in db.events.gaps)
        out.append(f"  events readable: {db.events.readable}" + (
            "" if not db.events.damaged else
            f"; {'an unknown number of' if lost is None else lost} events unreadable (positions {gaps})"))
        redo = self.redo
        if redo is None:
            out.append("  redo log: none")
        else:
            out.append(f"  redo log: {redo.size} bytes, {len(redo.records)} valid records, "
                       f"{self.calls_to_replay} calls to apply at the next start")
            for d in redo.damage:
                out.append(f"  redo log damage: {d.length} bytes at offset {d.offset}, followed by "
                           f"{d.records_after} valid records")
            if redo.torn_bytes:
                out.append(f"  redo log torn tail: {redo.torn_bytes} bytes at offset {redo.torn_offset} "
                           f"({redo.torn_records} incomplete record(s), never acknowledged: dropped)")
            if self.calls_lost:
                out.append(f"  acknowledged calls lost: {len(self.calls_lost)} (calls {call_ranges(self.calls_lost)}; "
                           "those after a lost call cannot be applied without it)")
        if self.loses_data:
            out.append("  verdict: DAMAGED: 'orchestrator-ledger repair --accept-loss' keeps what is valid "
                       "and drops the rest")
        else:
            out.append("  verdict: ok" + (f" ({self.calls_to_replay} calls applied at the next start)"
                                          if self.calls_to_replay else ""))
        return out


def find_ledgers(path: Path) -> list[Path]:
    """The ledger database files at ``path``: the file itself, or every ``*.sqlite`` under a data directory."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.rglob("*.sqlite") if p.is_file())
    return [path]


@contextlib.contextmanager
def stopped_gateway(path: Path) -> Iterator[None]:
    """Hold the data directory's lock (``DATA_DIR/.lock``) so that no gateway starts meanwhile.

    Raises:
        GatewayRunning: a gateway holds it.
    """
    path = Path(path).resolve()
    candidates = [path, *path.parents][:3] if path.is_dir() else list(path.parents)[:3]
    lock = next((c / ".lock" for c in candidates if (c / ".lock").exists()), None)
    if lock is None:
        yield
        return
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise GatewayRunning(f"a gateway is using {lock.parent}: stop it first") from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _open_damaged(path: Path) -> sqlite3.Connection:
    """A read-only connection that reads what it can of a damaged file.

    ``writable_schema`` lets SQLite open a file shorter than its header says (cut short), reading
    the pages that are there, instead of refusing the whole file; nothing is written.
    """
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.execute("PRAGMA writable_schema = ON")
    return conn


def inspect(path: Path) -> LedgerReport:
    """Read a ledger (its database and redo log) and report what is valid; changes nothing."""
    path = Path(path)
    database = DatabaseReport(path, path.stat().st_size if path.exists() else 0)
    try:
        conn = _open_damaged(path)
    except sqlite3.Error as exc:
        database.problems.append(f"cannot open: {exc}")
        conn = None
    if conn is not None:
        try:
            _inspect_database(conn, database)
        finally:
            conn.close()
    redo_file = redo_path(path)
    redo = scan(redo_file) if redo_file.exists() else None
    return LedgerReport(database, redo)


def _inspect_database(conn: sqlite3.Connection, report: DatabaseReport) -> None:
    try:
        problems = [line for row in conn.execute("PRAGMA quick_check(20)") for line in str(row[0]).splitlines()]
        if problems != ["ok"]:
            shown = [line for line in problems if not line.startswith("***")][:3]
            report.problems.append("; ".join(shown) + (f" (and {len(problems) - 1 - len(shown)} more)"
                                                        if len(problems) - 1 > len(shown) else ""))
    except sqlite3.Error as exc:
        report.problems.append(str(exc))
    try:
        row = conn.execute("SELECT last FROM calls WHERE id = 0").fetchone()
        report.last_call = 0 if row is None else int(row[0])
    except sqlite3.Error:
        report.last_call = None
    report.state = _scan_table(conn, "state", "key")
    report.events = _scan_table(conn, "events", "seq")


def _scan_table(conn: sqlite3.Connection, table: str, key: str, sink: list[tuple[object, ...]] | None = None
                ) -> TableScan:
    """Read ``table`` in key order; past a page that fails, find the next key that reads and go on from there.

    Rows are read in batches, one by one near a failure; keys past it are probed at growing
    distances (exponentially, then by bisection back towards it), each probe a single seek: the
    cost grows with the number of damaged pages, not with the table.
    """
    result = TableScan()
    integer = key == "seq"
    last: object = None  # the last key read
    start: object = None  # where reading goes on (inclusive), after a gap
    batch = _BATCH
    while True:
        if start is not None:
            where, args = f"WHERE {key} >= ?", [start]
        elif last is not None:
            where, args = f"WHERE {key} > ?", [last]
        else:
            where, args = "", []
        try:
            rows = conn.execute(f"SELECT * FROM {table} {where} ORDER BY {key} LIMIT {batch}", args).fetchall()
        except sqlite3.Error:
            if batch > 1:
                batch = 1  # read up to the failing row
                continue
            # it failed right where it should go on: look past that key
            origin = start if start is not None else last if last is not None else 0 if integer else b""
            resumes = _next_readable(conn, table, key, origin, integer)
            result.gaps.append((last, resumes))
            if resumes is None:
                return result
            start, batch = resumes, _BATCH
            continue
        if sink is not None:
            sink.extend(rows)
        result.readable += len(rows)
        if rows:
            last, start = rows[-1][0], None
        if len(rows) < batch:
            return result
        if batch == 1:
            batch = min(_BATCH, 64)  # past the failure region: back to batches, smaller at first


def _first_key_at_or_after(conn: sqlite3.Connection, table: str, key: str, probe: object) -> object:
    """The first key at or after ``probe`` (``None``: none); raises when the seek meets a damaged page."""
    row = conn.execute(f"SELECT {key} FROM {table} WHERE {key} >= ? ORDER BY {key} LIMIT 1", [probe]).fetchone()
    return None if row is None else row[0]


_KEY_BYTES = 24


def _as_number(value: object, integer: bool) -> int:
    if integer:
        return int(str(value))
    assert isinstance(value, bytes)
    return int.from_bytes(value[:_KEY_BYTES].ljust(_KEY_BYTES, b"\0"), "big")


def _as_key(number: int, integer: bool) -> object:
    if integer:
        return number
    return number.to_bytes(_KEY_BYTES, "big").rstrip(b"\0") or b"\0"


def _next_readable(conn: sqlite3.Connection, table: str, key: str, last: object, integer: bool) -> object:
    """The first key after ``last`` whose seek reads, probing further and further (``None``: none up to the end)."""
    base = _as_number(last, integer)
    limit = (1 << 62) if integer else (1 << (8 * _KEY_BYTES)) - 1
    step, found, failed_at = 1, None, 0
    while base + step <= limit:
        try:
            found = _first_key_at_or_after(conn, table, key, _as_key(base + step, integer))
            break
        except sqlite3.Error:
            failed_at = step
            step *= 2
    if found is None:
        return None
    low, high = failed_at, step  # a probe at base + high reads, one at base + low does not
    while high - low > 1:
        middle = (low + high) // 2
        try:
            candidate = _first_key_at_or_after(conn, table, key, _as_key(base + middle, integer))
        except sqlite3.Error:
            low = middle
            continue
        high, found = middle, candidate
    return found


def repair(path: Path, *, accept_loss: bool) -> tuple[LedgerReport, list[str]]:
    """Repair one ledger: keep everything valid; drop what is damaged only with ``accept_loss``.

    Returns the report of what was found and the actions taken (none when the loss is not accepted).
    """
    report = inspect(path)
    if report.loses_data and not accept_loss:
        return report, []
    actions: list[str] = []
    if report.database.damaged:
        actions += _salvage_database(Path(path), report)
    redo = report.redo
    if redo is not None and (redo.damage or redo.torn_bytes or report.calls_lost):
        kept = report.kept_records
        redo_file = redo_path(Path(path))
        shutil.copy2(redo_file, _aside(redo_file))
        redo_file.write_bytes(b"".join(encode(record) for record in kept))
        actions.append(f"redo log rewritten with its {len(kept)} calls to apply; the damaged one kept as "
                       f"{_aside(redo_file).name}")
        if report.calls_lost:
            actions.append(f"{len(report.calls_lost)} acknowledged calls dropped: {call_ranges(report.calls_lost)}")
    ledger = SqliteLedger(Path(path), "repair")  # applies the redo log and checks the database, as a start does
    try:
        if ledger.state.name != "UP":
            raise RuntimeError(f"the repaired ledger does not open: {ledger.status().cause}")
        actions.append(f"{report.calls_to_replay} calls applied from the redo log; the ledger opens cleanly")
    finally:
        ledger.close()
    return report, actions


def _salvage_database(path: Path, report: LedgerReport) -> list[str]:
    """Copy what is readable of a damaged database into a new one; keep the damaged files aside."""
    fresh = path.with_name(path.name + ".salvage")
    for leftover in (fresh, Path(f"{fresh}-wal"), Path(f"{fresh}-shm")):
        leftover.unlink(missing_ok=True)
    state: list[tuple[object, ...]] = []
    events: list[tuple[object, ...]] = []
    source = _open_damaged(path)
    try:
        _scan_table(source, "state", "key", state)
        _scan_table(source, "events", "seq", events)
    finally:
        source.close()
    target = sqlite3.connect(fresh, isolation_level=None)
    try:
        target.executescript(STATE_SCHEMA + EVENT_SCHEMA + CALLS_SCHEMA)
        target.execute("BEGIN")
        target.executemany("INSERT OR REPLACE INTO state VALUES (?, ?)", state)
        target.executemany("INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", events)
        target.execute("INSERT OR REPLACE INTO calls (id, last) VALUES (0, ?)", (report.last_call,))
        target.execute("COMMIT")
    finally:
        target.close()
    for suffix in ("", "-wal", "-shm"):
        damaged = Path(f"{path}{suffix}")
        if damaged.exists():
            os.replace(damaged, _aside(damaged))
    os.replace(fresh, path)
    return [f"database rebuilt from what was readable: {len(state)} state entries, {len(events)} events; "
            f"the damaged file kept as {_aside(path).name}"]


def _aside(path: Path) -> Path:
    return path.with_name(path.name + ".damaged")


def _shown(key: object) -> str:
    if isinstance(key, bytes):
        return repr(key.decode("utf-8", "replace"))
    return repr(key) if key is not None else "(end)"


__all__ = ["GatewayRunning", "LedgerReport", "find_ledgers", "inspect", "repair", "stopped_gateway"]
