"""Validation of a new failure report (FAIL-1)."""

from __future__ import annotations

from typing import Final

from orchestrator.api import failure_report_pb2
from orchestrator.shared.validation.primitives import Rule, absent, addressable, enum_in, required_uuid, validate, when

KIND: Final = "failurereport"

_EXECUTION: Final = failure_report_pb2.ERROR_TYPE_EXECUTION

RULES: Final[tuple[Rule, ...]] = (
    required_uuid("compute_task_key"),
    enum_in(
        "error_type",
        (failure_report_pb2.ERROR_TYPE_BUILD, _EXECUTION, failure_report_pb2.ERROR_TYPE_INTERNAL),
    ),
    when(lambda msg: msg.error_type == _EXECUTION, addressable("logs_address")),
    when(
        lambda msg: msg.error_type != _EXECUTION,
        absent("logs_address", "must be absent unless error_type is ERROR_TYPE_EXECUTION"),
    ),
)


def validate_new_failure_report(msg: failure_report_pb2.NewFailureReport) -> None:
    """Check a new failure report; logs are required iff the error type is EXECUTION (FAIL-1).

    Raises:
        InvalidAssetError: ``failurereport is not valid: ...`` listing each failing field.
    """
    validate(KIND, msg, RULES)
