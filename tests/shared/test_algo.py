"""Algos (rules.md section 4): registration, lookup, listing and the download check."""

from __future__ import annotations

import pytest

from orchestrator.api import algo_pb2, common_pb2, event_pb2
from orchestrator.shared.errors import BadRequestError, ConflictError, InvalidAssetError, NotFoundError
from orchestrator.shared.store.indexes import ALGO_OF_PLAN
from tests.builders import CHECKSUM, key, new_algo, new_plan, restricted
from tests.network import Network
from tests.shared.ledger_checks import fails_writing_nothing, read_services, submit_at, write_index_entries

SIMPLE, AGGREGATE, COMPOSITE, METRIC, PREDICT = (
    algo_pb2.ALGO_SIMPLE, algo_pb2.ALGO_AGGREGATE, algo_pb2.ALGO_COMPOSITE, algo_pb2.ALGO_METRIC, algo_pb2.ALGO_PREDICT,
)
INVALID = r"^OE0101: algo is not valid: "


def query(net: Network, page_size: int = 0, token: str = "", **filters: object) -> algo_pb2.QueryAlgosResponse:
    return net.org1.query_algos(algo_pb2.QueryAlgosParam(
        page_token=token, page_size=page_size, filter=algo_pb2.AlgoQueryFilter(**filters)))


def all_keys(net: Network, page_size: int, **filters: object) -> list[list[str]]:
    """Keys of every page, following tokens until an empty one."""
    pages, token = [], ""
    while True:
        response = query(net, page_size, token, **filters)
        pages.append([a.key for a in response.Algos])
        token = response.next_page_token
        if not token:
            return pages


def register_at_same_time(net: Network, *algos: algo_pb2.NewAlgo) -> None:
    """Register each algo in its own transaction, all with one timestamp (ties broken by key, PAGE-4)."""
    timestamp = net.next_timestamp()
    for algo in algos:
        submit_at(net, net.org1.mspid, "register_algo", algo, timestamp)


# -- validation (ALGO-1…ALGO-9) ------------------------------------------------------------


def _with(**changes: object) -> algo_pb2.NewAlgo:
    algo = new_algo()
    for name, value in changes.items():
        if isinstance(value, common_pb2.Addressable):
            getattr(algo, name).CopyFrom(value)
        else:
            setattr(algo, name, value)
    return algo


@pytest.mark.parametrize("bad_key", ["", "not-a-uuid", key("simple algo").upper()])
def test_key_must_be_a_lowercase_uuid__ALGO_1(net: Network, bad_key: str) -> None:
    with fails_writing_nothing(net, InvalidAssetError, INVALID + r".*key"):
        net.org1.register_algo(_with(key=bad_key))


@pytest.mark.parametrize("name", ["", "a" * 101, "é" * 51])
def test_name_is_required_and_at_most_100_bytes__ALGO_2(net: Network, name: str) -> None:
    with fails_writing_nothing(net, InvalidAssetError, INVALID + r".*name"):
        net.org1.register_algo(_with(name=name))


def test_name_of_exactly_100_bytes_is_accepted__ALGO_2(net: Network) -> None:
    assert net.org1.register_algo(_with(name="é" * 50)).name == "é" * 50


def test_unknown_category_zero_is_accepted_and_stored__ALGO_3(net: Network) -> None:
    algo = net.org1.register_algo(new_algo(category=algo_pb2.ALGO_UNKNOWN, outputs={}))
    assert algo.category == algo_pb2.ALGO_UNKNOWN
    assert net.org1.get_algo(algo_pb2.GetAlgoParam(key=algo.key)).category == algo_pb2.ALGO_UNKNOWN


def test_category_beyond_the_enum_is_rejected__ALGO_3(net: Network) -> None:
    with fails_writing_nothing(net, InvalidAssetError, INVALID + r".*category"):
        net.org1.register_algo(_with(category=6))


