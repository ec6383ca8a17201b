"""Validation of a new performance (PERF-1)."""

from __future__ import annotations

from typing import Final

from orchestrator.api import performance_pb2
from orchestrator.shared.validation.primitives import Rule, required_uuid, validate

KIND: Final = "performance"

RULES: Final[tuple[Rule, ...]] = (
    required_uuid("compute_task_key"),
    required_uuid("metric_key"),
)


def validate_new_performance(msg: performance_pb2.NewPerformance) -> None:
    """Check the keys of a new performance; ``performance_value`` is unconstrained (PERF-1).

    Raises:
        InvalidAssetError: ``performance is not valid: ...`` listing each failing field.
    """
    validate(KIND, msg, RULES)
