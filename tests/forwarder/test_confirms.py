"""Publisher confirms move a checkpoint only through messages every older one of which is confirmed too."""

from __future__ import annotations

import random

from orchestrator.forwarder.amqp import Unconfirmed


def _published(count: int) -> Unconfirmed:
    unconfirmed = Unconfirmed()
    for number in range(1, count + 1):
        assert unconfirmed.add(f"event{number}") == number  # delivery tags count from 1 on a confirm-mode channel
    return unconfirmed


def test_acknowledgements_in_order_confirm_one_message_each() -> None:
    unconfirmed = _published(3)
    assert unconfirmed.acknowledge(1, multiple=False) == ["event1"]
    assert unconfirmed.acknowledge(2, multiple=False) == ["event2"]
    assert len(unconfirmed) == 1


def test_a_multiple_acknowledgement_confirms_every_older_message_oldest_first() -> None:
    unconfirmed = _published(5)
    assert unconfirmed.acknowledge(4, multiple=True) == ["event1", "event2", "event3", "event4"]
    assert len(unconfirmed) == 1


def test_an_early_acknowledgement_is_held_until_every_older_message_is_confirmed() -> None:
    unconfirmed = _published(4)
    assert unconfirmed.acknowledge(3, multiple=False) == []
    assert unconfirmed.acknowledge(2, multiple=False) == []
    assert unconfirmed.acknowledge(1, multiple=False) == ["event1", "event2", "event3"]
    assert len(unconfirmed) == 1


def test_a_multiple_acknowledgement_releases_the_early_ones_right_after_it() -> None:
    unconfirmed = _published(6)
    assert unconfirmed.acknowledge(5, multiple=False) == []
    assert unconfirmed.acknowledge(2, multiple=False) == []
    assert unconfirmed.acknowledge(4, multiple=True) == ["event1", "event2", "event3", "event4", "event5"]
    assert unconfirmed.acknowledge(6, multiple=False) == ["event6"]
    assert len(unconfirmed) == 0


def test_in_any_acknowledgement_order_what_is_confirmed_is_always_the_oldest_messages() -> None:
    shuffle = random.Random(16)
    for _ in range(200):
        count = shuffle.randint(1, 40)
        unconfirmed = _published(count)
        tags = list(range(1, count + 1))
        shuffle.shuffle(tags)
        confirmed: list[str] = []
        acknowledged: set[int] = set()
        for tag in tags:
            multiple = shuffle.random() < 0.2
            confirmed += unconfirmed.acknowledge(tag, multiple=multiple)
            acknowledged |= set(range(1, tag + 1)) if multiple else {tag}
            through = 0  # the longest run of acknowledged messages from the first one
            while through + 1 in acknowledged:
                through += 1
            assert confirmed == [f"event{n}" for n in range(1, through + 1)]
        assert len(confirmed) == count and len(unconfirmed) == 0
