"""A failing call writes nothing: state and event log are unchanged, whatever the failure (GEN-4, ERR-4)."""

# Where it can, each case first succeeds at writes inside the failing call (tasks created before a
# later one fails, a task completed before a later model fails, tasks cancelled before one refuses),
# so a leak of the call's overlay would show.

from __future__ import annotations

from collections.abc import Callable

import pytest

from orchestrator.api import algo_pb2, computeplan_pb2, computetask_pb2, model_pb2
from orchestrator.shared.errors import (
    BadRequestError,
    CannotDisableModelError,
    ConflictError,
    IllegalTransitionError,
    IncompatibleTaskStatusError,
    InternalError,
    InvalidAssetError,
    NotFoundError,
    PermissionDeniedError,
)
from tests.builders import (
    key,
    new_algo,
    new_composite_task,
    new_failure_report,
    new_model,
    new_performance,
    new_plan,
    new_test_task,
    new_train_task,
    register_task_assets,
    restricted,
)
from tests.network import Network

T = computetask_pb2
SIMPLE, HEAD = model_pb2.MODEL_SIMPLE, model_pb2.MODEL_HEAD


@pytest.fixture
def net(net: Network) -> Network:
    """Assets, a done train "done" with model "m done", a running "doing", a running test task, a
    running composite, a cancelled "cancelled", a mute-algo task, a task with a private model, a test
    task with one of its two performances, and a plan "deleting"."""
    register_task_assets(net.org1, net.org2)
    net.org1.register_algo(new_algo("mute algo", outputs={}))
    net.org1.register_plan(new_plan("deleting", delete_intermediary_models=True))
    tasks = [new_train_task(r) for r in ("done", "doing", "cancelled", "todo")]
    tasks += [new_composite_task("composite"), new_train_task("mute", algo="mute algo", outputs={})]
    tasks += [new_train_task("leaf", plan="deleting"), new_train_task("waiting", parents=["todo"])]
    tasks += [new_train_task("private", outputs={"model": restricted()})]
    register(net, *tasks)
    for ref in ("done", "doing", "composite", "leaf"):
        act(net, ref, T.TASK_ACTION_DOING)
    net.org1.register_model(new_model("m done", task="done"))
    net.org1.register_model(new_model("m leaf", task="leaf"))
    act(net, "cancelled", T.TASK_ACTION_CANCELED)
    net.org1.register_algo(new_algo("metric 2", algo_pb2.ALGO_METRIC))
    register(net, new_test_task("test", parents=["done"], metrics=["metric algo", "metric 2"]))
    act(net, "test", T.TASK_ACTION_DOING)
    net.org1.register_performance(new_performance(task="test", metric="metric algo"))
    return net


def register(net: Network, *tasks: T.NewComputeTask) -> None:
    net.org1.register_tasks(T.RegisterTasksParam(tasks=list(tasks)))


def act(net: Network, ref: str, action: int) -> None:
    net.org1.apply_task_action(T.ApplyTaskActionParam(compute_task_key=key(ref), action=action))


def models(net: Network, *new_models: model_pb2.NewModel) -> None:
    net.org1.register_models(model_pb2.RegisterModelsParam(models=list(new_models)))


def _invalid_second_task() -> T.NewComputeTask:
    task = new_train_task("second")
    task.compute_plan_key = "not a uuid"
    return task


def _in_the_middle(last: T.NewComputeTask) -> Callable[[Network], None]:
    """Two valid tasks (the second below the first) and then ``last``, in one call."""
    return lambda net: register(net, new_train_task("n1"), new_train_task("n2", parents=["n1"]), last)


