"""Events: recording, payload snapshots, metadata and QueryEvents (rules.md section 14)."""

from __future__ import annotations

import re
import uuid

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from orchestrator.api import common_pb2, computetask_pb2, event_pb2
from orchestrator.shared.errors import ConflictError
from orchestrator.shared.events import EVENT_NAMESPACE, event_id, transaction_id_of
from tests.builders import key, new_algo, new_train_task, register_task_assets
from tests.network import Network

ORG1 = "MyOrg1MSP"


@pytest.fixture
def net(net: Network) -> Network:
    register_task_assets(net.org1)
    return net


def _query(net: Network, **param: object) -> event_pb2.QueryEventsResponse:
    return net.ledger.events.query(event_pb2.QueryEventsParam(**param))


def _task_events(net: Network, ref: str) -> list[event_pb2.Event]:
    return net.org1.query_events(asset_key=key(ref))


def test_event_ids_are_the_transaction_id_and_a_uuid_and_events_share_its_timestamp__EVT_1_EVT_2(
        net: Network) -> None:
    """Ids are ``<tx id>:<lowercase UUID>``, the UUID named after the transaction and the event's index."""
    reply = net.org1.register_tasks(computetask_pb2.RegisterTasksParam(
        tasks=[new_train_task("t1"), new_train_task("t2", parents=["t1"])]))
    events = net.org1.ledger_events(asset_kind=common_pb2.ASSET_COMPUTE_TASK)
    assert [e.asset_key for e in events] == [t.key for t in reply.tasks]
    tx_ids = {e.id.rsplit(":", 1)[0] for e in events}
    assert len(tx_ids) == 1
    tx_id = tx_ids.pop()
    assert re.fullmatch(r"[0-9a-f]{64}", tx_id)
    for index, event in enumerate(events):
        suffix = event.id.rsplit(":", 1)[1]
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", suffix)
        assert suffix == str(uuid.uuid5(EVENT_NAMESPACE, f"{tx_id}:{index}"))  # every endorser computes it
    assert {e.timestamp.ToNanoseconds() for e in events} == {reply.tasks[0].creation_date.ToNanoseconds()}


def test_the_event_id_namespace_never_changes__EVT_2() -> None:
    """Changing it would make two chaincode versions endorse different ids for one transaction."""
    assert event_id("0" * 64, 0) == f"{'0' * 64}:{uuid.uuid5(EVENT_NAMESPACE, '0' * 64 + ':0')}"
    assert str(EVENT_NAMESPACE) == "f9588779-84b2-593c-b066-c09de263fb85"


def test_the_transaction_of_an_event_id_is_its_prefix_and_other_shapes_have_none__EVT_2() -> None:
    tx_id = "ab" * 32
    assert transaction_id_of(event_id(tx_id, 7)) == tx_id
    for malformed in ("", tx_id, f"{tx_id}:000001", f"{tx_id}:{uuid.uuid4()}".upper(), f":{uuid.uuid4()}"):
        assert transaction_id_of(malformed) is None


def test_events_are_recorded_only_when_the_call_succeeds_and_carry_the_channel__EVT_3(net: Network) -> None:
    before = _query(net, page_size=1000).events
    with pytest.raises(ConflictError):
        net.org1.register_algo(new_algo("simple algo"))  # registered by the fixture
    assert list(_query(net, page_size=1000).events) == list(before)
    assert {e.channel for e in before} == {"mychannel"}


def test_an_event_payload_is_a_snapshot_that_never_changes__EVT_4(net: Network) -> None:
    net.org1.register_tasks(computetask_pb2.RegisterTasksParam(tasks=[new_train_task("t1")]))
    net.org1.apply_task_action(computetask_pb2.ApplyTaskActionParam(
        compute_task_key=key("t1"), action=computetask_pb2.TASK_ACTION_DOING))
    created, updated = _task_events(net, "t1")
    assert created.compute_task.status == computetask_pb2.STATUS_TODO
    assert updated.compute_task.status == computetask_pb2.STATUS_DOING


def test_only_task_status_updates_carry_metadata_the_reason__EVT_5(net: Network) -> None:
    net.org1.register_tasks(computetask_pb2.RegisterTasksParam(tasks=[new_train_task("t1")]))
    net.org1.apply_task_action(computetask_pb2.ApplyTaskActionParam(
        compute_task_key=key("t1"), action=computetask_pb2.TASK_ACTION_DOING, log="started by the worker"))
    for event in _query(net, page_size=1000).events:
        if event.event_kind == event_pb2.EVENT_ASSET_UPDATED and event.asset_kind == common_pb2.ASSET_COMPUTE_TASK:
            assert dict(event.metadata) == {"reason": "started by the worker"}
        else:
            assert not event.metadata, event


