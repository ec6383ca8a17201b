"""Compute tasks: registration, checks, stored fields and queries (rules.md section 9)."""

from __future__ import annotations

import pytest

from orchestrator.api import algo_pb2, common_pb2, computetask_pb2, event_pb2
from orchestrator.shared.errors import (
    BadRequestError,
    ConflictError,
    IncompatibleTaskStatusError,
    InternalError,
    InvalidAssetError,
    NotFoundError,
    PermissionDeniedError,
    UnimplementedError,
)
from orchestrator.shared.services.computetask import compatible_with_parents
from tests.builders import (
    key,
    new_aggregate_task,
    new_algo,
    new_composite_task,
    new_data_manager,
    new_plan,
    new_predict_task,
    new_test_task,
    new_train_task,
    public,
    register_task_assets,
    restricted,
)
from tests.network import Client, Network

ORG1, ORG2 = "MyOrg1MSP", "MyOrg2MSP"
T = computetask_pb2


@pytest.fixture
def net(net: Network) -> Network:
    """The two-organization network with algos, data managers "dm" (org1) and "dm2" (org2), plan "cp"."""
    register_task_assets(net.org1, net.org2)
    return net


def register(client: Client, *tasks: T.NewComputeTask) -> list[T.ComputeTask]:
    return list(client.register_tasks(T.RegisterTasksParam(tasks=list(tasks))).tasks)


def get(net: Network, ref: str) -> T.ComputeTask:
    return net.org1.get_task(T.GetTaskParam(key=key(ref)))


def act(client: Client, ref: str, action: int) -> None:
    client.apply_task_action(T.ApplyTaskActionParam(compute_task_key=key(ref), action=action))


def query(net: Network, page_size: int = 0, token: str = "", **filters: object) -> T.QueryTasksResponse:
    return net.org1.query_tasks(T.QueryTasksParam(
        page_token=token, page_size=page_size, filter=T.TaskQueryFilter(**filters)))  # type: ignore[arg-type]


def finish(net: Network, *refs: str) -> None:
    """Start then complete each task by its worker (org1 for everything on "dm")."""
    for ref in refs:
        act(net.org1, ref, T.TASK_ACTION_DOING)
        act(net.org1, ref, T.TASK_ACTION_DONE)


# -- 9.1 whole-call steps ------------------------------------------------------------------------


def test_empty_batch_is_a_bad_request__TASK_1(net: Network) -> None:
    with pytest.raises(BadRequestError, match=r"^OE0003: no task to register$"):
        register(net.org1)


def test_every_task_is_validated_before_any_state_is_read__TASK_2_TASK_9(net: Network) -> None:
    unknown_plan = new_train_task("a", plan="no such plan")
    invalid = new_train_task("b")
    invalid.algo_key = "NOT-A-UUID"
    with pytest.raises(InvalidAssetError, match=r"^OE0101: computetask is not valid"):
        register(net.org1, unknown_plan, invalid)


@pytest.mark.parametrize(
    "invalid",
    [new_train_task(samples=[]), new_aggregate_task(worker=""), new_test_task(metrics=[])],
    ids=["train without samples", "aggregate without worker", "test without metrics"],
)
def test_the_data_variant_is_validated__TASK_10(net: Network, invalid: T.NewComputeTask) -> None:
    with pytest.raises(InvalidAssetError, match=r"^OE0101: computetask is not valid"):
        register(net.org1, invalid)


def test_tasks_are_sorted_parents_first_in_upstream_fifo_order__TASK_4_TASK_7(net: Network) -> None:
    tasks = register(
        net.org1,
        new_train_task("d", parents=["c"]),
        new_train_task("c", parents=["a"]),
        new_train_task("b"),
        new_train_task("a"),
    )
    assert [t.key for t in tasks] == [key("b"), key("a"), key("c"), key("d")]


def test_a_parent_listed_twice_counts_twice_and_is_released_once_popped__TASK_4(net: Network) -> None:
    tasks = register(net.org1, new_train_task("child", parents=["a", "a"]), new_train_task("a"))
    assert [t.key for t in tasks] == [key("a"), key("child")]
    assert list(tasks[1].parent_task_keys) == [key("a"), key("a")]


def test_stored_parents_do_not_hold_a_task_back__TASK_3_TASK_4(net: Network) -> None:
    register(net.org1, new_train_task("stored"))
    tasks = register(net.org1, new_train_task("child", parents=["stored", "fresh"]), new_train_task("fresh"))
    assert [t.key for t in tasks] == [key("fresh"), key("child")]


