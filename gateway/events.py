"""Event subscriptions: history from the store, then live events, without gap or duplicate."""

# Per event log, one *feed* thread follows the log and hands each new batch to the event loop,
# which appends it to every live subscriber's buffer. Writers only notify a condition: nothing
# they do waits for a subscriber. Positions are ledger sequence numbers, so the switch from
# history (read from the store) to the buffer can neither skip nor repeat an event.
#
# Memory is bounded in bytes per subscriber: history is read in batches of at most its budget,
# and a live subscriber whose buffer would pass its budget (its client reads more slowly than
# the ledger writes, or not at all) is *exhausted*: the buffer is dropped at once and, once the
# events already handed to gRPC are through, the stream ends with RESOURCE_EXHAUSTED naming the
# event id to resume from. The client has then received every event up to that id: no gap.

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final

import grpc

from orchestrator.api import event_pb2
from orchestrator.gateway.invoke.base import InvocationError
from orchestrator.gateway.ledger.eventlog import EventLog, LoggedEvent
from orchestrator.gateway.metrics import GatewayMetrics

logger = logging.getLogger(__name__)

#: Events read from the store per query (history replay and feed) ...
READ_BATCH: Final = 500
#: ... and their bytes at most, for the feed (history reads take the subscriber's budget).
FEED_BATCH_BYTES: Final = 4 * 1024 * 1024
#: Bytes of events a subscriber may have waiting (live buffer, or a batch of history) by default.
BUFFER_BYTES: Final = 8 * 1024 * 1024
_POLL_SECONDS: Final = 0.5


def newest_position(log: EventLog) -> int:
    """Sequence number of the last committed event (0 when none), by bisection on ``wait_beyond(…, 0)``.

    ``EventLog`` answers "is there an event after n?" without reading any event, so finding
    the end of a long log costs a few dozen lock acquisitions, not a scan.
    """
    low, high = 0, 1
    while log.wait_beyond(high - 1, 0):  # some event after high - 1: the end is at least high
        low, high = high, high * 2
    # invariant: an event at position >= low exists (or low == 0), none after high - 1
    while high - low > 1:
        middle = (low + high) // 2
        if log.wait_beyond(middle - 1, 0):
            low = middle
        else:
            high = middle
    return low


class _Subscriber:
    """One stream's state; touched on the event loop only.

    ``delivered`` is the last position sent to the stream (``delivered_id`` its event id, ``""``
    before the first event of the log); ``position`` the last one sent or buffered. Live, the
    buffer holds exactly the events in (delivered, position], ``buffered_bytes`` of them.
    """

    def __init__(self, position: int, start_event_id: str, buffer_bytes: int) -> None:
        self.buffer_bytes = buffer_bytes
        self.delivered = position
        self.delivered_id = start_event_id
        self.position = position
        self.buffer: collections.deque[tuple[LoggedEvent, int]] = collections.deque()
        self.buffered_bytes = 0
        self.live = False
        self.exhausted = False
        self.wakeup = asyncio.Event()

    def offer(self, batch: list[LoggedEvent]) -> None:
        """Buffer the events not seen yet; past the byte budget drop the buffer and mark the subscriber exhausted."""
        if not self.live or self.exhausted:
            return
        for logged in batch:
            if logged.seq <= self.position:
                continue
            size = logged.event.ByteSize()
            if self.buffered_bytes + size > self.buffer_bytes and self.buffer:
                self.exhausted = True
                self.buffer.clear()  # freed now, whether or not the client ever reads again
                self.buffered_bytes = 0
                break
            self.buffer.append((logged, size))
            self.buffered_bytes += size
            self.position = logged.seq
        self.wakeup.set()

    def resume_hint(self) -> str:
        """How the client resumes without gap: from the last event it received."""
        if self.delivered_id:
            return f'resume with start_event_id "{self.delivered_id}"'
        return "resume without start_event_id (no event was delivered)"


class _Feed:
    """Follows one event log in a thread and publishes its new events on the event loop."""

    def __init__(self, log: EventLog, loop: asyncio.AbstractEventLoop) -> None:
        self.log = log
        self.loop = loop
        self.subscribers: set[_Subscriber] = set()
        self.published = newest_position(log)  # last position handed to subscribers
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name=f"events-{log.channel}", daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        position = self.published
        while not self._stop.is_set():
            try:
                if not self.log.wait_beyond(position, _POLL_SECONDS):
                    if self.log.closed:
                        return
                    continue
                batch = self.log.after(position, READ_BATCH, FEED_BATCH_BYTES)
            except Exception:  # keep following; subscribers can still read the store
                logger.exception("reading the event log of channel %s failed", self.log.channel)
                self._stop.wait(_POLL_SECONDS)
                continue
            if not batch:
                continue
            position = batch[-1].seq
            try:
                done = asyncio.run_coroutine_threadsafe(self._publish(batch), self.loop)
            except RuntimeError:  # the loop is closed
                return
            while not self._stop.is_set():  # one batch in flight: the feed never outruns the loop
                try:
                    done.result(_POLL_SECONDS)
                    break
                except concurrent.futures.TimeoutError:
                    continue
                except concurrent.futures.CancelledError:
                    return

    async def _publish(self, batch: list[LoggedEvent]) -> None:
        self.published = batch[-1].seq
        for subscriber in self.subscribers:
            subscriber.offer(batch)

    def try_go_live(self, subscriber: _Subscriber) -> bool:
        """Switch a subscriber from the store to the buffer once it has read all that was published.

        Runs on the loop thread without awaiting, so no batch can be published in between:
        every later batch holds only positions after ``published``, which ``offer`` buffers.
        """
        if subscriber.position < self.published:
            return False
        subscriber.live = True
        subscriber.wakeup.clear()
        return True

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


