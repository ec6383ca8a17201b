"""Performance persistence: documents keyed ``<task>|<metric>`` and their PERF-12-ordered indexes."""

from __future__ import annotations

from typing import Final

from orchestrator.api import performance_pb2
from orchestrator.shared.errors import InternalError
from orchestrator.shared.store.documents import DocumentStore, PageRequest
from orchestrator.shared.store.indexes import PERFORMANCE_BY_DATE, PERFORMANCE_BY_METRIC, PERFORMANCE_BY_TASK
from orchestrator.shared.store.keys import descending, sortable_time
from orchestrator.shared.store.listing import is_attribute

KIND: Final = "performance"


def performance_key(task_key: str, metric_key: str) -> str:
    """A performance is identified by its task and metric (PERF-7)."""
    return f"{task_key}|{metric_key}"


class PerformanceStore:
    """Performances of one transaction.

    Index entries end with ``date, descending(metric), descending(task)``, so key order is
    creation date ascending, then metric key and task key descending (PERF-12); both keys are
    recovered from the entry because :func:`descending` is its own inverse.
    """

    def __init__(self, docs: DocumentStore) -> None:
        self.docs = docs

    def exists(self, task_key: str, metric_key: str) -> bool:
        return self.docs.exists(KIND, performance_key(task_key, metric_key))

    def add(self, performance: performance_pb2.Performance) -> None:
        created = performance.creation_date
        order = [
            sortable_time(created.seconds * 1_000_000_000 + created.nanos),
            descending(performance.metric_key),
            descending(performance.compute_task_key),
        ]
        self.docs.save(KIND, performance_key(performance.compute_task_key, performance.metric_key), performance)
        self.docs.add_index(PERFORMANCE_BY_DATE, order)
        self.docs.add_index(PERFORMANCE_BY_TASK, [performance.compute_task_key, *order])
        self.docs.add_index(PERFORMANCE_BY_METRIC, [performance.metric_key, *order])

    def count_of_task(self, task_key: str) -> int:
        """How many performances a task has (PERF-8)."""
        return sum(1 for _ in self.docs.index_entries(PERFORMANCE_BY_TASK, [task_key]))

    def page(self, task_key: str, metric_key: str, page: PageRequest
             ) -> tuple[list[performance_pb2.Performance], str]:
        """One page of performances matching the non-empty keys, in PERF-12 order."""
        if not (is_attribute(task_key) and is_attribute(metric_key)):
            return [], ""  # PAGE-7: a value no performance can have matches nothing
        if task_key:
            index, prefix = PERFORMANCE_BY_TASK, [task_key]
        elif metric_key:
            index, prefix = PERFORMANCE_BY_METRIC, [metric_key]
        else:
            index, prefix = PERFORMANCE_BY_DATE, []
        wanted = descending(metric_key) if task_key and metric_key else None

        def load(attributes: list[str]) -> performance_pb2.Performance | None:
            if wanted is not None and attributes[1] != wanted:
                return None
            return self._load(descending(attributes[2]), descending(attributes[1]))

        return self.docs.index_page(index, prefix, page, load)

    def _load(self, task_key: str, metric_key: str) -> performance_pb2.Performance:
        key = performance_key(task_key, metric_key)
        performance = self.docs.load(KIND, key, performance_pb2.Performance)
        if performance is None:
            raise InternalError(f"performance {key!r} is indexed but not stored")
        return performance