@pytest.mark.parametrize(
    "tasks",
    [
        [new_train_task("x", parents=["y"]), new_train_task("y", parents=["x"])],
        [new_train_task("x", parents=["x"]), new_train_task("y", parents=["x"])],
        [new_train_task("x", parents=["unknown"]), new_train_task("y", parents=["x"])],
    ],
    ids=["cycle", "self-reference", "unknown parent"],
)
def test_unsortable_graph_is_invalid_and_counts_unsorted_tasks__TASK_4(
    net: Network, tasks: list[T.NewComputeTask]
) -> None:
    with pytest.raises(InvalidAssetError, match=r"unknown task parent, unsorted_tasks_count: 2$"):
        register(net.org1, *tasks)


def test_a_parent_created_earlier_in_the_call_is_used_with_its_state__TASK_5(net: Network) -> None:
    parent, child, grandchild = register(
        net.org1, new_train_task("parent"), new_train_task("child", parents=["parent"]),
        new_train_task("grandchild", parents=["child"]),
    )
    assert (parent.status, child.status, grandchild.status) == (T.STATUS_TODO, T.STATUS_WAITING, T.STATUS_WAITING)
    assert (parent.rank, child.rank, grandchild.rank) == (0, 1, 2)


def test_one_created_event_per_task_in_sorted_order_with_the_stored_task__TASK_6(net: Network) -> None:
    tasks = register(net.org1, new_train_task("child", parents=["parent"]), new_train_task("parent"))
    events = net.org1.ledger_events(asset_kind=common_pb2.ASSET_COMPUTE_TASK)
    assert [e.asset_key for e in events] == [key("parent"), key("child")]
    assert all(e.event_kind == event_pb2.EVENT_ASSET_CREATED and not e.metadata for e in events)
    assert [e.compute_task for e in events] == tasks


# -- 9.3 ordered checks ----------------------------------------------------------------------------


def test_unknown_plan_is_not_found__TASK_12(net: Network) -> None:
    with pytest.raises(NotFoundError, match=rf'^OE0002: computeplan with key "{key("other")}" not found$'):
        register(net.org1, new_train_task(plan="other"))


def test_only_the_plan_owner_registers_tasks__TASK_13(net: Network) -> None:
    with pytest.raises(PermissionDeniedError, match=r"^OE0102: Cannot register tasks to a compute plan you don't own$"):
        register(net.org2, new_train_task())


def test_a_stored_key_is_a_conflict__TASK_14(net: Network) -> None:
    register(net.org1, new_train_task())
    with pytest.raises(ConflictError, match=rf'^OE0006: computetask with key "{key("task")}" already exists$'):
        register(net.org1, new_train_task())


def test_incompatible_parents_are_invalid__TASK_16(net: Network) -> None:
    register(net.org1, new_composite_task("c"))
    with pytest.raises(InvalidAssetError, match=r"^OE0101: incompatible models from parent tasks$"):
        register(net.org1, new_train_task(parents=["c"]))


@pytest.mark.parametrize("action", [T.TASK_ACTION_CANCELED, T.TASK_ACTION_FAILED])
def test_no_task_below_a_cancelled_or_failed_parent__TASK_17_TASK_20(net: Network, action: int) -> None:
    register(net.org1, new_train_task("parent"))
    act(net.org1, "parent", action)
    expected = r'^OE0104: cannot create a task with status "STATUS_CANCELED"$'
    with pytest.raises(IncompatibleTaskStatusError, match=expected):
        register(net.org1, new_train_task("child", parents=["parent"]))


def test_output_permissions_are_perm_3_of_the_owner__TASK_19a_TASK_47(net: Network) -> None:
    (task,) = register(net.org1, new_train_task(outputs={"model": public()}))
    expected = common_pb2.Permission(public=True, authorized_ids=[ORG1])
    assert task.outputs["model"].permissions == common_pb2.Permissions(process=expected, download=expected)
    (task,) = register(net.org1, new_train_task("private", outputs={"model": restricted(ORG1)}))
    expected = common_pb2.Permission(public=False, authorized_ids=[ORG1])
    assert task.outputs["model"].permissions == common_pb2.Permissions(process=expected, download=expected)


def test_output_permissions_naming_unknown_orgs_are_a_bad_request__TASK_19a(net: Network) -> None:
    with pytest.raises(BadRequestError, match=r"^OE0003: invalid permission input values$"):
        register(net.org1, new_train_task(outputs={"model": restricted("UnknownMSP")}))


