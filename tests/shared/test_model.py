"""Models: registration, task completion, queries, input models and disabling (rules.md section 11)."""

from __future__ import annotations

import pytest

from orchestrator.api import common_pb2, computetask_pb2, event_pb2, model_pb2
from orchestrator.shared.errors import (
    BadRequestError,
    CannotDisableModelError,
    ConflictError,
    InvalidAssetError,
    NotFoundError,
    PermissionDeniedError,
    UnimplementedError,
)
from tests.builders import (
    key,
    new_aggregate_task,
    new_composite_task,
    new_model,
    new_plan,
    new_predict_task,
    new_test_task,
    new_train_task,
    register_task_assets,
    restricted,
)
from tests.network import Client, Network

ORG1, ORG2 = "MyOrg1MSP", "MyOrg2MSP"
T = computetask_pb2
SIMPLE, HEAD = model_pb2.MODEL_SIMPLE, model_pb2.MODEL_HEAD


@pytest.fixture
def net(net: Network) -> Network:
    register_task_assets(net.org1, net.org2)
    return net


def register(client: Client, *tasks: T.NewComputeTask) -> list[T.ComputeTask]:
    return list(client.register_tasks(T.RegisterTasksParam(tasks=list(tasks))).tasks)


def act(client: Client, ref: str, action: int) -> None:
    client.apply_task_action(T.ApplyTaskActionParam(compute_task_key=key(ref), action=action))


def start(client: Client, *refs: str) -> None:
    for ref in refs:
        act(client, ref, T.TASK_ACTION_DOING)


def status(net: Network, ref: str) -> int:
    return net.org1.get_task(T.GetTaskParam(key=key(ref))).status


def models(client: Client, *new_models: model_pb2.NewModel) -> list[model_pb2.Model]:
    return list(client.register_models(model_pb2.RegisterModelsParam(models=list(new_models))).models)


def output_models(net: Network, ref: str) -> list[str]:
    response = net.org1.get_compute_task_output_models(model_pb2.GetComputeTaskModelsParam(compute_task_key=key(ref)))
    return [m.key for m in response.models]


def input_models(net: Network, ref: str) -> list[str]:
    response = net.org1.get_compute_task_input_models(model_pb2.GetComputeTaskModelsParam(compute_task_key=key(ref)))
    return [m.key for m in response.models]


def produce(net: Network, ref: str, *outputs: tuple[str, int]) -> None:
    """Start ``ref`` and register its models, one call each: ``(model ref, category)``."""
    start(net.org1, ref)
    for model_ref, category in outputs:
        net.org1.register_model(new_model(model_ref, task=ref, category=category))


# -- 11.1 / 11.2 registration ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("builder", "category", "output"),
    [
        (new_train_task, SIMPLE, "model"),
        (new_aggregate_task, SIMPLE, "model"),
        (new_predict_task, SIMPLE, "predictions"),
        (new_composite_task, HEAD, "local"),
        (new_composite_task, SIMPLE, "shared"),
    ],
)
def test_model_permissions_come_from_the_task_output_it_fills__MODEL_1_MODEL_4(
    net: Network, builder: object, category: int, output: str
) -> None:
    register(net.org1, new_train_task("parent"))
    start(net.org1, "parent")
    act(net.org1, "parent", T.TASK_ACTION_DONE)
    parents = [] if builder is new_composite_task else ["parent"]
    new_task = builder("producer", parents=parents)  # type: ignore[operator]
    for identifier in new_task.outputs:
        new_task.outputs[identifier].permissions.CopyFrom(restricted(ORG2) if identifier == output else restricted())
    (task,) = register(net.org1, new_task)
    start(net.org1, "producer")
    (model,) = models(net.org1, new_model(task="producer", category=category))
    assert model.permissions == task.outputs[output].permissions
    assert list(model.permissions.process.authorized_ids) == [ORG2, ORG1]


def test_test_tasks_produce_no_model__MODEL_1(net: Network) -> None:
    register(net.org1, new_train_task())
    produce(net, "task", ("model", SIMPLE))
    register(net.org1, new_test_task())
    start(net.org1, "test task")
    with pytest.raises(UnimplementedError, match=r"^OE0010: unhandled model category$"):
        models(net.org1, new_model(task="test task"))