@pytest.mark.parametrize(
    "changes",
    [
        {"description": None},
        {"algorithm": common_pb2.Addressable(checksum="abc", storage_address="https://somewhere")},
        {"description": common_pb2.Addressable(checksum=CHECKSUM, storage_address="0698796898")},
    ],
)
def test_description_and_algorithm_are_required_valid_addressables__ALGO_4(net: Network, changes: dict) -> None:
    algo = new_algo()
    for name, value in changes.items():
        if value is None:
            algo.ClearField(name)
        else:
            getattr(algo, name).CopyFrom(value)
    with fails_writing_nothing(net, InvalidAssetError, INVALID):
        net.org1.register_algo(algo)


def test_metadata_keys_and_values_are_at_most_100_bytes__ALGO_5(net: Network) -> None:
    algo = new_algo()
    algo.metadata["k" * 101] = "v"
    with fails_writing_nothing(net, InvalidAssetError, INVALID + r".*metadata"):
        net.org1.register_algo(algo)
    algo = new_algo()
    algo.metadata["k" * 100] = "v" * 100
    assert net.org1.register_algo(algo).metadata == {"k" * 100: "v" * 100}


def test_new_permissions_are_required__ALGO_6(net: Network) -> None:
    algo = new_algo()
    algo.ClearField("new_permissions")
    with fails_writing_nothing(net, InvalidAssetError, INVALID + r".*new_permissions"):
        net.org1.register_algo(algo)


def test_empty_new_permissions_only_need_to_be_present__VAL_8(net: Network) -> None:
    algo = new_algo()
    algo.new_permissions.CopyFrom(common_pb2.NewPermissions())  # present, nothing set: owner only (PERM-2)
    permissions = net.org1.register_algo(algo).permissions
    assert (permissions.process.public, list(permissions.process.authorized_ids)) == (False, [net.org1.mspid])


DM, DS, MODEL = common_pb2.ASSET_DATA_MANAGER, common_pb2.ASSET_DATA_SAMPLE, common_pb2.ASSET_MODEL


@pytest.mark.parametrize(
    "inputs",
    [
        {"": algo_pb2.AlgoInput(kind=MODEL)},  # identifier required
        {"i" * 101: algo_pb2.AlgoInput(kind=MODEL)},  # identifier at most 100 bytes
        {"x": algo_pb2.AlgoInput(kind=common_pb2.ASSET_ALGO)},  # kind not allowed
        {"opener": algo_pb2.AlgoInput(kind=DM, multiple=True), "ds": algo_pb2.AlgoInput(kind=DS)},
        {"opener": algo_pb2.AlgoInput(kind=DM, optional=True), "ds": algo_pb2.AlgoInput(kind=DS)},
        {"o1": algo_pb2.AlgoInput(kind=DM), "o2": algo_pb2.AlgoInput(kind=DM), "ds": algo_pb2.AlgoInput(kind=DS)},
        {"opener": algo_pb2.AlgoInput(kind=DM)},  # data manager without data samples
        {"ds": algo_pb2.AlgoInput(kind=DS, multiple=True)},  # data samples without data manager
    ],
)
def test_invalid_inputs_are_rejected__ALGO_7(net: Network, inputs: dict[str, algo_pb2.AlgoInput]) -> None:
    with fails_writing_nothing(net, InvalidAssetError, INVALID + r".*inputs"):
        net.org1.register_algo(new_algo(inputs=inputs))


def test_valid_inputs_are_accepted__ALGO_7(net: Network) -> None:
    inputs = {
        "opener": algo_pb2.AlgoInput(kind=DM),
        "datasamples": algo_pb2.AlgoInput(kind=DS, multiple=True),
        "models": algo_pb2.AlgoInput(kind=MODEL, multiple=True, optional=True),
        "anything": algo_pb2.AlgoInput(),  # kind 0 accepted (VAL-3)
    }
    assert dict(net.org1.register_algo(new_algo(inputs=inputs)).inputs) == inputs


