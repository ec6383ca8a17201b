"""Events benchmark: naming, recording and listing 100,000 events on the gateway's event log."""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from orchestrator.api import common_pb2, event_pb2
from orchestrator.gateway.ledger.eventlog import SCHEMA, EventLog, append_events
from orchestrator.shared.store.transaction import Transaction
from orchestrator.shared.store.worldstate import TxInfo

USAGE = """Run with ``.venv/bin/python benchmarks/events.py`` (not collected by pytest).

Measured, per event (microseconds), on a log of EVENTS events in transactions of PER_TX events:
  (a) naming: Transaction.emit (id and timestamp of each event), the chaincode's share
  (b) recording: append_events of each transaction's chaincode event into the SQLite log
  (c) listing: QueryEvents paged through the whole log, pages of 1,000 and of 50 (the default)
  (d) replay: the store read of SubscribeToEvents from the start (EventLog.after, batches of 500)
  (e) resume: the position of a start event id (per lookup, not per event)
"""

EVENTS = 100_000
PER_TX = 10
START_NS = 1_654_041_600 * 1_000_000_000


class _Recorder:
    """The smallest world state ``Transaction.emit`` and ``commit`` need: info and one event."""

    def __init__(self, info: TxInfo) -> None:
        self.info = info
        self.event = b""

    def put(self, key: str, value: bytes) -> None:
        raise AssertionError("events only")

    def delete(self, key: str) -> None:
        raise AssertionError("events only")

    def set_event(self, name: str, payload: bytes) -> None:
        self.event = payload


def _tx_id(n: int) -> str:
    return f"{n:064x}"


def _payloads(events: int, per_tx: int) -> tuple[list[tuple[str, bytes]], float]:
    """Chaincode event payloads of ``events // per_tx`` transactions, and the seconds spent in ``emit``."""
    template = event_pb2.Event(asset_key="2f6ce6f0-5b1a-4f5b-9d2e-5c4c1b0a3e10", asset_kind=common_pb2.ASSET_ALGO,
                               event_kind=event_pb2.EVENT_ASSET_CREATED)
    payloads: list[tuple[str, bytes]] = []
    naming = 0.0
    for n in range(events // per_tx):
        recorder = _Recorder(TxInfo(_tx_id(n), START_NS + n * 1_000, "MyOrg1MSP", "mychannel"))
        tx = Transaction(recorder)  # type: ignore[arg-type]  # a partial world state: emit and commit only
        fresh = [event_pb2.Event() for _ in range(per_tx)]
        for event in fresh:
            event.CopyFrom(template)
        started = time.perf_counter()
        for event in fresh:
            tx.emit(event)
        naming += time.perf_counter() - started
        tx.commit()
        payloads.append((recorder.info.tx_id, recorder.event))
    return payloads, naming


def _record(path: Path, payloads: list[tuple[str, bytes]]) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(SCHEMA)
    started = time.perf_counter()
    conn.execute("BEGIN")
    for tx_id, payload in payloads:
        append_events(conn, tx_id, payload)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def _list(log: EventLog, page_size: int) -> tuple[int, float]:
    started = time.perf_counter()
    count, token = 0, ""
    while True:
        page = log.query(event_pb2.QueryEventsParam(page_size=page_size, page_token=token))
        count += len(page.events)
        token = page.next_page_token
        if not token:
            break
    return count, time.perf_counter() - started


def _replay(log: EventLog) -> tuple[int, float]:
    started = time.perf_counter()
    count, position = 0, 0
    while True:
        batch = log.after(position, 500)
        if not batch:
            break
        count += len(batch)
        position = batch[-1].seq
    return count, time.perf_counter() - started


def _best(runs: int, measure: Callable[[], tuple[int, float]]) -> tuple[int, float]:
    results = [measure() for _ in range(runs)]
    return min(results, key=lambda result: result[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=USAGE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=EVENTS)
    parser.add_argument("--per-tx", type=int, default=PER_TX)
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs for (c) and (d)")
    args = parser.parse_args(argv)

    payloads, naming = _payloads(args.events, args.per_tx)
    total = len(payloads) * args.per_tx
    print(f"{total:,} events in {len(payloads):,} transactions of {args.per_tx}")
    print(f"(a) naming (emit)             {naming / total * 1e6:8.2f} us/event")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "events.sqlite"
        recording = _record(path, payloads)
        print(f"(b) recording                 {recording / total * 1e6:8.2f} us/event")
        log = EventLog(str(path), "mychannel")
        for page_size in (1_000, 50):
            count, elapsed = _best(args.runs, lambda size=page_size: _list(log, size))  # type: ignore[misc]
            assert count == total, (count, total)
            print(f"(c) QueryEvents, pages of {page_size:<5,} {elapsed / total * 1e6:6.2f} us/event"
                  f"  ({elapsed:.2f} s in all)")
        count, elapsed = _best(args.runs, lambda: _replay(log))
        assert count == total, (count, total)
        print(f"(d) replay from the start      {elapsed / total * 1e6:7.2f} us/event  ({elapsed:.2f} s in all)")
        ids = [event.id for _, payload in random.Random(7).sample(payloads, 1_000)
               for event in event_pb2.QueryEventsResponse.FromString(payload).events[-1:]]
        started = time.perf_counter()
        for event_id in ids:
            assert log.position_of(event_id) is not None
        print(f"(e) resume: position of an id {(time.perf_counter() - started) / len(ids) * 1e6:8.2f} us/lookup")
        log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
