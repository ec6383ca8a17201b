"""Validation of a new model (MODEL-4 step 1)."""

from __future__ import annotations

from typing import Final

from orchestrator.api import model_pb2
from orchestrator.shared.validation.primitives import Rule, addressable, enum_in, required_uuid, validate

KIND: Final = "model"

RULES: Final[tuple[Rule, ...]] = (
    required_uuid("key"),
    required_uuid("compute_task_key"),
    enum_in("category", (model_pb2.MODEL_SIMPLE, model_pb2.MODEL_HEAD), non_zero=True),
    addressable("address"),
)


def validate_new_model(msg: model_pb2.NewModel) -> None:
    """Check every field of a new model at once (MODEL-4 step 1).

    Raises:
        InvalidAssetError: ``model is not valid: ...`` listing each failing field.
    """
    validate(KIND, msg, RULES)
