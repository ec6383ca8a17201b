"""Persistence of compute plans: documents at ``computeplan:<key>`` (stored fields only), listed by date and owner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from orchestrator.api import computeplan_pb2, computetask_pb2
from orchestrator.shared.errors import InternalError
from orchestrator.shared.store.documents import DocumentStore, PageRequest
from orchestrator.shared.store.indexes import PLAN_BY_DATE, PLAN_BY_OWNER, TASK_BY_PLAN_STATUS
from orchestrator.shared.store.keys import sortable_time
from orchestrator.shared.store.listing import is_attribute

KIND: Final = "computeplan"


class ComputePlanStore:
    def __init__(self, docs: DocumentStore) -> None:
        self.docs = docs

    def load(self, key: str) -> computeplan_pb2.ComputePlan | None:
        return self.docs.load(KIND, key, computeplan_pb2.ComputePlan)

    def exists(self, key: str) -> bool:
        return self.docs.exists(KIND, key)

    def add(self, plan: computeplan_pb2.ComputePlan) -> None:
        """Save a new plan (without derived fields, CP-10) and its index entries (PAGE-4 order)."""
        date = sortable_time(plan.creation_date.ToNanoseconds())
        self.docs.save(KIND, plan.key, plan)
        self.docs.add_index(PLAN_BY_DATE, [date, plan.key])
        self.docs.add_index(PLAN_BY_OWNER, [plan.owner, date, plan.key])

    def page(
        self, owner: str, page: PageRequest,
        complete: Callable[[computeplan_pb2.ComputePlan], computeplan_pb2.ComputePlan] = lambda plan: plan,
    ) -> tuple[list[computeplan_pb2.ComputePlan], str]:
        """One page of the plans, of one owner when ``owner`` is non-empty (CP-13), in PAGE-4 order.

        ``complete`` gives each stored plan its final form (derived fields) before it is measured
        against the page's byte budget.
        """
        if owner:
            if not is_attribute(owner):
                return [], ""
            index, prefix = PLAN_BY_OWNER, [owner]
        else:
            index, prefix = PLAN_BY_DATE, []

        def load(attributes: list[str]) -> computeplan_pb2.ComputePlan:
            plan = self.load(attributes[-1])
            if plan is None:
                raise InternalError(f"computeplan index names {attributes[-1]!r}, which is not stored")
            return complete(plan)

        return self.docs.index_page(index, prefix, page, load)

    def task_counts(self, plan_key: str) -> dict[int, int]:
        """Number of the plan's tasks in each task status, every status present (CP-10).

        Reads the plan/status index the compute-task code maintains: one entry per task,
        ``[plan key, status name, task key]``, so the cost is the plan's size.
        """
        counts = dict.fromkeys(sorted(computetask_pb2.ComputeTaskStatus.values()), 0)
        if not is_attribute(plan_key):
            return counts
        for status_name, _ in self.docs.index_entries(TASK_BY_PLAN_STATUS, [plan_key]):
            try:
                status = computetask_pb2.ComputeTaskStatus.Value(status_name)
            except ValueError as exc:
                raise InternalError(f"unknown task status {status_name!r} in plan {plan_key!r}") from exc
            counts[status] = counts.get(status, 0) + 1
        return counts
