"""The stand-in ordering service: transactions of each channel cut into blocks by count or by a batch timeout."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from tests.fabric.ledger import ChannelLedger


class OrdererUnavailableError(Exception):
    """The ordering service is stopped."""


class _ChannelOrderer:
    def __init__(self, ledger: ChannelLedger, batch_timeout: float, max_batch: int) -> None:
        self.ledger = ledger
        self.batch_timeout = batch_timeout
        self.max_batch = max_batch
        self.pending: list[bytes] = []
        self.first_at = 0.0
        self.cond = threading.Condition()
        self.held = 0
        self.running = True
        self.thread = threading.Thread(target=self._run, name=f"orderer-{ledger.channel}", daemon=True)
        self.thread.start()

    def broadcast(self, envelope: bytes) -> None:
        with self.cond:
            if not self.running:
                raise OrdererUnavailableError("ordering service stopped")
            if not self.pending:
                self.first_at = time.monotonic()
            self.pending.append(envelope)
            self.cond.notify_all()

    def _cut(self) -> list[bytes] | None:
        """Wait for a batch to be due (full, or its oldest transaction waited the batch timeout)."""
        with self.cond:
            while self.running:
                if self.pending and not self.held:
                    due = self.first_at + self.batch_timeout
                    if len(self.pending) >= self.max_batch or time.monotonic() >= due:
                        batch, self.pending = self.pending[: self.max_batch], self.pending[self.max_batch:]
                        self.first_at = time.monotonic()
                        return batch
                    self.cond.wait(max(due - time.monotonic(), 0.0005))
                else:
                    self.cond.wait(0.5)
            return None

    def _run(self) -> None:
        while True:
            batch = self._cut()
            if batch is None:
                return
            self.ledger.commit(batch)

    def stop(self) -> None:
        with self.cond:
            self.running = False
            self.cond.notify_all()
        self.thread.join(timeout=10)


class Orderer:
    """One ordering service for every channel of the network."""

    def __init__(self, ledgers: dict[str, ChannelLedger], *, batch_timeout: float = 0.002, max_batch: int = 500
                 ) -> None:
        self._channels = {name: _ChannelOrderer(ledger, batch_timeout, max_batch) for name, ledger in ledgers.items()}

    def broadcast(self, channel: str, envelope: bytes) -> None:
        """Accept a transaction for ordering.

        Raises:
            OrdererUnavailableError: the service is stopped; KeyError: unknown channel.
        """
        self._channels[channel].broadcast(envelope)

    @contextlib.contextmanager
    def hold(self, channel: str) -> Iterator[None]:
        """No block is cut on ``channel`` while inside: transactions wait to be committed (deadline tests)."""
        orderer = self._channels[channel]
        with orderer.cond:
            orderer.held += 1
        try:
            yield
        finally:
            with orderer.cond:
                orderer.held -= 1
                orderer.first_at = 0.0
                orderer.cond.notify_all()

    def pending(self, channel: str) -> int:
        orderer = self._channels[channel]
        with orderer.cond:
            return len(orderer.pending)

    def stop(self) -> None:
        for orderer in self._channels.values():
            orderer.stop()


__all__ = ["Orderer", "OrdererUnavailableError"]