@pytest.mark.parametrize(
    "outputs",
    [
        {"": algo_pb2.AlgoOutput(kind=MODEL)},
        {"o" * 101: algo_pb2.AlgoOutput(kind=MODEL)},
        {"x": algo_pb2.AlgoOutput(kind=DS)},
        {"performance": algo_pb2.AlgoOutput(kind=common_pb2.ASSET_PERFORMANCE, multiple=True)},
    ],
)
def test_invalid_outputs_are_rejected__ALGO_8(net: Network, outputs: dict[str, algo_pb2.AlgoOutput]) -> None:
    with fails_writing_nothing(net, InvalidAssetError, INVALID + r".*outputs"):
        net.org1.register_algo(new_algo(outputs=outputs))


def test_valid_outputs_are_accepted__ALGO_8(net: Network) -> None:
    outputs = {
        "model": algo_pb2.AlgoOutput(kind=MODEL, multiple=True),
        "performance": algo_pb2.AlgoOutput(kind=common_pb2.ASSET_PERFORMANCE),
        "other": algo_pb2.AlgoOutput(),
    }
    assert dict(net.org1.register_algo(new_algo(outputs=outputs)).outputs) == outputs


def test_validation_comes_before_the_conflict_check__ALGO_9(net: Network) -> None:
    net.org1.register_algo(new_algo())
    with fails_writing_nothing(net, InvalidAssetError, INVALID + r".*name"):
        net.org1.register_algo(_with(name=""))


# -- checks, storage, event (ALGO-10…ALGO-13) ---------------------------------------------


def test_registering_an_existing_key_is_a_conflict__ALGO_10(net: Network) -> None:
    net.org1.register_algo(new_algo())
    with fails_writing_nothing(net, ConflictError, rf'^OE0006: algo with key "{key("simple algo")}" already exists$'):
        net.org2.register_algo(new_algo())


def test_conflict_is_checked_before_permissions__ALGO_10_ALGO_11(net: Network) -> None:
    net.org1.register_algo(new_algo())
    with fails_writing_nothing(net, ConflictError):
        net.org1.register_algo(new_algo(permissions=restricted("UnknownOrgMSP")))


def test_permissions_are_built_from_the_request__ALGO_11(net: Network) -> None:
    algo = net.org1.register_algo(new_algo(permissions=restricted("MyOrg2MSP")))
    expected = common_pb2.Permission(public=False, authorized_ids=["MyOrg2MSP", "MyOrg1MSP"])
    assert algo.permissions == common_pb2.Permissions(process=expected, download=expected)


def test_permissions_naming_an_unregistered_org_are_a_bad_request__ALGO_11(net: Network) -> None:
    with fails_writing_nothing(net, BadRequestError, r"^OE0003: invalid permission input values$"):
        net.org1.register_algo(new_algo(permissions=restricted("UnknownOrgMSP")))


def test_stored_algo_copies_the_request_and_adds_owner_date_permissions__ALGO_12(net: Network) -> None:
    request = new_algo("composite algo", COMPOSITE, inputs={"models": algo_pb2.AlgoInput(kind=MODEL, multiple=True)})
    request.metadata["foo"] = "bar"
    timestamp = net.next_timestamp()
    algo = submit_at(net, "UnregisteredOrgMSP", "register_algo", request, timestamp)
    assert algo.owner == "UnregisteredOrgMSP"
    assert algo.creation_date.ToNanoseconds() == timestamp  # the call's transaction time (GEN-5)
    for name in ("key", "name", "category", "description", "algorithm", "metadata", "inputs", "outputs"):
        assert getattr(algo, name) == getattr(request, name), name
    assert algo.permissions.process == common_pb2.Permission(public=True, authorized_ids=["UnregisteredOrgMSP"])
    assert net.org2.get_algo(algo_pb2.GetAlgoParam(key=algo.key)) == algo


def test_registration_emits_one_created_event_with_the_stored_algo__ALGO_13(net: Network) -> None:
    algo = net.org1.register_algo(new_algo("metric algo", METRIC))
    events = net.org1.query_events(asset_key=algo.key)
    assert len(events) == 1
    assert events[0].event_kind == event_pb2.EVENT_ASSET_CREATED
    assert events[0].asset_kind == common_pb2.ASSET_ALGO
    assert events[0].algo == algo
    assert events[0].timestamp == algo.creation_date
    assert not events[0].metadata