def test_register_model_is_register_models_of_one__MODEL_2(net: Network) -> None:
    register(net.org1, new_train_task())
    start(net.org1, "task")
    model = net.org1.register_model(new_model())
    assert net.org1.get_model(model_pb2.GetModelParam(key=key("model"))) == model
    assert status(net, "task") == T.STATUS_DONE


def test_empty_model_list_is_a_bad_request__MODEL_3(net: Network) -> None:
    with pytest.raises(BadRequestError, match=r"^OE0003: no model to register$"):
        models(net.org1)


def test_every_model_must_name_the_first_models_task__MODEL_3(net: Network) -> None:
    register(net.org1, new_composite_task("c"), new_composite_task("d"))
    start(net.org1, "c", "d")
    with pytest.raises(BadRequestError, match=r"^OE0003: All models should be part of the same task$"):
        models(net.org1, new_model("h", task="c", category=HEAD), new_model("s", task="d"))


def test_unknown_task_is_found_missing_before_the_model_is_validated__MODEL_3(net: Network) -> None:
    invalid = new_model(task="nope")
    invalid.key = "not a uuid"
    with pytest.raises(NotFoundError, match=rf'computetask with key "{key("nope")}" not found'):
        models(net.org1, invalid)


def test_response_lists_models_in_request_order__MODEL_3(net: Network) -> None:
    register(net.org1, new_composite_task("c"))
    start(net.org1, "c")
    registered = models(net.org1, new_model("aaa", task="c"), new_model("zzz", task="c", category=HEAD))
    assert key("aaa") > key("zzz")  # request order is not key order
    assert [m.key for m in registered] == [key("aaa"), key("zzz")]


def test_invalid_model_is_rejected__MODEL_4(net: Network) -> None:
    register(net.org1, new_train_task())
    start(net.org1, "task")
    invalid = new_model()
    invalid.ClearField("address")
    with pytest.raises(InvalidAssetError, match=r"^OE0101: model is not valid"):
        models(net.org1, invalid)


def test_only_the_worker_registers_models__MODEL_4(net: Network) -> None:
    register(net.org1, new_train_task(dm="dm2", samples=["ds2"]))
    start(net.org2, "task")
    with pytest.raises(PermissionDeniedError, match=rf'^OE0102: only "{ORG2}" worker can register model$'):
        models(net.org1, new_model())


def test_models_only_for_running_tasks__MODEL_4(net: Network) -> None:
    register(net.org1, new_train_task())
    with pytest.raises(BadRequestError, match=r'^OE0003: cannot register model for task with status "STATUS_TODO"$'):
        models(net.org1, new_model())


def test_a_second_model_of_one_category_is_a_conflict__MODEL_4_MODEL_5(net: Network) -> None:
    register(net.org1, new_composite_task("c"))
    produce(net, "c", ("head", HEAD))
    with pytest.raises(ConflictError, match=r"^OE0006: task already has a MODEL_HEAD model$"):
        net.org1.register_model(new_model("head 2", task="c", category=HEAD))


def test_head_model_on_a_simple_task_is_a_bad_request__MODEL_4(net: Network) -> None:
    register(net.org1, new_train_task())
    start(net.org1, "task")
    with pytest.raises(BadRequestError, match=r"^OE0003: cannot register non-simple model$"):
        models(net.org1, new_model(category=HEAD))


def test_stored_fields_and_created_event__MODEL_4(net: Network) -> None:
    register(net.org1, new_train_task())
    start(net.org1, "task")
    new = new_model()
    (model,) = models(net.org1, new)
    assert (model.key, model.category, model.compute_task_key, model.address, model.owner) == (
        new.key, SIMPLE, key("task"), new.address, ORG1)
    (event,) = net.org1.query_events(asset_key=key("model"))
    assert (event.event_kind, event.asset_kind, event.model) == (
        event_pb2.EVENT_ASSET_CREATED, common_pb2.ASSET_MODEL, model)
    assert model.creation_date == event.timestamp