def test_task_transitions_emit_no_compute_plan_event__EVT_6(net: Network) -> None:
    net.org1.register_tasks(computetask_pb2.RegisterTasksParam(tasks=[new_train_task("t1")]))
    net.org1.apply_task_action(computetask_pb2.ApplyTaskActionParam(
        compute_task_key=key("t1"), action=computetask_pb2.TASK_ACTION_CANCELED))
    plan_events = net.org1.query_events(asset_kind=common_pb2.ASSET_COMPUTE_PLAN)
    assert [e.event_kind for e in plan_events] == [event_pb2.EVENT_ASSET_CREATED]


def test_filters_combine_with_and_and_metadata_is_containment__EVT_7(net: Network) -> None:
    net.org1.register_tasks(computetask_pb2.RegisterTasksParam(tasks=[new_train_task("t1"), new_train_task("t2")]))
    net.org1.apply_task_action(computetask_pb2.ApplyTaskActionParam(
        compute_task_key=key("t1"), action=computetask_pb2.TASK_ACTION_DOING, log="go"))
    updated = net.org1.query_events(asset_kind=common_pb2.ASSET_COMPUTE_TASK, event_kind=event_pb2.EVENT_ASSET_UPDATED)
    assert [e.asset_key for e in updated] == [key("t1")]
    assert [e.asset_key for e in net.org1.query_events(metadata={"reason": "go"})] == [key("t1")]
    assert net.org1.query_events(metadata={"reason": "go", "other": "x"}) == []
    assert net.org1.query_events(asset_key=key("t2"), event_kind=event_pb2.EVENT_ASSET_UPDATED) == []


def test_sort_ascending_by_default_and_descending_on_request__EVT_8(net: Network) -> None:
    ascending = list(_query(net, page_size=1000).events)
    unspecified = list(_query(net, page_size=1000, sort=common_pb2.UNSPECIFIED).events)
    descending = list(_query(net, page_size=1000, sort=common_pb2.DESCENDING).events)
    order = [(e.timestamp.ToNanoseconds(), e.id) for e in ascending]
    assert order == sorted(order) and len(order) > 3
    assert unspecified == ascending
    assert descending == ascending[::-1]


def test_a_timestamp_read_from_an_event_selects_exactly_its_events__EVT_9(net: Network) -> None:
    events = list(_query(net, page_size=1000).events)
    bound = events[5].timestamp
    window = _query(net, page_size=1000, filter=event_pb2.EventQueryFilter(start=bound, end=bound)).events
    assert window and all(e.timestamp == bound for e in window)
    assert [e for e in events if e.timestamp == bound] == list(window)
    until = _query(net, page_size=1000, filter=event_pb2.EventQueryFilter(end=bound)).events
    since = _query(net, page_size=1000, filter=event_pb2.EventQueryFilter(start=bound)).events
    assert all(e.timestamp.ToNanoseconds() <= bound.ToNanoseconds() for e in until)
    assert all(e.timestamp.ToNanoseconds() >= bound.ToNanoseconds() for e in since)
    assert len(until) + len(since) - len(window) == len(events)
    first, last = events[0].timestamp, events[-1].timestamp
    everything = _query(net, page_size=1000, filter=event_pb2.EventQueryFilter(start=first, end=last)).events
    assert len(everything) == len(events)
    assert _query(net, filter=event_pb2.EventQueryFilter(start=Timestamp(seconds=4_000_000_000))).events == []


def test_pages_default_to_fifty_and_walk_every_event_once__EVT_10(net: Network) -> None:
    net.org1.register_tasks(computetask_pb2.RegisterTasksParam(
        tasks=[new_train_task(f"t{i}") for i in range(60)]))
    total = len(_query(net, page_size=10_000).events)
    first = _query(net)
    assert len(first.events) == 50 and first.next_page_token
    seen, token = [], ""
    while True:
        page = _query(net, page_size=7, page_token=token)
        seen.extend(e.id for e in page.events)
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)) == total


def test_owner_fields_are_the_callers_msp_id__GEN_2(net: Network) -> None:
    algo = net.org2.register_algo(new_algo("org2 algo"))
    assert algo.owner == "MyOrg2MSP"
    task = net.org1.register_tasks(computetask_pb2.RegisterTasksParam(tasks=[new_train_task("t1")])).tasks[0]
    assert task.owner == ORG1


def test_a_batch_sees_its_own_earlier_writes__GEN_6(net: Network) -> None:
    """A child registered in the same call finds its parent created moments before (read-your-writes)."""
    reply = net.org1.register_tasks(computetask_pb2.RegisterTasksParam(
        tasks=[new_train_task("child", parents=["parent"]), new_train_task("parent")]))
    assert [t.key for t in reply.tasks] == [key("parent"), key("child")]
    assert reply.tasks[1].rank == 1
