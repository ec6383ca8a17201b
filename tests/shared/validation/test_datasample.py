"""Validation of new data samples (DS-2 step 1) and of data sample updates (DS-6)."""

from __future__ import annotations

import pytest

from orchestrator.api import datasample_pb2
from orchestrator.shared.validation import validate_new_data_sample, validate_update_data_samples
from tests.shared.validation.cases import CHECKSUM, KEY, NOT_A_KEY, OTHER_KEY, UPPERCASE_KEY, assert_invalid


def new_data_sample(**fields: object) -> datasample_pb2.NewDataSample:
    values: dict[str, object] = {"key": KEY, "data_manager_keys": [OTHER_KEY], "checksum": CHECKSUM}
    values.update(fields)
    return datasample_pb2.NewDataSample(**values)


def assert_invalid_sample(msg: datasample_pb2.NewDataSample, *fields: str) -> str:
    return assert_invalid(validate_new_data_sample, msg, "datasample", *fields)


def assert_invalid_update(msg: datasample_pb2.UpdateDataSamplesParam, *fields: str) -> str:
    return assert_invalid(validate_update_data_samples, msg, "datasample", *fields)


@pytest.mark.parametrize("test_only", [False, True])
def test_well_formed_data_sample_is_valid_whatever_test_only__DS_2(test_only: bool) -> None:
    validate_new_data_sample(new_data_sample(test_only=test_only))


@pytest.mark.parametrize("key", ["", NOT_A_KEY, UPPERCASE_KEY])
def test_data_sample_key_must_be_a_lowercase_uuid__DS_2(key: str) -> None:
    assert_invalid_sample(new_data_sample(key=key), "key")


@pytest.mark.parametrize(
    "keys", [[], [KEY, OTHER_KEY], [""], [OTHER_KEY, ""]], ids=["none", "two", "empty", "with-empty"]
)
def test_data_sample_manager_keys_may_be_empty_and_empty_elements_pass__DS_2(keys: list[str]) -> None:
    """An empty-string element is not rejected (VAL-3)."""
    validate_new_data_sample(new_data_sample(data_manager_keys=keys))


@pytest.mark.parametrize("keys", [[NOT_A_KEY], [OTHER_KEY, UPPERCASE_KEY]], ids=["not-uuid", "uppercase"])
def test_data_sample_manager_keys_must_be_uuids__DS_2(keys: list[str]) -> None:
    assert_invalid_sample(new_data_sample(data_manager_keys=keys), "data_manager_keys")


@pytest.mark.parametrize(
    "checksum", ["", CHECKSUM[:-1], CHECKSUM + "a", "x" * 64], ids=["empty", "63", "65", "not-hex"]
)
def test_data_sample_checksum_is_required_64_hexadecimal_characters__DS_2(checksum: str) -> None:
    assert_invalid_sample(new_data_sample(checksum=checksum), "checksum")


def test_data_sample_checksum_accepts_uppercase_hex__DS_2() -> None:
    validate_new_data_sample(new_data_sample(checksum=CHECKSUM.upper()))


def test_data_sample_reports_all_failing_fields_at_once__VAL_9() -> None:
    assert_invalid_sample(
        new_data_sample(key=NOT_A_KEY, data_manager_keys=[NOT_A_KEY], checksum=""),
        "checksum",
        "data_manager_keys",
        "key",
    )


@pytest.mark.parametrize("manager_keys", [[], [OTHER_KEY]])
def test_update_with_keys_and_optional_managers_is_valid__DS_6(manager_keys: list[str]) -> None:
    validate_update_data_samples(datasample_pb2.UpdateDataSamplesParam(keys=[KEY], data_manager_keys=manager_keys))


def test_update_without_keys_is_invalid__DS_6() -> None:
    assert_invalid_update(datasample_pb2.UpdateDataSamplesParam(data_manager_keys=[OTHER_KEY]), "keys")


@pytest.mark.parametrize("keys", [[NOT_A_KEY], [KEY, UPPERCASE_KEY]], ids=["not-uuid", "uppercase"])
def test_update_keys_must_be_uuids__DS_6(keys: list[str]) -> None:
    assert_invalid_update(datasample_pb2.UpdateDataSamplesParam(keys=keys), "keys")


@pytest.mark.parametrize("manager_keys", [[NOT_A_KEY], [OTHER_KEY, UPPERCASE_KEY]], ids=["not-uuid", "uppercase"])
def test_update_manager_keys_must_be_uuids__DS_6(manager_keys: list[str]) -> None:
    msg = datasample_pb2.UpdateDataSamplesParam(keys=[KEY], data_manager_keys=manager_keys)
    assert_invalid_update(msg, "data_manager_keys")


def test_update_reports_all_failing_fields_at_once__VAL_9() -> None:
    msg = datasample_pb2.UpdateDataSamplesParam(data_manager_keys=[NOT_A_KEY])
    assert_invalid_update(msg, "data_manager_keys", "keys")
