"""Validation of one new compute task: base fields (TASK-9), data variant (TASK-10), what is not checked (TASK-11)."""

from __future__ import annotations

import pytest

from orchestrator.api import common_pb2, computetask_pb2
from orchestrator.shared.validation import validate_new_compute_task
from tests.shared.validation.cases import KEY, NOT_A_KEY, OTHER_KEY, UPPERCASE_KEY, assert_invalid, text_of_bytes

PLAN_KEY = "5d0a7c1e-2b3f-4a6d-8e9f-0a1b2c3d4e5f"
SAMPLE_KEY = "7a6b5c4d-3e2f-4101-9a8b-7c6d5e4f3a2b"
METRIC_KEY = "1f2e3d4c-5b6a-4798-a6b5-c4d3e2f1a0b9"

TRAIN = computetask_pb2.TASK_TRAIN
AGGREGATE = computetask_pb2.TASK_AGGREGATE
COMPOSITE = computetask_pb2.TASK_COMPOSITE
TEST = computetask_pb2.TASK_TEST
PREDICT = computetask_pb2.TASK_PREDICT

DATA_VARIANTS = ("train", "composite", "predict", "test")


def variant_data(variant: str, **fields: object) -> object:
    """A valid data message for ``variant``; ``fields`` override."""
    values: dict[str, object] = (
        {"worker": "MyOrg2MSP"}
        if variant == "aggregate"
        else {"data_manager_key": OTHER_KEY, "data_sample_keys": [SAMPLE_KEY]}
    )
    if variant == "test":
        values["metric_keys"] = [METRIC_KEY]
    values.update(fields)
    message_type = {
        "train": computetask_pb2.NewTrainTaskData,
        "composite": computetask_pb2.NewCompositeTrainTaskData,
        "predict": computetask_pb2.NewPredictTaskData,
        "test": computetask_pb2.NewTestTaskData,
        "aggregate": computetask_pb2.NewAggregateTrainTaskData,
    }[variant]
    return message_type(**values)


CATEGORY_OF = {"train": TRAIN, "composite": COMPOSITE, "predict": PREDICT, "test": TEST, "aggregate": AGGREGATE}


def new_task(variant: str = "train", data: object = None, **fields: object) -> computetask_pb2.NewComputeTask:
    """A valid task with the data ``variant`` and its matching category; ``fields`` override, ``None`` clears."""
    values: dict[str, object] = {
        "key": KEY,
        "category": CATEGORY_OF[variant],
        "algo_key": OTHER_KEY,
        "compute_plan_key": PLAN_KEY,
        "parent_task_keys": [],
        "metadata": {"foo": "bar"},
        "outputs": {"model": computetask_pb2.NewComputeTaskOutput(permissions=common_pb2.NewPermissions(public=True))},
        variant: data if data is not None else variant_data(variant),
    }
    values.update(fields)
    return computetask_pb2.NewComputeTask(**{k: v for k, v in values.items() if v is not None})


def assert_invalid_task(msg: computetask_pb2.NewComputeTask, *fields: str) -> str:
    return assert_invalid(validate_new_compute_task, msg, "computetask", *fields)


@pytest.mark.parametrize("variant", [*DATA_VARIANTS, "aggregate"])
def test_well_formed_task_of_each_variant_is_valid(variant: str) -> None:
    validate_new_compute_task(new_task(variant))


# --- TASK-9 base fields -----------------------------------------------------------------------


@pytest.mark.parametrize("field", ["key", "algo_key", "compute_plan_key"])
@pytest.mark.parametrize("value", ["", NOT_A_KEY, UPPERCASE_KEY], ids=["empty", "not-uuid", "uppercase"])
def test_task_keys_must_be_lowercase_uuids__TASK_9(field: str, value: str) -> None:
    assert_invalid_task(new_task(**{field: value}), field)


def test_test_task_also_requires_an_algo_key__TASK_9() -> None:
    assert_invalid_task(new_task("test", algo_key=""), "algo_key")


@pytest.mark.parametrize("category", [TRAIN, AGGREGATE, COMPOSITE, TEST, PREDICT])
def test_task_category_among_the_declared_ones_is_valid__TASK_9(category: int) -> None:
    validate_new_compute_task(new_task(category=category))


@pytest.mark.parametrize("category", [computetask_pb2.TASK_UNKNOWN, 6, 9])
def test_task_category_unknown_or_undeclared_is_invalid__TASK_9(category: int) -> None:
    assert_invalid_task(new_task(category=category), "category")


def test_task_metadata_key_longer_than_100_bytes_is_invalid__TASK_9() -> None:
    validate_new_compute_task(new_task(metadata={text_of_bytes(100): text_of_bytes(100)}))
    assert_invalid_task(new_task(metadata={text_of_bytes(101): "v"}), "metadata")


@pytest.mark.parametrize("parents", [[], [OTHER_KEY], [OTHER_KEY, PLAN_KEY]], ids=["none", "one", "two"])
def test_task_parent_keys_may_be_empty__TASK_9(parents: list[str]) -> None:
    validate_new_compute_task(new_task(parent_task_keys=parents))


@pytest.mark.parametrize("parents", [[NOT_A_KEY], [OTHER_KEY, UPPERCASE_KEY]], ids=["not-uuid", "uppercase"])
def test_task_parent_keys_must_be_uuids__TASK_9(parents: list[str]) -> None:
    assert_invalid_task(new_task(parent_task_keys=parents), "parent_task_keys")


def test_task_without_data_is_invalid__TASK_9() -> None:
    msg = new_task()
    msg.ClearField("train")
    assert_invalid_task(msg, "data")


