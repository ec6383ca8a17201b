"""The event feed: a chaincode's events read from a peer into the gateway's event log, checkpointed, without gap."""

# One feed per (channel, chaincode) follows the peer's ``ChaincodeEvents`` stream. Each
# response (one block) is written in one SQLite transaction together with the checkpoint
# (block number, last transaction id, its index in the block): after a crash or a restart the
# stream resumes from that block after that transaction, so no event is skipped, and an event
# already in the log is never appended twice. When a stream fails, the feed reconnects with
# backoff, to the organization's next peer, then to another organization's.

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from fabric_protos.gateway import gateway_pb2

from orchestrator.gateway.fabric.commit import Status
from orchestrator.gateway.fabric.errors import GatewayError
from orchestrator.gateway.fabric.network import ChaincodeEvents, Network
from orchestrator.gateway.fabric.wakeups import resolve, wake_all
from orchestrator.gateway.ledger.eventlog import SCHEMA, EventLog, EventLogBehindError, append_events
from orchestrator.shared.store.transaction import CHAINCODE_EVENT_NAME

logger = logging.getLogger(__name__)

CHECKPOINT_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS fabric_checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    block_number INTEGER NOT NULL,
    tx_id TEXT NOT NULL,
    tx_index INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class Checkpoint:
    """The last transaction whose events are in the log: its block, its id, its index among the block's events."""

    block_number: int
    tx_id: str
    tx_index: int


