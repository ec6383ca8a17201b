"""The compute task state machine, cascades, plan status and plan cancellation (rules.md section 10, CP-17, CP-18)."""

from __future__ import annotations

import pytest

from orchestrator.api import common_pb2, computeplan_pb2, computetask_pb2, event_pb2, model_pb2
from orchestrator.shared.errors import (
    BadRequestError,
    IllegalTransitionError,
    NotFoundError,
    OrcError,
    PermissionDeniedError,
    status_name_for,
)
from orchestrator.shared.services.task_states import TRANSITION_BY_ACTION, TRANSITIONS, is_terminal
from tests.builders import (
    key,
    new_aggregate_task,
    new_model,
    new_plan,
    new_test_task,
    new_train_task,
    register_task_assets,
)
from tests.network import Client, Network

ORG1, ORG2 = "MyOrg1MSP", "MyOrg2MSP"
T = computetask_pb2
S = T.ComputeTaskStatus
WAITING, TODO, DOING, DONE, CANCELED, FAILED = (
    T.STATUS_WAITING, T.STATUS_TODO, T.STATUS_DOING, T.STATUS_DONE, T.STATUS_CANCELED, T.STATUS_FAILED,
)
A_DOING, A_CANCELED, A_FAILED, A_DONE = (
    T.TASK_ACTION_DOING, T.TASK_ACTION_CANCELED, T.TASK_ACTION_FAILED, T.TASK_ACTION_DONE,
)


@pytest.fixture
def net(net: Network) -> Network:
    register_task_assets(net.org1, net.org2)
    return net


def register(client: Client, *tasks: computetask_pb2.NewComputeTask) -> list[computetask_pb2.ComputeTask]:
    return list(client.register_tasks(T.RegisterTasksParam(tasks=list(tasks))).tasks)


def act(client: Client, ref: str, action: int, log: str = "") -> None:
    client.apply_task_action(T.ApplyTaskActionParam(compute_task_key=key(ref), action=action, log=log))


def status(net: Network, ref: str) -> int:
    return net.org1.get_task(T.GetTaskParam(key=key(ref))).status


def updates(net: Network, ref: str | None = None) -> list[event_pb2.Event]:
    filters = {"asset_key": key(ref)} if ref else {}
    return [e for e in net.org1.ledger_events(event_kind=event_pb2.EVENT_ASSET_UPDATED, **filters)
            if e.asset_kind == common_pb2.ASSET_COMPUTE_TASK]


def plan(net: Network, ref: str = "cp") -> computeplan_pb2.ComputePlan:
    return net.org1.get_plan(computeplan_pb2.GetComputePlanParam(key=key(ref)))


def counts(net: Network, ref: str = "cp") -> tuple[int, ...]:
    p = plan(net, ref)
    return (p.task_count, p.waiting_count, p.todo_count, p.doing_count, p.canceled_count, p.failed_count,
            p.done_count)


def bring_to(net: Network, ref: str, target: int) -> None:
    """Register task ``ref`` (under a TODO parent for WAITING) and drive it to ``target`` by its worker."""
    if target == WAITING:
        register(net.org1, new_train_task(f"{ref} parent"), new_train_task(ref, parents=[f"{ref} parent"]))
        return
    register(net.org1, new_train_task(ref))
    path = {TODO: [], DOING: [A_DOING], DONE: [A_DOING, A_DONE], CANCELED: [A_CANCELED], FAILED: [A_FAILED]}
    for action in path[target]:
        act(net.org1, ref, action)


# -- 10.1 states and transitions ------------------------------------------------------------------


def test_the_transition_table_is_exactly_the_specs__STATE_1_STATE_2() -> None:
    table = {t.name: (set(t.sources), t.destination) for t in TRANSITIONS}
    assert table == {
        "transitionTodo": ({WAITING}, TODO),
        "transitionDoing": ({TODO}, DOING),
        "transitionDone": ({DOING}, DONE),
        "transitionCanceled": ({WAITING, TODO, DOING}, CANCELED),
        "transitionFailed": ({WAITING, TODO, DOING}, FAILED),
    }
    assert [s for s in (WAITING, TODO, DOING, DONE, CANCELED, FAILED) if is_terminal(s)] == [DONE, CANCELED, FAILED]


def test_actions_map_to_transitions_and_none_to_todo__STATE_3() -> None:
    assert {action: t.name for action, t in TRANSITION_BY_ACTION.items()} == {
        A_DOING: "transitionDoing", A_CANCELED: "transitionCanceled", A_FAILED: "transitionFailed",
        A_DONE: "transitionDone",
    }


