"""Validation of a new model (MODEL-4 step 1)."""

from __future__ import annotations

import pytest

from orchestrator.api import common_pb2, model_pb2
from orchestrator.shared.validation import validate_new_model
from tests.shared.validation.cases import (
    INVALID_URL,
    KEY,
    NOT_A_KEY,
    OTHER_KEY,
    UPPERCASE_KEY,
    addressable,
    assert_invalid,
)


def new_model(**fields: object) -> model_pb2.NewModel:
    values: dict[str, object] = {
        "key": KEY,
        "category": model_pb2.MODEL_SIMPLE,
        "compute_task_key": OTHER_KEY,
        "address": addressable(),
    }
    values.update(fields)
    return model_pb2.NewModel(**{k: v for k, v in values.items() if v is not None})


def assert_invalid_model(msg: model_pb2.NewModel, *fields: str) -> str:
    return assert_invalid(validate_new_model, msg, "model", *fields)


@pytest.mark.parametrize("category", [model_pb2.MODEL_SIMPLE, model_pb2.MODEL_HEAD])
def test_simple_or_head_model_is_valid__MODEL_4(category: int) -> None:
    validate_new_model(new_model(category=category))


@pytest.mark.parametrize("field", ["key", "compute_task_key"])
@pytest.mark.parametrize("value", ["", NOT_A_KEY, UPPERCASE_KEY], ids=["empty", "not-uuid", "uppercase"])
def test_model_keys_must_be_lowercase_uuids__MODEL_4(field: str, value: str) -> None:
    assert_invalid_model(new_model(**{field: value}), field)


@pytest.mark.parametrize("category", [model_pb2.MODEL_UNKNOWN, 3, 9])
def test_model_category_unknown_or_undeclared_is_invalid__MODEL_4(category: int) -> None:
    assert_invalid_model(new_model(category=category), "category")


def test_model_address_is_required__MODEL_4() -> None:
    assert_invalid_model(new_model(address=None), "address")


@pytest.mark.parametrize(
    ("address", "failing"),
    [
        (common_pb2.Addressable(), ["address.checksum", "address.storage_address"]),
        (addressable(checksum="0" * 63), ["address.checksum"]),
        (addressable(storage_address=INVALID_URL), ["address.storage_address"]),
    ],
    ids=["empty", "short-checksum", "bad-url"],
)
def test_model_address_is_validated__MODEL_4(address: common_pb2.Addressable, failing: list[str]) -> None:
    assert_invalid_model(new_model(address=address), *failing)


def test_model_reports_all_failing_fields_at_once__VAL_9() -> None:
    assert_invalid_model(
        new_model(key="", compute_task_key=NOT_A_KEY, category=0, address=None),
        "address",
        "category",
        "compute_task_key",
        "key",
    )
