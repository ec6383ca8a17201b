"""Failure reports: the worker reports why a running task failed, which fails it (FAIL-1…FAIL-10)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from orchestrator.api import common_pb2, computetask_pb2, event_pb2, failure_report_pb2
from orchestrator.shared.errors import BadRequestError, PermissionDeniedError, conflict, not_found
from orchestrator.shared.services.lazy import lazy
from orchestrator.shared.services.task_states import DOING
from orchestrator.shared.store.failurereport import KIND, FailureReportStore
from orchestrator.shared.validation import validate_new_failure_report

if TYPE_CHECKING:
    from orchestrator.shared.services import Services

REASON: Final = "failure report registered"


class FailureReportService:
    def __init__(self, services: Services) -> None:
        self.services = services

    @lazy
    def store(self) -> FailureReportStore:
        return FailureReportStore(self.services.docs)

    def register_failure_report(
        self, new: failure_report_pb2.NewFailureReport
    ) -> failure_report_pb2.FailureReport:
        """Fail a DOING task and store its report; the task's UPDATED event precedes the report's (FAIL-7).

        Raises:
            InvalidAssetError: invalid input (FAIL-1).
            NotFoundError: unknown task (FAIL-2).
            PermissionDeniedError: the caller is not the task's worker (FAIL-3).
            BadRequestError: the task is not DOING, e.g. already failed (FAIL-4, FAIL-8).
            ConflictError: a report already exists (FAIL-6; unreachable behind FAIL-4).
        """
        validate_new_failure_report(new)  # FAIL-1
        requester = self.services.requester
        computetask = self.services.computetask
        task = computetask.get(new.compute_task_key)  # FAIL-2
        if requester != task.worker:
            raise PermissionDeniedError(f'only "{task.worker}" worker can register failure report')  # FAIL-3
        if task.status != DOING:
            status = computetask_pb2.ComputeTaskStatus.Name(task.status)
            raise BadRequestError(f'cannot register failure report for task with status "{status}"')  # FAIL-4
        computetask.apply_action(task.key, computetask_pb2.TASK_ACTION_FAILED, REASON, requester)  # FAIL-5
        if self.store.exists(new.compute_task_key):
            raise conflict(KIND, new.compute_task_key)  # FAIL-6
        report = failure_report_pb2.FailureReport(
            compute_task_key=new.compute_task_key, error_type=new.error_type,
            creation_date=self.services.tx.info.timestamp(), owner=requester,
        )
        if new.HasField("logs_address"):
            report.logs_address.CopyFrom(new.logs_address)
        self.store.add(report)
        self.services.tx.emit(event_pb2.Event(  # FAIL-7
            asset_key=report.compute_task_key, asset_kind=common_pb2.ASSET_FAILURE_REPORT,
            event_kind=event_pb2.EVENT_ASSET_CREATED, failure_report=report,
        ))
        return report

    def get_failure_report(
        self, param: failure_report_pb2.GetFailureReportParam
    ) -> failure_report_pb2.FailureReport:
        """The report of a task (FAIL-10).

        Raises:
            NotFoundError: the task has no report.
        """
        report = self.store.get(param.compute_task_key)
        if report is None:
            raise not_found(KIND, param.compute_task_key)
        return report
