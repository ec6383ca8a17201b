"""The message body is upstream's protojson (UseProtoNames, EmitUnpopulated), written compactly."""

from __future__ import annotations

import json

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from orchestrator.api import common_pb2, computetask_pb2, event_pb2, performance_pb2
from orchestrator.forwarder.encoding import encode_event


def _event(event_id: str, kind: int, metadata: dict[str, str] | None = None) -> event_pb2.Event:
    """The events of upstream's converter test: a compute task, timestamp 12 s after the epoch."""
    return event_pb2.Event(id=event_id, asset_key="uuid1", asset_kind=common_pb2.ASSET_COMPUTE_TASK, event_kind=kind,
                           channel="testChannel", timestamp=Timestamp(seconds=12), metadata=metadata or {})


def test_the_converter_test_events_encode_byte_for_byte_as_upstream_published_them() -> None:
    assert encode_event(_event("event1", event_pb2.EVENT_ASSET_CREATED)) == (
        b'{"id":"event1","asset_key":"uuid1","asset_kind":"ASSET_COMPUTE_TASK","event_kind":"EVENT_ASSET_CREATED",'
        b'"channel":"testChannel","timestamp":"1970-01-01T00:00:12Z","metadata":{}}')
    assert encode_event(_event("event2", event_pb2.EVENT_ASSET_UPDATED, {"test": "value"})) == (
        b'{"id":"event2","asset_key":"uuid1","asset_kind":"ASSET_COMPUTE_TASK","event_kind":"EVENT_ASSET_UPDATED",'
        b'"channel":"testChannel","timestamp":"1970-01-01T00:00:12Z","metadata":{"test":"value"}}')


def test_unpopulated_fields_are_emitted_and_unset_messages_are_null() -> None:
    event = event_pb2.Event(compute_task=computetask_pb2.ComputeTask(key="k"))
    body = json.loads(encode_event(event))
    assert body["asset_kind"] == "ASSET_UNKNOWN" and body["event_kind"] == "EVENT_UNKNOWN"
    assert body["id"] == "" and body["timestamp"] is None and body["metadata"] == {}
    task = body["compute_task"]
    assert task["parent_task_keys"] == [] and task["outputs"] == {} and task["rank"] == 0
    assert task["creation_date"] is None and task["status"] == "STATUS_UNKNOWN"
    assert "train" not in task and "test" not in task  # an unset oneof is not written
    assert list(body)[-1] == "compute_task"  # the oneof member after every declared field before it


def test_the_asset_oneof_appears_only_for_its_own_kind() -> None:
    body = json.loads(encode_event(event_pb2.Event(performance=performance_pb2.Performance(performance_value=0.1))))
    assets = {"algo", "compute_plan", "compute_task", "data_manager", "data_sample", "failure_report", "model",
              "organization", "performance"}
    assert assets & set(body) == {"performance"}


@pytest.mark.parametrize(("value", "text"), [
    (0.1, "0.1"), (0.5, "0.5"), (1.0, "1"), (-2.5, "-2.5"), (0.0, "0"), (123456789.0, "123456790"),
    (1e-7, "1e-7"), (1.5e-7, "1.5e-7"), (3.4e38, "3.4e+38"), (float("nan"), '"NaN"'), (float("inf"), '"Infinity"'),
])
def test_a_float_is_written_as_go_writes_a_float32(value: float, text: str) -> None:
    body = encode_event(event_pb2.Event(performance=performance_pb2.Performance(performance_value=value)))
    assert f'"performance_value":{text},'.encode() in body


def test_strings_are_escaped_like_go_and_kept_as_utf8() -> None:
    event = event_pb2.Event(id='a"b\\c\n\x01é<>&', metadata={"b": "2", "a": "1"})
    body = encode_event(event)
    assert b'"id":"a\\"b\\\\c\\n\\u0001\xc3\xa9<>&"' in body
    assert b'"metadata":{"a":"1","b":"2"}' in body  # keys sorted, as Go writes maps


def test_timestamps_keep_zero_three_six_or_nine_fraction_digits() -> None:
    def written(nanos: int) -> str:
        return json.loads(encode_event(event_pb2.Event(timestamp=Timestamp(seconds=12, nanos=nanos))))["timestamp"]

    assert written(0) == "1970-01-01T00:00:12Z"
    assert written(500_000_000) == "1970-01-01T00:00:12.500Z"
    assert written(500_000) == "1970-01-01T00:00:12.000500Z"
    assert written(5) == "1970-01-01T00:00:12.000000005Z"