def test_tasks_of_one_batch_alike_but_for_their_own_fields_get_the_same_derived_fields__TASK_19(
    net: Network,
) -> None:
    """Derived fields computed once per call for alike requests must match what each would get alone."""
    batch = [
        new_train_task("a", outputs={"model": public()}),
        new_train_task("b", outputs={"model": restricted(ORG2)}),
        new_train_task("c", parents=["a"], outputs={"model": public()}),
        new_train_task("d", dm="dm2", samples=["ds2"], outputs={"model": public()}),
    ]
    batch[2].metadata["own"] = "c"
    in_batch = {task.key: task for task in register(net.org1, *batch)}
    net.org1.register_plan(new_plan("alone"))
    alone = {}
    for new in batch:
        original = new.key
        new.key = key(f"alone {original}")
        new.compute_plan_key = key("alone")
        del new.parent_task_keys[:]
        alone[original] = register(net.org1, new)[0]
    assert dict(in_batch[key("c")].metadata) == {"own": "c"} and not in_batch[key("a")].metadata
    per_task = ("key", "compute_plan_key", "creation_date", "status", "rank", "parent_task_keys")
    for task_key, together in in_batch.items():
        by_itself = alone[task_key]
        for name in per_task:
            together.ClearField(name)
            by_itself.ClearField(name)
        assert together == by_itself


def test_base_fields_are_stored_as_requested__TASK_19b(net: Network) -> None:
    new = new_train_task()
    new.metadata["foo"] = "bar"
    (task,) = register(net.org1, new)
    assert (task.key, task.category, task.owner, task.compute_plan_key) == (key("task"), T.TASK_TRAIN, ORG1, key("cp"))
    assert dict(task.metadata) == {"foo": "bar"}
    assert task.creation_date == net.org1.query_events(asset_key=key("task"))[0].timestamp
    assert list(task.inputs) == list(new.inputs)


# -- 9.4 status, rank, compatibility ----------------------------------------------------------------


def test_initial_status_is_todo_when_every_parent_is_done_else_waiting__TASK_20(net: Network) -> None:
    register(net.org1, new_train_task("done"), new_train_task("todo"))
    finish(net, "done")
    orphan, below_done, below_todo, mixed = register(
        net.org1, new_train_task("orphan"), new_train_task("below done", parents=["done"]),
        new_train_task("below todo", parents=["todo"]), new_train_task("mixed", parents=["done", "todo"]),
    )
    assert orphan.status == below_done.status == T.STATUS_TODO
    assert below_todo.status == mixed.status == T.STATUS_WAITING


def test_rank_is_one_more_than_the_highest_parent__TASK_21(net: Network) -> None:
    register(net.org1, new_train_task("r0"), new_train_task("r1", parents=["r0"]),
             new_train_task("r2", parents=["r1"]), new_train_task("r3", parents=["r2"]))
    (task,) = register(net.org1, new_train_task("r4", parents=["r0", "r1", "r3"]))
    assert task.rank == 4


def test_ranks_of_composite_aggregate_chain__TASK_21(net: Network) -> None:
    tasks = register(
        net.org1, new_composite_task("c0"), new_aggregate_task("a1", parents=["c0"]),
        new_composite_task("c2", parents=["c0", "a1"]), new_aggregate_task("a3", parents=["c2"]),
    )
    assert [t.rank for t in tasks] == [0, 1, 2, 3]


def _parents(*categories: int) -> list[T.ComputeTask]:
    return [T.ComputeTask(category=category) for category in categories]


TR, AG, CO, TE, PR = T.TASK_TRAIN, T.TASK_AGGREGATE, T.TASK_COMPOSITE, T.TASK_TEST, T.TASK_PREDICT


@pytest.mark.parametrize(
    ("category", "parents", "compatible"),
    [
        (TR, [], True), (TR, [TE], False), (TR, [CO], False), (TR, [TR, AG, PR], True),
        (TE, [CO], True), (TE, [TR], True), (TE, [PR], True), (TE, [TR, CO], False), (TE, [], False),
        (AG, [TR, CO], True), (AG, [PR], False), (AG, [TR, PR], True), (AG, [TR, TE], False),
        (CO, [TR, CO], False), (CO, [CO], True), (CO, [CO, AG], True), (CO, [], True), (CO, [CO, CO], True),
        (CO, [CO, CO, AG], False), (CO, [AG], False), (CO, [AG, AG, CO], False), (CO, [PR], True),
        (PR, [TR], True), (PR, [TR, TR], False), (PR, [TR, PR], True), (PR, [], False),
    ],
)
def test_parent_compatibility_table__TASK_22(category: int, parents: list[int], compatible: bool) -> None:
    assert compatible_with_parents(category, _parents(*parents)) is compatible


def test_same_parent_twice_counts_twice__TASK_15_TASK_22(net: Network) -> None:
    register(net.org1, new_composite_task("c"), new_train_task("t"))
    (task,) = register(net.org1, new_composite_task("child", parents=["c", "c"]))
    assert list(task.parent_task_keys) == [key("c"), key("c")]
    with pytest.raises(InvalidAssetError, match="incompatible models from parent tasks"):
        register(net.org1, new_predict_task("p", parents=["t", "t"]))


def test_parents_may_belong_to_another_plan__TASK_23(net: Network) -> None:
    net.org1.register_plan(new_plan("other plan"))
    register(net.org1, new_train_task("elsewhere", plan="other plan"))
    (task,) = register(net.org1, new_train_task("here", parents=["elsewhere"]))
    assert task.compute_plan_key == key("cp")


