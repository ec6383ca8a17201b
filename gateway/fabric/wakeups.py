"""Waking coroutines from a stream's reader thread: one thread hop per event loop, not one per waiter.

A block settles many waiters at once (the transactions it commits, the subscribers waiting for it);
handing each its own callback would cost a hop into the loop per waiter.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable


def wake_all(waiters: Iterable[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]]) -> None:
    """Resolve each future on its own loop, with one ``call_soon_threadsafe`` per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for loop, future in waiters:
        by_loop.setdefault(loop, []).append(future)
    for loop, futures in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop closed: nobody waits any more
            loop.call_soon_threadsafe(resolve, futures)


def resolve(futures: Iterable[asyncio.Future[None]]) -> None:
    """On the futures' loop: resolve those still pending (a waiter that gave up has cancelled its own)."""
    for future in futures:
        if not future.done():
            future.set_result(None)


__all__ = ["resolve", "wake_all"]