def test_a_used_model_key_is_a_conflict__MODEL_4(net: Network) -> None:
    register(net.org1, new_train_task("a"), new_composite_task("c"))
    produce(net, "a", ("model", SIMPLE))
    start(net.org1, "c")
    with pytest.raises(ConflictError, match=rf'^OE0006: model with key "{key("model")}" already exists$'):
        models(net.org1, new_model("model", task="c", category=HEAD))
    with pytest.raises(ConflictError, match=rf'model with key "{key("same")}" already exists$'):
        models(net.org1, new_model("same", task="c", category=HEAD), new_model("same", task="c", category=SIMPLE))


def test_two_simple_models_in_one_call_fail_and_keep_nothing__MODEL_5(net: Network) -> None:
    register(net.org1, new_train_task())
    start(net.org1, "task")
    before = (net.ledger.dump(), net.org1.query_events())
    with pytest.raises(BadRequestError, match=r'cannot register model for task with status "STATUS_DONE"'):
        models(net.org1, new_model("m1"), new_model("m2"))
    assert (net.ledger.dump(), net.org1.query_events()) == before
    assert status(net, "task") == T.STATUS_DOING


def test_composite_is_done_once_head_and_trunk_exist__MODEL_5_MODEL_6(net: Network) -> None:
    register(net.org1, new_composite_task("one call"), new_composite_task("two calls"))
    start(net.org1, "one call")
    models(net.org1, new_model("h1", task="one call", category=HEAD), new_model("s1", task="one call"))
    assert status(net, "one call") == T.STATUS_DONE
    produce(net, "two calls", ("h2", HEAD))
    assert status(net, "two calls") == T.STATUS_DOING
    net.org1.register_model(new_model("s2", task="two calls"))
    assert status(net, "two calls") == T.STATUS_DONE


def test_completion_events_follow_the_models__MODEL_7(net: Network) -> None:
    register(net.org1, new_composite_task("c"), new_composite_task("child", parents=["c"]))
    start(net.org1, "c")
    models(net.org1, new_model("h", task="c", category=HEAD), new_model("s", task="c"))
    last_call = net.org1.ledger_events()[-4:]
    assert [(e.asset_key, e.event_kind) for e in last_call] == [
        (key("h"), event_pb2.EVENT_ASSET_CREATED), (key("s"), event_pb2.EVENT_ASSET_CREATED),
        (key("c"), event_pb2.EVENT_ASSET_UPDATED), (key("child"), event_pb2.EVENT_ASSET_UPDATED),
    ]
    assert dict(last_call[2].metadata) == {"reason": f"Last model {key('s')} registered by {ORG1}"}
    assert last_call[2].compute_task.status == T.STATUS_DONE
    assert last_call[3].compute_task.status == T.STATUS_TODO


def test_a_trained_task_has_three_events__MODEL_7(net: Network) -> None:
    register(net.org1, new_train_task())
    produce(net, "task", ("model", SIMPLE))
    assert [e.event_kind for e in net.org1.query_events(asset_key=key("task"))] == [
        event_pb2.EVENT_ASSET_CREATED, event_pb2.EVENT_ASSET_UPDATED, event_pb2.EVENT_ASSET_UPDATED]


# -- 11.3 queries ---------------------------------------------------------------------------------


def test_get_model_of_an_unknown_key_is_not_found__MODEL_8(net: Network) -> None:
    with pytest.raises(NotFoundError, match=rf'^OE0002: model with key "{key("nope")}" not found$'):
        net.org1.get_model(model_pb2.GetModelParam(key=key("nope")))


def test_query_models_by_category_in_date_then_key_order__MODEL_9(net: Network) -> None:
    register(net.org1, new_composite_task("c"), new_train_task("t"))
    start(net.org1, "c", "t")
    models(net.org1, new_model("s1", task="c"), new_model("h1", task="c", category=HEAD))
    models(net.org1, new_model("s0", task="t"))

    def query(category: int, size: int = 0, token: str = "") -> model_pb2.QueryModelsResponse:
        return net.org1.query_models(model_pb2.QueryModelsParam(category=category, page_size=size, page_token=token))

    first_call = sorted([key("s1"), key("h1")])
    assert [m.key for m in query(0).models] == [*first_call, key("s0")]
    assert [m.key for m in query(SIMPLE).models] == [key("s1"), key("s0")]
    assert [m.key for m in query(HEAD).models] == [key("h1")]
    assert not query(42).models
    page = query(0, size=2)
    assert [m.key for m in page.models] == first_call and page.next_page_token
    rest = query(0, size=2, token=page.next_page_token)
    assert [m.key for m in rest.models] == [key("s0")] and rest.next_page_token == ""