# -- 9.5 worker, algo, data per variant ---------------------------------------------------------


def test_worker_is_the_data_manager_owner_or_the_named_aggregator__TASK_24(net: Network) -> None:
    train, aggregate = register(
        net.org1, new_train_task(dm="dm2", samples=["ds2"]), new_aggregate_task(parents=["task"], worker=ORG2),
    )
    assert (train.owner, train.worker) == (ORG1, ORG2)
    assert (aggregate.owner, aggregate.worker) == (ORG1, ORG2)


def test_processing_follows_the_data_variant_checks_follow_the_category__TASK_11_TASK_25(net: Network) -> None:
    mismatched = new_composite_task(algo="simple algo")
    mismatched.category = T.TASK_TRAIN
    del mismatched.outputs["shared"]
    del mismatched.outputs["local"]
    mismatched.outputs["model"].permissions.public = True
    (task,) = register(net.org1, mismatched)
    assert task.WhichOneof("data") == "composite"
    assert task.category == T.TASK_TRAIN
    assert not task.composite.HasField("trunk_permissions")


def test_unknown_data_manager_is_not_found__TASK_26(net: Network) -> None:
    with pytest.raises(NotFoundError, match=rf'datamanager with key "{key("nope")}" not found'):
        register(net.org1, new_train_task(dm="nope"))


def test_samples_must_belong_to_the_data_manager__TASK_26(net: Network) -> None:
    with pytest.raises(InvalidAssetError, match=r"^OE0101: datasamples do not share a common manager$"):
        register(net.org1, new_train_task(dm="dm2", samples=["ds"]))
    with pytest.raises(NotFoundError, match="datasample with key"):
        register(net.org1, new_train_task(samples=["no sample"]))


def test_data_manager_process_permission_is_checked_against_the_owner__TASK_26_TASK_27(net: Network) -> None:
    net.org2.register_data_manager(new_data_manager("private dm", permissions=restricted()))
    net.org2.update_data_samples(_attach("ds2", "private dm"))
    # the worker (org2, the data manager owner) could process it, the task owner (org1) cannot
    expected = rf'^OE0102: not authorized to process datamanager "{key("private dm")}"$'
    with pytest.raises(PermissionDeniedError, match=expected):
        register(net.org1, new_train_task(dm="private dm", samples=["ds2"]))


def _attach(sample: str, manager: str) -> object:
    from orchestrator.api import datasample_pb2

    return datasample_pb2.UpdateDataSamplesParam(keys=[key(sample)], data_manager_keys=[key(manager)])


@pytest.mark.parametrize("builder", [new_train_task, new_composite_task])
def test_train_and_composite_tasks_refuse_test_data__TASK_28(net: Network, builder: object) -> None:
    with pytest.raises(InvalidAssetError, match=r"^OE0101: cannot create task with test data$"):
        register(net.org1, builder(samples=["ds", "test ds"]))  # type: ignore[operator]


def test_predict_and_test_tasks_accept_test_data__TASK_28(net: Network) -> None:
    register(net.org1, new_train_task())
    predict, test = register(
        net.org1, new_predict_task(samples=["test ds"]), new_test_task(samples=["test ds"]))
    assert list(predict.predict.data_sample_keys) == list(test.test.data_sample_keys) == [key("test ds")]


def test_unknown_algo_is_not_found__TASK_29(net: Network) -> None:
    with pytest.raises(NotFoundError, match=rf'^OE0002: algo with key "{key("nope")}" not found$'):
        register(net.org1, new_train_task(algo="nope"))


def test_algo_process_permission_is_checked_against_the_owner__TASK_29(net: Network) -> None:
    net.org2.register_algo(new_algo("private algo", permissions=restricted()))
    expected = rf'^OE0102: not authorized to process algo "{key("private algo")}"$'
    with pytest.raises(PermissionDeniedError, match=expected):
        register(net.org1, new_train_task(algo="private algo"))


@pytest.mark.parametrize(
    "new_task",
    [
        new_train_task(algo="composite algo"),
        new_composite_task(algo="simple algo"),
        new_aggregate_task(algo="simple algo", parents=["parent"]),
        new_predict_task(algo="simple algo", parents=["parent"]),
        new_train_task(algo="metric algo"),
    ],
    ids=["train", "composite", "aggregate", "predict", "metric"],
)
def test_algo_category_must_fit_the_task_category__TASK_29_TASK_31(net: Network, new_task: T.NewComputeTask) -> None:
    register(net.org1, new_train_task("parent"))
    with pytest.raises(InvalidAssetError, match=r"^OE0101: algo category is not compatible with task category$"):
        register(net.org1, new_task)