# -- lookup (ALGO-14) ----------------------------------------------------------------------


def test_get_returns_the_algo__ALGO_14(net: Network) -> None:
    algo = net.org1.register_algo(new_algo())
    assert net.org1.get_algo(algo_pb2.GetAlgoParam(key=algo.key)) == algo


@pytest.mark.parametrize("bad_key", [key("absent"), "", "not-a-uuid", key("simple algo").upper()])
def test_get_of_an_absent_or_malformed_key_is_not_found__ALGO_14_PAGE_6_PAGE_7(net: Network, bad_key: str) -> None:
    net.org1.register_algo(new_algo())
    with pytest.raises(NotFoundError, match=rf'^OE0002: algo with key "{bad_key}" not found$'):
        net.org1.get_algo(algo_pb2.GetAlgoParam(key=bad_key))


# -- listing (ALGO-15) ---------------------------------------------------------------------


def test_query_orders_by_creation_date_then_key__ALGO_15_PAGE_4(net: Network) -> None:
    refs = [f"algo {i}" for i in range(4)]
    for ref in refs:  # registered in this order: later dates
        net.org1.register_algo(new_algo(ref))
    tied = ["tied b", "tied a", "tied c"]
    register_at_same_time(net, *(new_algo(ref) for ref in tied))
    expected = [key(r) for r in refs] + sorted(key(r) for r in tied)
    assert [a.key for a in query(net).Algos] == expected


def test_query_pages_through_every_algo_once_with_an_empty_last_token__ALGO_15_PAGE_2(net: Network) -> None:
    refs = [f"algo {i}" for i in range(6)]
    for ref in refs:
        net.org1.register_algo(new_algo(ref))
    expected = [key(r) for r in refs]
    assert all_keys(net, 3) == [expected[:3], expected[3:]]  # exactly full last page: empty token
    assert all_keys(net, 4) == [expected[:4], expected[4:]]
    assert all_keys(net, 6) == [expected]
    assert all_keys(net, 100) == [expected]


def test_page_size_zero_means_fifty__ALGO_15_PAGE_1(net: Network) -> None:
    for i in range(51):
        net.org1.register_algo(new_algo(f"algo {i}"))
    first = query(net, 0)
    assert len(first.Algos) == 50
    assert first.next_page_token
    assert [a.key for a in query(net, 0, first.next_page_token).Algos] == [key("algo 50")]


def test_empty_filters_are_ignored__ALGO_15_PAGE_5(net: Network) -> None:
    net.org1.register_algo(new_algo("simple algo"))
    net.org1.register_algo(new_algo("metric algo", METRIC))
    every = [key("simple algo"), key("metric algo")]
    assert [a.key for a in query(net, categories=[], compute_plan_key="").Algos] == every
    assert [a.key for a in net.org1.query_algos(algo_pb2.QueryAlgosParam()).Algos] == every


def _register_categories(net: Network) -> dict[int, list[str]]:
    refs = {SIMPLE: ["s1", "s2"], METRIC: ["m1", "m2"], COMPOSITE: ["c1"], AGGREGATE: ["a1"], PREDICT: ["p1"]}
    for i in range(2):  # interleave categories in time
        for category, names in refs.items():
            if i < len(names):
                net.org1.register_algo(new_algo(names[i], category))
    return {category: [key(n) for n in names] for category, names in refs.items()}


def test_categories_filter_keeps_the_listed_categories_in_order__ALGO_15(net: Network) -> None:
    keys = _register_categories(net)
    order = [keys[SIMPLE][0], keys[METRIC][0], keys[SIMPLE][1], keys[METRIC][1]]
    assert [a.key for a in query(net, categories=[SIMPLE, METRIC]).Algos] == order
    assert [a.key for a in query(net, categories=[PREDICT]).Algos] == keys[PREDICT]
    assert [a.key for a in query(net, categories=[METRIC, SIMPLE, METRIC]).Algos] == order  # repeated: once


