"""Failure report persistence: one document per compute task, keyed by the task key (FAIL-6)."""

from __future__ import annotations

from typing import Final

from orchestrator.api import failure_report_pb2
from orchestrator.shared.store.documents import DocumentStore

KIND: Final = "failurereport"


class FailureReportStore:
    """Failure reports of one transaction."""

    def __init__(self, docs: DocumentStore) -> None:
        self.docs = docs

    def get(self, task_key: str) -> failure_report_pb2.FailureReport | None:
        return self.docs.load(KIND, task_key, failure_report_pb2.FailureReport)

    def exists(self, task_key: str) -> bool:
        return self.docs.exists(KIND, task_key)

    def add(self, report: failure_report_pb2.FailureReport) -> None:
        self.docs.save(KIND, report.compute_task_key, report)
