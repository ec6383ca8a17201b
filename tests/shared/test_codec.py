"""The envelope between gateway and chaincode: one encoding, several ways in and out."""

from __future__ import annotations

import base64
import json

import pytest

from orchestrator.api import algo_pb2, computetask_pb2
from orchestrator.shared import codec
from orchestrator.shared.errors import InvalidAssetError
from tests import builders as b

TASK = computetask_pb2.RegisterTasksParam(tasks=[b.new_train_task("t", parents=("p",))])


@pytest.mark.parametrize("request_id", ["", "trace-0042", 'quo"te \\ back', "é ☃"])
def test_an_envelope_gives_back_its_message_and_request_id(request_id: str) -> None:
    envelope = codec.decode(codec.encode(TASK, request_id), computetask_pb2.RegisterTasksParam)
    assert envelope.message == TASK and envelope.request_id == request_id and not envelope.upstream_json


def test_forwarding_serialized_bytes_is_the_same_envelope_as_encoding_the_message() -> None:
    data = TASK.SerializeToString(deterministic=True)
    assert codec.encode_serialized(data, "r1") == codec.encode(TASK, "r1")
    body = json.loads(codec.encode_serialized(data, "r1"))
    assert base64.b64decode(body["pb"]) == data and body["request_id"] == "r1"


def test_a_reply_is_unwrapped_to_the_bytes_of_its_message_in_either_form() -> None:
    data = TASK.SerializeToString(deterministic=True)
    assert codec.decode_serialized(codec.encode(TASK, "r"), computetask_pb2.RegisterTasksParam) == data
    upstream = codec.encode(TASK, "r", upstream_json=True)
    assert json.loads(upstream)["msg"]  # upstream's protobuf-JSON form
    assert codec.decode_serialized(upstream, computetask_pb2.RegisterTasksParam) == data
    assert codec.decode_serialized(b"", algo_pb2.Algo) == b""  # no response message


@pytest.mark.parametrize("payload", [b'{"pb":"not base64!","request_id":""}', b"not json", b'{"request_id":"x"}',
                                     b'{"pb":"AAEC","request_id":""}'])
def test_a_payload_that_is_not_an_envelope_of_the_type_is_invalid(payload: bytes) -> None:
    with pytest.raises(InvalidAssetError, match="cannot decode"):
        codec.decode(payload, computetask_pb2.RegisterTasksParam)
    if payload.startswith(b'{"pb":"not'):
        with pytest.raises(InvalidAssetError, match="cannot decode"):
            codec.decode_serialized(payload, computetask_pb2.RegisterTasksParam)
