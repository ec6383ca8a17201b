"""Validation of a new compute plan (CP-1..CP-4)."""

from __future__ import annotations

import pytest

from orchestrator.api import computeplan_pb2
from orchestrator.shared.validation import validate_new_compute_plan
from tests.shared.validation.cases import KEY, NOT_A_KEY, UPPERCASE_KEY, assert_invalid, text_of_bytes


def new_compute_plan(**fields: object) -> computeplan_pb2.NewComputePlan:
    values: dict[str, object] = {"key": KEY, "tag": "tag", "name": "my plan", "metadata": {"foo": "bar"}}
    values.update(fields)
    return computeplan_pb2.NewComputePlan(**values)


def assert_invalid_plan(msg: computeplan_pb2.NewComputePlan, *fields: str) -> str:
    return assert_invalid(validate_new_compute_plan, msg, "computeplan", *fields)


@pytest.mark.parametrize("delete_intermediary_models", [False, True])
def test_well_formed_compute_plan_is_valid(delete_intermediary_models: bool) -> None:
    validate_new_compute_plan(new_compute_plan(delete_intermediary_models=delete_intermediary_models))


@pytest.mark.parametrize("key", ["", NOT_A_KEY, UPPERCASE_KEY])
def test_compute_plan_key_must_be_a_lowercase_uuid__CP_1(key: str) -> None:
    assert_invalid_plan(new_compute_plan(key=key), "key")


@pytest.mark.parametrize(
    "tag", ["", "t", text_of_bytes(100), text_of_bytes(100, "é")], ids=["empty", "1", "100", "50xé"]
)
def test_compute_plan_tag_is_optional_up_to_100_bytes__CP_2(tag: str) -> None:
    validate_new_compute_plan(new_compute_plan(tag=tag))


@pytest.mark.parametrize("tag", [text_of_bytes(101), text_of_bytes(102, "é")], ids=["101", "51xé"])
def test_compute_plan_tag_longer_than_100_bytes_is_invalid__CP_2(tag: str) -> None:
    assert_invalid_plan(new_compute_plan(tag=tag), "tag")


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("", False),
        ("a", True),
        (text_of_bytes(100), True),
        (text_of_bytes(101), False),
        (text_of_bytes(102, "日"), False),
    ],
    ids=["empty", "1", "100", "101", "34x日"],
)
def test_compute_plan_name_is_1_to_100_bytes__CP_3(name: str, ok: bool) -> None:
    if ok:
        validate_new_compute_plan(new_compute_plan(name=name))
    else:
        assert_invalid_plan(new_compute_plan(name=name), "name")


def test_compute_plan_metadata_value_longer_than_100_bytes_is_invalid__CP_4() -> None:
    validate_new_compute_plan(new_compute_plan(metadata={"k": text_of_bytes(100)}))
    assert_invalid_plan(new_compute_plan(metadata={"k": text_of_bytes(101)}), "metadata")


def test_compute_plan_reports_all_failing_fields_at_once__VAL_9() -> None:
    msg = new_compute_plan(key=UPPERCASE_KEY, tag=text_of_bytes(101), name="", metadata={text_of_bytes(101): ""})
    assert_invalid_plan(msg, "key", "metadata", "name", "tag")