def test_output_models_by_date_then_key_disabled_included_unknown_task_empty__MODEL_10(net: Network) -> None:
    assert output_models(net, "nope") == []
    response = net.org1.get_compute_task_output_models(model_pb2.GetComputeTaskModelsParam(compute_task_key="a\x00b"))
    assert not response.models
    register(net.org1, new_composite_task("c"))
    produce(net, "c", ("trunk", SIMPLE), ("head", HEAD))
    assert output_models(net, "c") == [key("trunk"), key("head")]


@pytest.fixture
def producers(net: Network) -> Network:
    """Done tasks with models: composites C1 (h1, t1), C2 (t2 registered before h2); aggregate A (m)
    below C1; trains P1 (m1), P2 (m2)."""
    register(net.org1, new_composite_task("C1"), new_composite_task("C2"), new_train_task("P1"), new_train_task("P2"))
    register(net.org1, new_aggregate_task("A", parents=["C1"]))
    produce(net, "C1", ("h1", HEAD), ("t1", SIMPLE))
    produce(net, "C2", ("t2", SIMPLE), ("h2", HEAD))
    produce(net, "P1", ("m1", SIMPLE))
    produce(net, "P2", ("m2", SIMPLE))
    produce(net, "A", ("m", SIMPLE))
    return net


@pytest.mark.parametrize(
    ("child", "expected"),
    [
        (new_composite_task("x", parents=["C1"]), ["h1", "t1"]),
        (new_composite_task("x", parents=["C2"]), ["h2", "t2"]),
        (new_composite_task("x", parents=["A", "C1"]), ["m", "h1"]),
        (new_composite_task("x", parents=["C1", "A"]), ["h1", "m"]),
        (new_composite_task("x", parents=["C2", "A"]), ["h2", "m"]),
        (new_composite_task("x", parents=["C1", "C2"]), ["h1", "t2"]),
        (new_composite_task("x", parents=["C2", "C1"]), ["h2", "t1"]),
        (new_train_task("x", parents=["P1", "P2"]), ["m1", "m2"]),
        (new_train_task("x", parents=["P2", "P1", "P2"]), ["m2", "m1", "m2"]),
        (new_aggregate_task("x", parents=["C1", "P1"]), ["t1", "m1"]),
    ],
)
def test_input_models_by_child_category__MODEL_11(
    producers: Network, child: T.NewComputeTask, expected: list[str]
) -> None:
    register(producers.org1, child)
    assert input_models(producers, "x") == [key(ref) for ref in expected]


def test_input_models_of_an_unknown_task_is_not_found__MODEL_11(net: Network) -> None:
    with pytest.raises(NotFoundError):
        input_models(net, "nope")


# -- 11.4 disabling -----------------------------------------------------------------------------------


@pytest.fixture
def chain(net: Network) -> Network:
    """Plan "deleting" (delete_intermediary_models) with task -> child1 -> child2, all done, a model each."""
    net.org1.register_plan(new_plan("deleting", delete_intermediary_models=True))
    register(
        net.org1, new_train_task("task", plan="deleting"), new_train_task("child1", parents=["task"], plan="deleting"),
        new_train_task("child2", parents=["child1"], plan="deleting"),
    )
    for ref in ("task", "child1", "child2"):
        produce(net, ref, (f"{ref} model", SIMPLE))
    return net


def can_disable(client: Client, model_ref: str) -> bool:
    return client.can_disable_model(model_pb2.CanDisableModelParam(model_key=key(model_ref))).can_disable


def disable(client: Client, model_ref: str) -> None:
    client.disable_model(model_pb2.DisableModelParam(model_key=key(model_ref)))


def test_intermediary_models_can_be_disabled_not_the_last__MODEL_12_MODEL_14(chain: Network) -> None:
    assert can_disable(chain.org1, "task model") is True
    assert can_disable(chain.org1, "child2 model") is False
    with pytest.raises(NotFoundError, match="model with key"):
        can_disable(chain.org1, "nope")


