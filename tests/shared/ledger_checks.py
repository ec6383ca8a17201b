"""Ledger-level test tools: a failing call writes and emits nothing (GEN-4, ERR-4); raw index writes; internal reads."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

import pytest
from google.protobuf.message import Message

from orchestrator.shared import codec
from orchestrator.shared.functions import BY_NAME
from orchestrator.shared.services import Services
from orchestrator.shared.store.documents import DocumentStore
from orchestrator.shared.store.transaction import Transaction
from orchestrator.shared.store.worldstate import WorldState
from tests.network import Network

T = TypeVar("T")


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


def write_index_entries(net: Network, entries: Sequence[tuple[str, Sequence[str]]]) -> None:
    """Commit raw index entries, standing in for another asset's code (e.g. the task indexes a plan reads)."""

    def body(world_state: WorldState) -> None:
        with Transaction(world_state) as tx:
            docs = DocumentStore(tx)
            for object_type, attributes in entries:
                docs.add_index(object_type, attributes)
            tx.commit()

    net.ledger.run_write(body, creator_msp=net.org1.mspid, tx_id=net.next_tx_id(), timestamp_ns=net.next_timestamp())


def read_services(net: Network, body: Callable[[Services], T], mspid: str = "MyOrg1MSP") -> T:
    """Run ``body`` on the services of a read-only transaction (internal helpers other services call)."""
    return net.ledger.run_read(lambda world_state: body(Services(Transaction(world_state))), creator_msp=mspid)


def submit_at(net: Network, mspid: str, handler: str, request: Message, timestamp_ns: int) -> Message:
    """Call a writing contract function with a chosen transaction timestamp (creation dates, PAGE-4 ties)."""
    function = next(f for f in BY_NAME.values() if f.handler == handler)
    reply = net.ledger.submit(mspid, function.name, codec.encode(request), tx_id=net.next_tx_id(),
                              timestamp_ns=timestamp_ns)
    return codec.decode_message(reply, function.response)
