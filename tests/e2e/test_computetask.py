"""Compute task scenarios T1-T8 (scenarios.md 8), through the gateway."""

from __future__ import annotations

import concurrent.futures

from orchestrator.api import algo_pb2, common_pb2, computeplan_pb2, computetask_pb2, event_pb2
from tests import builders as b
from tests.builders import key
from tests.client import GatewayClient
from tests.e2e import steps

S = computetask_pb2


def test_T1_registered_task_reads_back_and_is_listed_by_plan(client: GatewayClient) -> None:
    steps.register_plan(client, "register task cp")
    steps.register_algo(client)
    steps.register_data_manager(client)
    steps.register_sample(client)
    steps.register_plan(client, "cp")
    task = steps.register_task(client, b.new_train_task("task", plan="register task cp"))
    assert steps.get_task(client, "task") == task
    page = client.query_tasks(S.QueryTasksParam(
        page_size=10, filter=S.TaskQueryFilter(compute_plan_key=key("register task cp"))))
    assert page.tasks[0] == task


def test_T2_train_task_starts_with_a_child_waiting(client: GatewayClient) -> None:
    steps.register_algo(client)
    steps.register_data_manager(client)
    sample = steps.register_sample(client)
    assert sample.key == key("ds")
    steps.register_plan(client)
    steps.register_task(client, b.new_train_task("task"))
    steps.register_task(client, b.new_train_task("anotherTask", parents=("task",)))
    steps.start(client, "task")
    assert steps.status(client, "task") == S.STATUS_DOING


def test_T3_predict_then_test_chain(client: GatewayClient) -> None:
    steps.register_algo(client, "predict_algo", algo_pb2.ALGO_PREDICT)
    steps.register_algo(client, "simple algo")  # the scenario's train_algo
    steps.register_algo(client, "metric", algo_pb2.ALGO_METRIC)
    steps.register_data_manager(client)
    steps.register_sample(client)
    steps.register_plan(client)
    steps.register_task(client, b.new_train_task("train"))
    steps.register_task(client, b.new_predict_task("predict", parents=("train",), algo="predict_algo"))
    steps.register_task(client, b.new_test_task("test", parents=("predict",), metrics=("metric",)))
    steps.start(client, "train")
    steps.register_model(client, "train model", "train")
    assert steps.status(client, "train") == S.STATUS_DONE
    assert steps.status(client, "predict") == S.STATUS_TODO
    steps.start(client, "predict")
    steps.register_model(client, "predictions", "predict")
    assert steps.status(client, "predict") == S.STATUS_DONE
    assert steps.status(client, "test") == S.STATUS_TODO


def _parent_with_ten_children(client: GatewayClient) -> list[str]:
    steps.setup_train(client)
    steps.register_task(client, b.new_train_task("task"))
    children = [f"task{n}" for n in range(10)]
    for child in children:
        steps.register_task(client, b.new_train_task(child, parents=("task",)))
    return children


def test_T4_cancelling_a_parent_does_not_cascade(client: GatewayClient) -> None:
    children = _parent_with_ten_children(client)
    steps.start(client, "task")
    steps.act(client, "task", steps.CANCELED)
    assert {steps.status(client, child) for child in children} == {S.STATUS_WAITING}
    assert steps.get_plan(client).status == computeplan_pb2.PLAN_STATUS_CANCELED


def test_T5_finishing_a_parent_releases_its_children(client: GatewayClient) -> None:
    children = _parent_with_ten_children(client)
    steps.start(client, "task")
    steps.register_model(client, "model", "task")
    assert steps.status(client, "task") == S.STATUS_DONE
    assert {steps.status(client, child) for child in children} == {S.STATUS_TODO}
    assert steps.get_plan(client).status == computeplan_pb2.PLAN_STATUS_DOING


def test_T6_tasks_are_queried_by_algo(client: GatewayClient) -> None:
    steps.setup_train(client)
    steps.register_task(client, b.new_train_task("task"))
    page = client.query_tasks(S.QueryTasksParam(page_size=10, filter=S.TaskQueryFilter(algo_key=key("simple algo"))))
    assert len(page.tasks) == 1


def test_T7_concurrent_registrations_in_one_plan_all_succeed__BATCH_5(client: GatewayClient) -> None:
    other = GatewayClient(client.channel)  # same organization, shared references
    steps.setup_train(client)
    steps.register_task(client, b.new_train_task("parent1"))
    steps.register_task(other, b.new_train_task("parent2"))
    jobs = [(client, f"task1{n}", "parent1") for n in range(5)] + [(other, f"task2{n}", "parent2") for n in range(5)]
    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
        futures = [pool.submit(steps.register_task, c, b.new_train_task(ref, parents=(parent,)))
                   for c, ref, parent in jobs]
        registered = [future.result() for future in futures]
    assert {task.key for task in registered} == {key(ref) for _, ref, _ in jobs}
    assert steps.get_plan(client).task_count == 12


def test_T8_task_events_carry_the_same_snapshot_as_reads(client: GatewayClient) -> None:
    steps.setup_train(client)
    task = steps.register_task(client, b.new_train_task("task"))
    created = client.query_events(asset_key=task.key, asset_kind=common_pb2.ASSET_COMPUTE_TASK,
                                  event_kind=event_pb2.EVENT_ASSET_CREATED, page_size=100)
    assert len(created) == 1
    assert created[0].compute_task == task
    steps.start(client, "task")
    started = steps.get_task(client, "task")
    updated = client.query_events(asset_key=task.key, asset_kind=common_pb2.ASSET_COMPUTE_TASK,
                                  event_kind=event_pb2.EVENT_ASSET_UPDATED, page_size=100)
    assert len(updated) == 1
    assert updated[0].compute_task == started
    assert started.status == S.STATUS_DOING
