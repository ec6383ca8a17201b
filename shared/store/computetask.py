"""Compute task persistence: task documents, their indexes and a per-call cache of decoded tasks."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from orchestrator.api import computetask_pb2
from orchestrator.shared.store.documents import DocumentStore, PageRequest
from orchestrator.shared.store.indexes import (
    ALGO_OF_PLAN,
    TASK_BY_ALGO,
    TASK_BY_CATEGORY,
    TASK_BY_DATE,
    TASK_BY_PLAN,
    TASK_BY_PLAN_STATUS,
    TASK_BY_STATUS,
    TASK_BY_WORKER_STATUS,
    TASK_CHILDREN,
)
from orchestrator.shared.store.keys import composite_key, document_key, sortable_time

KIND: Final = "computetask"

#: Status and category enum value -> name, as written in index attributes (indexes.py).
STATUS_NAMES: Final[dict[int, str]] = {v: k for k, v in computetask_pb2.ComputeTaskStatus.items()}
CATEGORY_NAMES: Final[dict[int, str]] = {v: k for k, v in computetask_pb2.ComputeTaskCategory.items()}

_INDEX_VALUE: Final = b"\x00"


def creation_ns(task: computetask_pb2.ComputeTask) -> int:
    """The task's creation date in nanoseconds (the registering transaction's timestamp)."""
    return task.creation_date.seconds * 1_000_000_000 + task.creation_date.nanos


class ComputeTaskStore:
    """Tasks of one transaction.

    Decoded tasks are cached for the whole call: a task is decoded at most once, the tasks a
    call creates are found by later tasks of the same batch (TASK-5), and a status written by a
    transition is seen by every later read (GEN-6). Every write goes through this store, so the
    cache cannot diverge from the overlay below it; the bundle, and so the cache, dies with the call.
    """

    def __init__(self, docs: DocumentStore) -> None:
        self.docs = docs
        self.tx = docs.tx
        self._tasks: dict[str, computetask_pb2.ComputeTask] = {}
        self._plan_algos: set[tuple[str, str]] = set()

    # -- reads -------------------------------------------------------------------------

    def get(self, key: str) -> computetask_pb2.ComputeTask | None:
        """The task as this call sees it, or ``None``."""
        task = self._tasks.get(key)
        if task is None:
            task = self.docs.load(KIND, key, computetask_pb2.ComputeTask)
            if task is not None:
                self._tasks[key] = task
        return task

    def exists_committed(self, key: str) -> bool:
        """Whether a task with this key is in committed state (TASK-3, TASK-14)."""
        return self.docs.exists_committed(KIND, key)

    def prefetch(self, keys: Iterable[str]) -> None:
        """Read the committed tasks ``keys`` in one round trip (a batch checks them all)."""
        self.docs.prefetch(KIND, keys)

    def children_keys(self, key: str) -> list[str]:
        """Keys of the tasks listing ``key`` among their parents, in key order (STATE-12, MODEL-14)."""
        return [attributes[0] for attributes in self.docs.index_entries(TASK_CHILDREN, [key])]

    def plan_task_keys(self, plan_key: str) -> list[str]:
        """Keys of a plan's tasks by creation date, then key (CP-17)."""
        return [attributes[1] for attributes in self.docs.index_entries(TASK_BY_PLAN, [plan_key])]

    def page(
        self, index: str, prefix: list[str], page: PageRequest,
        load: Callable[[list[str]], computetask_pb2.ComputeTask | None],
    ) -> tuple[list[computetask_pb2.ComputeTask], str]:
        """One page of an index whose attributes after ``prefix`` end with ``date, key`` (TASK-50).

        ``load(attributes)`` gives the task of an entry, or ``None`` when a filter leaves it out.
        """
        return self.docs.index_page(index, prefix, page, load)

    # -- writes ------------------------------------------------------------------------

    def add(self, task: computetask_pb2.ComputeTask) -> None:
        """Store a new task and every index entry it belongs to.

        This runs once per registered task, so keys are spelled directly (the layout of
        :func:`~orchestrator.shared.store.keys.composite_key`): every attribute but the worker is a
        validated UUID, a fixed-width date or an enum name; the worker is checked.
        """
        key = task.key
        plan = task.compute_plan_key
        algo = task.algo.key
        date = sortable_time(creation_ns(task))
        status = STATUS_NAMES[task.status]
        worker = _checked(task.worker)
        put = self.tx.put
        self._tasks[key] = task
        put(document_key(KIND, key), task.SerializeToString(deterministic=True))
        put(f"{_PREFIX[TASK_BY_PLAN_STATUS]}{plan}\x00{status}\x00{key}\x00", _INDEX_VALUE)
        put(f"{_PREFIX[TASK_BY_WORKER_STATUS]}{worker}\x00{status}\x00{date}\x00{key}\x00", _INDEX_VALUE)
        put(f"{_PREFIX[TASK_BY_STATUS]}{status}\x00{date}\x00{key}\x00", _INDEX_VALUE)
        put(f"{_PREFIX[TASK_BY_PLAN]}{plan}\x00{date}\x00{key}\x00", _INDEX_VALUE)
        put(f"{_PREFIX[TASK_BY_DATE]}{date}\x00{key}\x00", _INDEX_VALUE)
        put(f"{_PREFIX[TASK_BY_ALGO]}{algo}\x00{date}\x00{key}\x00", _INDEX_VALUE)
        put(f"{_PREFIX[TASK_BY_CATEGORY]}{CATEGORY_NAMES[task.category]}\x00{date}\x00{key}\x00", _INDEX_VALUE)
        children = _PREFIX[TASK_CHILDREN]
        for parent in _distinct(task.parent_task_keys):
            put(f"{children}{parent}\x00{key}\x00", _INDEX_VALUE)
        plan_algo = (plan, algo)
        if plan_algo not in self._plan_algos:  # ALGO-15: a blind write, once per call and pair
            self._plan_algos.add(plan_algo)
            put(composite_key(ALGO_OF_PLAN, plan_algo), _INDEX_VALUE)

    def update_status(self, task: computetask_pb2.ComputeTask, previous: int) -> None:
        """Save a task whose status changed and move its status-bearing index entries (STATE-11)."""
        date = sortable_time(creation_ns(task))
        self._tasks[task.key] = task
        self.docs.save(KIND, task.key, task)
        for index, attributes in _status_entries(task, STATUS_NAMES[previous], date):
            self.tx.delete(composite_key(index, attributes))
        for index, attributes in _status_entries(task, STATUS_NAMES[task.status], date):
            self.tx.put(composite_key(index, attributes), _INDEX_VALUE)


#: ``\x00<object type>\x00``: the start of every composite key of an index.
_PREFIX: Final[dict[str, str]] = {
    index: composite_key(index, ())
    for index in (TASK_BY_PLAN_STATUS, TASK_BY_WORKER_STATUS, TASK_BY_STATUS, TASK_BY_PLAN, TASK_BY_DATE,
                  TASK_BY_ALGO, TASK_BY_CATEGORY, TASK_CHILDREN)
}


def _checked(attribute: str) -> str:
    """An attribute that did not go through UUID validation, checked as ``composite_key`` would."""
    composite_key("", (attribute,))
    return attribute


def _status_entries(task: computetask_pb2.ComputeTask, status: str, date: str) -> list[tuple[str, tuple[str, ...]]]:
    """The index entries that carry the task's status (rewritten on every transition)."""
    return [
        (TASK_BY_PLAN_STATUS, (task.compute_plan_key, status, task.key)),
        (TASK_BY_WORKER_STATUS, (task.worker, status, date, task.key)),
        (TASK_BY_STATUS, (status, date, task.key)),
    ]


def _distinct(keys: Iterable[str]) -> list[str]:
    """Keys without repetition, in first-appearance order."""
    return list(dict.fromkeys(keys))