LEGAL = {(TODO, A_DOING), (DOING, A_DONE)} | {(s, a) for s in (WAITING, TODO, DOING) for a in (A_CANCELED, A_FAILED)}


@pytest.mark.parametrize("start", [WAITING, TODO, DOING, DONE, CANCELED, FAILED], ids=S.Name)
@pytest.mark.parametrize("action", [A_DOING, A_CANCELED, A_FAILED, A_DONE], ids=T.ComputeTaskAction.Name)
def test_actions_follow_the_table_and_illegal_ones_fail_with_fsm_text__STATE_8_STATE_9(
    net: Network, start: int, action: int
) -> None:
    bring_to(net, "task", start)
    transition = TRANSITION_BY_ACTION[action]
    if (start, action) in LEGAL:
        act(net.org1, "task", action)
        assert status(net, "task") == transition.destination
        return
    before = (net.ledger.dump(), net.org1.query_events())
    with pytest.raises(IllegalTransitionError) as raised:
        act(net.org1, "task", action)
    assert str(raised.value) == f"event {transition.name} inappropriate in current state {S.Name(start)}"
    assert not isinstance(raised.value, OrcError)
    assert status_name_for(str(raised.value)) == "UNKNOWN"  # ERR-2
    assert (net.ledger.dump(), net.org1.query_events()) == before


# -- 10.2 ApplyTaskAction ---------------------------------------------------------------------------


@pytest.mark.parametrize("action", [0, 5, 99])
def test_unsupported_action_is_a_bad_request_before_the_task_is_loaded__STATE_4(net: Network, action: int) -> None:
    with pytest.raises(BadRequestError, match=r"^OE0003: unsupported action$"):
        act(net.org1, "no such task", action)


def test_reason_is_the_log_or_user_action__STATE_5_STATE_11(net: Network) -> None:
    register(net.org1, new_train_task("a"), new_train_task("b"))
    act(net.org1, "a", A_DOING, log="started by the backend")
    act(net.org1, "b", A_DOING)
    assert dict(updates(net, "a")[0].metadata) == {"reason": "started by the backend"}
    assert dict(updates(net, "b")[0].metadata) == {"reason": "User action"}


def test_unknown_task_is_not_found__STATE_6(net: Network) -> None:
    with pytest.raises(NotFoundError, match=rf'^OE0002: computetask with key "{key("nope")}" not found$'):
        act(net.org1, "nope", A_CANCELED)


@pytest.mark.parametrize(
    ("who", "action", "allowed"),
    [
        ("owner", A_CANCELED, True), ("worker", A_CANCELED, True), ("other", A_CANCELED, False),
        ("owner", A_DOING, False), ("worker", A_DOING, True), ("other", A_DOING, False),
        ("owner", A_FAILED, False), ("worker", A_FAILED, True),
    ],
)
def test_role_check_by_action__STATE_7(net: Network, who: str, action: int, allowed: bool) -> None:
    register(net.org1, new_train_task(dm="dm2", samples=["ds2"]))  # owner org1, worker org2
    client = {"owner": net.org1, "worker": net.org2, "other": net.client("OtherMSP")}[who]
    if allowed:
        act(client, "task", action)
        assert status(net, "task") == TRANSITION_BY_ACTION[action].destination
    else:
        with pytest.raises(PermissionDeniedError, match=r"^OE0102: only task owner can update it$"):
            act(client, "task", action)


def test_role_check_precedes_the_status_check__STATE_7(net: Network) -> None:
    register(net.org1, new_train_task(dm="dm2", samples=["ds2"]))
    act(net.org2, "task", A_DOING)
    act(net.org2, "task", A_DONE)
    with pytest.raises(PermissionDeniedError):
        act(net.org1, "task", A_DONE)  # DONE -> DONE is illegal too, but the role is checked first


def test_scenario_facts__STATE_10(net: Network) -> None:
    register(net.org1, new_train_task("parent"), new_train_task("w1", parents=["parent"]),
             new_train_task("w2", parents=["parent"]), new_train_task("run"))
    act(net.org1, "w1", A_CANCELED)  # the owner cancels a WAITING task
    act(net.org1, "w2", A_FAILED)  # the worker fails a WAITING task
    act(net.org1, "run", A_DOING)
    act(net.org1, "run", A_DONE)  # DONE straight from DOING, no output registered
    assert [status(net, r) for r in ("w1", "w2", "run")] == [CANCELED, FAILED, DONE]
    register(net.org1, new_aggregate_task("agg", parents=["parent"], worker=ORG2))
    with pytest.raises(PermissionDeniedError):
        act(net.org1, "agg", A_FAILED)  # the owner may not act as the worker
    act(net.org2, "agg", A_CANCELED)  # a worker that does not own the task cancels it
    assert status(net, "agg") == CANCELED


