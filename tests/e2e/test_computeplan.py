"""Compute plan scenarios CP1-CP9 (scenarios.md 7), through the gateway."""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.api import algo_pb2, common_pb2, computeplan_pb2, computetask_pb2, event_pb2, model_pb2
from tests import builders as b
from tests.builders import key
from tests.client import GatewayClient, GatewayProcess, connected
from tests.e2e import steps

logger = logging.getLogger(__name__)

S = computetask_pb2
HEAD, SIMPLE = model_pb2.MODEL_HEAD, model_pb2.MODEL_SIMPLE


def test_CP1_registered_plan_reads_back_empty_with_one_created_event(client: GatewayClient) -> None:
    plan = steps.register_plan(client)
    assert plan.status == computeplan_pb2.PLAN_STATUS_EMPTY
    assert steps.counters(plan) == (0, 0, 0, 0, 0, 0, 0)
    read = steps.get_plan(client)
    for counter in ("task_count", "waiting_count", "todo_count", "doing_count", "canceled_count", "failed_count",
                    "done_count"):
        setattr(read, counter, 0)
    read.status = computeplan_pb2.PLAN_STATUS_EMPTY
    assert read == plan
    events = client.query_events(asset_key=plan.key, asset_kind=common_pb2.ASSET_COMPUTE_PLAN,
                                 event_kind=event_pb2.EVENT_ASSET_CREATED, page_size=100)
    assert len(events) == 1
    assert events[0].compute_plan == plan


def _composite_setup(client: GatewayClient, composite: str, aggregate: str) -> None:
    steps.register_algo(client, composite, algo_pb2.ALGO_COMPOSITE)
    steps.register_algo(client, aggregate, algo_pb2.ALGO_AGGREGATE)
    steps.register_data_manager(client)
    steps.register_sample(client)
    steps.register_plan(client)


def test_CP2_cancelling_a_plan_cancels_every_unfinished_task(client: GatewayClient) -> None:
    _composite_setup(client, "compAlgo", "aggAlgo")
    for task in (
        b.new_composite_task("cmp1", algo="compAlgo"),
        b.new_composite_task("cmp2", algo="compAlgo"),
        b.new_aggregate_task("agg1", parents=("cmp1", "cmp2"), algo="aggAlgo"),
        b.new_composite_task("cmp3", parents=("cmp1", "agg1"), algo="compAlgo"),
        b.new_composite_task("cmp4", parents=("cmp2", "agg1"), algo="compAlgo"),
    ):
        steps.register_task(client, task)
    steps.start(client, "cmp1")
    steps.start(client, "cmp2")
    steps.register_models(client, b.new_model("cmp1 head", task="cmp1", category=HEAD),
                          b.new_model("cmp1 simple", task="cmp1", category=SIMPLE))
    assert steps.status(client, "cmp1") == S.STATUS_DONE
    client.apply_plan_action(computeplan_pb2.ApplyPlanActionParam(
        key=key("cp"), action=computeplan_pb2.PLAN_ACTION_CANCELED))
    for task in ("cmp2", "cmp3", "cmp4", "agg1"):
        assert steps.status(client, task) == S.STATUS_CANCELED, task
    assert steps.status(client, "cmp1") == S.STATUS_DONE


def test_CP3_canonical_multi_stage_federated_plan_runs_to_the_end(client: GatewayClient) -> None:
    _composite_setup(client, "algoComp", "algoAgg")
    for task in (
        b.new_composite_task("compA1", algo="algoComp"),
        b.new_composite_task("compB1", algo="algoComp"),
        b.new_aggregate_task("aggC2", parents=("compA1", "compB1"), algo="algoAgg"),
        b.new_composite_task("compA3", parents=("compA1", "aggC2"), algo="algoComp"),
        b.new_composite_task("compB3", parents=("compB1", "aggC2"), algo="algoComp"),
        b.new_aggregate_task("aggC4", parents=("compA3", "compB3"), algo="algoAgg"),
    ):
        steps.register_task(client, task)
    assert steps.get_task(client, "aggC4").rank == 3

    def run_composite(task: str) -> None:
        steps.start(client, task)
        steps.register_model(client, f"{task} head", task, HEAD)
        steps.register_model(client, f"{task} simple", task, SIMPLE)

    run_composite("compA1")
    run_composite("compB1")
    plan = steps.get_plan(client)
    assert plan.status == computeplan_pb2.PLAN_STATUS_DOING
    assert plan.done_count == 2
    steps.start(client, "aggC2")
    steps.register_model(client, "aggC2 simple", "aggC2")
    run_composite("compA3")
    run_composite("compB3")
    steps.start(client, "aggC4")
    steps.register_model(client, "aggC4 simple", "aggC4")
    assert steps.status(client, "aggC4") == S.STATUS_DONE


