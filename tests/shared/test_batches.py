"""Batch RPCs: all or nothing, element order, duplicates, empty batches, concurrency (rules.md 16.1, TASK-8)."""

from __future__ import annotations

import threading

import pytest

from orchestrator.api import common_pb2, computeplan_pb2, computetask_pb2, datasample_pb2, model_pb2
from orchestrator.shared.errors import BadRequestError, ConflictError, InvalidAssetError, NotFoundError
from tests.builders import key, new_composite_task, new_model, new_train_task, register_task_assets
from tests.network import Client, Network

T = computetask_pb2
SIMPLE, HEAD = model_pb2.MODEL_SIMPLE, model_pb2.MODEL_HEAD


@pytest.fixture
def net(net: Network) -> Network:
    register_task_assets(net.org1, net.org2)
    return net


def register(client: Client, *tasks: T.NewComputeTask) -> list[T.ComputeTask]:
    return list(client.register_tasks(T.RegisterTasksParam(tasks=list(tasks))).tasks)


def models(client: Client, *new_models: model_pb2.NewModel) -> list[model_pb2.Model]:
    return list(client.register_models(model_pb2.RegisterModelsParam(models=list(new_models))).models)


def start(client: Client, ref: str) -> None:
    client.apply_task_action(T.ApplyTaskActionParam(compute_task_key=key(ref), action=T.TASK_ACTION_DOING))


def snapshot(net: Network) -> tuple[object, ...]:
    return net.ledger.dump(), net.org1.query_events()


def test_a_task_failing_after_others_were_created_aborts_the_whole_batch__BATCH_1(net: Network) -> None:
    before = snapshot(net)
    with pytest.raises(NotFoundError, match="algo with key"):
        register(net.org1, new_train_task("a"), new_train_task("b", parents=["a"]), new_train_task("c", algo="nope"))
    assert snapshot(net) == before
    with pytest.raises(NotFoundError):
        net.org1.get_task(T.GetTaskParam(key=key("a")))


def test_a_model_failing_after_the_task_completed_aborts_the_whole_batch__BATCH_1_BATCH_2(net: Network) -> None:
    register(net.org1, new_composite_task("c"), new_composite_task("child", parents=["c"]))
    start(net.org1, "c")
    before = snapshot(net)
    # HEAD, then SIMPLE completes the task (DONE, child TODO), then a third model finds it DONE (MODEL-5)
    with pytest.raises(BadRequestError, match="STATUS_DONE"):
        models(net.org1, new_model("h", task="c", category=HEAD), new_model("s", task="c"), new_model("x", task="c"))
    assert snapshot(net) == before


def test_models_are_handled_in_request_order__BATCH_2(net: Network) -> None:
    register(net.org1, new_composite_task("c"))
    start(net.org1, "c")
    registered = models(net.org1, new_model("second", task="c"), new_model("first", task="c", category=HEAD))
    assert [m.key for m in registered] == [key("second"), key("first")]
    events = [e.asset_key for e in net.org1.ledger_events(asset_kind=common_pb2.ASSET_MODEL)]
    assert events == [key("second"), key("first")]


def test_a_task_key_repeated_in_one_batch_is_a_conflict_naming_it__BATCH_3(net: Network) -> None:
    before = snapshot(net)
    with pytest.raises(ConflictError, match=rf'^OE0006: computetask with key "{key("twice")}" already exists$'):
        register(net.org1, new_train_task("twice"), new_train_task("other"), new_train_task("twice"))
    assert snapshot(net) == before


def test_repeated_model_category_or_key_in_one_batch_is_a_conflict__BATCH_3(net: Network) -> None:
    register(net.org1, new_composite_task("c"))
    start(net.org1, "c")
    with pytest.raises(ConflictError, match="task already has a MODEL_HEAD model"):
        models(net.org1, new_model("h1", task="c", category=HEAD), new_model("h2", task="c", category=HEAD))
    with pytest.raises(ConflictError, match=rf'model with key "{key("m")}" already exists'):
        models(net.org1, new_model("m", task="c", category=HEAD), new_model("m", task="c"))


def test_empty_batches__BATCH_4(net: Network) -> None:
    with pytest.raises(BadRequestError, match="no task to register"):
        register(net.org1)
    with pytest.raises(BadRequestError, match="no model to register"):
        models(net.org1)
    assert not net.org1.register_data_samples(datasample_pb2.RegisterDataSamplesParam()).data_samples
    with pytest.raises(InvalidAssetError):
        net.org1.update_data_samples(datasample_pb2.UpdateDataSamplesParam())


def test_a_thousand_tasks_in_one_call__TASK_8(net: Network) -> None:
    chain = [new_train_task("t0")] + [new_train_task(f"t{i}", parents=[f"t{i - 1}"]) for i in range(1, 1000)]
    tasks = register(net.org1, *reversed(chain))
    assert [t.rank for t in tasks] == list(range(1000))
    plan = net.org1.get_plan(computeplan_pb2.GetComputePlanParam(key=key("cp")))
    assert (plan.task_count, plan.todo_count, plan.waiting_count) == (1000, 1, 999)


def test_concurrent_registrations_under_different_parents_all_succeed__BATCH_5(net: Network) -> None:
    register(net.org1, new_train_task("parent 1"), new_train_task("parent 2"))
    errors: list[BaseException] = []

    def children(parent: str) -> None:
        client = net.client("MyOrg1MSP")
        try:
            for i in range(5):
                register(client, new_train_task(f"{parent} child {i}", parents=[parent]))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=children, args=(p,)) for p in ("parent 1", "parent 2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    plan = net.org1.get_plan(computeplan_pb2.GetComputePlanParam(key=key("cp")))
    assert plan.task_count == 12