# -- 10.3 effects ---------------------------------------------------------------------------------------


def test_a_transition_saves_the_status_and_emits_the_complete_task__STATE_11(net: Network) -> None:
    (registered,) = register(net.org1, new_train_task())
    act(net.org1, "task", A_DOING)
    (event,) = updates(net, "task")
    registered.status = DOING
    assert event.compute_task == registered
    assert event.compute_task.inputs and event.compute_task.outputs and event.compute_task.algo.key
    assert net.org1.get_task(T.GetTaskParam(key=key("task"))) == registered
    queried = net.org1.query_tasks(T.QueryTasksParam(filter=T.TaskQueryFilter(status=DOING, worker=ORG1)))
    assert [t.key for t in queried.tasks] == [key("task")]
    assert not net.org1.query_tasks(T.QueryTasksParam(filter=T.TaskQueryFilter(status=TODO))).tasks
    assert counts(net) == (1, 0, 0, 1, 0, 0, 0)


def test_done_moves_children_whose_parents_are_all_done_to_todo__STATE_12(net: Network) -> None:
    register(
        net.org1, new_train_task("p"), new_train_task("q"),
        new_train_task("only p", parents=["p"]), new_train_task("p twice", parents=["p", "p"]),
        new_train_task("p and q", parents=["p", "q"]), new_train_task("grandchild", parents=["only p"]),
    )
    act(net.org1, "p", A_DOING)
    act(net.org1, "p", A_DONE)
    assert [status(net, r) for r in ("only p", "p twice", "p and q", "grandchild")] == [TODO, TODO, WAITING, WAITING]
    for child in ("only p", "p twice"):
        (event,) = updates(net, child)
        assert dict(event.metadata) == {"reason": f"Last parent task {key('p')} done"}
        assert event.compute_task.status == TODO
    act(net.org1, "q", A_DOING)
    act(net.org1, "q", A_DONE)
    assert status(net, "p and q") == TODO


def test_done_propagation_skips_children_that_are_not_waiting__STATE_12(net: Network) -> None:
    register(net.org1, new_train_task("p"), new_train_task("cancelled child", parents=["p"]))
    act(net.org1, "cancelled child", A_CANCELED)
    act(net.org1, "p", A_DOING)
    act(net.org1, "p", A_DONE)
    assert status(net, "cancelled child") == CANCELED
    assert len(updates(net, "cancelled child")) == 1


def test_children_are_visited_by_creation_date_then_key_after_the_parent__STATE_12_STATE_15(net: Network) -> None:
    register(net.org1, new_train_task("p"))
    register(net.org1, *(new_train_task(f"late {i}", parents=["p"]) for i in range(3)))
    register(net.org1, *(new_train_task(f"early {i}", parents=["p"]) for i in range(3)))  # later call
    act(net.org1, "p", A_DOING)
    act(net.org1, "p", A_DONE)
    done_at = updates(net, "p")[-1].timestamp
    done_call = [e for e in net.ledger.events.after(0, limit=10_000) if e.event.timestamp == done_at]
    expected = [key("p"), *sorted(key(f"late {i}") for i in range(3)), *sorted(key(f"early {i}") for i in range(3))]
    assert [e.event.asset_key for e in done_call] == expected


def test_failure_and_cancellation_do_not_cascade__STATE_13(net: Network) -> None:
    for outcome in ("cancel", "fail"):
        parent = f"{outcome} parent"
        children = [new_train_task(f"{outcome} {i}", parents=[parent]) for i in range(10)]
        register(net.org1, new_train_task(parent), *children)
        act(net.org1, parent, A_DOING)
        act(net.org1, parent, A_CANCELED if outcome == "cancel" else A_FAILED)
        assert all(status(net, f"{outcome} {i}") == WAITING for i in range(10))
        assert len(updates(net, parent)) == 2
        assert plan(net).status == (computeplan_pb2.PLAN_STATUS_CANCELED if outcome == "cancel"
                                    else computeplan_pb2.PLAN_STATUS_FAILED)


def test_done_leaves_models_untouched__STATE_14(net: Network) -> None:
    net.org1.register_plan(new_plan("deleting", delete_intermediary_models=True))
    register(net.org1, new_train_task(plan="deleting"), new_train_task("child", parents=["task"], plan="deleting"))
    act(net.org1, "task", A_DOING)
    net.org1.register_model(new_model())
    act(net.org1, "child", A_DOING)
    act(net.org1, "child", A_DONE)
    assert net.org1.get_model(model_pb2.GetModelParam(key=key("model"))).HasField("address")


