"""Performances: one per (test task, metric), registered by the worker; the last one completes the task."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.api import algo_pb2, common_pb2, computetask_pb2, event_pb2, performance_pb2
from orchestrator.shared.errors import BadRequestError, InvalidAssetError, PermissionDeniedError, conflict
from orchestrator.shared.services.lazy import lazy
from orchestrator.shared.services.task_states import DOING, TRANSITION_DONE
from orchestrator.shared.store.performance import KIND, PerformanceStore, performance_key
from orchestrator.shared.validation import validate_new_performance

if TYPE_CHECKING:
    from orchestrator.shared.services import Services


class PerformanceService:
    def __init__(self, services: Services) -> None:
        self.services = services

    @lazy
    def store(self) -> PerformanceStore:
        return PerformanceStore(self.services.docs)

    def register_performance(self, new: performance_pb2.NewPerformance) -> performance_pb2.Performance:
        """Record a test task's score for one metric (PERF-1…PERF-9, in that order).

        Raises:
            InvalidAssetError: invalid input, or a metric key naming a non-metric algo (PERF-6).
            NotFoundError: unknown task or algo.
            PermissionDeniedError: the caller is not the task's worker.
            BadRequestError: not a test task, or not DOING.
            ConflictError: this (task, metric) pair already has a performance (PERF-7).
        """
        validate_new_performance(new)  # PERF-1
        requester = self.services.requester
        task = self.services.computetask.get(new.compute_task_key)  # PERF-2
        if requester != task.worker:
            raise PermissionDeniedError(f'only "{task.worker}" worker can register performance')  # PERF-3
        if task.category != computetask_pb2.TASK_TEST:
            raise BadRequestError("cannot register performance on non test task")  # PERF-4
        if task.status != DOING:
            status = computetask_pb2.ComputeTaskStatus.Name(task.status)
            raise BadRequestError(f'cannot register performance for task with status "{status}"')  # PERF-5
        if self.services.algo.get(new.metric_key).category != algo_pb2.ALGO_METRIC:  # PERF-6
            raise InvalidAssetError("MetricKey should point to an Algo with category ALGO_METRIC")
        if self.store.exists(new.compute_task_key, new.metric_key):
            raise conflict(KIND, performance_key(new.compute_task_key, new.metric_key))  # PERF-7
        count = self.store.count_of_task(task.key)  # PERF-8: before this one
        performance = performance_pb2.Performance(
            compute_task_key=new.compute_task_key, metric_key=new.metric_key,
            performance_value=new.performance_value, creation_date=self.services.tx.info.timestamp(),
        )
        self.store.add(performance)
        self.services.tx.emit(event_pb2.Event(
            asset_key=performance_key(performance.compute_task_key, performance.metric_key),
            asset_kind=common_pb2.ASSET_PERFORMANCE, event_kind=event_pb2.EVENT_ASSET_CREATED,
            performance=performance,
        ))
        if count + 1 == len(task.test.metric_keys):  # PERF-9 (a metric outside the list counts too)
            self.services.computetask.transition(
                task, TRANSITION_DONE, f"All performances registered on {task.key} by {requester}"
            )
        return performance

    def query_performances(
        self, param: performance_pb2.QueryPerformancesParam
    ) -> performance_pb2.QueryPerformancesResponse:
        """Performances matching the non-empty filters, by creation date, metric desc, task desc (PERF-12)."""
        flt = param.filter
        items, token = self.store.page(
            flt.compute_task_key, flt.metric_key, self.services.page_request(param)
        )
        return performance_pb2.QueryPerformancesResponse(Performances=items, next_page_token=token)
