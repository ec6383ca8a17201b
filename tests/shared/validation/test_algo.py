"""Validation of a new algo (ALGO-1..ALGO-8)."""

from __future__ import annotations

import pytest

from orchestrator.api import algo_pb2, common_pb2
from orchestrator.shared.validation import validate_new_algo
from tests.shared.validation.cases import (
    CHECKSUM,
    INVALID_URL,
    KEY,
    NOT_A_KEY,
    UPPERCASE_KEY,
    addressable,
    assert_invalid,
    permissions,
    text_of_bytes,
)

MODEL = common_pb2.ASSET_MODEL
SAMPLE = common_pb2.ASSET_DATA_SAMPLE
MANAGER = common_pb2.ASSET_DATA_MANAGER
PERFORMANCE = common_pb2.ASSET_PERFORMANCE


def new_algo(**fields: object) -> algo_pb2.NewAlgo:
    """A valid simple algo with data inputs and a model output; ``fields`` override."""
    values: dict[str, object] = {
        "key": KEY,
        "name": "simple algo",
        "category": algo_pb2.ALGO_SIMPLE,
        "description": addressable(),
        "algorithm": addressable(),
        "new_permissions": permissions(),
        "metadata": {"foo": "bar"},
        "inputs": {
            "datasamples": algo_pb2.AlgoInput(kind=SAMPLE, multiple=True),
            "opener": algo_pb2.AlgoInput(kind=MANAGER),
            "models": algo_pb2.AlgoInput(kind=MODEL, multiple=True, optional=True),
        },
        "outputs": {"model": algo_pb2.AlgoOutput(kind=MODEL)},
    }
    values.update(fields)
    return algo_pb2.NewAlgo(**{k: v for k, v in values.items() if v is not None})


def assert_invalid_algo(msg: algo_pb2.NewAlgo, *fields: str) -> str:
    return assert_invalid(validate_new_algo, msg, "algo", *fields)


def test_well_formed_algo_is_valid() -> None:
    validate_new_algo(new_algo())


@pytest.mark.parametrize("key", ["", NOT_A_KEY, UPPERCASE_KEY])
def test_algo_key_must_be_a_lowercase_uuid__ALGO_1(key: str) -> None:
    assert_invalid_algo(new_algo(key=key), "key")


@pytest.mark.parametrize("name", ["a", text_of_bytes(100), text_of_bytes(100, "é")])
def test_algo_name_of_1_to_100_bytes_is_valid__ALGO_2(name: str) -> None:
    validate_new_algo(new_algo(name=name))


@pytest.mark.parametrize("name", ["", text_of_bytes(101), text_of_bytes(102, "é")], ids=["empty", "101", "51xé"])
def test_algo_name_empty_or_longer_than_100_bytes_is_invalid__ALGO_2(name: str) -> None:
    assert_invalid_algo(new_algo(name=name), "name")


@pytest.mark.parametrize("category", [0, 1, 2, 3, 4, 5])
def test_algo_category_unknown_or_declared_is_valid__ALGO_3(category: int) -> None:
    """ALGO_UNKNOWN (0) is accepted (VAL-3)."""
    validate_new_algo(new_algo(category=category))


@pytest.mark.parametrize("category", [6, 9, 42])
def test_algo_category_beyond_the_declared_values_is_invalid__ALGO_3(category: int) -> None:
    assert_invalid_algo(new_algo(category=category), "category")


@pytest.mark.parametrize("field", ["description", "algorithm"])
def test_algo_addressables_are_required__ALGO_4(field: str) -> None:
    msg = new_algo()
    msg.ClearField(field)
    assert_invalid_algo(msg, field)


@pytest.mark.parametrize(
    ("value", "failing"),
    [
        (common_pb2.Addressable(), ["checksum", "storage_address"]),
        (addressable(checksum=CHECKSUM[:-1]), ["checksum"]),
        (addressable(checksum="z" * 64), ["checksum"]),
        (addressable(storage_address=INVALID_URL), ["storage_address"]),
        (addressable(storage_address=""), ["storage_address"]),
    ],
    ids=["empty", "short-checksum", "non-hex-checksum", "bad-url", "no-url"],
)
@pytest.mark.parametrize("field", ["description", "algorithm"])
def test_algo_addressables_are_validated__ALGO_4(field: str, value: common_pb2.Addressable, failing: list[str]) -> None:
    assert_invalid_algo(new_algo(**{field: value}), *(f"{field}.{name}" for name in failing))


def test_algo_addressable_checksum_accepts_uppercase_hex__ALGO_4() -> None:
    validate_new_algo(new_algo(description=addressable(checksum=CHECKSUM.upper())))


def test_algo_metadata_value_longer_than_100_bytes_is_invalid__ALGO_5() -> None:
    validate_new_algo(new_algo(metadata={text_of_bytes(100): text_of_bytes(100)}))
    assert_invalid_algo(new_algo(metadata={"k": text_of_bytes(101)}), "metadata")
    assert_invalid_algo(new_algo(metadata={text_of_bytes(102, "é"): "v"}), "metadata")


def test_algo_new_permissions_are_required_even_if_empty__ALGO_6() -> None:
    msg = new_algo()
    msg.ClearField("new_permissions")
    assert_invalid_algo(msg, "new_permissions")
    msg.new_permissions.SetInParent()
    validate_new_algo(msg)


def test_algo_without_inputs_or_outputs_is_valid__ALGO_7__ALGO_8() -> None:
    validate_new_algo(new_algo(inputs={}, outputs={}))


