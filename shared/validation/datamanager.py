"""Validation of a new data manager (DM-1..DM-7)."""

from __future__ import annotations

from typing import Final

from orchestrator.api import datamanager_pb2
from orchestrator.shared.validation.primitives import (
    Rule,
    addressable,
    bounded_text,
    metadata_map,
    present,
    required_uuid,
    validate,
)

KIND: Final = "datamanager"

RULES: Final[tuple[Rule, ...]] = (
    required_uuid("key"),  # DM-1
    bounded_text("name", 1, 100),  # DM-2
    present("new_permissions"),  # DM-3
    addressable("description"),  # DM-4
    addressable("opener"),  # DM-4
    metadata_map(),  # DM-5
    bounded_text("type", 1, 30),  # DM-6
    present("logs_permission"),  # DM-7
)


def validate_new_data_manager(msg: datamanager_pb2.NewDataManager) -> None:
    """Check every field of a new data manager at once (DM-1..DM-7).

    Raises:
        InvalidAssetError: ``datamanager is not valid: ...`` listing each failing field.
    """
    validate(KIND, msg, RULES)
