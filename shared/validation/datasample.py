"""Validation of new data samples (DS-2 step 1) and of data sample updates (DS-6)."""

from __future__ import annotations

from typing import Final

from orchestrator.api import datasample_pb2
from orchestrator.shared.validation.primitives import (
    Rule,
    checksum,
    field,
    required,
    required_uuid,
    uuid_list,
    validate,
)

KIND: Final = "datasample"

NEW_RULES: Final[tuple[Rule, ...]] = (
    required_uuid("key"),
    uuid_list("data_manager_keys"),
    field("checksum", required, checksum),
)

UPDATE_RULES: Final[tuple[Rule, ...]] = (
    uuid_list("keys", non_empty=True),
    uuid_list("data_manager_keys"),
)


def validate_new_data_sample(msg: datasample_pb2.NewDataSample) -> None:
    """Check one new data sample (DS-2 step 1); ``test_only`` is unconstrained.

    Raises:
        InvalidAssetError: ``datasample is not valid: ...`` listing each failing field.
    """
    validate(KIND, msg, NEW_RULES)


def validate_update_data_samples(msg: datasample_pb2.UpdateDataSamplesParam) -> None:
    """Check a data sample update: ``keys`` required UUIDs, ``data_manager_keys`` UUIDs (DS-6).

    Raises:
        InvalidAssetError: ``datasample is not valid: ...`` listing each failing field.
    """
    validate(KIND, msg, UPDATE_RULES)
