"""Assertions on what a call left on the ledger: a failing call writes nothing and emits nothing (GEN-4, ERR-4)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.network import Network


@contextmanager
def fails_writing_nothing(net: Network, error: type[BaseException], match: str | None = None
                          ) -> Iterator[pytest.ExceptionInfo[BaseException]]:
    """The block raises ``error`` (text matching ``match``) and leaves state and events as they were."""
    state = net.ledger.dump()
    events = net.org1.query_events()
    with pytest.raises(error, match=match) as raised:
        yield raised
    assert net.ledger.dump() == state
    assert net.org1.query_events() == events
