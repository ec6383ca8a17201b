"""The world state under the store: committed reads of many keys at once, and the chaincode event's records."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from orchestrator.api import common_pb2, event_pb2, organization_pb2
from orchestrator.gateway.ledger.sqlite import SqliteLedger
from orchestrator.shared import codec
from orchestrator.shared.functions import BY_HANDLER
from orchestrator.shared.store.transaction import Transaction, decode_event_records, encode_events
from orchestrator.shared.store.worldstate import WorldState
from tests.network import Network

REGISTER_ORGANIZATION = BY_HANDLER["register_organization"].name


def commit(net: Network, values: dict[str, bytes]) -> None:
    def body(world_state: WorldState) -> None:
        for key, value in values.items():
            world_state.put(key, value)

    net.ledger.run_write(body, creator_msp="MyOrg1MSP", tx_id=net.next_tx_id(), timestamp_ns=net.next_timestamp())


@pytest.mark.parametrize("count", [3, 40], ids=["a-few-keys", "many-keys"])
def test_several_keys_read_together_give_their_committed_values_in_the_order_asked(net: Network, count: int
                                                                                   ) -> None:
    stored = {f"k{n:03d}": f"v{n}".encode() for n in range(0, 2 * count, 2)}  # every other key exists
    commit(net, stored)
    asked = [f"k{n:03d}" for n in reversed(range(2 * count))]

    def body(world_state: WorldState) -> list[bytes | None]:
        world_state.put(asked[0], b"pending")  # a write of this transaction stays invisible to its reads
        return world_state.get_multiple(asked)

    values = net.ledger.run_write(body, creator_msp="MyOrg1MSP", tx_id=net.next_tx_id(),
                                  timestamp_ns=net.next_timestamp())
    assert values == [stored.get(key) for key in asked]


class CountingReads:
    """A world state that counts the reads reaching it."""

    def __init__(self, world_state: WorldState) -> None:
        self._world_state = world_state
        self.reads = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._world_state, name)

    def get(self, key: str) -> bytes | None:
        self.reads += 1
        return self._world_state.get(key)

    def get_multiple(self, keys: list[str]) -> list[bytes | None]:
        self.reads += 1
        return self._world_state.get_multiple(keys)


def test_prefetched_keys_are_read_once_and_the_overlay_still_sees_its_own_writes(net: Network) -> None:
    commit(net, {"a": b"committed-a", "b": b"committed-b"})

    def body(world_state: WorldState) -> tuple[object, ...]:
        counted = CountingReads(world_state)
        tx = Transaction(counted)  # type: ignore[arg-type]
        tx.put("a", b"mine")
        tx.prefetch_committed(["a", "b", "c"])
        seen = tx.get("a"), tx.get_committed("a"), tx.get("b"), tx.exists_committed("c")
        tx.prefetch_committed(["b", "c"])  # already read: no new request
        return (*seen, counted.reads)

    assert net.ledger.run_write(body, creator_msp="MyOrg1MSP") == (b"mine", b"committed-a", b"committed-b", False, 1)


def _events() -> list[event_pb2.Event]:
    return [
        event_pb2.Event(id=f"tx:{n:06d}", asset_key=f"key-{n}", asset_kind=common_pb2.ASSET_COMPUTE_TASK,
                        event_kind=event_pb2.EVENT_ASSET_UPDATED, metadata={"reason": "x" * n, "status": "DONE"})
        for n in range(0, 300, 7)  # bodies around 128 bytes need a two-byte length
    ]


def test_the_chaincode_event_payload_is_the_deterministic_query_events_response_of_the_events() -> None:
    events = [*_events(), event_pb2.Event(id="big", metadata={"k": "v" * 20_000})]  # a three-byte length too
    assert encode_events(events) == event_pb2.QueryEventsResponse(events=events).SerializeToString(deterministic=True)
    assert encode_events([]) == b""


def test_each_event_record_is_that_events_own_deterministic_serialization() -> None:
    events = _events()
    records = decode_event_records(encode_events(events))
    assert [event for event, _ in records] == events
    assert [raw for _, raw in records] == [event.SerializeToString(deterministic=True) for event in events]


@pytest.mark.parametrize("extra", [b"\x18\x01", b"\x82\x01\x02ab"], ids=["varint-field", "field-16"])
def test_a_payload_of_another_shape_still_gives_every_event_and_its_serialization(extra: bytes) -> None:
    events = _events()
    payload = encode_events(events) + extra  # an unknown field, as a newer writer might add
    records = decode_event_records(payload)
    assert [event for event, _ in records] == events
    assert [event_pb2.Event.FromString(raw) for _, raw in records] == events


def test_transaction_timestamps_keep_increasing_across_a_reopen_of_the_ledger(tmp_path: Path) -> None:
    """Events sort by timestamp (EVT-8): a reopened ledger never stamps a call before the last recorded one,
    even when the clock is behind it."""
    ahead = time.time_ns() + 86_400 * 1_000_000_000  # a day ahead of the clock
    ledger = SqliteLedger(tmp_path / "ledger.db", "mychannel")
    ledger.submit("MyOrg1MSP", REGISTER_ORGANIZATION, codec.encode(organization_pb2.RegisterOrganizationParam()),
                  timestamp_ns=ahead)
    ledger.close()
    reopened = SqliteLedger(tmp_path / "ledger.db", "mychannel")
    try:
        stamped = reopened.run_write(lambda world_state: world_state.info.timestamp_ns, creator_msp="MyOrg2MSP")
    finally:
        reopened.close()
    assert stamped > ahead
