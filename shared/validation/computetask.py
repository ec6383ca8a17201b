"""Validation of one new compute task: base fields (TASK-9), then its data variant (TASK-10)."""

from __future__ import annotations

from typing import Final

from orchestrator.api import computetask_pb2
from orchestrator.shared.validation.primitives import (
    Rule,
    entries,
    enum_in,
    field,
    metadata_map,
    nested,
    present,
    required,
    required_oneof,
    required_uuid,
    uuid_list,
    validate,
)

KIND: Final = "computetask"

BASE_RULES: Final[tuple[Rule, ...]] = (
    required_uuid("key"),
    enum_in(
        "category",
        (
            computetask_pb2.TASK_TRAIN,
            computetask_pb2.TASK_AGGREGATE,
            computetask_pb2.TASK_COMPOSITE,
            computetask_pb2.TASK_TEST,
            computetask_pb2.TASK_PREDICT,
        ),
        non_zero=True,
    ),
    required_uuid("algo_key"),
    required_uuid("compute_plan_key"),
    metadata_map(),
    uuid_list("parent_task_keys"),
    required_oneof("data"),
    entries("outputs", present("permissions")),
)

_DATA_RULES: Final[tuple[Rule, ...]] = (
    required_uuid("data_manager_key"),
    uuid_list("data_sample_keys", non_empty=True, non_empty_items=True),
)

# TASK-10, by data variant (TASK-11: the variant is not checked against the category).
VARIANT_RULES: Final[dict[str, tuple[Rule, ...]]] = {
    "train": _DATA_RULES,
    "composite": _DATA_RULES,
    "predict": _DATA_RULES,
    "test": (*_DATA_RULES, uuid_list("metric_keys", non_empty=True, non_empty_items=True)),
    "aggregate": (field("worker", required),),
}


# The variant's rules as one rule on the task, so failing names read ``train.data_manager_key``.
_NESTED_VARIANT_RULES: Final[dict[str, tuple[Rule, ...]]] = {
    variant: (nested(variant, *rules),) for variant, rules in VARIANT_RULES.items()
}


def validate_new_compute_task(msg: computetask_pb2.NewComputeTask) -> None:
    """Check a new compute task: base fields together (TASK-9), then, if they hold, its data (TASK-10).

    Not checked (TASK-11): the variant against the category, ``inputs``, duplicate keys, and the
    plan of the parents.

    Raises:
        InvalidAssetError: ``computetask is not valid: ...`` listing each failing field.
    """
    validate(KIND, msg, BASE_RULES)
    variant = msg.WhichOneof("data")
    assert variant is not None  # required_oneof("data") held
    validate(KIND, msg, _NESTED_VARIANT_RULES[variant])
