"""Data samples (rules.md section 6): batch registration, adding data managers, lookup, listing, task-side checks."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from orchestrator.api import common_pb2, datasample_pb2, event_pb2
from orchestrator.shared.errors import ConflictError, InvalidAssetError, NotFoundError, PermissionDeniedError
from tests.builders import CHECKSUM, key, new_data_manager, new_data_sample
from tests.network import Network
from tests.shared.ledger_checks import fails_writing_nothing, read_services, submit_at

INVALID = r"^OE0101: datasample is not valid: "


@pytest.fixture
def dms(net: Network) -> Network:
    """``dm`` and ``dm2`` owned by MyOrg1MSP, ``other dm`` owned by MyOrg2MSP."""
    net.org1.register_data_manager(new_data_manager("dm"))
    net.org1.register_data_manager(new_data_manager("dm2"))
    net.org2.register_data_manager(new_data_manager("other dm"))
    return net


def register(net: Network, *samples: datasample_pb2.NewDataSample, org: str = "org1"
             ) -> list[datasample_pb2.DataSample]:
    client = getattr(net, org)
    return list(client.register_data_samples(datasample_pb2.RegisterDataSamplesParam(samples=samples)).data_samples)


def update(net: Network, keys: Sequence[str], managers: Sequence[str], org: str = "org1") -> None:
    getattr(net, org).update_data_samples(datasample_pb2.UpdateDataSamplesParam(
        keys=[key(k) for k in keys], data_manager_keys=[key(m) for m in managers]))


def get(net: Network, ref: str) -> datasample_pb2.DataSample:
    return net.org1.get_data_sample(datasample_pb2.GetDataSampleParam(key=key(ref)))


def query(net: Network, page_size: int = 0, token: str = "", keys: Sequence[str] = ()
          ) -> datasample_pb2.QueryDataSamplesResponse:
    return net.org1.query_data_samples(datasample_pb2.QueryDataSamplesParam(
        page_token=token, page_size=page_size, filter=datasample_pb2.DataSampleQueryFilter(keys=list(keys))))


def all_keys(net: Network, page_size: int, keys: Sequence[str] = ()) -> list[list[str]]:
    pages, token = [], ""
    while True:
        response = query(net, page_size, token, keys)
        pages.append([s.key for s in response.data_samples])
        token = response.next_page_token
        if not token:
            return pages


# -- RegisterDataSamples (DS-1…DS-5) -----------------------------------------------------


def test_empty_request_succeeds_and_stores_nothing__DS_1(dms: Network) -> None:
    state, events = dms.ledger.dump(), dms.org1.query_events()
    assert register(dms) == []
    assert dms.ledger.dump() == state
    assert dms.org1.query_events() == events


@pytest.mark.parametrize(
    "bad",
    [
        datasample_pb2.NewDataSample(key="not-a-uuid", data_manager_keys=[key("dm")], checksum=CHECKSUM),
        datasample_pb2.NewDataSample(key=key("ds").upper(), data_manager_keys=[key("dm")], checksum=CHECKSUM),
        datasample_pb2.NewDataSample(key=key("ds"), data_manager_keys=["dm"], checksum=CHECKSUM),
        datasample_pb2.NewDataSample(key=key("ds"), data_manager_keys=[key("dm")], checksum=""),
        datasample_pb2.NewDataSample(key=key("ds"), data_manager_keys=[key("dm")], checksum=CHECKSUM[:-1]),
        datasample_pb2.NewDataSample(key=key("ds"), data_manager_keys=[key("dm")], checksum="g" * 64),
    ],
)
def test_each_sample_is_validated__DS_2(dms: Network, bad: datasample_pb2.NewDataSample) -> None:
    with fails_writing_nothing(dms, InvalidAssetError, INVALID):
        register(dms, new_data_sample("first"), bad)


def test_a_sample_without_data_manager_is_accepted__DS_2(dms: Network) -> None:
    assert list(register(dms, new_data_sample(managers=()))[0].data_manager_keys) == []


def test_an_empty_manager_key_passes_validation_but_is_not_found__DS_2(dms: Network) -> None:
    sample = new_data_sample()
    sample.data_manager_keys.append("")
    with fails_writing_nothing(dms, NotFoundError, r'^OE0002: datamanager with key "" not found$'):
        register(dms, sample)


def test_referenced_managers_must_exist__DS_2(dms: Network) -> None:
    with fails_writing_nothing(dms, NotFoundError, rf'^OE0002: datamanager with key "{key("absent")}" not found$'):
        register(dms, new_data_sample("first"), new_data_sample(managers=("dm", "absent")))


def test_referenced_managers_must_belong_to_the_caller__DS_2(dms: Network) -> None:
    denied = rf'^OE0102: requester does not own the datamanager "{key("other dm")}"$'
    with fails_writing_nothing(dms, PermissionDeniedError, denied):
        register(dms, new_data_sample(managers=("dm", "other dm")))


def test_an_existing_key_is_a_conflict__DS_2(dms: Network) -> None:
    register(dms, new_data_sample())
    with fails_writing_nothing(dms, ConflictError, rf'^OE0006: datasample with key "{key("ds")}" already exists$'):
        register(dms, new_data_sample("new"), new_data_sample())


def test_checks_of_one_sample_run_in_order_validation_owner_conflict__DS_2(dms: Network) -> None:
    register(dms, new_data_sample())
    invalid_and_existing = new_data_sample(managers=("absent",))
    invalid_and_existing.checksum = "bad"
    with fails_writing_nothing(dms, InvalidAssetError):
        register(dms, invalid_and_existing)
    with fails_writing_nothing(dms, PermissionDeniedError):
        register(dms, new_data_sample(managers=("other dm",)))  # existing key, but the owner check comes first


def test_samples_are_checked_one_after_the_other__DS_2(dms: Network) -> None:
    invalid = new_data_sample("second")
    invalid.checksum = "bad"
    with fails_writing_nothing(dms, NotFoundError):  # the first sample fails before the second is validated
        register(dms, new_data_sample("first", managers=("absent",)), invalid)


def test_stored_sample_copies_the_request_and_adds_owner_and_date__DS_3(dms: Network) -> None:
    request = new_data_sample(managers=("dm2", "dm"), test_only=True)
    timestamp = dms.next_timestamp()
    response = submit_at(dms, "MyOrg1MSP", "register_data_samples",
                         datasample_pb2.RegisterDataSamplesParam(samples=[request]), timestamp)
    (sample,) = response.data_samples
    assert sample == datasample_pb2.DataSample(
        key=key("ds"), data_manager_keys=[key("dm2"), key("dm")], owner="MyOrg1MSP", test_only=True,
        checksum=CHECKSUM, creation_date=sample.creation_date)
    assert sample.creation_date.ToNanoseconds() == timestamp
    assert get(dms, "ds") == sample


def test_one_created_event_per_sample_in_request_order__DS_4(dms: Network) -> None:
    refs = ["ds c", "ds a", "ds b"]
    samples = register(dms, *(new_data_sample(r) for r in refs))
    assert [s.key for s in samples] == [key(r) for r in refs]  # response in request order
    events = dms.org1.ledger_events(asset_kind=common_pb2.ASSET_DATA_SAMPLE)
    assert [e.asset_key for e in events] == [key(r) for r in refs]
    assert all(e.event_kind == event_pb2.EVENT_ASSET_CREATED for e in events)
    assert [e.data_sample for e in events] == samples


def test_a_key_repeated_in_one_request_is_a_conflict__DS_5_BATCH_3(dms: Network) -> None:
    with fails_writing_nothing(dms, ConflictError, rf'^OE0006: datasample with key "{key("ds")}" already exists$'):
        register(dms, new_data_sample(), new_data_sample("other"), new_data_sample(test_only=True))


# -- UpdateDataSamples (DS-6…DS-9) --------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "managers"),
    [([], [key("dm2")]), (["not-a-uuid"], [key("dm2")]), ([key("ds").upper()], []), ([key("ds")], ["dm2"])],
)
def test_update_is_validated__DS_6(dms: Network, keys: list[str], managers: list[str]) -> None:
    register(dms, new_data_sample())
    with fails_writing_nothing(dms, InvalidAssetError, INVALID):
        dms.org1.update_data_samples(datasample_pb2.UpdateDataSamplesParam(keys=keys, data_manager_keys=managers))


def test_update_with_no_manager_is_valid_and_still_emits__DS_6_DS_8(dms: Network) -> None:
    register(dms, new_data_sample())
    update(dms, ["ds"], [])
    assert list(get(dms, "ds").data_manager_keys) == [key("dm")]
    assert len(dms.org1.query_events(asset_key=key("ds"), event_kind=event_pb2.EVENT_ASSET_UPDATED)) == 1


def test_update_checks_the_managers_first__DS_7(dms: Network) -> None:
    register(dms, new_data_sample())
    with fails_writing_nothing(dms, NotFoundError, rf'^OE0002: datamanager with key "{key("absent")}"'):
        update(dms, ["absent sample"], ["absent"])  # the manager check comes before the sample lookup
    with fails_writing_nothing(dms, PermissionDeniedError, r"^OE0102: requester does not own the datamanager"):
        update(dms, ["ds"], ["dm2", "other dm"])


def test_updated_samples_must_exist__DS_8(dms: Network) -> None:
    register(dms, new_data_sample())
    with fails_writing_nothing(dms, NotFoundError, rf'^OE0002: datasample with key "{key("absent")}" not found$'):
        update(dms, ["ds", "absent"], ["dm2"])


def test_updated_samples_must_belong_to_the_caller__DS_8(dms: Network) -> None:
    register(dms, new_data_sample("theirs", managers=("other dm",)), org="org2")
    register(dms, new_data_sample())
    with fails_writing_nothing(dms, PermissionDeniedError, r"^OE0102: requester does not own the datasample$"):
        update(dms, ["ds", "theirs"], ["dm2"])


def test_update_appends_the_new_managers_in_request_order__DS_8(dms: Network) -> None:
    dms.org1.register_data_manager(new_data_manager("dm3"))
    register(dms, new_data_sample(managers=("dm2",)))
    update(dms, ["ds"], ["dm3", "dm2", "dm"])
    assert list(get(dms, "ds").data_manager_keys) == [key("dm2"), key("dm3"), key("dm")]


def test_a_manager_repeated_in_the_request_is_appended_repeatedly__DS_8(dms: Network) -> None:
    register(dms, new_data_sample())
    update(dms, ["ds"], ["dm2", "dm", "dm2"])
    assert list(get(dms, "ds").data_manager_keys) == [key("dm"), key("dm2"), key("dm2")]


def test_update_emits_one_updated_event_per_key_in_order_even_if_unchanged__DS_8(dms: Network) -> None:
    register(dms, new_data_sample("ds a"), new_data_sample("ds b", managers=("dm", "dm2")))
    update(dms, ["ds b", "ds a"], ["dm2"])
    events = dms.org1.ledger_events(event_kind=event_pb2.EVENT_ASSET_UPDATED)
    assert [e.asset_key for e in events] == [key("ds b"), key("ds a")]
    assert all(e.asset_kind == common_pb2.ASSET_DATA_SAMPLE for e in events)
    assert [e.data_sample for e in events] == [get(dms, "ds b"), get(dms, "ds a")]
    assert list(events[0].data_sample.data_manager_keys) == [key("dm"), key("dm2")]  # unchanged


def test_update_answers_empty_and_changes_only_the_managers__DS_9(dms: Network) -> None:
    (before,) = register(dms, new_data_sample(test_only=True))
    response = dms.org1.update_data_samples(datasample_pb2.UpdateDataSamplesParam(
        keys=[key("ds")], data_manager_keys=[key("dm2")]))
    assert response == datasample_pb2.UpdateDataSamplesResponse()
    after = get(dms, "ds")
    before.data_manager_keys.append(key("dm2"))
    assert after == before


# -- queries (DS-10, DS-11) ---------------------------------------------------------------


@pytest.mark.parametrize("bad_key", [key("absent"), "", "ds", key("ds").upper()])
def test_get_of_an_absent_or_malformed_key_is_not_found__DS_10_PAGE_6_PAGE_7(dms: Network, bad_key: str) -> None:
    register(dms, new_data_sample())
    with pytest.raises(NotFoundError, match=rf'^OE0002: datasample with key "{bad_key}" not found$'):
        dms.org1.get_data_sample(datasample_pb2.GetDataSampleParam(key=bad_key))


def test_query_orders_by_creation_date_then_key__DS_11_PAGE_4(dms: Network) -> None:
    first = ["b1", "b2", "b3"]
    second = ["a1", "a2"]
    register(dms, *(new_data_sample(r) for r in first))
    register(dms, *(new_data_sample(r) for r in second))
    expected = sorted(key(r) for r in first) + sorted(key(r) for r in second)
    assert all_keys(dms, 100) == [expected]


def test_query_pages_with_an_empty_token_after_an_exactly_full_page__DS_11_PAGE_2(dms: Network) -> None:
    register(dms, *(new_data_sample(f"ds {i}") for i in range(6)))
    expected = sorted(key(f"ds {i}") for i in range(6))
    assert all_keys(dms, 3) == [expected[:3], expected[3:]]
    assert all_keys(dms, 5) == [expected[:5], expected[5:]]
    assert all_keys(dms, 6) == [expected]


def test_page_size_zero_means_fifty__DS_11_PAGE_1(dms: Network) -> None:
    register(dms, *(new_data_sample(f"ds {i}") for i in range(51)))
    first = query(dms)
    assert len(first.data_samples) == 50
    assert len(query(dms, 0, first.next_page_token).data_samples) == 1


def test_keys_filter_returns_only_the_named_samples_ignoring_unknown_ones__DS_11(dms: Network) -> None:
    register(dms, new_data_sample("ds 3"), new_data_sample("ds 1"))
    register(dms, new_data_sample("ds 2"))
    wanted = [key("ds 2"), key("absent"), key("ds 1"), "not-a-uuid", key("ds 2")]
    expected = [key("ds 1"), key("ds 2")]
    assert [s.key for s in query(dms, keys=wanted).data_samples] == expected
    assert all_keys(dms, 1, wanted) == [[k] for k in expected]
    assert all_keys(dms, 2, wanted) == [expected]


def test_keys_filter_of_unknown_keys_is_empty__DS_11_PAGE_7(dms: Network) -> None:
    register(dms, new_data_sample())
    assert query(dms, keys=["absent", "\x00"]) == datasample_pb2.QueryDataSamplesResponse()


def test_empty_keys_filter_is_ignored__DS_11_PAGE_5(dms: Network) -> None:
    register(dms, new_data_sample())
    assert [s.key for s in query(dms, keys=[]).data_samples] == [key("ds")]
    assert [s.key for s in dms.org1.query_data_samples(datasample_pb2.QueryDataSamplesParam()).data_samples] == [
        key("ds")]


def test_a_token_from_nowhere_is_an_invalid_argument__DS_11_PAGE_3(dms: Network) -> None:
    register(dms, new_data_sample())
    with pytest.raises(InvalidAssetError):
        query(dms, 1, "bogus")
    with pytest.raises(InvalidAssetError):
        query(dms, 1, "bogus", keys=[key("ds")])


# -- internal helpers (DS-12, DS-13) -------------------------------------------------------


def test_same_manager_passes_when_every_sample_has_the_manager__DS_12(dms: Network) -> None:
    register(dms, new_data_sample("ds1"), new_data_sample("ds2", managers=("dm2", "dm")))
    read_services(dms, lambda s: s.datasample.check_same_manager(key("dm"), [key("ds1"), key("ds2")]))


def test_same_manager_fails_on_a_sample_of_another_manager__DS_12(dms: Network) -> None:
    register(dms, new_data_sample("ds1"), new_data_sample("ds2", managers=("dm2",)))
    with pytest.raises(InvalidAssetError, match=r"^OE0101: datasamples do not share a common manager$"):
        read_services(dms, lambda s: s.datasample.check_same_manager(key("dm"), [key("ds1"), key("ds2")]))


def test_same_manager_fails_on_a_missing_sample__DS_12(dms: Network) -> None:
    register(dms, new_data_sample("ds1", managers=("dm2",)))
    with pytest.raises(NotFoundError, match=rf'^OE0002: datasample with key "{key("absent")}" not found$'):
        read_services(dms, lambda s: s.datasample.check_same_manager(key("dm2"), [key("absent"), key("ds1")]))


def test_same_manager_sees_managers_added_by_update__DS_12_DS_8(dms: Network) -> None:
    register(dms, new_data_sample("ds1"))
    update(dms, ["ds1"], ["dm2"])
    read_services(dms, lambda s: s.datasample.check_same_manager(key("dm2"), [key("ds1")]))


def test_contains_test_sample__DS_13(dms: Network) -> None:
    register(dms, new_data_sample("train"), new_data_sample("test", test_only=True))
    assert read_services(dms, lambda s: s.datasample.contains_test_sample([key("train"), key("test")]))
    assert not read_services(dms, lambda s: s.datasample.contains_test_sample([key("train")]))
    assert not read_services(dms, lambda s: s.datasample.contains_test_sample([]))
    with pytest.raises(NotFoundError):
        read_services(dms, lambda s: s.datasample.contains_test_sample([key("train"), key("absent")]))