def test_task_outputs_may_be_empty__TASK_9() -> None:
    validate_new_compute_task(new_task(outputs={}))


def test_task_output_identifier_must_not_be_empty__TASK_9() -> None:
    outputs = {"": computetask_pb2.NewComputeTaskOutput(permissions=common_pb2.NewPermissions())}
    assert_invalid_task(new_task(outputs=outputs), "outputs")


def test_task_output_identifier_has_no_length_limit__TASK_9() -> None:
    outputs = {text_of_bytes(500): computetask_pb2.NewComputeTaskOutput(permissions=common_pb2.NewPermissions())}
    validate_new_compute_task(new_task(outputs=outputs))


def test_task_output_permissions_are_required_even_if_empty__TASK_9() -> None:
    assert_invalid_task(
        new_task(outputs={"model": computetask_pb2.NewComputeTaskOutput()}), "outputs.model.permissions"
    )
    validate_new_compute_task(
        new_task(outputs={"model": computetask_pb2.NewComputeTaskOutput(permissions=common_pb2.NewPermissions())})
    )


def test_task_base_fields_are_reported_together__TASK_9() -> None:
    msg = new_task(key=NOT_A_KEY, category=0, algo_key="", compute_plan_key=UPPERCASE_KEY, parent_task_keys=["x"])
    msg.ClearField("train")
    assert_invalid_task(msg, "algo_key", "category", "compute_plan_key", "data", "key", "parent_task_keys")


# --- TASK-10 data variants --------------------------------------------------------------------


def test_data_variant_is_checked_only_when_base_fields_are_valid__TASK_10() -> None:
    msg = new_task(key=NOT_A_KEY, data=variant_data("train", data_manager_key=NOT_A_KEY))
    assert_invalid_task(msg, "key")
    assert_invalid_task(new_task(data=variant_data("train", data_manager_key=NOT_A_KEY)), "train.data_manager_key")


@pytest.mark.parametrize("variant", DATA_VARIANTS)
@pytest.mark.parametrize("value", ["", NOT_A_KEY, UPPERCASE_KEY], ids=["empty", "not-uuid", "uppercase"])
def test_task_data_manager_key_is_a_required_uuid__TASK_10(variant: str, value: str) -> None:
    msg = new_task(variant, data=variant_data(variant, data_manager_key=value))
    assert_invalid_task(msg, f"{variant}.data_manager_key")


INVALID_KEY_LISTS = pytest.mark.parametrize(
    "keys",
    [[], [""], [SAMPLE_KEY, ""], [NOT_A_KEY], [SAMPLE_KEY, UPPERCASE_KEY]],
    ids=["none", "empty-element", "with-empty-element", "not-uuid", "uppercase"],
)


@INVALID_KEY_LISTS
@pytest.mark.parametrize("variant", DATA_VARIANTS)
def test_task_sample_keys_are_required_non_empty_uuids__TASK_10(variant: str, keys: list[str]) -> None:
    """Unlike data sample registration (DS-2), an empty element is rejected here."""
    msg = new_task(variant, data=variant_data(variant, data_sample_keys=keys))
    assert_invalid_task(msg, f"{variant}.data_sample_keys")


@INVALID_KEY_LISTS
def test_test_task_metric_keys_are_required_non_empty_uuids__TASK_10(keys: list[str]) -> None:
    assert_invalid_task(new_task("test", data=variant_data("test", metric_keys=keys)), "test.metric_keys")


@pytest.mark.parametrize("variant", DATA_VARIANTS)
def test_task_empty_data_message_reports_each_required_field__TASK_10(variant: str) -> None:
    msg = new_task(variant)
    getattr(msg, variant).Clear()
    expected = [f"{variant}.data_manager_key", f"{variant}.data_sample_keys"]
    if variant == "test":
        expected.append("test.metric_keys")
    assert_invalid_task(msg, *expected)


@pytest.mark.parametrize("worker", ["MyOrg2MSP", "any name, no format"])
def test_aggregate_worker_is_any_non_empty_string__TASK_10(worker: str) -> None:
    validate_new_compute_task(new_task("aggregate", data=variant_data("aggregate", worker=worker)))


def test_aggregate_without_worker_is_invalid__TASK_10() -> None:
    msg = new_task("aggregate")
    msg.aggregate.Clear()
    assert msg.WhichOneof("data") == "aggregate"
    assert_invalid_task(msg, "aggregate.worker")


# --- TASK-11 what is not validated ------------------------------------------------------------


@pytest.mark.parametrize("category", [TRAIN, AGGREGATE, COMPOSITE, TEST, PREDICT])
@pytest.mark.parametrize("variant", [*DATA_VARIANTS, "aggregate"])
def test_data_variant_need_not_match_the_category__TASK_11(variant: str, category: int) -> None:
    validate_new_compute_task(new_task(variant, category=category))


def test_task_inputs_are_not_validated__TASK_11() -> None:
    inputs = [
        computetask_pb2.ComputeTaskInput(identifier="", asset_key=NOT_A_KEY),
        computetask_pb2.ComputeTaskInput(identifier="models", parent_task_output=computetask_pb2.ParentTaskOutputRef()),
        computetask_pb2.ComputeTaskInput(identifier="models"),
    ]
    validate_new_compute_task(new_task(inputs=inputs))


def test_duplicate_parent_sample_and_metric_keys_are_accepted__TASK_11() -> None:
    data = variant_data("test", data_sample_keys=[SAMPLE_KEY, SAMPLE_KEY], metric_keys=[METRIC_KEY, METRIC_KEY])
    validate_new_compute_task(new_task("test", data=data, parent_task_keys=[OTHER_KEY, OTHER_KEY]))
