"""Scenario steps as a backend performs them (scenarios.md 1.3 defaults), over the gateway client."""

from __future__ import annotations

from collections.abc import Iterable

from orchestrator.api import (
    algo_pb2,
    computeplan_pb2,
    computetask_pb2,
    datamanager_pb2,
    datasample_pb2,
    model_pb2,
)
from tests import builders as b
from tests.builders import key
from tests.client import GatewayClient

DOING = computetask_pb2.TASK_ACTION_DOING
CANCELED = computetask_pb2.TASK_ACTION_CANCELED
FAILED = computetask_pb2.TASK_ACTION_FAILED


def register_algo(client: GatewayClient, ref: str = "simple algo", category: int = algo_pb2.ALGO_SIMPLE
                  ) -> algo_pb2.Algo:
    return client.register_algo(b.new_algo(ref, category))


def register_data_manager(client: GatewayClient, ref: str = "dm") -> datamanager_pb2.DataManager:
    return client.register_data_manager(b.new_data_manager(ref))


def register_sample(client: GatewayClient, ref: str = "ds", *, test_only: bool = False, dm: str = "dm"
                    ) -> datasample_pb2.DataSample:
    reply = client.register_data_samples(datasample_pb2.RegisterDataSamplesParam(
        samples=[b.new_data_sample(ref, (dm,), test_only=test_only)]))
    return reply.data_samples[0]


def register_plan(client: GatewayClient, ref: str = "cp") -> computeplan_pb2.ComputePlan:
    return client.register_plan(b.new_plan(ref))


def register_tasks(client: GatewayClient, *tasks: computetask_pb2.NewComputeTask) -> list[computetask_pb2.ComputeTask]:
    return list(client.register_tasks(computetask_pb2.RegisterTasksParam(tasks=list(tasks))).tasks)


def register_task(client: GatewayClient, task: computetask_pb2.NewComputeTask) -> computetask_pb2.ComputeTask:
    return register_tasks(client, task)[0]


def setup_train(client: GatewayClient, *, algo: str = "simple algo") -> None:
    """Simple algo, data manager ``dm``, sample ``ds`` and plan ``cp``."""
    register_algo(client, algo)
    register_data_manager(client)
    register_sample(client)
    register_plan(client)


def act(client: GatewayClient, task: str, action: int, log: str = "") -> None:
    client.apply_task_action(computetask_pb2.ApplyTaskActionParam(compute_task_key=key(task), action=action, log=log))


def start(client: GatewayClient, task: str) -> None:
    act(client, task, DOING)


def get_task(client: GatewayClient, task: str) -> computetask_pb2.ComputeTask:
    return client.get_task(computetask_pb2.GetTaskParam(key=key(task)))


def status(client: GatewayClient, task: str) -> int:
    return get_task(client, task).status


def get_plan(client: GatewayClient, plan: str = "cp") -> computeplan_pb2.ComputePlan:
    return client.get_plan(computeplan_pb2.GetComputePlanParam(key=key(plan)))


def register_model(client: GatewayClient, ref: str, task: str, category: int = model_pb2.MODEL_SIMPLE
                   ) -> model_pb2.Model:
    """The deprecated single-model RPC, as the upstream helper uses by default."""
    return client.register_model(b.new_model(ref, task=task, category=category))


def register_models(client: GatewayClient, *models: model_pb2.NewModel) -> list[model_pb2.Model]:
    return list(client.register_models(model_pb2.RegisterModelsParam(models=list(models))).models)


def counters(plan: computeplan_pb2.ComputePlan) -> tuple[int, ...]:
    """(total, waiting, todo, doing, canceled, failed, done), as CP7 lists them."""
    return (plan.task_count, plan.waiting_count, plan.todo_count, plan.doing_count, plan.canceled_count,
            plan.failed_count, plan.done_count)


def keys_of(assets: Iterable[object]) -> set[str]:
    return {asset.key for asset in assets}  # type: ignore[attr-defined]
