"""Validation of a new failure report (FAIL-1)."""

from __future__ import annotations

import pytest

from orchestrator.api import common_pb2, failure_report_pb2
from orchestrator.shared.validation import validate_new_failure_report
from tests.shared.validation.cases import INVALID_URL, KEY, NOT_A_KEY, UPPERCASE_KEY, addressable, assert_invalid

UNSPECIFIED = failure_report_pb2.ERROR_TYPE_UNSPECIFIED
BUILD = failure_report_pb2.ERROR_TYPE_BUILD
EXECUTION = failure_report_pb2.ERROR_TYPE_EXECUTION
INTERNAL = failure_report_pb2.ERROR_TYPE_INTERNAL


def new_report(error_type: int = EXECUTION, **fields: object) -> failure_report_pb2.NewFailureReport:
    """A valid report; EXECUTION reports carry logs unless ``logs_address=None``."""
    values: dict[str, object] = {"compute_task_key": KEY, "error_type": error_type}
    if error_type == EXECUTION:
        values["logs_address"] = addressable()
    values.update(fields)
    return failure_report_pb2.NewFailureReport(**{k: v for k, v in values.items() if v is not None})


def assert_invalid_report(msg: failure_report_pb2.NewFailureReport, *fields: str) -> str:
    return assert_invalid(validate_new_failure_report, msg, "failurereport", *fields)


@pytest.mark.parametrize("error_type", [UNSPECIFIED, BUILD, EXECUTION, INTERNAL])
def test_report_of_each_error_type_is_valid__FAIL_1(error_type: int) -> None:
    """UNSPECIFIED (0) is accepted (VAL-3)."""
    validate_new_failure_report(new_report(error_type))


@pytest.mark.parametrize("key", ["", NOT_A_KEY, UPPERCASE_KEY])
def test_report_task_key_must_be_a_lowercase_uuid__FAIL_1(key: str) -> None:
    assert_invalid_report(new_report(compute_task_key=key), "compute_task_key")


@pytest.mark.parametrize("error_type", [4, 9])
def test_report_error_type_beyond_the_declared_values_is_invalid__FAIL_1(error_type: int) -> None:
    assert_invalid_report(new_report(error_type), "error_type")


def test_execution_report_requires_logs__FAIL_1() -> None:
    assert_invalid_report(new_report(EXECUTION, logs_address=None), "logs_address")


@pytest.mark.parametrize(
    ("logs", "failing"),
    [
        (common_pb2.Addressable(), ["logs_address.checksum", "logs_address.storage_address"]),
        (addressable(checksum="abc"), ["logs_address.checksum"]),
        (addressable(storage_address=INVALID_URL), ["logs_address.storage_address"]),
    ],
    ids=["empty", "short-checksum", "bad-url"],
)
def test_execution_report_logs_are_validated__FAIL_1(logs: common_pb2.Addressable, failing: list[str]) -> None:
    assert_invalid_report(new_report(EXECUTION, logs_address=logs), *failing)


@pytest.mark.parametrize("error_type", [UNSPECIFIED, BUILD, INTERNAL])
@pytest.mark.parametrize("logs", [addressable(), common_pb2.Addressable()], ids=["valid", "empty"])
def test_non_execution_report_must_not_carry_logs__FAIL_1(error_type: int, logs: common_pb2.Addressable) -> None:
    assert_invalid_report(new_report(error_type, logs_address=logs), "logs_address")


def test_report_reports_all_failing_fields_at_once__VAL_9() -> None:
    assert_invalid_report(
        new_report(9, compute_task_key=NOT_A_KEY, logs_address=addressable()),
        "compute_task_key",
        "error_type",
        "logs_address",
    )
