"""Model scenarios M1-M3 (scenarios.md 9), through the gateway."""

from __future__ import annotations

import grpc
import pytest

from orchestrator.api import algo_pb2, common_pb2, computetask_pb2, event_pb2, model_pb2
from tests import builders as b
from tests.builders import key
from tests.client import GatewayClient
from tests.e2e import steps


def test_M1_model_registration_and_the_events_of_task_and_model(client: GatewayClient) -> None:
    steps.setup_train(client)
    steps.register_task(client, b.new_train_task("task"))
    assert steps.get_plan(client).task_count == 1
    steps.start(client, "task")
    model = steps.register_model(client, "model", "task")
    task_events = client.query_events(asset_key=key("task"), page_size=10)
    assert len(task_events) == 3
    assert [e.event_kind for e in task_events].count(event_pb2.EVENT_ASSET_CREATED) == 1
    assert {e.compute_task.status for e in task_events if e.event_kind == event_pb2.EVENT_ASSET_UPDATED} == {
        computetask_pb2.STATUS_DOING, computetask_pb2.STATUS_DONE}
    assert client.get_model(model_pb2.GetModelParam(key=model.key)) == model
    events = client.query_events(asset_key=model.key, asset_kind=common_pb2.ASSET_MODEL,
                                 event_kind=event_pb2.EVENT_ASSET_CREATED, page_size=100)
    assert len(events) == 1
    assert events[0].model == model


def test_M2_a_train_task_accepts_one_model_only_and_the_whole_call_fails(client: GatewayClient) -> None:
    steps.setup_train(client)
    steps.register_task(client, b.new_train_task("task"))
    steps.start(client, "task")
    with pytest.raises(grpc.RpcError) as failure:
        steps.register_models(client, b.new_model("mod1", task="task"), b.new_model("mod2", task="task"))
    assert "OE0003" in failure.value.details()
    assert steps.status(client, "task") == computetask_pb2.STATUS_DOING  # nothing of the call was kept
    assert not client.query_events(asset_kind=common_pb2.ASSET_MODEL)


def test_M3_both_composite_outputs_in_one_call_finish_the_task(client: GatewayClient) -> None:
    steps.register_algo(client, "composite algo", algo_pb2.ALGO_COMPOSITE)
    steps.register_data_manager(client)
    steps.register_sample(client)
    steps.register_plan(client)
    steps.register_task(client, b.new_composite_task())
    steps.start(client, "composite task")
    steps.register_models(client, b.new_model("head", task="composite task", category=model_pb2.MODEL_HEAD),
                          b.new_model("trunk", task="composite task", category=model_pb2.MODEL_SIMPLE))
    assert steps.status(client, "composite task") == computetask_pb2.STATUS_DONE