class EventFeed:
    """Fills one :class:`EventLog` from one chaincode's events, in a background thread."""

    def __init__(self, path: Path, channel: str, chaincode: str, sources: Sequence[Network], *,
                 reconnect_backoff: float = 0.05, reconnect_backoff_max: float = 5.0) -> None:
        if not sources:
            raise ValueError(f"no organization can read the events of {channel}/{chaincode}")
        self.channel = channel
        self.chaincode = chaincode
        self._sources = list(sources)
        self._backoff = reconnect_backoff
        self._backoff_max = reconnect_backoff_max
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.executescript(SCHEMA + CHECKPOINT_SCHEMA)
        self.log = EventLog(str(path), channel, locate=self.locate)
        self._checkpoint = self._read_checkpoint()
        self._progress = threading.Lock()  # the checkpoint and the waiters
        self._block_waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._stop = threading.Event()
        self._stream: ChaincodeEvents | None = None
        self._stream_lock = threading.Lock()
        # a stream failed and the next is not open yet; not while the first one opens, so that a write
        # made just after start still waits for its events (a write must not wait on a reconnection)
        self.down = False
        self._thread = threading.Thread(target=self._run, name=f"fabric-events-{channel}-{chaincode}", daemon=True)
        self._thread.start()

    # -- state -------------------------------------------------------------------------

    def _read_checkpoint(self) -> Checkpoint | None:
        row = self._conn.execute("SELECT block_number, tx_id, tx_index FROM fabric_checkpoint WHERE id = 0").fetchone()
        return None if row is None else Checkpoint(int(row[0]), str(row[1]), int(row[2]))

    @property
    def checkpoint(self) -> Checkpoint | None:
        return self._checkpoint

    async def locate(self, tx_id: str, timeout: float) -> bool:
        """Wait until the events of transaction ``tx_id`` are in the log; False if it did not commit as valid.

        The peers say in which block the transaction committed (``CommitStatus``, from any
        organization's peer), and the log waits for that block: a subscriber that moves here
        from a replica further ahead resumes after its last event, never from a guess. Both
        waits are awaited on the caller's event loop: a waiting subscriber holds no thread.

        Raises:
            EventLogBehindError: no answer, or the block not logged, within ``timeout``.
        """
        deadline = time.monotonic() + timeout
        status: Status | None = None
        attempt = 0
        while status is None:
            network = self._sources[attempt % len(self._sources)]
            attempt += 1
            if self._stop.is_set() or time.monotonic() >= deadline:
                raise EventLogBehindError(f"transaction {tx_id} is not known on channel {self.channel} yet")
            try:
                status = await network.get_contract(self.chaincode).commit_status_async(tx_id, deadline=deadline)
            except GatewayError as exc:
                logger.info("status of %s on %s: %s", tx_id, self.channel, exc)
                await asyncio.sleep(min(self._backoff, max(0.0, deadline - time.monotonic())))
        if not status.successful:
            return False
        while not await self.wait_for_block_async(status.block_number,
                                                  max(0.0, min(deadline - time.monotonic(), 0.5))):
            if self._stop.is_set() or time.monotonic() >= deadline:
                raise EventLogBehindError(f"the event log of {self.channel}/{self.chaincode} has not reached "
                                          f"block {status.block_number} yet")
            if self.down:  # reconnecting: wait_for_block_async returns at once
                await asyncio.sleep(min(self._backoff, max(0.0, deadline - time.monotonic())))
        return True

    def _logged(self, block_number: int) -> bool:
        return self._checkpoint is not None and self._checkpoint.block_number >= block_number

    async def wait_for_block_async(self, block_number: int, timeout: float) -> bool:
        """Wait until the events of ``block_number`` are in the log (True), or ``timeout`` passes; on the
        caller's event loop, without a thread.

        Returns False at once when the stream is down: a write must not wait on a reconnection.
        """
        with self._progress:
            if self._logged(block_number) or self._stop.is_set() or self.down:
                return self._logged(block_number)
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[None] = loop.create_future()
            entry = (block_number, loop, waiter)
            self._block_waiters.append(entry)
        timer = loop.call_later(max(timeout, 0.0), resolve, (waiter,))
        try:
            await waiter
        finally:
            timer.cancel()
            with self._progress, contextlib.suppress(ValueError):
                self._block_waiters.remove(entry)
        return self._logged(block_number)

    def _notify(self) -> None:
        """Wake the waiters whose block is logged, or all when the stream is down (holding ``_progress``)."""
        if not self._block_waiters:
            return
        down = self._stop.is_set() or self.down
        waiting, woken = [], []
        for entry in self._block_waiters:
            number, loop, waiter = entry
            if down or self._logged(number):
                woken.append((loop, waiter))
            else:
                waiting.append(entry)
        wake_all(woken)
        self._block_waiters = waiting

    # -- the loop ----------------------------------------------------------------------

    def _run(self) -> None:
        backoff = self._backoff
        source_index = 0
        failed_peers: list[str] = []
        while not self._stop.is_set():
            network = self._sources[source_index % len(self._sources)]
            checkpoint = self._checkpoint
            try:
                stream = network.chaincode_events(
                    self.chaincode, start_block=checkpoint.block_number if checkpoint else 0,
                    after_transaction_id=checkpoint.tx_id if checkpoint else "", skip_peers=failed_peers,
                )
            except GatewayError as exc:
                logger.warning("cannot open the events of %s/%s: %s", self.channel, self.chaincode, exc)
                self._mark_down()
                self._stop.wait(backoff)
                continue
            except ValueError:  # the gRPC channels were closed: the gateway is shutting down
                return
            with self._stream_lock:
                if self._stop.is_set():
                    stream.close()
                    return
                self._stream = stream
                self.down = False  # a stream that cannot be served fails at its first read
            try:
                proven = False
                for response in stream:
                    if not proven:
                        network.gateway.client.report_reachable(stream.address)
                        proven = True
                    self._ingest(response)
                    backoff, failed_peers = self._backoff, []
            except GatewayError as exc:
                if self._stop.is_set():
                    return
                logger.warning("events of %s/%s from %s failed (%s), reconnecting", self.channel, self.chaincode,
                               stream.address, exc)
                network.gateway.client.report_unreachable(stream.address)
                failed_peers.append(stream.address)
                if len(failed_peers) >= len(network.gateway.client.addresses):
                    failed_peers, source_index = [], source_index + 1
            except Exception:  # never let the feed die: log and reconnect
                logger.exception("events of %s/%s: unexpected failure", self.channel, self.chaincode)
            finally:
                self._mark_down()
                stream.close()
                with self._stream_lock:
                    self._stream = None
            self._stop.wait(random.uniform(backoff / 2, backoff))
            backoff = min(backoff * 2, self._backoff_max)

    def _mark_down(self) -> None:
        """No stream until the next one opens: wake the writers waiting for their events."""
        with self._progress:
            self.down = True
            self._notify()

    def _ingest(self, response: gateway_pb2.ChaincodeEventsResponse) -> None:
        """Append one block's events and move the checkpoint, in one SQL transaction."""
        if not response.events:
            return
        batches = [(event.tx_id, event.payload) for event in response.events
                   if event.event_name == CHAINCODE_EVENT_NAME]
        last = Checkpoint(response.block_number, response.events[-1].tx_id, len(response.events) - 1)
        try:
            self._write(batches, last, skip_known=False)
        except sqlite3.IntegrityError:  # some events are already logged (a peer ignoring the resume point)
            self._write(batches, last, skip_known=True)
        self.log.notify_committed()
        with self._progress:
            self._checkpoint = last
            self._notify()

    def _write(self, batches: list[tuple[str, bytes]], last: Checkpoint, *, skip_known: bool) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for tx_id, payload in batches:
                known: set[str] = set()
                if skip_known:
                    known = {row[0] for row in conn.execute("SELECT id FROM events WHERE tx_id = ?", (tx_id,))}
                append_events(conn, tx_id, payload, known)
            conn.execute(
                "INSERT INTO fabric_checkpoint (id, block_number, tx_id, tx_index) VALUES (0, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET block_number = excluded.block_number, tx_id = excluded.tx_id,"
                " tx_index = excluded.tx_index",
                (last.block_number, last.tx_id, last.tx_index),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Stop following, wake waiters and followers, close the database."""
        self._stop.set()
        with self._stream_lock:
            if self._stream is not None:
                self._stream.close()
        with self._progress:
            self._notify()
        self._thread.join(timeout=10)
        self.log.close()
        self._conn.close()


__all__ = ["CHECKPOINT_SCHEMA", "Checkpoint", "EventFeed"]
