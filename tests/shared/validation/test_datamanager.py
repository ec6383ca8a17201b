"""Validation of a new data manager (DM-1..DM-7)."""

from __future__ import annotations

import pytest

from orchestrator.api import common_pb2, datamanager_pb2
from orchestrator.shared.validation import validate_new_data_manager
from tests.shared.validation.cases import (
    INVALID_URL,
    KEY,
    NOT_A_KEY,
    UPPERCASE_KEY,
    addressable,
    assert_invalid,
    permissions,
    text_of_bytes,
)


def new_data_manager(**fields: object) -> datamanager_pb2.NewDataManager:
    """A valid data manager; ``fields`` override, ``None`` clears."""
    values: dict[str, object] = {
        "key": KEY,
        "name": "hospital dataset",
        "new_permissions": permissions(),
        "description": addressable(),
        "opener": addressable(),
        "type": "images",
        "logs_permission": permissions(),
        "metadata": {"foo": "bar"},
    }
    values.update(fields)
    return datamanager_pb2.NewDataManager(**{k: v for k, v in values.items() if v is not None})


def assert_invalid_data_manager(msg: datamanager_pb2.NewDataManager, *fields: str) -> str:
    return assert_invalid(validate_new_data_manager, msg, "datamanager", *fields)


def test_well_formed_data_manager_is_valid() -> None:
    validate_new_data_manager(new_data_manager())


@pytest.mark.parametrize("key", ["", NOT_A_KEY, UPPERCASE_KEY])
def test_data_manager_key_must_be_a_lowercase_uuid__DM_1(key: str) -> None:
    assert_invalid_data_manager(new_data_manager(key=key), "key")


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("", False),
        ("a", True),
        (text_of_bytes(100), True),
        (text_of_bytes(101), False),
        (text_of_bytes(102, "é"), False),
    ],
    ids=["empty", "1", "100", "101", "51xé"],
)
def test_data_manager_name_is_1_to_100_bytes__DM_2(name: str, ok: bool) -> None:
    if ok:
        validate_new_data_manager(new_data_manager(name=name))
    else:
        assert_invalid_data_manager(new_data_manager(name=name), "name")


@pytest.mark.parametrize("field", ["new_permissions", "logs_permission"])
def test_data_manager_permissions_are_required_even_if_empty__DM_3__DM_7(field: str) -> None:
    assert_invalid_data_manager(new_data_manager(**{field: None}), field)
    validate_new_data_manager(new_data_manager(**{field: common_pb2.NewPermissions()}))


@pytest.mark.parametrize("field", ["description", "opener"])
def test_data_manager_addressables_are_required_and_validated__DM_4(field: str) -> None:
    assert_invalid_data_manager(new_data_manager(**{field: None}), field)
    assert_invalid_data_manager(new_data_manager(**{field: addressable(checksum="abc")}), f"{field}.checksum")
    assert_invalid_data_manager(
        new_data_manager(**{field: addressable(storage_address=INVALID_URL)}), f"{field}.storage_address"
    )


def test_data_manager_metadata_key_longer_than_100_bytes_is_invalid__DM_5() -> None:
    validate_new_data_manager(new_data_manager(metadata={text_of_bytes(100): ""}))
    assert_invalid_data_manager(new_data_manager(metadata={text_of_bytes(101): ""}), "metadata")


@pytest.mark.parametrize(
    ("data_type", "ok"),
    [
        ("", False),
        ("a", True),
        (text_of_bytes(30), True),
        (text_of_bytes(31), False),
        (text_of_bytes(30, "日"), True),  # 10 characters
        (text_of_bytes(33, "日"), False),  # 11 characters, 33 bytes
    ],
    ids=["empty", "1", "30", "31", "10x日", "11x日"],
)
def test_data_manager_type_is_1_to_30_bytes__DM_6(data_type: str, ok: bool) -> None:
    if ok:
        validate_new_data_manager(new_data_manager(type=data_type))
    else:
        assert_invalid_data_manager(new_data_manager(type=data_type), "type")


def test_data_manager_reports_all_failing_fields_at_once__VAL_9() -> None:
    msg = new_data_manager(key="", type="", logs_permission=None, opener=common_pb2.Addressable())
    assert_invalid_data_manager(msg, "key", "logs_permission", "opener.checksum", "opener.storage_address", "type")