@pytest.mark.parametrize(
    ("identifier", "ok"),
    [
        ("", False),
        ("x", True),
        (text_of_bytes(100), True),
        (text_of_bytes(101), False),
        (text_of_bytes(102, "é"), False),
    ],
    ids=["empty", "1", "100", "101", "51xé"],
)
def test_algo_input_identifier_is_non_empty_and_at_most_100_bytes__ALGO_7_1(identifier: str, ok: bool) -> None:
    msg = new_algo(inputs={identifier: algo_pb2.AlgoInput(kind=MODEL)})
    if ok:
        validate_new_algo(msg)
    else:
        assert_invalid_algo(msg, "inputs")


@pytest.mark.parametrize("kind", [common_pb2.ASSET_UNKNOWN, MODEL])
def test_algo_input_of_unknown_or_model_kind_is_valid__ALGO_7_2(kind: int) -> None:
    validate_new_algo(new_algo(inputs={"in": algo_pb2.AlgoInput(kind=kind)}))


@pytest.mark.parametrize(
    "kind", [common_pb2.ASSET_ALGO, PERFORMANCE, common_pb2.ASSET_ORGANIZATION, common_pb2.ASSET_COMPUTE_TASK, 2, 99]
)
def test_algo_input_of_another_kind_is_invalid__ALGO_7_2(kind: int) -> None:
    assert_invalid_algo(new_algo(inputs={"in": algo_pb2.AlgoInput(kind=kind)}), "inputs.in.kind")


@pytest.mark.parametrize("flag", ["multiple", "optional"])
def test_algo_data_manager_input_cannot_be_multiple_or_optional__ALGO_7_3(flag: str) -> None:
    inputs = dict(new_algo().inputs)
    inputs["opener"] = algo_pb2.AlgoInput(kind=MANAGER, **{flag: True})
    assert_invalid_algo(new_algo(inputs=inputs), f"inputs.opener.{flag}")


def test_algo_model_and_sample_inputs_may_be_multiple_and_optional__ALGO_7_3() -> None:
    validate_new_algo(
        new_algo(
            inputs={
                "datasamples": algo_pb2.AlgoInput(kind=SAMPLE, multiple=True, optional=True),
                "opener": algo_pb2.AlgoInput(kind=MANAGER),
                "models": algo_pb2.AlgoInput(kind=MODEL, multiple=True, optional=True),
            }
        )
    )


def test_algo_with_two_data_manager_inputs_is_invalid__ALGO_7_4() -> None:
    inputs = {
        "datasamples": algo_pb2.AlgoInput(kind=SAMPLE),
        "opener": algo_pb2.AlgoInput(kind=MANAGER),
        "opener2": algo_pb2.AlgoInput(kind=MANAGER),
    }
    assert_invalid_algo(new_algo(inputs=inputs), "inputs")


@pytest.mark.parametrize(
    ("kinds", "ok"),
    [
        ((), True),
        ((MODEL,), True),
        ((MANAGER, SAMPLE), True),
        ((MANAGER, SAMPLE, SAMPLE, MODEL), True),
        ((MANAGER,), False),
        ((MANAGER, MODEL), False),
        ((SAMPLE,), False),
        ((SAMPLE, SAMPLE, MODEL), False),
    ],
    ids=["none", "model", "manager+sample", "manager+2samples+model", "manager", "manager+model", "sample", "samples"],
)
def test_algo_has_a_data_manager_input_iff_it_has_a_data_sample_input__ALGO_7_5(
    kinds: tuple[int, ...], ok: bool
) -> None:
    msg = new_algo(inputs={f"in{i}": algo_pb2.AlgoInput(kind=kind) for i, kind in enumerate(kinds)})
    if ok:
        validate_new_algo(msg)
    else:
        assert_invalid_algo(msg, "inputs")


@pytest.mark.parametrize(
    ("identifier", "ok"),
    [("", False), ("x", True), (text_of_bytes(100), True), (text_of_bytes(101), False)],
    ids=["empty", "1", "100", "101"],
)
def test_algo_output_identifier_is_non_empty_and_at_most_100_bytes__ALGO_8_1(identifier: str, ok: bool) -> None:
    msg = new_algo(outputs={identifier: algo_pb2.AlgoOutput(kind=MODEL)})
    if ok:
        validate_new_algo(msg)
    else:
        assert_invalid_algo(msg, "outputs")


@pytest.mark.parametrize("kind", [common_pb2.ASSET_UNKNOWN, MODEL, PERFORMANCE])
def test_algo_output_of_unknown_model_or_performance_kind_is_valid__ALGO_8_2(kind: int) -> None:
    validate_new_algo(new_algo(outputs={"out": algo_pb2.AlgoOutput(kind=kind)}))


@pytest.mark.parametrize("kind", [SAMPLE, MANAGER, common_pb2.ASSET_ALGO, 99])
def test_algo_output_of_another_kind_is_invalid__ALGO_8_2(kind: int) -> None:
    assert_invalid_algo(new_algo(outputs={"out": algo_pb2.AlgoOutput(kind=kind)}), "outputs.out.kind")


def test_algo_performance_output_cannot_be_multiple__ALGO_8_3() -> None:
    msg = new_algo(outputs={"performance": algo_pb2.AlgoOutput(kind=PERFORMANCE, multiple=True)})
    assert_invalid_algo(msg, "outputs.performance.multiple")


def test_algo_model_output_may_be_multiple__ALGO_8_3() -> None:
    validate_new_algo(new_algo(outputs={"models": algo_pb2.AlgoOutput(kind=MODEL, multiple=True)}))


def test_algo_reports_all_failing_fields_at_once__VAL_9() -> None:
    msg = new_algo(key=NOT_A_KEY, name="", category=9, description=common_pb2.Addressable(), new_permissions=None)
    text = assert_invalid_algo(
        msg,
        "category",
        "description.checksum",
        "description.storage_address",
        "key",
        "name",
        "new_permissions",
    )
    assert text.startswith("OE0101: algo is not valid: category: ")