def test_plan_status_follows_tasks_without_plan_events__STATE_16_CP_18(net: Network) -> None:
    register(net.org1, new_train_task("a"), new_train_task("b", parents=["a"]), new_train_task("c", parents=["a"]))
    assert counts(net) == (3, 2, 1, 0, 0, 0, 0)
    assert plan(net).status == computeplan_pb2.PLAN_STATUS_TODO
    act(net.org1, "a", A_DOING)
    act(net.org1, "b", A_CANCELED)
    act(net.org1, "c", A_FAILED)
    assert counts(net) == (3, 0, 0, 1, 1, 1, 0)
    assert plan(net).status == computeplan_pb2.PLAN_STATUS_FAILED
    act(net.org1, "a", A_DONE)
    assert counts(net) == (3, 0, 0, 0, 1, 1, 1)
    plan_events = net.org1.query_events(asset_kind=common_pb2.ASSET_COMPUTE_PLAN)
    assert [e.event_kind for e in plan_events] == [event_pb2.EVENT_ASSET_CREATED]


def test_tasks_of_a_failed_plan_keep_their_status_until_acted_on__STATE_17(net: Network) -> None:
    register(net.org1, new_train_task("a"), new_train_task("b"))
    act(net.org1, "a", A_FAILED)
    assert plan(net).status == computeplan_pb2.PLAN_STATUS_FAILED
    assert status(net, "b") == TODO
    act(net.org1, "b", A_CANCELED)  # the worker cancels a task of a failed plan
    assert status(net, "b") == CANCELED


# -- plan cancellation -----------------------------------------------------------------------------


def cancel_plan(client: Client, ref: str = "cp") -> None:
    client.apply_plan_action(computeplan_pb2.ApplyPlanActionParam(
        key=key(ref), action=computeplan_pb2.PLAN_ACTION_CANCELED))


def test_plan_cancellation_cancels_every_cancellable_task_once__CP_17(net: Network) -> None:
    register(net.org1, *(new_train_task(r) for r in ("done", "failed", "cancelled", "doing", "todo")),
             new_train_task("waiting", parents=["doing"]))
    for ref, actions in {"done": [A_DOING, A_DONE], "failed": [A_FAILED], "cancelled": [A_CANCELED],
                         "doing": [A_DOING]}.items():
        for action in actions:
            act(net.org1, ref, action)
    before = {ref: len(updates(net, ref)) for ref in ("done", "failed", "cancelled")}
    cancel_plan(net.org1)
    assert [status(net, r) for r in ("done", "failed", "cancelled", "doing", "todo", "waiting")] == [
        DONE, FAILED, CANCELED, CANCELED, CANCELED, CANCELED]
    assert {ref: len(updates(net, ref)) for ref in before} == before
    last = updates(net)[-3:]
    assert [e.asset_key for e in last] == sorted([key("doing"), key("todo"), key("waiting")])  # one call: by key
    assert all(dict(e.metadata) == {"reason": f"compute plan {key('cp')} is cancelled"} for e in last)
    assert plan(net).status == computeplan_pb2.PLAN_STATUS_FAILED


def test_cancelling_a_cancelled_plan_succeeds_and_emits_nothing__CP_17(net: Network) -> None:
    register(net.org1, new_train_task())
    cancel_plan(net.org1)
    events = net.org1.query_events()
    cancel_plan(net.org1)
    assert net.org1.query_events() == events
    assert plan(net).status == computeplan_pb2.PLAN_STATUS_CANCELED


def test_plan_cancellation_acts_as_the_plan_owner_and_aborts_on_other_errors__CP_17(net: Network) -> None:
    # UNSETTLED 16.5 #8: org2's test task sits in org1's plan (it takes its parent's plan) and runs on org2
    net.org2.register_plan(new_plan("cp org2"))
    register(net.org1, new_train_task("train"), new_train_task("other"))
    register(net.org2, new_test_task(parents=["train"], plan="cp org2", dm="dm2", samples=["ds2"]))
    before = (net.ledger.dump(), net.org1.query_events())
    with pytest.raises(PermissionDeniedError, match="only task owner can update it"):
        cancel_plan(net.org1)
    assert (net.ledger.dump(), net.org1.query_events()) == before


def test_tasks_can_be_added_to_a_cancelled_plan__CP_18(net: Network) -> None:
    register(net.org1, new_train_task("a"))
    cancel_plan(net.org1)
    (task,) = register(net.org1, new_train_task("b"))
    assert task.status == TODO
    assert plan(net).status == computeplan_pb2.PLAN_STATUS_CANCELED