CASES: dict[str, tuple[type[BaseException], Callable[[Network], None]]] = {
    "validation": (InvalidAssetError, lambda net: register(net, new_train_task("first"), _invalid_second_task())),
    "unsortable graph": (InvalidAssetError, _in_the_middle(new_train_task("n3", parents=["nowhere"]))),
    "plan not found": (NotFoundError, _in_the_middle(new_train_task("n3", plan="nowhere"))),
    "algo not found mid-batch": (NotFoundError, _in_the_middle(new_train_task("n3", algo="nowhere"))),
    "metric not found mid-batch": (NotFoundError, _in_the_middle(new_test_task("n3", parents=["n2"],
                                                                               metrics=["nowhere"]))),
    "plan of another owner": (PermissionDeniedError, lambda net: net.org2.register_tasks(
        T.RegisterTasksParam(tasks=[new_train_task("n1")]))),
    "parent output not processable mid-batch": (PermissionDeniedError, _in_the_middle(
        new_train_task("n3", parents=["private"], dm="dm2", samples=["ds2"]))),
    "stored key": (ConflictError, _in_the_middle(new_train_task("done"))),
    "repeated key": (ConflictError, lambda net: register(net, new_train_task("n1"), new_train_task("n1"))),
    "unknown authorized id mid-batch": (BadRequestError, _in_the_middle(
        new_train_task("n3", outputs={"model": restricted("NobodyMSP")}))),
    "incompatible status mid-batch": (IncompatibleTaskStatusError, _in_the_middle(
        new_train_task("n3", parents=["cancelled"]))),
    "missing parent output mid-batch": (InternalError, _in_the_middle(new_train_task("n3", parents=["mute"]))),
    "illegal transition": (IllegalTransitionError, lambda net: act(net, "doing", T.TASK_ACTION_DOING)),
    "action by a non-worker": (PermissionDeniedError, lambda net: net.org2.apply_task_action(
        T.ApplyTaskActionParam(compute_task_key=key("doing"), action=T.TASK_ACTION_DONE))),
    "unsupported action": (BadRequestError, lambda net: act(net, "doing", 0)),
    "model after completion": (BadRequestError, lambda net: models(
        net, new_model("a", task="doing"), new_model("b", task="doing"))),
    "model key reused after a head": (ConflictError, lambda net: models(
        net, new_model("h", task="composite", category=HEAD), new_model("m done", task="composite"))),
    "second model category": (ConflictError, lambda net: models(
        net, new_model("h1", task="composite", category=HEAD), new_model("h2", task="composite", category=HEAD))),
    "model not found task": (NotFoundError, lambda net: models(net, new_model(task="nowhere"))),
    "performance conflict": (ConflictError, lambda net: net.org1.register_performance(
        new_performance(task="test", metric="metric algo"))),
    "failure report on a todo task": (BadRequestError, lambda net: net.org1.register_failure_report(
        new_failure_report("todo"))),
    "model in use": (CannotDisableModelError, lambda net: net.org1.disable_model(
        model_pb2.DisableModelParam(model_key=key("m leaf")))),
    "plan cancellation refused mid-way": (PermissionDeniedError, lambda net: _cancel_with_foreign_task(net)),
}


def _cancel_with_foreign_task(net: Network) -> None:
    net.org1.apply_plan_action(computeplan_pb2.ApplyPlanActionParam(
        key=key("cp"), action=computeplan_pb2.PLAN_ACTION_CANCELED))


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_failing_call_leaves_state_and_events_unchanged__GEN_4_ERR_4_BATCH_1(net: Network, case: str) -> None:
    error, call = CASES[case]
    if case == "plan cancellation refused mid-way":
        # org2's test task on org2's data sits in org1's plan (TASK-36), after tasks org1 may cancel
        net.org2.register_plan(new_plan("cp org2"))
        net.org2.register_tasks(T.RegisterTasksParam(tasks=[
            new_test_task("foreign", parents=["done"], plan="cp org2", dm="dm2", samples=["ds2"])]))
    before = (net.ledger.dump(), net.org1.query_events())
    with pytest.raises(error):
        call(net)
    assert (net.ledger.dump(), net.org1.query_events()) == before
