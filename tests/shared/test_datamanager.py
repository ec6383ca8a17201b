"""Data managers (rules.md section 5): registration, lookup, listing and the ownership check."""

from __future__ import annotations

import pytest

from orchestrator.api import common_pb2, datamanager_pb2, event_pb2
from orchestrator.shared.errors import (
    BadRequestError,
    ConflictError,
    InvalidAssetError,
    NotFoundError,
    PermissionDeniedError,
)
from tests.builders import CHECKSUM, key, new_data_manager, public, restricted
from tests.network import Network
from tests.shared.ledger_checks import fails_writing_nothing, read_services, submit_at

INVALID = r"^OE0101: datamanager is not valid: "


def query(net: Network, page_size: int = 0, token: str = "") -> datamanager_pb2.QueryDataManagersResponse:
    return net.org1.query_data_managers(datamanager_pb2.QueryDataManagersParam(page_token=token, page_size=page_size))


def all_keys(net: Network, page_size: int) -> list[list[str]]:
    pages, token = [], ""
    while True:
        response = query(net, page_size, token)
        pages.append([m.key for m in response.data_managers])
        token = response.next_page_token
        if not token:
            return pages


def _cleared(*names: str) -> datamanager_pb2.NewDataManager:
    dm = new_data_manager()
    for name in names:
        dm.ClearField(name)
    return dm


# -- validation (DM-1…DM-8) ---------------------------------------------------------------


@pytest.mark.parametrize("bad_key", ["", "not-a-uuid", key("dm").upper()])
def test_key_must_be_a_lowercase_uuid__DM_1(net: Network, bad_key: str) -> None:
    dm = new_data_manager()
    dm.key = bad_key
    with fails_writing_nothing(net, InvalidAssetError, INVALID + r".*key"):
        net.org1.register_data_manager(dm)


@pytest.mark.parametrize("name", ["", "n" * 101])
def test_name_is_required_and_at_most_100_bytes__DM_2(net: Network, name: str) -> None:
    dm = new_data_manager()
    dm.name = name
    with fails_writing_nothing(net, InvalidAssetError, INVALID + r".*name"):
        net.org1.register_data_manager(dm)


def test_new_permissions_are_required__DM_3(net: Network) -> None:
    with fails_writing_nothing(net, InvalidAssetError, INVALID + r".*new_permissions"):
        net.org1.register_data_manager(_cleared("new_permissions"))


@pytest.mark.parametrize("field", ["description", "opener"])
def test_description_and_opener_are_required_valid_addressables__DM_4(net: Network, field: str) -> None:
    with fails_writing_nothing(net, InvalidAssetError, INVALID + f".*{field}"):
        net.org1.register_data_manager(_cleared(field))
    dm = new_data_manager()
    getattr(dm, field).CopyFrom(common_pb2.Addressable(checksum=CHECKSUM, storage_address="0698796898"))
    with fails_writing_nothing(net, InvalidAssetError, INVALID + f".*{field}"):
        net.org1.register_data_manager(dm)


def test_metadata_values_are_at_most_100_bytes__DM_5(net: Network) -> None:
    dm = new_data_manager()
    dm.metadata["k"] = "v" * 101
    with fails_writing_nothing(net, InvalidAssetError, INVALID + r".*metadata"):
        net.org1.register_data_manager(dm)


@pytest.mark.parametrize("type_", ["", "t" * 31])
def test_type_is_required_and_at_most_30_bytes__DM_6(net: Network, type_: str) -> None:
    dm = new_data_manager()
    dm.type = type_
    with fails_writing_nothing(net, InvalidAssetError, INVALID + r".*type"):
        net.org1.register_data_manager(dm)


def test_type_of_30_bytes_is_accepted__DM_6(net: Network) -> None:
    dm = new_data_manager()
    dm.type = "t" * 30
    assert net.org1.register_data_manager(dm).type == "t" * 30


def test_logs_permission_is_required__DM_7(net: Network) -> None:
    with fails_writing_nothing(net, InvalidAssetError, INVALID + r".*logs_permission"):
        net.org1.register_data_manager(_cleared("logs_permission"))


def test_validation_comes_first__DM_8(net: Network) -> None:
    net.org1.register_data_manager(new_data_manager())
    dm = new_data_manager(permissions=restricted("UnknownOrgMSP"))
    dm.name = ""
    with fails_writing_nothing(net, InvalidAssetError, INVALID):
        net.org1.register_data_manager(dm)  # existing key and bad permissions too


# -- checks, storage, event (DM-9…DM-13) ---------------------------------------------------


def test_registering_an_existing_key_is_a_conflict__DM_9(net: Network) -> None:
    net.org1.register_data_manager(new_data_manager())
    with fails_writing_nothing(net, ConflictError, rf'^OE0006: datamanager with key "{key("dm")}" already exists$'):
        net.org2.register_data_manager(new_data_manager(logs_permission=restricted("UnknownOrgMSP")))


def test_logs_permission_is_one_permission_with_the_owner_appended_even_if_public__DM_10(net: Network) -> None:
    dm = net.org1.register_data_manager(new_data_manager(logs_permission=public()))
    assert dm.logs_permission == common_pb2.Permission(public=True, authorized_ids=["MyOrg1MSP"])
    dm = net.org1.register_data_manager(new_data_manager("dm2", logs_permission=restricted("MyOrg2MSP")))
    assert dm.logs_permission == common_pb2.Permission(public=False, authorized_ids=["MyOrg2MSP", "MyOrg1MSP"])


