"""What operators watch in Fabric mode: peers set aside, failovers, in-doubt outcomes; plain counters, thread-safe."""

# The Fabric client and invoker count here, without knowing Prometheus; the gateway's metrics
# read a snapshot at each scrape (:meth:`orchestrator.gateway.metrics.GatewayMetrics.watch_fabric`).

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

#: How an in-doubt transaction was settled: committed and valid, invalidated, or still unknown at the
#: call's deadline (answered DEADLINE_EXCEEDED).
Resolution = Literal["committed", "invalidated", "unknown"]
RESOLUTIONS: Final[tuple[Resolution, ...]] = ("committed", "invalidated", "unknown")


@dataclass(frozen=True)
class Circuit:
    """One configured peer and whether its circuit is open (set aside until it accepts a connection)."""

    address: str
    mspid: str
    open: bool


@dataclass(frozen=True)
class FabricSnapshot:
    """The counters at one instant, and every peer's circuit."""

    circuits: list[Circuit]
    failovers: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (mspid, peer mspid, method)
    in_doubt: dict[tuple[str, Resolution], int] = field(default_factory=dict)  # (channel, resolution)
    in_doubt_retries: dict[str, int] = field(default_factory=dict)  # channel


class FabricStats:
    """Counters of one Fabric invoker. ``circuits`` lists every configured peer's circuit, read on demand."""

    def __init__(self, circuits: Callable[[], list[Circuit]], channels: Iterable[str] = ()) -> None:
        self._circuits = circuits
        self._lock = threading.Lock()
        self._failovers: Counter[tuple[str, str, str]] = Counter()
        # configured channels start at zero, so that rate() and increase() see the first one
        self._in_doubt: Counter[tuple[str, Resolution]] = Counter(
            {(channel, resolution): 0 for channel in channels for resolution in RESOLUTIONS})
        self._retries: Counter[str] = Counter({channel: 0 for channel in channels})

    def failover(self, mspid: str, method: str, peer_mspid: str) -> None:
        """A call of ``mspid`` (``method``: Evaluate, Endorse, Submit, CommitStatus, DeliverFiltered) was
        served by a peer of organization ``peer_mspid``: none of its own could be reached."""
        with self._lock:
            self._failovers[(mspid, peer_mspid, method)] += 1

    def in_doubt(self, channel: str, resolution: Resolution) -> None:
        """A transaction whose fate was in doubt (ordered, perhaps, and its first status source failed) settled."""
        with self._lock:
            self._in_doubt[(channel, resolution)] += 1

    def in_doubt_retry_answered(self, channel: str) -> None:
        """A retried call was answered with the result of its earlier, in-doubt transaction."""
        with self._lock:
            self._retries[channel] += 1

    def snapshot(self) -> FabricSnapshot:
        circuits = self._circuits()
        with self._lock:
            return FabricSnapshot(circuits, dict(self._failovers), dict(self._in_doubt), dict(self._retries))


__all__ = ["RESOLUTIONS", "Circuit", "FabricSnapshot", "FabricStats", "Resolution"]
