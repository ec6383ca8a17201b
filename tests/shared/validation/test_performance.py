"""Validation of a new performance (PERF-1)."""

from __future__ import annotations

import math

import pytest

from orchestrator.api import performance_pb2
from orchestrator.shared.validation import validate_new_performance
from tests.shared.validation.cases import KEY, NOT_A_KEY, OTHER_KEY, UPPERCASE_KEY, assert_invalid


def new_performance(**fields: object) -> performance_pb2.NewPerformance:
    values: dict[str, object] = {"compute_task_key": KEY, "metric_key": OTHER_KEY, "performance_value": 0.5}
    values.update(fields)
    return performance_pb2.NewPerformance(**values)


@pytest.mark.parametrize("value", [0.0, 0.5, -1.0, 1e30, math.inf, -math.inf, math.nan])
def test_performance_value_is_unconstrained__PERF_1(value: float) -> None:
    validate_new_performance(new_performance(performance_value=value))


@pytest.mark.parametrize("field", ["compute_task_key", "metric_key"])
@pytest.mark.parametrize("value", ["", NOT_A_KEY, UPPERCASE_KEY], ids=["empty", "not-uuid", "uppercase"])
def test_performance_keys_must_be_lowercase_uuids__PERF_1(field: str, value: str) -> None:
    assert_invalid(validate_new_performance, new_performance(**{field: value}), "performance", field)


def test_performance_reports_both_keys_at_once__VAL_9() -> None:
    msg = new_performance(compute_task_key="", metric_key=NOT_A_KEY)
    assert_invalid(validate_new_performance, msg, "performance", "compute_task_key", "metric_key")
