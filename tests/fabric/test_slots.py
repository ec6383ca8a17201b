"""A peer's in-flight slots: awaited from any event loop, released from any thread, never past the bound."""

from __future__ import annotations

import asyncio
import threading

from orchestrator.gateway.fabric.client import Slots


def test_a_slot_released_from_another_thread_wakes_the_oldest_waiter_on_its_own_loop() -> None:
    slots = Slots(1)
    order: list[str] = []

    async def main() -> None:
        assert await slots.acquire(1)

        async def waiter(name: str) -> None:
            assert await slots.acquire(5)
            order.append(name)
            threading.Thread(target=slots.release).start()

        first = asyncio.create_task(waiter("first"))
        await asyncio.sleep(0.01)
        second = asyncio.create_task(waiter("second"))
        await asyncio.sleep(0.01)
        threading.Thread(target=slots.release).start()
        await asyncio.gather(first, second)

    asyncio.run(main())
    assert order == ["first", "second"]
    assert slots.in_use == 0


def test_a_waiter_that_times_out_gets_nothing_and_the_slot_goes_to_the_next() -> None:
    slots = Slots(1)

    async def main() -> None:
        assert await slots.acquire(1)
        assert not await slots.acquire(0.05)
        later = asyncio.create_task(slots.acquire(5))
        await asyncio.sleep(0.01)
        slots.release()
        assert await later

    asyncio.run(main())
    assert slots.in_use == 1


def test_slots_taken_past_the_bound_by_streams_are_paid_back_before_a_call_gets_one() -> None:
    slots = Slots(1)

    async def main() -> None:
        assert await slots.acquire(1)
        slots.take()  # a stream, counted by the peer too
        waiting = asyncio.create_task(slots.acquire(0.2))
        await asyncio.sleep(0.01)
        slots.release()  # the call ends: still one over the bound with the stream
        assert not await waiting
        slots.release()  # the stream ends
        assert await slots.acquire(0.1)

    asyncio.run(main())