def test_disabling_removes_the_address_and_emits_disabled__MODEL_13_MODEL_8(chain: Network) -> None:
    disable(chain.org1, "task model")
    model = chain.org1.get_model(model_pb2.GetModelParam(key=key("task model")))
    assert not model.HasField("address")
    event = chain.org1.query_events(asset_key=key("task model"))[-1]
    assert (event.event_kind, event.model) == (event_pb2.EVENT_ASSET_DISABLED, model)
    assert output_models(chain, "task") == [key("task model")]


def test_a_model_in_use_cannot_be_disabled__MODEL_13(chain: Network) -> None:
    before = chain.ledger.dump()
    with pytest.raises(CannotDisableModelError, match=r"^OE105: cannot disable a model in use$"):
        disable(chain.org1, "child2 model")
    assert chain.ledger.dump() == before


def test_children_of_a_parent_with_a_disabled_model_are_refused__MODEL_14_TASK_18(chain: Network) -> None:
    disable(chain.org1, "task model")
    with pytest.raises(InvalidAssetError, match=rf'^OE0101: Model "{key("task model")}" has been disabled$'):
        register(chain.org1, new_train_task("late child", parents=["task"], plan="deleting"))


def test_only_the_worker_may_ask__MODEL_14_RPC_3(chain: Network) -> None:
    with pytest.raises(PermissionDeniedError, match=r"^OE0102: only the worker can disable a task outputs$"):
        can_disable(chain.org2, "task model")


def test_other_reads_are_the_same_for_every_organization__RPC_3(chain: Network) -> None:
    get = model_pb2.GetModelParam(key=key("task model"))
    assert chain.org2.get_model(get) == chain.org1.get_model(get)  # no read filtering by permission


def test_each_condition_of_eligibility__MODEL_14(net: Network) -> None:
    net.org1.register_plan(new_plan("deleting", delete_intermediary_models=True))
    register(
        net.org1,
        new_train_task("kept plan"), new_train_task("kept plan child", parents=["kept plan"]),
        new_train_task("running child", parents=["t"], plan="deleting"), new_train_task("t", plan="deleting"),
        new_train_task("tests only", plan="deleting"), new_test_task("its test", parents=["tests only"]),
        new_train_task("leaf", plan="deleting"),
    )
    for ref in ("kept plan", "t", "tests only", "leaf"):
        produce(net, ref, (f"{ref} model", SIMPLE))
    act(net.org1, "kept plan child", T.TASK_ACTION_CANCELED)
    start(net.org1, "its test", "running child")
    act(net.org1, "its test", T.TASK_ACTION_DONE)
    assert can_disable(net.org1, "kept plan model") is False  # plan without the flag
    assert can_disable(net.org1, "t model") is False  # a child still running
    assert can_disable(net.org1, "tests only model") is False  # only test children
    assert can_disable(net.org1, "leaf model") is False  # no child
    act(net.org1, "running child", T.TASK_ACTION_FAILED)
    assert can_disable(net.org1, "t model") is True  # failed counts as terminal


def test_a_running_task_keeps_its_models__MODEL_14(net: Network) -> None:
    net.org1.register_plan(new_plan("deleting", delete_intermediary_models=True))
    register(net.org1, new_composite_task("c", plan="deleting"),
             new_composite_task("child", parents=["c"], plan="deleting"))
    produce(net, "c", ("head", HEAD))
    act(net.org1, "child", T.TASK_ACTION_CANCELED)
    assert can_disable(net.org1, "head") is False  # "c" is DOING: not terminal


def test_disabling_twice_emits_twice__MODEL_15(chain: Network) -> None:
    disable(chain.org1, "task model")
    disable(chain.org1, "task model")
    kinds = [e.event_kind for e in chain.org1.query_events(asset_key=key("task model"))]
    assert kinds == [event_pb2.EVENT_ASSET_CREATED, event_pb2.EVENT_ASSET_DISABLED, event_pb2.EVENT_ASSET_DISABLED]


def test_models_are_never_disabled_automatically__MODEL_16(chain: Network) -> None:
    assert all(m.HasField("address") for m in chain.org1.query_models(model_pb2.QueryModelsParam()).models)