class EventHub:
    """Every subscription of one gateway; ``run(fn, *args)`` awaits blocking store reads off the event loop."""

    def __init__(
        self, run: Callable[..., Awaitable[Any]], *, buffer_bytes: int = BUFFER_BYTES,
        metrics: GatewayMetrics | None = None,
    ) -> None:
        self._run = run
        self.buffer_bytes = buffer_bytes
        self.metrics = metrics or GatewayMetrics()
        self._feeds: dict[EventLog, _Feed] = {}
        self._subscribers: set[_Subscriber] = set()
        self._closed = False

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    async def subscribe(self, log: EventLog, position: int, start_event_id: str = "") -> AsyncIterator[event_pb2.Event]:
        """Events after ``position`` (the event ``start_event_id``), history then live, until :meth:`close`.

        Raises:
            InvocationError: RESOURCE_EXHAUSTED, the consumer fell more than the byte budget behind;
                the message names the event id to resume from.
        """
        if self._closed:
            return
        feed = self._feeds.get(log)
        if feed is None:
            feed = self._feeds[log] = _Feed(log, asyncio.get_running_loop())
        subscriber = _Subscriber(position, start_event_id, self.buffer_bytes)
        feed.subscribers.add(subscriber)
        self._subscribers.add(subscriber)
        open_streams = self.metrics.subscribers.labels(log.channel)
        open_streams.inc()
        try:
            while not self._closed:
                if not subscriber.live:  # history
                    batch = await self._run(log.after, subscriber.delivered, READ_BATCH, self.buffer_bytes)
                    for logged in batch:
                        if self._closed:
                            return
                        subscriber.position = logged.seq
                        yield self._sent(log, subscriber, logged)
                    feed.try_go_live(subscriber)
                elif subscriber.exhausted:
                    self.metrics.streams_exhausted.labels(log.channel).inc()
                    raise InvocationError(
                        grpc.StatusCode.RESOURCE_EXHAUSTED,
                        f"event stream ended: the subscriber fell more than {self.buffer_bytes} bytes of events "
                        f"behind (--subscriber-buffer-bytes); {subscriber.resume_hint()}",
                    )
                elif subscriber.buffer:
                    logged, size = subscriber.buffer.popleft()
                    subscriber.buffered_bytes -= size
                    yield self._sent(log, subscriber, logged)
                else:
                    await subscriber.wakeup.wait()
                    subscriber.wakeup.clear()
        finally:
            open_streams.dec()
            feed.subscribers.discard(subscriber)
            self._subscribers.discard(subscriber)
            if not feed.subscribers and self._feeds.get(log) is feed:
                feed.stop()  # nobody listens: stop reading; the next subscriber starts a new feed
                del self._feeds[log]

    async def resume_position(self, log: EventLog, event_id: str, wait: float) -> int | None:
        """The position to resume a stream after ``event_id``; ``None`` when no such event exists.

        Only the lookups take a worker, briefly: waiting for another replica's transaction to
        reach this log (up to ``wait`` seconds) happens on the event loop, so any number of
        subscribers can wait without holding a thread, and ordinary calls keep theirs.

        Raises:
            EventLogBehindError: the transaction may exist but its events are not here after ``wait``.
        """
        found: tuple[int | None, str | None] = await self._run(log.lookup, event_id)
        position, tx_id = found
        if position is not None or tx_id is None:
            return position
        if not await log.locate(tx_id, wait):  # it did not commit as valid
            return None
        located: int | None = await self._run(log.position_of, event_id)
        return located

    async def query(self, log: EventLog, param: event_pb2.QueryEventsParam, max_bytes: int, wait: float
                    ) -> event_pb2.QueryEventsResponse:
        """``QueryEvents``; a page token pinned further than this log has come waits up to ``wait`` seconds
        for it on the event loop, holding no thread.

        Raises:
            EventLogBehindError: the token's snapshot is not in this log after ``wait``.
            InvalidAssetError: the page token is not one this gateway issued.
        """
        pinned = log.snapshot_of(param.page_token)
        if pinned is not None:
            await log.reach(pinned, wait)
        response: event_pb2.QueryEventsResponse = await self._run(log.query, param, max_bytes)
        return response

    def _sent(self, log: EventLog, subscriber: _Subscriber, logged: LoggedEvent) -> event_pb2.Event:
        """Record ``logged`` as delivered (it is handed to gRPC right after) and return its event."""
        subscriber.delivered, subscriber.delivered_id = logged.seq, logged.event.id
        self.metrics.events_streamed.labels(log.channel).inc()
        return logged.event

    def close(self) -> None:
        """End every subscription (their streams finish with OK) and stop the feeds."""
        self._closed = True
        for subscriber in self._subscribers:
            subscriber.wakeup.set()
        for feed in self._feeds.values():
            feed.stop()

    def join(self, timeout: float = 2.0) -> None:
        """Wait for the feed threads to end (after :meth:`close`)."""
        for feed in list(self._feeds.values()):
            feed.join(timeout)