def test_CP4_small_plan_registered_in_one_batch_is_todo_with_four_tasks(client: GatewayClient) -> None:
    steps.setup_train(client)
    steps.register_sample(client, "objSample", test_only=True)
    steps.register_algo(client, "metric algo", algo_pb2.ALGO_METRIC)
    steps.register_tasks(
        client,
        b.new_train_task("train1"), b.new_train_task("train2"),
        b.new_train_task("train3", parents=("train1", "train2")),
        b.new_test_task("test", parents=("train3",), samples=("objSample",)),
    )
    plan = steps.get_plan(client)
    assert plan.status == computeplan_pb2.PLAN_STATUS_TODO
    assert plan.task_count == 4


def test_CP5_composite_fed_by_an_aggregate_gets_two_input_models(client: GatewayClient) -> None:
    _composite_setup(client, "composite algo", "aggAlgo")
    steps.register_sample(client, "test sample", test_only=True)
    steps.register_algo(client, "metric algo", algo_pb2.ALGO_METRIC)
    steps.register_tasks(
        client,
        b.new_composite_task("c1"), b.new_composite_task("c2"),
        b.new_aggregate_task("a1", parents=("c1", "c2"), algo="aggAlgo"),
        b.new_composite_task("c3", parents=("a1", "c1")),
    )
    steps.start(client, "c1")
    steps.register_models(client, b.new_model("m1H", task="c1", category=HEAD),
                          b.new_model("m1T", task="c1", category=SIMPLE))
    steps.start(client, "c2")
    steps.register_model(client, "m2H", "c2", HEAD)
    steps.register_model(client, "m2T", "c2", SIMPLE)
    steps.start(client, "a1")
    steps.register_model(client, "mAgg", "a1")
    steps.start(client, "c3")
    inputs = client.get_compute_task_input_models(model_pb2.GetComputeTaskModelsParam(compute_task_key=key("c3")))
    assert len(inputs.models) == 2
    assert steps.keys_of(inputs.models) == {key("m1H"), key("mAgg")}


def test_CP6_plans_are_listed_a_page_at_a_time(client: GatewayClient) -> None:
    for ref in ("cp1", "cp2", "cp3"):
        steps.register_plan(client, ref)
    page = client.query_plans(computeplan_pb2.QueryPlansParam(page_size=3))
    assert len(page.plans) == 3


def test_CP7_plan_counters_follow_the_task_lifecycle(client: GatewayClient) -> None:
    steps.setup_train(client)
    steps.register_task(client, b.new_train_task("task"))
    steps.register_task(client, b.new_train_task("task#1", parents=("task",)))
    steps.register_task(client, b.new_train_task("task#2", parents=("task",)))
    assert steps.counters(steps.get_plan(client)) == (3, 2, 1, 0, 0, 0, 0)
    steps.start(client, "task")
    steps.act(client, "task#1", steps.CANCELED)
    steps.act(client, "task#2", steps.FAILED)
    assert steps.counters(steps.get_plan(client)) == (3, 0, 0, 1, 1, 1, 0)
    steps.register_model(client, "model", "task")
    assert steps.counters(steps.get_plan(client)) == (3, 0, 0, 0, 1, 1, 1)


def _query_5000_by_algo(client: GatewayClient) -> list[computetask_pb2.ComputeTask]:
    begin = time.perf_counter()
    page = client.query_tasks(computetask_pb2.QueryTasksParam(
        page_size=5000, filter=computetask_pb2.TaskQueryFilter(algo_key=key("simple algo"))))
    logger.info("5,000-task query: %.2fs", time.perf_counter() - begin)
    return list(page.tasks)


@pytest.fixture
def process_client(tmp_path: Path) -> Iterator[GatewayClient]:
    """A client of a gateway subprocess: the long scenarios get a core of their own for the gateway."""
    gateway = GatewayProcess(tmp_path / "data", "--log-level", "WARNING").wait_serving()  # no access log lines
    try:
        with connected(gateway.address) as channel:
            yield GatewayClient(channel).register()
    finally:
        gateway.stop(signal.SIGTERM)


@pytest.mark.slow
@pytest.mark.timeout(900)  # 10,000 round trips: through Fabric stand-in peers on 2 busy cores that passes 300 s
def test_CP8_ten_thousand_tasks_one_call_each(process_client: GatewayClient) -> None:
    client = process_client
    steps.setup_train(client)
    steps.register_task(client, b.new_train_task("task"))
    begin = time.perf_counter()
    for n in range(10_000):
        steps.register_task(client, b.new_train_task(f"task{n}", parents=("task",)))
    logger.info("10,000 single-task registrations: %.2fs", time.perf_counter() - begin)
    assert len(_query_5000_by_algo(client)) == 5000


@pytest.mark.slow
def test_CP9_ten_thousand_tasks_in_batches_of_a_thousand(process_client: GatewayClient) -> None:
    client = process_client
    steps.setup_train(client)
    steps.register_task(client, b.new_train_task("task"))
    begin = time.perf_counter()
    for batch in range(10):
        steps.register_tasks(client, *(b.new_train_task(f"task{n}", parents=("task",))
                                       for n in range(batch * 1000 + 1, batch * 1000 + 1001)))
    logger.info("10,000 tasks in 10 batches: %.2fs", time.perf_counter() - begin)
    assert len(_query_5000_by_algo(client)) == 5000