def test_the_task_embeds_the_stored_algo__TASK_30(net: Network) -> None:
    (task,) = register(net.org1, new_train_task())
    assert task.algo == net.org1.get_algo(algo_pb2.GetAlgoParam(key=key("simple algo")))


def test_train_task_fields__TASK_19c_TASK_32(net: Network) -> None:
    (task,) = register(net.org1, new_train_task(dm="dm2", samples=["ds2"]))
    assert task.WhichOneof("data") == "train"
    assert (task.train.data_manager_key, list(task.train.data_sample_keys)) == (key("dm2"), [key("ds2")])
    assert task.worker == ORG2
    assert task.algo.key == key("simple algo")


def test_aggregate_worker_must_be_registered__TASK_33(net: Network) -> None:
    register(net.org1, new_train_task())
    with pytest.raises(NotFoundError, match=r'^OE0002: organization with key "NoSuchMSP" not found$'):
        register(net.org1, new_aggregate_task(parents=["task"], worker="NoSuchMSP"))


def test_aggregate_logs_permission_is_the_union_of_the_parents__TASK_33_TASK_48(net: Network) -> None:
    net.org1.register_data_manager(new_data_manager("logs dm", logs_permission=restricted(ORG2)))
    net.org1.update_data_samples(_attach("ds", "logs dm"))
    register(net.org1, new_train_task("private logs", dm="logs dm"), new_train_task("public logs"))
    private, mixed = register(
        net.org1, new_aggregate_task("private", parents=["private logs"]),
        new_aggregate_task("mixed", parents=["private logs", "public logs"]),
    )
    assert private.logs_permission == common_pb2.Permission(public=False, authorized_ids=[ORG2, ORG1])
    assert mixed.logs_permission == common_pb2.Permission(public=True, authorized_ids=[])
    (alone,) = register(net.org1, new_aggregate_task("alone", parents=["private"]))
    assert alone.WhichOneof("data") == "aggregate"
    assert alone.logs_permission == common_pb2.Permission(public=False, authorized_ids=[ORG2, ORG1])


def test_composite_task_fields__TASK_34(net: Network) -> None:
    (task,) = register(net.org1, new_composite_task(dm="dm2", samples=["ds2"]))
    assert (task.composite.data_manager_key, list(task.composite.data_sample_keys)) == (key("dm2"), [key("ds2")])
    assert (task.worker, task.algo.key) == (ORG2, key("composite algo"))


def test_predict_task_keeps_the_intersection_of_algo_and_manager_permissions__TASK_35(net: Network) -> None:
    net.org1.register_algo(new_algo("restricted predict", algo_pb2.ALGO_PREDICT, permissions=restricted(ORG2)))
    register(net.org1, new_train_task())
    (task,) = register(net.org1, new_predict_task(algo="restricted predict"))
    # algo {false, [org2, org1]} ∩ data manager {true, [org1]}: the private side's ids
    expected = common_pb2.Permission(public=False, authorized_ids=[ORG2, ORG1])
    assert task.predict.prediction_permissions == common_pb2.Permissions(process=expected, download=expected)
    assert (task.worker, task.algo.key) == (ORG1, key("restricted predict"))


def test_test_task_takes_algo_plan_and_rank_of_its_parent__TASK_36(net: Network) -> None:
    net.org1.register_plan(new_plan("other plan"))
    register(net.org1, new_train_task("r0"), new_train_task("r1", parents=["r0"]))
    (task,) = register(net.org1, new_test_task(parents=["r1"], plan="other plan", dm="dm2", samples=["ds2"]))
    assert task.algo.key == key("simple algo")
    assert (task.compute_plan_key, task.rank, task.worker) == (key("cp"), 1, ORG2)
    assert list(task.test.metric_keys) == [key("metric algo")]


def test_test_task_ignores_its_algo_key__TASK_36(net: Network) -> None:
    register(net.org1, new_train_task())
    new = new_test_task()
    new.algo_key = key("no such algo")
    (task,) = register(net.org1, new)
    assert task.algo.key == key("simple algo")


def test_unknown_metric_is_not_found_as_a_metric__TASK_36(net: Network) -> None:
    register(net.org1, new_train_task())
    with pytest.raises(NotFoundError, match=rf'^OE0002: metric with key "{key("nope")}" not found$'):
        register(net.org1, new_test_task(metrics=["nope"]))


def test_data_manager_owner_must_download_the_metric__TASK_36(net: Network) -> None:
    net.org1.register_algo(new_algo("private metric", algo_pb2.ALGO_METRIC, permissions=restricted()))
    register(net.org1, new_train_task())
    with pytest.raises(PermissionDeniedError, match=rf'cannot download the metric "{key("private metric")}"$'):
        register(net.org1, new_test_task(metrics=["private metric"], dm="dm2", samples=["ds2"]))


