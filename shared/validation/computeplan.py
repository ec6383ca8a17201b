"""Validation of a new compute plan (CP-1..CP-4)."""

from __future__ import annotations

from typing import Final

from orchestrator.api import computeplan_pb2
from orchestrator.shared.validation.primitives import Rule, bounded_text, metadata_map, required_uuid, validate

KIND: Final = "computeplan"

RULES: Final[tuple[Rule, ...]] = (
    required_uuid("key"),  # CP-1
    bounded_text("tag", 0, 100),  # CP-2
    bounded_text("name", 1, 100),  # CP-3
    metadata_map(),  # CP-4
)


def validate_new_compute_plan(msg: computeplan_pb2.NewComputePlan) -> None:
    """Check every field of a new compute plan at once (CP-1..CP-4).

    Raises:
        InvalidAssetError: ``computeplan is not valid: ...`` listing each failing field.
    """
    validate(KIND, msg, RULES)
