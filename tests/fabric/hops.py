"""An event loop that counts thread hops into it, to show how often a reader thread wakes a coroutine."""

from __future__ import annotations

import asyncio
import threading
from typing import Any


class CountingLoop(asyncio.SelectorEventLoop):
    """An event loop that counts the callbacks other threads hand it (thread hops into the loop).

    grpc.aio completes every call through the loop that started its engine (in the gateway, the
    serving loop); in a test process that can be another test's loop, which then forwards this
    loop's completions to it. Those forwards are gRPC's, not ours: they are not counted.
    """

    def __init__(self) -> None:
        super().__init__()
        self.hops: list[str] = []  # what each hop ran, from which thread

    def call_soon_threadsafe(self, *args: Any, **kwargs: Any) -> asyncio.Handle:
        name = getattr(args[0], "__qualname__", getattr(args[0], "__name__", str(args[0])))
        if name != "_handle_callback_wrapper":
            self.hops.append(f"{name} from {threading.current_thread().name}")
        return super().call_soon_threadsafe(*args, **kwargs)
