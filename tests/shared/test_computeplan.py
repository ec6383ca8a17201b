"""Compute plans (rules.md section 8): registration, derived counters and status, queries, plan actions."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from orchestrator.api import common_pb2, computeplan_pb2, computetask_pb2, datasample_pb2, event_pb2
from orchestrator.shared.errors import (
    ConflictError,
    InvalidAssetError,
    NotFoundError,
    PermissionDeniedError,
    UnimplementedError,
)
from orchestrator.shared.services.computeplan import plan_status
from orchestrator.shared.store.indexes import TASK_BY_PLAN_STATUS
from tests.builders import key, new_algo, new_data_manager, new_data_sample, new_plan, new_train_task
from tests.network import Network
from tests.shared.ledger_checks import fails_writing_nothing, read_services, submit_at, write_index_entries

T = computetask_pb2
P = computeplan_pb2
INVALID = r"^OE0101: computeplan is not valid: "


def get(net: Network, ref: str = "cp") -> computeplan_pb2.ComputePlan:
    return net.org1.get_plan(computeplan_pb2.GetComputePlanParam(key=key(ref)))


def query(net: Network, page_size: int = 0, token: str = "", owner: str = "") -> computeplan_pb2.QueryPlansResponse:
    return net.org1.query_plans(computeplan_pb2.QueryPlansParam(
        page_token=token, page_size=page_size, filter=computeplan_pb2.PlanQueryFilter(owner=owner)))


def all_keys(net: Network, page_size: int, owner: str = "") -> list[list[str]]:
    pages, token = [], ""
    while True:
        response = query(net, page_size, token, owner)
        pages.append([p.key for p in response.plans])
        token = response.next_page_token
        if not token:
            return pages


def act(net: Network, ref: str, action: int, org: str = "org1") -> computeplan_pb2.ApplyPlanActionResponse:
    return getattr(net, org).apply_plan_action(computeplan_pb2.ApplyPlanActionParam(key=key(ref), action=action))


def add_task_entries(net: Network, plan_ref: str, statuses: Mapping[int, int]) -> None:
    """Index entries of ``statuses[status]`` tasks per status, as the task code writes them (CP-10)."""
    entries = []
    for status, count in statuses.items():
        for i in range(count):
            entries.append((TASK_BY_PLAN_STATUS, [key(plan_ref), T.ComputeTaskStatus.Name(status),
                                                  key(f"{plan_ref} task {status} {i}")]))
    write_index_entries(net, entries)


def counters(plan: computeplan_pb2.ComputePlan) -> tuple[int, ...]:
    """(total, waiting, todo, doing, canceled, failed, done), as scenario 20 reads them."""
    return (plan.task_count, plan.waiting_count, plan.todo_count, plan.doing_count, plan.canceled_count,
            plan.failed_count, plan.done_count)


# -- validation (CP-1…CP-5) -----------------------------------------------------------------


@pytest.mark.parametrize("bad_key", ["", "not-a-uuid", key("cp").upper()])
def test_key_must_be_a_lowercase_uuid__CP_1(net: Network, bad_key: str) -> None:
    plan = new_plan()
    plan.key = bad_key
    with fails_writing_nothing(net, InvalidAssetError, INVALID + r".*key"):
        net.org1.register_plan(plan)


def test_tag_is_optional_and_at_most_100_bytes__CP_2(net: Network) -> None:
    plan = new_plan()
    plan.tag = "t" * 101
    with fails_writing_nothing(net, InvalidAssetError, INVALID + r".*tag"):
        net.org1.register_plan(plan)
    assert net.org1.register_plan(new_plan("no tag")).tag == ""
    plan = new_plan("long tag")
    plan.tag = "t" * 100
    assert net.org1.register_plan(plan).tag == "t" * 100


@pytest.mark.parametrize("name", ["", "n" * 101])
def test_name_is_required_and_at_most_100_bytes__CP_3(net: Network, name: str) -> None:
    plan = new_plan()
    plan.name = name
    with fails_writing_nothing(net, InvalidAssetError, INVALID + r".*name"):
        net.org1.register_plan(plan)


def test_metadata_keys_are_at_most_100_bytes__CP_4(net: Network) -> None:
    plan = new_plan()
    plan.metadata["k" * 101] = "v"
    with fails_writing_nothing(net, InvalidAssetError, INVALID + r".*metadata"):
        net.org1.register_plan(plan)


def test_validation_comes_before_the_conflict_check__CP_5(net: Network) -> None:
    net.org1.register_plan(new_plan())
    plan = new_plan()
    plan.name = ""
    with fails_writing_nothing(net, InvalidAssetError, INVALID):
        net.org1.register_plan(plan)


# -- checks, storage, event (CP-6…CP-9) ------------------------------------------------------


def test_registering_an_existing_key_is_a_conflict__CP_6(net: Network) -> None:
    net.org1.register_plan(new_plan())
    with fails_writing_nothing(net, ConflictError, rf'^OE0006: computeplan with key "{key("cp")}" already exists$'):
        net.org2.register_plan(new_plan())


def test_stored_plan_has_the_request_fields_owner_and_date_and_no_derived_fields__CP_7(net: Network) -> None:
    request = new_plan(delete_intermediary_models=True)
    request.tag = "a tag"
    request.metadata["foo"] = "bar"
    timestamp = net.next_timestamp()
    submit_at(net, "MyOrg2MSP", "register_plan", request, timestamp)
    stored = read_services(net, lambda s: s.computeplan.get_stored(key("cp")))
    assert stored == computeplan_pb2.ComputePlan(
        key=key("cp"), owner="MyOrg2MSP", delete_intermediary_models=True, creation_date=stored.creation_date,
        tag="a tag", metadata={"foo": "bar"}, name=request.name)
    assert stored.creation_date.ToNanoseconds() == timestamp
    assert stored.status == P.PLAN_STATUS_UNKNOWN  # derived on read, never stored (CP-10)


def test_returned_plan_is_empty_with_zero_counters__CP_8(net: Network) -> None:
    plan = net.org1.register_plan(new_plan())
    assert plan.status == P.PLAN_STATUS_EMPTY
    assert counters(plan) == (0, 0, 0, 0, 0, 0, 0)
    assert plan.owner == "MyOrg1MSP"
    assert get(net) == plan


def test_registration_emits_one_created_event_with_the_empty_plan__CP_9(net: Network) -> None:
    plan = net.org1.register_plan(new_plan())
    events = net.org1.query_events(asset_key=plan.key)
    assert len(events) == 1
    assert events[0].event_kind == event_pb2.EVENT_ASSET_CREATED
    assert events[0].asset_kind == common_pb2.ASSET_COMPUTE_PLAN
    assert events[0].compute_plan == plan
    assert events[0].compute_plan.status == P.PLAN_STATUS_EMPTY


# -- derived fields (CP-10, CP-11) ------------------------------------------------------------


def test_counters_count_the_plans_tasks_by_status__CP_10(net: Network) -> None:
    net.org1.register_plan(new_plan("cp"))
    net.org1.register_plan(new_plan("other cp"))
    add_task_entries(net, "cp", {T.STATUS_WAITING: 2, T.STATUS_TODO: 3, T.STATUS_DOING: 1, T.STATUS_CANCELED: 4,
                                 T.STATUS_FAILED: 5, T.STATUS_DONE: 6})
    add_task_entries(net, "other cp", {T.STATUS_DONE: 7})
    assert counters(get(net, "cp")) == (21, 2, 3, 1, 4, 5, 6)
    assert counters(get(net, "other cp")) == (7, 0, 0, 0, 0, 0, 7)
    assert get(net, "other cp").status == P.PLAN_STATUS_DONE
    counts = read_services(net, lambda s: s.computeplan.counts(key("cp")))
    assert counts == {T.STATUS_UNKNOWN: 0, T.STATUS_WAITING: 2, T.STATUS_TODO: 3, T.STATUS_DOING: 1,
                      T.STATUS_CANCELED: 4, T.STATUS_FAILED: 5, T.STATUS_DONE: 6}


def test_counters_follow_registered_tasks__CP_10(net: Network) -> None:
    net.org1.register_algo(new_algo())
    net.org1.register_data_manager(new_data_manager())
    net.org1.register_data_samples(datasample_pb2.RegisterDataSamplesParam(samples=[new_data_sample()]))
    net.org1.register_plan(new_plan())
    net.org1.register_tasks(computetask_pb2.RegisterTasksParam(tasks=[
        new_train_task("t1"), new_train_task("t2"), new_train_task("t3", parents=("t1", "t2")),
    ]))
    plan = get(net)
    assert counters(plan) == (3, 1, 2, 0, 0, 0, 0)
    assert plan.status == P.PLAN_STATUS_TODO


W, TD, DG, C, F, D = (T.STATUS_WAITING, T.STATUS_TODO, T.STATUS_DOING, T.STATUS_CANCELED, T.STATUS_FAILED,
                      T.STATUS_DONE)


@pytest.mark.parametrize(
    ("counts", "status"),
    [
        ({}, P.PLAN_STATUS_EMPTY),  # rule 1
        ({W: 0, D: 0}, P.PLAN_STATUS_EMPTY),
        ({D: 11}, P.PLAN_STATUS_DONE),  # worked example: 11 tasks all done
        ({W: 11}, P.PLAN_STATUS_WAITING),  # 11 waiting
        ({D: 1, W: 1, F: 1, C: 1, TD: 7}, P.PLAN_STATUS_FAILED),  # 1 done, 1 waiting, 1 failed, 1 canceled of 11
        ({D: 1, W: 1, C: 1, TD: 8}, P.PLAN_STATUS_CANCELED),  # 1 done, 1 waiting, 1 canceled of 11
        ({D: 1, W: 1, TD: 9}, P.PLAN_STATUS_DOING),  # 1 done, 1 waiting, rest todo
        ({W: 10, TD: 1}, P.PLAN_STATUS_TODO),  # 10 waiting, 1 todo
        ({D: 1, TD: 10}, P.PLAN_STATUS_DOING),  # parent done, 10 children todo
        ({DG: 1, C: 1, F: 1}, P.PLAN_STATUS_FAILED),  # train doing, one child canceled, one child failed
        ({TD: 3}, P.PLAN_STATUS_TODO),  # rule 6 without waiting tasks
        ({DG: 1, W: 2}, P.PLAN_STATUS_DOING),  # rule 7 by a doing task
        ({C: 2, W: 1}, P.PLAN_STATUS_CANCELED),  # rule 4 before rule 5/6
        ({F: 1}, P.PLAN_STATUS_FAILED),
    ],
)
def test_status_is_derived_from_the_counters_first_matching_rule__CP_11(counts: dict[int, int], status: int) -> None:
    assert plan_status(counts) == status


def test_get_plan_derives_its_status_from_the_task_index__CP_11(net: Network) -> None:
    net.org1.register_plan(new_plan())
    add_task_entries(net, "cp", {T.STATUS_WAITING: 10, T.STATUS_TODO: 1})
    assert get(net).status == P.PLAN_STATUS_TODO
    add_task_entries(net, "cp", {T.STATUS_FAILED: 1})
    assert get(net).status == P.PLAN_STATUS_FAILED


# -- queries (CP-12, CP-13) -------------------------------------------------------------------


@pytest.mark.parametrize("bad_key", [key("absent"), "", "cp"])
def test_get_of_an_absent_or_malformed_key_is_not_found__CP_12_PAGE_6_PAGE_7(net: Network, bad_key: str) -> None:
    net.org1.register_plan(new_plan())
    with pytest.raises(NotFoundError, match=rf'^OE0002: computeplan with key "{bad_key}" not found$'):
        net.org1.get_plan(computeplan_pb2.GetComputePlanParam(key=bad_key))


def test_get_plan_includes_the_derived_fields__CP_12(net: Network) -> None:
    registered = net.org1.register_plan(new_plan())
    add_task_entries(net, "cp", {T.STATUS_DOING: 1, T.STATUS_DONE: 2})
    plan = get(net)
    assert counters(plan) == (3, 0, 0, 1, 0, 0, 2)
    assert plan.status == P.PLAN_STATUS_DOING
    for name in ("key", "owner", "creation_date", "name", "tag", "metadata", "delete_intermediary_models"):
        assert getattr(plan, name) == getattr(registered, name), name


def test_query_orders_by_creation_date_then_key_with_exact_pages__CP_13_PAGE_2_PAGE_4(net: Network) -> None:
    refs = ["cp c", "cp a", "cp b", "cp d"]
    for ref in refs:
        net.org1.register_plan(new_plan(ref))
    timestamp = net.next_timestamp()
    for ref in ("tied 2", "tied 1"):
        submit_at(net, "MyOrg2MSP", "register_plan", new_plan(ref), timestamp)
    expected = [key(r) for r in refs] + sorted([key("tied 1"), key("tied 2")])
    assert all_keys(net, 100) == [expected]
    assert all_keys(net, 3) == [expected[:3], expected[3:]]
    assert all_keys(net, 2) == [expected[:2], expected[2:4], expected[4:]]


def test_owner_filter_keeps_that_owners_plans__CP_13(net: Network) -> None:
    for i in range(3):
        net.org1.register_plan(new_plan(f"mine {i}"))
        net.org2.register_plan(new_plan(f"theirs {i}"))
    mine = [key(f"mine {i}") for i in range(3)]
    assert all_keys(net, 10, owner="MyOrg1MSP") == [mine]
    assert all_keys(net, 2, owner="MyOrg1MSP") == [mine[:2], mine[2:]]
    assert all_keys(net, 10, owner="MyOrg2MSP") == [[key(f"theirs {i}") for i in range(3)]]
    assert query(net, owner="NobodyMSP") == computeplan_pb2.QueryPlansResponse()
    assert query(net, owner="Bad\x00Owner") == computeplan_pb2.QueryPlansResponse()


def test_empty_owner_filter_is_ignored__CP_13_PAGE_5(net: Network) -> None:
    net.org1.register_plan(new_plan("mine"))
    net.org2.register_plan(new_plan("theirs"))
    assert [p.key for p in query(net, owner="").plans] == [key("mine"), key("theirs")]
    assert len(net.org1.query_plans(computeplan_pb2.QueryPlansParam()).plans) == 2


def test_page_size_zero_means_fifty__CP_13_PAGE_1(net: Network) -> None:
    for i in range(51):
        net.org1.register_plan(new_plan(f"cp {i}"))
    first = query(net)
    assert len(first.plans) == 50
    assert [p.key for p in query(net, 0, first.next_page_token).plans] == [key("cp 50")]


def test_each_queried_plan_carries_its_derived_fields__CP_13(net: Network) -> None:
    net.org1.register_plan(new_plan("empty"))
    net.org1.register_plan(new_plan("busy"))
    add_task_entries(net, "busy", {T.STATUS_WAITING: 2, T.STATUS_TODO: 1})
    empty, busy = query(net).plans
    assert (counters(empty), empty.status) == ((0, 0, 0, 0, 0, 0, 0), P.PLAN_STATUS_EMPTY)
    assert (counters(busy), busy.status) == ((3, 2, 1, 0, 0, 0, 0), P.PLAN_STATUS_TODO)
    assert busy == get(net, "busy")


def test_a_token_from_nowhere_is_an_invalid_argument__CP_13_PAGE_3(net: Network) -> None:
    net.org1.register_plan(new_plan())
    with pytest.raises(InvalidAssetError):
        query(net, 1, "bogus")


# -- ApplyPlanAction (CP-14…CP-16) -----------------------------------------------------------


@pytest.mark.parametrize("bad_key", [key("absent"), "", "cp"])
def test_action_on_an_absent_plan_is_not_found__CP_14(net: Network, bad_key: str) -> None:
    net.org1.register_plan(new_plan())
    with fails_writing_nothing(net, NotFoundError, rf'^OE0002: computeplan with key "{bad_key}" not found$'):
        net.org1.apply_plan_action(computeplan_pb2.ApplyPlanActionParam(key=bad_key, action=P.PLAN_ACTION_CANCELED))


@pytest.mark.parametrize("action", [P.PLAN_ACTION_CANCELED, P.PLAN_ACTION_UNKNOWN, 7])
def test_only_the_plan_owner_may_act__CP_15(net: Network, action: int) -> None:
    net.org1.register_plan(new_plan())
    with fails_writing_nothing(net, PermissionDeniedError, r"^OE0102: only plan owner can act on it$"):
        act(net, "cp", action, org="org2")


@pytest.mark.parametrize("action", [P.PLAN_ACTION_UNKNOWN, 2, 99])
def test_actions_other_than_cancel_are_unimplemented__CP_16(net: Network, action: int) -> None:
    net.org1.register_plan(new_plan())
    add_task_entries(net, "cp", {T.STATUS_TODO: 1})
    with fails_writing_nothing(net, UnimplementedError, r"^OE0010: plan action unimplemented$"):
        act(net, "cp", action)


def test_cancel_of_a_plan_without_tasks_succeeds_and_emits_nothing__CP_16(net: Network) -> None:
    net.org1.register_plan(new_plan())
    events = net.org1.query_events()
    assert act(net, "cp", P.PLAN_ACTION_CANCELED) == computeplan_pb2.ApplyPlanActionResponse()
    assert net.org1.query_events() == events
    assert get(net).status == P.PLAN_STATUS_EMPTY


def test_cancel_cancels_the_plans_tasks__CP_16(net: Network) -> None:
    net.org1.register_algo(new_algo())
    net.org1.register_data_manager(new_data_manager())
    net.org1.register_data_samples(datasample_pb2.RegisterDataSamplesParam(samples=[new_data_sample()]))
    net.org1.register_plan(new_plan())
    net.org1.register_tasks(computetask_pb2.RegisterTasksParam(tasks=[
        new_train_task("t1"), new_train_task("t2", parents=("t1",))]))
    act(net, "cp", P.PLAN_ACTION_CANCELED)
    plan = get(net)
    assert counters(plan) == (2, 0, 0, 0, 2, 0, 0)
    assert plan.status == P.PLAN_STATUS_CANCELED


# -- internal (CP-19) --------------------------------------------------------------------------


@pytest.mark.parametrize("flag", [True, False])
def test_stored_plan_carries_the_intermediary_model_deletion_flag__CP_19(net: Network, flag: bool) -> None:
    net.org1.register_plan(new_plan(delete_intermediary_models=flag))
    assert read_services(net, lambda s: s.computeplan.get_stored(key("cp")).delete_intermediary_models) is flag
    assert get(net).delete_intermediary_models is flag


def test_get_stored_of_an_absent_plan_is_not_found__CP_19(net: Network) -> None:
    with pytest.raises(NotFoundError, match=r'^OE0002: computeplan with key ".+" not found$'):
        read_services(net, lambda s: s.computeplan.get_stored(key("absent")))
