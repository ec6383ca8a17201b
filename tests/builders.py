"""Readable references and the default assets of the scenarios (scenarios.md 1.3).

Keys are uuid5 of a human reference ("simple algo", "cp"), so a fresh ledger per test gives
fixed, replayable keys and failures name assets the way the spec does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from orchestrator.api import (
    algo_pb2,
    common_pb2,
    computeplan_pb2,
    computetask_pb2,
    datamanager_pb2,
    datasample_pb2,
    failure_report_pb2,
    model_pb2,
    performance_pb2,
)

_NAMESPACE = uuid.UUID("6f1f2b7e-9b1f-4b8e-a0a4-3f0e0a6e2c11")
CHECKSUM = "7e87" + "0" * 56 + "0b9c"


def key(ref: str) -> str:
    """The fixed UUID standing for a human reference."""
    return str(uuid.uuid5(_NAMESPACE, ref))


def addressable(ref: str) -> common_pb2.Addressable:
    return common_pb2.Addressable(checksum=CHECKSUM, storage_address=f"https://somewhere.local/{key(ref)}")


def public() -> common_pb2.NewPermissions:
    return common_pb2.NewPermissions(public=True)


def restricted(*org_ids: str) -> common_pb2.NewPermissions:
    return common_pb2.NewPermissions(public=False, authorized_ids=list(org_ids))


ALGO_OUTPUTS: Mapping[int, dict[str, algo_pb2.AlgoOutput]] = {
    algo_pb2.ALGO_SIMPLE: {"model": algo_pb2.AlgoOutput(kind=common_pb2.ASSET_MODEL)},
    algo_pb2.ALGO_COMPOSITE: {
        "shared": algo_pb2.AlgoOutput(kind=common_pb2.ASSET_MODEL),
        "local": algo_pb2.AlgoOutput(kind=common_pb2.ASSET_MODEL),
    },
    algo_pb2.ALGO_AGGREGATE: {"model": algo_pb2.AlgoOutput(kind=common_pb2.ASSET_MODEL)},
    algo_pb2.ALGO_PREDICT: {"predictions": algo_pb2.AlgoOutput(kind=common_pb2.ASSET_MODEL)},
    algo_pb2.ALGO_METRIC: {"performance": algo_pb2.AlgoOutput(kind=common_pb2.ASSET_PERFORMANCE)},
}


def new_algo(
    ref: str = "simple algo",
    category: int = algo_pb2.ALGO_SIMPLE,
    *,
    permissions: common_pb2.NewPermissions | None = None,
    outputs: Mapping[str, algo_pb2.AlgoOutput] | None = None,
    inputs: Mapping[str, algo_pb2.AlgoInput] | None = None,
) -> algo_pb2.NewAlgo:
    return algo_pb2.NewAlgo(
        key=key(ref),
        name="Algo test",
        category=category,
        description=addressable(f"{ref}/description"),
        algorithm=addressable(f"{ref}/algorithm"),
        new_permissions=permissions or public(),
        outputs=dict(ALGO_OUTPUTS.get(category, {}) if outputs is None else outputs),
        inputs=dict(inputs or {}),
    )


def new_data_manager(
    ref: str = "dm",
    *,
    permissions: common_pb2.NewPermissions | None = None,
    logs_permission: common_pb2.NewPermissions | None = None,
) -> datamanager_pb2.NewDataManager:
    return datamanager_pb2.NewDataManager(
        key=key(ref),
        name="Test datamanager",
        type="test",
        new_permissions=permissions or public(),
        logs_permission=logs_permission or public(),
        description=addressable(f"{ref}/description"),
        opener=addressable(f"{ref}/opener"),
    )


def new_data_sample(ref: str = "ds", managers: Iterable[str] = ("dm",), *, test_only: bool = False
                    ) -> datasample_pb2.NewDataSample:
    return datasample_pb2.NewDataSample(
        key=key(ref), data_manager_keys=[key(m) for m in managers], test_only=test_only, checksum=CHECKSUM
    )


def new_plan(ref: str = "cp", *, delete_intermediary_models: bool = False) -> computeplan_pb2.NewComputePlan:
    return computeplan_pb2.NewComputePlan(
        key=key(ref), name="Compute plan test", delete_intermediary_models=delete_intermediary_models
    )


def _outputs(names: Iterable[str], permissions: common_pb2.NewPermissions | None = None
             ) -> dict[str, computetask_pb2.NewComputeTaskOutput]:
    return {name: computetask_pb2.NewComputeTaskOutput(permissions=permissions or public()) for name in names}


def new_train_task(
    ref: str = "task", *, parents: Iterable[str] = (), plan: str = "cp", algo: str = "simple algo",
    dm: str = "dm", samples: Iterable[str] = ("ds",), outputs: Mapping[str, common_pb2.NewPermissions] | None = None,
) -> computetask_pb2.NewComputeTask:
    samples = list(samples)
    return computetask_pb2.NewComputeTask(
        key=key(ref),
        category=computetask_pb2.TASK_TRAIN,
        algo_key=key(algo),
        compute_plan_key=key(plan),
        parent_task_keys=[key(p) for p in parents],
        train=computetask_pb2.NewTrainTaskData(data_manager_key=key(dm), data_sample_keys=[key(s) for s in samples]),
        inputs=[computetask_pb2.ComputeTaskInput(identifier="opener", asset_key=key(dm))]
        + [computetask_pb2.ComputeTaskInput(identifier="datasamples", asset_key=key(s)) for s in samples],
        outputs=_custom_outputs(outputs) if outputs is not None else _outputs(["model"]),
    )


def _custom_outputs(
    outputs: Mapping[str, common_pb2.NewPermissions],
) -> dict[str, computetask_pb2.NewComputeTaskOutput]:
    return {name: computetask_pb2.NewComputeTaskOutput(permissions=p) for name, p in outputs.items()}


def new_test_task(
    ref: str = "test task", *, parents: Iterable[str] = ("task",), plan: str = "cp", metrics: Iterable[str] = (
        "metric algo",), dm: str = "dm", samples: Iterable[str] = ("ds",),
) -> computetask_pb2.NewComputeTask:
    return computetask_pb2.NewComputeTask(
        key=key(ref),
        category=computetask_pb2.TASK_TEST,
        algo_key=key("simple algo"),
        compute_plan_key=key(plan),
        parent_task_keys=[key(p) for p in parents],
        test=computetask_pb2.NewTestTaskData(
            data_manager_key=key(dm), data_sample_keys=[key(s) for s in samples], metric_keys=[key(m) for m in metrics]
        ),
        outputs=_outputs(["performance"]),
    )


def new_predict_task(
    ref: str = "predict task", *, parents: Iterable[str] = ("task",), plan: str = "cp", algo: str = "predict algo",
    dm: str = "dm", samples: Iterable[str] = ("ds",),
) -> computetask_pb2.NewComputeTask:
    return computetask_pb2.NewComputeTask(
        key=key(ref),
        category=computetask_pb2.TASK_PREDICT,
        algo_key=key(algo),
        compute_plan_key=key(plan),
        parent_task_keys=[key(p) for p in parents],
        predict=computetask_pb2.NewPredictTaskData(
            data_manager_key=key(dm), data_sample_keys=[key(s) for s in samples]
        ),
        outputs=_outputs(["predictions"], restricted()),
    )


def new_composite_task(
    ref: str = "composite task", *, parents: Iterable[str] = (), plan: str = "cp", algo: str = "composite algo",
    dm: str = "dm", samples: Iterable[str] = ("ds",),
) -> computetask_pb2.NewComputeTask:
    return computetask_pb2.NewComputeTask(
        key=key(ref),
        category=computetask_pb2.TASK_COMPOSITE,
        algo_key=key(algo),
        compute_plan_key=key(plan),
        parent_task_keys=[key(p) for p in parents],
        composite=computetask_pb2.NewCompositeTrainTaskData(
            data_manager_key=key(dm), data_sample_keys=[key(s) for s in samples]
        ),
        outputs=_outputs(["shared", "local"]),
    )


def new_aggregate_task(
    ref: str = "aggregate task", *, parents: Iterable[str] = (), plan: str = "cp", algo: str = "aggregate algo",
    worker: str = "MyOrg1MSP",
) -> computetask_pb2.NewComputeTask:
    return computetask_pb2.NewComputeTask(
        key=key(ref),
        category=computetask_pb2.TASK_AGGREGATE,
        algo_key=key(algo),
        compute_plan_key=key(plan),
        parent_task_keys=[key(p) for p in parents],
        aggregate=computetask_pb2.NewAggregateTrainTaskData(worker=worker),
        outputs=_outputs(["model"]),
    )


def new_model(ref: str = "model", *, task: str = "task", category: int = model_pb2.MODEL_SIMPLE) -> model_pb2.NewModel:
    return model_pb2.NewModel(key=key(ref), compute_task_key=key(task), category=category, address=addressable(ref))


def new_performance(task: str = "test task", metric: str = "metric algo", value: float = 0.5
                    ) -> performance_pb2.NewPerformance:
    return performance_pb2.NewPerformance(compute_task_key=key(task), metric_key=key(metric), performance_value=value)


def new_failure_report(task: str = "task") -> failure_report_pb2.NewFailureReport:
    return failure_report_pb2.NewFailureReport(
        compute_task_key=key(task), error_type=failure_report_pb2.ERROR_TYPE_EXECUTION,
        logs_address=addressable(f"{task}/logs"),
    )


# -- compute tasks, models, performances: a ready network --------------------------------------

TASK_ALGOS: Mapping[str, int] = {
    "simple algo": algo_pb2.ALGO_SIMPLE,
    "composite algo": algo_pb2.ALGO_COMPOSITE,
    "aggregate algo": algo_pb2.ALGO_AGGREGATE,
    "predict algo": algo_pb2.ALGO_PREDICT,
    "metric algo": algo_pb2.ALGO_METRIC,
}


def register_task_assets(org1: Any, org2: Any | None = None, *, plan: str = "cp") -> None:
    """What tasks need, registered by ``org1``: one public algo per category, data manager "dm" with
    samples "ds" and "test ds" (test only), plan ``plan``; and by ``org2`` (when given) data manager
    "dm2" with sample "ds2", so tasks on "dm2" run on org2."""
    for ref, category in TASK_ALGOS.items():
        org1.register_algo(new_algo(ref, category))
    org1.register_data_manager(new_data_manager("dm"))
    org1.register_data_samples(datasample_pb2.RegisterDataSamplesParam(
        samples=[new_data_sample("ds"), new_data_sample("test ds", test_only=True)]))
    if org2 is not None:
        org2.register_data_manager(new_data_manager("dm2"))
        org2.register_data_samples(datasample_pb2.RegisterDataSamplesParam(samples=[new_data_sample("ds2", ["dm2"])]))
    org1.register_plan(new_plan(plan))