def test_logs_permission_naming_an_unregistered_org_is_a_bad_request__DM_10(net: Network) -> None:
    with fails_writing_nothing(net, BadRequestError, r"^OE0003: invalid permission input values$"):
        net.org1.register_data_manager(new_data_manager(logs_permission=restricted("UnknownOrgMSP")))


def test_permissions_are_built_from_the_request__DM_11(net: Network) -> None:
    dm = net.org1.register_data_manager(new_data_manager(permissions=restricted("MyOrg2MSP"), logs_permission=public()))
    expected = common_pb2.Permission(public=False, authorized_ids=["MyOrg2MSP", "MyOrg1MSP"])
    assert dm.permissions == common_pb2.Permissions(process=expected, download=expected)


def test_permissions_naming_an_unregistered_org_are_a_bad_request__DM_11(net: Network) -> None:
    with fails_writing_nothing(net, BadRequestError, r"^OE0003: invalid permission input values$"):
        net.org1.register_data_manager(new_data_manager(permissions=restricted("UnknownOrgMSP")))


def test_stored_data_manager_copies_the_request_and_adds_owner_and_date__DM_12(net: Network) -> None:
    request = new_data_manager()
    request.metadata["foo"] = "bar"
    timestamp = net.next_timestamp()
    dm = submit_at(net, "MyOrg2MSP", "register_data_manager", request, timestamp)
    for name in ("key", "name", "description", "opener", "type", "metadata"):
        assert getattr(dm, name) == getattr(request, name), name
    assert dm.owner == "MyOrg2MSP"
    assert dm.creation_date.ToNanoseconds() == timestamp
    assert net.org1.get_data_manager(datamanager_pb2.GetDataManagerParam(key=dm.key)) == dm


def test_registration_emits_one_created_event_with_the_stored_data_manager__DM_13(net: Network) -> None:
    dm = net.org1.register_data_manager(new_data_manager())
    events = net.org1.query_events(asset_key=dm.key)
    assert len(events) == 1
    assert events[0].event_kind == event_pb2.EVENT_ASSET_CREATED
    assert events[0].asset_kind == common_pb2.ASSET_DATA_MANAGER
    assert events[0].data_manager == dm


# -- queries (DM-14, DM-15) ----------------------------------------------------------------


@pytest.mark.parametrize("bad_key", [key("absent"), "", "dm"])
def test_get_of_an_absent_or_malformed_key_is_not_found__DM_14_PAGE_6_PAGE_7(net: Network, bad_key: str) -> None:
    net.org1.register_data_manager(new_data_manager())
    with pytest.raises(NotFoundError, match=rf'^OE0002: datamanager with key "{bad_key}" not found$'):
        net.org1.get_data_manager(datamanager_pb2.GetDataManagerParam(key=bad_key))


def test_query_lists_by_creation_date_then_key_with_exact_pages__DM_15_PAGE_2_PAGE_4(net: Network) -> None:
    refs = ["dm c", "dm a", "dm b", "dm d"]
    for ref in refs:
        net.org1.register_data_manager(new_data_manager(ref))
    timestamp = net.next_timestamp()
    tied = ["tied 2", "tied 1"]
    for ref in tied:
        submit_at(net, "MyOrg1MSP", "register_data_manager", new_data_manager(ref), timestamp)
    expected = [key(r) for r in refs] + sorted(key(r) for r in tied)
    assert all_keys(net, 100) == [expected]
    assert all_keys(net, 3) == [expected[:3], expected[3:]]
    assert all_keys(net, 4) == [expected[:4], expected[4:]]


def test_page_size_zero_means_fifty__DM_15_PAGE_1(net: Network) -> None:
    for i in range(51):
        net.org1.register_data_manager(new_data_manager(f"dm {i}"))
    first = query(net)
    assert len(first.data_managers) == 50
    assert [m.key for m in query(net, 0, first.next_page_token).data_managers] == [key("dm 50")]


def test_empty_ledger_gives_an_empty_page__DM_15_PAGE_2(net: Network) -> None:
    assert query(net) == datamanager_pb2.QueryDataManagersResponse()


# -- ownership check (DM-16) ---------------------------------------------------------------


def test_check_owner_passes_for_own_managers_and_an_empty_list__DM_16(net: Network) -> None:
    net.org1.register_data_manager(new_data_manager("dm1"))
    net.org1.register_data_manager(new_data_manager("dm2"))
    read_services(net, lambda s: s.datamanager.check_owner([key("dm1"), key("dm2"), key("dm1")], "MyOrg1MSP"))
    read_services(net, lambda s: s.datamanager.check_owner([], "MyOrg1MSP"))


def test_check_owner_checks_in_order_existence_then_owner__DM_16(net: Network) -> None:
    net.org1.register_data_manager(new_data_manager("dm1"))
    net.org2.register_data_manager(new_data_manager("dm2"))
    denied = rf'^OE0102: requester does not own the datamanager "{key("dm2")}"$'
    with pytest.raises(PermissionDeniedError, match=denied):
        read_services(net, lambda s: s.datamanager.check_owner([key("dm1"), key("dm2"), key("absent")], "MyOrg1MSP"))
    with pytest.raises(NotFoundError, match=rf'^OE0002: datamanager with key "{key("absent")}" not found$'):
        read_services(net, lambda s: s.datamanager.check_owner([key("dm1"), key("absent"), key("dm2")], "MyOrg1MSP"))