def test_sample_and_metric_order_is_kept__TASK_37(net: Network) -> None:
    net.org1.register_algo(new_algo("other metric", algo_pb2.ALGO_METRIC))
    register(net.org1, new_train_task())
    (task,) = register(net.org1, new_test_task(samples=["test ds", "ds"], metrics=["other metric", "metric algo"]))
    assert list(task.test.data_sample_keys) == [key("test ds"), key("ds")]
    assert list(task.test.metric_keys) == [key("other metric"), key("metric algo")]


# -- 9.6 inputs ---------------------------------------------------------------------------------------


def test_inputs_are_stored_verbatim_and_never_checked__TASK_38(net: Network) -> None:
    new = new_train_task()
    new.inputs.append(T.ComputeTaskInput(identifier="opener", asset_key="anything at all"))
    new.inputs.append(T.ComputeTaskInput(identifier="model", parent_task_output=T.ParentTaskOutputRef(
        parent_task_key=key("nowhere"), output_identifier="model")))
    new.inputs.append(T.ComputeTaskInput(identifier="no reference"))
    (task,) = register(net.org1, new)
    assert list(task.inputs) == list(new.inputs)
    assert list(get(net, "task").inputs) == list(new.inputs)


def test_inputs_do_not_make_parents__TASK_39(net: Network) -> None:
    register(net.org1, new_train_task("other"))
    new = new_train_task()
    new.inputs.append(T.ComputeTaskInput(identifier="model", parent_task_output=T.ParentTaskOutputRef(
        parent_task_key=key("other"), output_identifier="model")))
    (task,) = register(net.org1, new)
    assert (task.status, task.rank, list(task.parent_task_keys)) == (T.STATUS_TODO, 0, [])


# -- 9.7 parent outputs against the worker -----------------------------------------------------------


def test_parent_model_must_be_processable_by_the_worker__TASK_19f_TASK_40_TASK_42(net: Network) -> None:
    register(net.org1, new_train_task("parent", outputs={"model": restricted()}))
    with pytest.raises(PermissionDeniedError, match=rf'"{key("parent")}".*"{ORG2}"'):
        register(net.org1, new_train_task("child", parents=["parent"], dm="dm2", samples=["ds2"]))
    (child,) = register(net.org1, new_train_task("own child", parents=["parent"]))
    assert child.status == T.STATUS_WAITING


def test_composite_head_is_checked_only_for_test_children__TASK_40(net: Network) -> None:
    composite = new_composite_task("c")
    composite.outputs["local"].permissions.CopyFrom(restricted())
    register(net.org1, composite)
    (aggregate,) = register(net.org1, new_aggregate_task("agg", parents=["c"], worker=ORG2))
    assert aggregate.worker == ORG2
    with pytest.raises(PermissionDeniedError, match="head model"):
        register(net.org1, new_test_task(parents=["c"], dm="dm2", samples=["ds2"]))


def test_predict_parent_predictions_must_be_processable__TASK_40(net: Network) -> None:
    register(net.org1, new_train_task(), new_predict_task())  # predictions are private to org1
    with pytest.raises(PermissionDeniedError, match="predictions"):
        register(net.org1, new_test_task(parents=["predict task"], dm="dm2", samples=["ds2"]))
    (test,) = register(net.org1, new_test_task(parents=["predict task"]))
    assert test.rank == 1


def test_parent_without_the_expected_output_is_internal__TASK_40_TASK_44(net: Network) -> None:
    net.org1.register_algo(new_algo("mute algo", outputs={}))
    register(net.org1, new_train_task("mute", algo="mute algo", outputs={}))
    with pytest.raises(InternalError, match=rf'^OE0007: Task "{key("mute")}" has no output model$'):
        register(net.org1, new_train_task("child", parents=["mute"]))


def test_parent_of_a_data_variant_without_outputs_to_hand_down_is_unimplemented__TASK_40(net: Network) -> None:
    register(net.org1, new_train_task("parent"))
    scorer = new_test_task("scorer", parents=["parent"])
    scorer.category = T.TASK_TRAIN  # a train task carrying test data (TASK-25)
    register(net.org1, scorer)
    with pytest.raises(UnimplementedError, match=r"^OE0010: invalid parent category$"):
        register(net.org1, new_train_task("child", parents=["scorer"]))


def _composite(ref: str, *, parents: tuple[str, ...] = (), shared: common_pb2.NewPermissions | None = None,
               local: common_pb2.NewPermissions | None = None) -> T.NewComputeTask:
    task = new_composite_task(ref, parents=parents)
    task.outputs["shared"].permissions.CopyFrom(shared or public())
    task.outputs["local"].permissions.CopyFrom(local or public())
    return task


def test_single_composite_parent_hands_down_head_and_trunk__TASK_41(net: Network) -> None:
    register(net.org1, _composite("private head", local=restricted()), _composite("private trunk", shared=restricted()))
    for parent in ("private head", "private trunk"):
        with pytest.raises(PermissionDeniedError, match=key(parent)):
            register(net.org1, _on_dm2(_composite("child", parents=(parent,))))