def test_categories_filter_pages_across_categories__ALGO_15_PAGE_2(net: Network) -> None:
    keys = _register_categories(net)
    order = [keys[SIMPLE][0], keys[METRIC][0], keys[COMPOSITE][0], keys[SIMPLE][1], keys[METRIC][1]]
    filters = {"categories": [SIMPLE, METRIC, COMPOSITE]}
    assert all_keys(net, 2, **filters) == [order[:2], order[2:4], order[4:]]
    assert all_keys(net, 5, **filters) == [order]


def test_categories_filter_of_unknown_values_matches_nothing__ALGO_15_PAGE_7(net: Network) -> None:
    _register_categories(net)
    response = query(net, categories=[42])
    assert list(response.Algos) == []
    assert response.next_page_token == ""


def test_plan_filter_keeps_the_algos_used_by_the_plans_tasks__ALGO_15(net: Network) -> None:
    keys = _register_categories(net)
    net.org1.register_plan(new_plan("cp"))
    net.org1.register_plan(new_plan("other cp"))
    write_index_entries(net, [
        (ALGO_OF_PLAN, [key("cp"), keys[METRIC][1]]),
        (ALGO_OF_PLAN, [key("cp"), keys[SIMPLE][0]]),
        (ALGO_OF_PLAN, [key("cp"), keys[COMPOSITE][0]]),
        (ALGO_OF_PLAN, [key("other cp"), keys[PREDICT][0]]),
    ])
    in_order = [keys[SIMPLE][0], keys[COMPOSITE][0], keys[METRIC][1]]
    assert [a.key for a in query(net, compute_plan_key=key("cp")).Algos] == in_order
    assert all_keys(net, 2, compute_plan_key=key("cp")) == [in_order[:2], in_order[2:]]
    assert all_keys(net, 1, compute_plan_key=key("cp")) == [[k] for k in in_order]
    assert all_keys(net, 3, compute_plan_key=key("cp")) == [in_order]
    both = query(net, compute_plan_key=key("cp"), categories=[METRIC, COMPOSITE])
    assert [a.key for a in both.Algos] == [keys[COMPOSITE][0], keys[METRIC][1]]
    assert list(query(net, compute_plan_key=key("cp"), categories=[42]).Algos) == []


@pytest.mark.parametrize("plan_ref", ["cp", "unknown cp"])
def test_plan_without_tasks_or_unknown_plan_yields_no_algo__ALGO_15(net: Network, plan_ref: str) -> None:
    net.org1.register_algo(new_algo())
    net.org1.register_plan(new_plan("cp"))
    response = query(net, compute_plan_key=key(plan_ref))
    assert list(response.Algos) == []
    assert response.next_page_token == ""


def test_plan_filter_with_a_malformed_key_matches_nothing__ALGO_15_PAGE_7(net: Network) -> None:
    net.org1.register_algo(new_algo())
    assert list(query(net, compute_plan_key="\x00oops").Algos) == []


def test_a_token_from_nowhere_is_an_invalid_argument__ALGO_15_PAGE_3(net: Network) -> None:
    net.org1.register_algo(new_algo())
    for filters in ({}, {"categories": [SIMPLE]}, {"compute_plan_key": key("cp")}):
        with pytest.raises(InvalidAssetError):
            query(net, 1, "not a token!", **filters)


# -- download check (ALGO-16) ---------------------------------------------------------------


def test_can_download_applies_the_download_permission__ALGO_16(net: Network) -> None:
    net.org1.register_algo(new_algo("private algo", permissions=restricted()))
    net.org1.register_algo(new_algo("public algo"))
    assert read_services(net, lambda s: s.algo.can_download(key("private algo"), "MyOrg1MSP"))
    assert not read_services(net, lambda s: s.algo.can_download(key("private algo"), "MyOrg2MSP"))
    assert read_services(net, lambda s: s.algo.can_download(key("public algo"), "MyOrg2MSP"))


def test_can_download_of_an_unknown_algo_is_not_found__ALGO_16(net: Network) -> None:
    with pytest.raises(NotFoundError, match=r'^OE0002: algo with key ".+" not found$'):
        read_services(net, lambda s: s.algo.can_download(key("absent"), "MyOrg1MSP"))
