"""Validation of a new algo (ALGO-1..ALGO-8)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from orchestrator.api import algo_pb2, common_pb2
from orchestrator.shared.validation.primitives import (
    FieldError,
    Rule,
    addressable,
    bounded_text,
    entries,
    enum_in,
    metadata_map,
    present,
    required_uuid,
    validate,
)

KIND: Final = "algo"
IDENTIFIER_MAX_BYTES: Final = 100

_DATA_MANAGER: Final = common_pb2.ASSET_DATA_MANAGER
_DATA_SAMPLE: Final = common_pb2.ASSET_DATA_SAMPLE


def _false_for(kind: int, *flags: str) -> Rule:
    """Entries of asset ``kind`` must leave every flag of ``flags`` false (ALGO-7.3, ALGO-8.3)."""
    reason = f"must be false for an input or output of kind {common_pb2.AssetKind.Name(kind)}"

    def rule(entry: algo_pb2.AlgoInput | algo_pb2.AlgoOutput) -> Iterator[FieldError]:
        if entry.kind == kind:
            yield from ((flag, reason) for flag in flags if getattr(entry, flag))

    return rule


def _data_inputs(msg: algo_pb2.NewAlgo) -> Iterator[FieldError]:
    """ALGO-7.4 and ALGO-7.5: at most one data manager input, present iff a data sample input is."""
    kinds = [entry.kind for entry in msg.inputs.values()]
    managers = kinds.count(_DATA_MANAGER)
    if managers > 1:
        yield "inputs", "there can be at most one input of kind ASSET_DATA_MANAGER"
    if (managers > 0) != (_DATA_SAMPLE in kinds):
        yield "inputs", "an ASSET_DATA_MANAGER input is required if and only if there is an ASSET_DATA_SAMPLE input"


RULES: Final[tuple[Rule, ...]] = (
    required_uuid("key"),  # ALGO-1
    bounded_text("name", 1, 100),  # ALGO-2
    enum_in(  # ALGO-3
        "category",
        (
            algo_pb2.ALGO_SIMPLE,
            algo_pb2.ALGO_AGGREGATE,
            algo_pb2.ALGO_COMPOSITE,
            algo_pb2.ALGO_METRIC,
            algo_pb2.ALGO_PREDICT,
        ),
    ),
    addressable("description"),  # ALGO-4
    addressable("algorithm"),  # ALGO-4
    metadata_map(),  # ALGO-5
    present("new_permissions"),  # ALGO-6
    entries(  # ALGO-7.1..7.3
        "inputs",
        enum_in("kind", (common_pb2.ASSET_MODEL, _DATA_SAMPLE, _DATA_MANAGER)),
        _false_for(_DATA_MANAGER, "multiple", "optional"),
        max_identifier_bytes=IDENTIFIER_MAX_BYTES,
    ),
    _data_inputs,  # ALGO-7.4, ALGO-7.5
    entries(  # ALGO-8
        "outputs",
        enum_in("kind", (common_pb2.ASSET_MODEL, common_pb2.ASSET_PERFORMANCE)),
        _false_for(common_pb2.ASSET_PERFORMANCE, "multiple"),
        max_identifier_bytes=IDENTIFIER_MAX_BYTES,
    ),
)


def validate_new_algo(msg: algo_pb2.NewAlgo) -> None:
    """Check every field of a new algo at once (ALGO-1..ALGO-8).

    Raises:
        InvalidAssetError: ``algo is not valid: ...`` listing each failing field.
    """
    validate(KIND, msg, RULES)