def test_two_composite_parents_give_first_head_and_second_trunk__TASK_41_TASK_43(net: Network) -> None:
    register(net.org1, _composite("c1", local=restricted()), _composite("c2", shared=restricted(ORG2)))
    register(net.org1, _on_dm2(_composite("ok", parents=("c2", "c1"))))  # c2's head and c1's trunk
    with pytest.raises(PermissionDeniedError, match=key("c1")):
        register(net.org1, _on_dm2(_composite("ko", parents=("c1", "c2"))))


def test_with_an_aggregate_parent_the_composite_gives_its_head__TASK_41_TASK_43(net: Network) -> None:
    register(net.org1, _composite("c", shared=restricted()))
    register(net.org1, new_aggregate_task("agg", parents=["c"]))
    for order in (("agg", "c"), ("c", "agg")):
        (task,) = register(net.org1, _on_dm2(_composite("-".join(order), parents=order)))
        assert task.worker == ORG2  # the private trunk of "c" is not handed down
    register(net.org1, _composite("c private head", local=restricted()))
    with pytest.raises(PermissionDeniedError, match=key("c private head")):
        register(net.org1, _on_dm2(_composite("ko", parents=("agg", "c private head"))))


def test_aggregate_parent_model_must_be_processable_by_a_composite__TASK_41(net: Network) -> None:
    register(net.org1, _composite("c"))
    private_aggregate = new_aggregate_task("agg", parents=["c"])
    private_aggregate.outputs["model"].permissions.CopyFrom(restricted())
    register(net.org1, private_aggregate)
    with pytest.raises(PermissionDeniedError, match=key("agg")):
        register(net.org1, _on_dm2(_composite("child", parents=("c", "agg"))))


def test_composite_below_predict_tasks_only_is_unimplemented__TASK_41(net: Network) -> None:
    register(net.org1, new_train_task(), new_predict_task())
    with pytest.raises(UnimplementedError, match=r"^OE0010: invalid parent category$"):
        register(net.org1, _composite("child", parents=("predict task",)))


def _on_dm2(task: T.NewComputeTask) -> T.NewComputeTask:
    """Move a composite task to org2's data manager, so that it runs on org2."""
    task.composite.data_manager_key = key("dm2")
    del task.composite.data_sample_keys[:]
    task.composite.data_sample_keys.append(key("ds2"))
    return task


# -- 9.8 outputs ---------------------------------------------------------------------------------------


def test_an_output_the_algo_does_not_declare_is_invalid__TASK_19d_TASK_45(net: Network) -> None:
    expected = r'unknown task output: this identifier was not declared in the Algo: "extra"$'
    with pytest.raises(InvalidAssetError, match=expected):
        register(net.org1, new_train_task(outputs={"model": public(), "extra": public()}))


def test_an_output_the_algo_declares_is_required__TASK_45(net: Network) -> None:
    expected = r'missing task output: this identifier is required by the Algo: "model"$'
    with pytest.raises(InvalidAssetError, match=expected):
        register(net.org1, new_train_task(outputs={}))


def test_a_performance_output_must_be_public__TASK_45(net: Network) -> None:
    register(net.org1, new_train_task())
    test = new_test_task()
    test.outputs["performance"].permissions.CopyFrom(restricted())
    expected = r'invalid task output "performance": a PERFORMANCE output should be public$'
    with pytest.raises(InvalidAssetError, match=expected):
        register(net.org1, test)


def test_test_task_outputs_follow_its_first_metric__TASK_45(net: Network) -> None:
    net.org1.register_algo(new_algo("scores", algo_pb2.ALGO_METRIC, outputs={
        "score": algo_pb2.AlgoOutput(kind=common_pb2.ASSET_PERFORMANCE)}))
    register(net.org1, new_train_task())
    with pytest.raises(InvalidAssetError, match='not declared in the Algo: "performance"'):
        register(net.org1, new_test_task(metrics=["scores", "metric algo"]))
    (task,) = register(net.org1, new_test_task(metrics=["metric algo", "scores"]))
    assert list(task.outputs) == ["performance"]


def test_legacy_permission_fields_mirror_the_outputs__TASK_19e_TASK_46(net: Network) -> None:
    train, composite = register(net.org1, new_train_task(), new_composite_task())
    (aggregate,) = register(net.org1, new_aggregate_task(parents=["task"]))
    assert train.train.model_permissions == train.outputs["model"].permissions
    assert composite.composite.trunk_permissions == composite.outputs["shared"].permissions
    assert composite.composite.head_permissions == composite.outputs["local"].permissions
    assert aggregate.aggregate.model_permissions == aggregate.outputs["model"].permissions


# -- 9.9 logs permission ---------------------------------------------------------------------------


def test_logs_permission_is_the_data_managers__TASK_48(net: Network) -> None:
    net.org1.register_data_manager(new_data_manager("logs dm", logs_permission=restricted(ORG1)))
    net.org1.update_data_samples(_attach("ds", "logs dm"))
    (task,) = register(net.org1, new_train_task(dm="logs dm"))
    assert task.logs_permission == common_pb2.Permission(public=False, authorized_ids=[ORG1])


# -- 9.10 queries ------------------------------------------------------------------------------------


def test_get_returns_the_registered_task_with_its_current_status__TASK_49(net: Network) -> None:
    (registered,) = register(net.org1, new_train_task())
    assert get(net, "task") == registered
    act(net.org1, "task", T.TASK_ACTION_DOING)
    registered.status = T.STATUS_DOING
    assert get(net, "task") == registered


def test_get_of_an_unknown_or_malformed_key_is_not_found__TASK_49(net: Network) -> None:
    for unknown in (key("nope"), "not a uuid", ""):
        with pytest.raises(NotFoundError, match=rf'^OE0002: computetask with key "{unknown}" not found$'):
            net.org1.get_task(T.GetTaskParam(key=unknown))


@pytest.fixture
def populated(net: Network) -> Network:
    """Two plans; tasks of several categories, workers and statuses, registered over four calls."""
    net.org1.register_plan(new_plan("cp2"))
    register(net.org1, new_train_task("b"), new_train_task("a", dm="dm2", samples=["ds2"]))
    register(net.org1, new_composite_task("c", plan="cp2"), new_train_task("d", parents=["b"], plan="cp2"))
    register(net.org1, new_aggregate_task("e", parents=["b"], worker=ORG2))
    act(net.org1, "b", T.TASK_ACTION_DOING)
    return net


def _keys(response: T.QueryTasksResponse) -> list[str]:
    return [t.key for t in response.tasks]


def _by_date_then_key(*refs: str) -> list[str]:
    """The expected order of tasks registered in ``refs`` call groups, "|" separating calls."""
    ordered: list[str] = []
    for group in " ".join(refs).split("|"):
        ordered.extend(sorted(key(ref) for ref in group.split()))
    return ordered


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, "a b | c d | e"),
        ({"compute_plan_key": key("cp2")}, "c d"),
        ({"compute_plan_key": key("cp"), "worker": ORG1}, "b"),
        ({"algo_key": key("simple algo")}, "a b | d"),
        ({"algo_key": key("simple algo"), "status": T.STATUS_WAITING}, "d"),
        ({"worker": ORG2}, "a | e"),
        ({"worker": ORG1, "status": T.STATUS_DOING}, "b"),
        ({"status": T.STATUS_TODO}, "a | c"),
        ({"status": T.STATUS_WAITING, "category": T.TASK_AGGREGATE}, "e"),
        ({"category": T.TASK_COMPOSITE}, "c"),
        ({"category": T.TASK_TRAIN, "worker": ORG1}, "b | d"),
        ({"compute_plan_key": key("cp"), "algo_key": key("aggregate algo"), "worker": ORG2,
          "status": T.STATUS_WAITING, "category": T.TASK_AGGREGATE}, "e"),
        ({"compute_plan_key": "not a uuid"}, ""),
        ({"worker": "no\x00such"}, ""),
        ({"status": 42}, ""),
    ],
)
def test_query_filters_combine_and_order_by_date_then_key__TASK_50(
    populated: Network, filters: dict[str, object], expected: str
) -> None:
    response = query(populated, page_size=100, **filters)
    assert _keys(response) == _by_date_then_key(expected)
    assert response.next_page_token == ""


def test_query_pages_each_task_once_and_ends_on_an_empty_token__TASK_50(populated: Network) -> None:
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        response = query(populated, page_size=2, token=token)
        seen.extend(_keys(response))
        pages += 1
        token = response.next_page_token
        if not token:
            break
    assert seen == _by_date_then_key("a b | c d | e")
    assert pages == 3
    full = query(populated, page_size=5)
    assert len(full.tasks) == 5 and full.next_page_token == ""


def test_query_items_include_inputs_and_outputs__TASK_50(net: Network) -> None:
    (registered,) = register(net.org1, new_train_task())
    (queried,) = query(net, compute_plan_key=key("cp")).tasks
    assert queried == registered
    assert queried.inputs and queried.outputs


def test_parent_keys_keep_the_registration_order__TASK_51(net: Network) -> None:
    parents = [f"parent {i}" for i in range(10)]
    register(net.org1, *(new_train_task(p) for p in parents))
    (task,) = register(net.org1, new_aggregate_task(parents=list(reversed(parents))))
    assert list(task.parent_task_keys) == [key(p) for p in reversed(parents)]
    assert list(get(net, "aggregate task").parent_task_keys) == [key(p) for p in reversed(parents)]
