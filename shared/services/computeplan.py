"""Compute plans: registration, lookup and listing with derived counters and status, plan actions (CP-1…CP-16)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from orchestrator.api import common_pb2, computeplan_pb2, computetask_pb2, event_pb2
from orchestrator.shared.errors import PermissionDeniedError, UnimplementedError, conflict, not_found
from orchestrator.shared.store.computeplan import KIND, ComputePlanStore
from orchestrator.shared.validation import validate_new_compute_plan

if TYPE_CHECKING:
    from orchestrator.shared.services import Services

_TASK = computetask_pb2
_PLAN = computeplan_pb2


def plan_status(counts: Mapping[int, int]) -> computeplan_pb2.ComputePlanStatus:
    """The plan status derived from its task counts by status, first matching rule wins (CP-11).

    ``counts`` maps a task status to the number of the plan's tasks in it; absent statuses count 0.
    """
    total = sum(counts.values())
    waiting = counts.get(_TASK.STATUS_WAITING, 0)
    doing = counts.get(_TASK.STATUS_DOING, 0)
    done = counts.get(_TASK.STATUS_DONE, 0)
    if total == 0:
        return _PLAN.PLAN_STATUS_EMPTY
    if done == total:
        return _PLAN.PLAN_STATUS_DONE
    if counts.get(_TASK.STATUS_FAILED, 0) > 0:
        return _PLAN.PLAN_STATUS_FAILED
    if counts.get(_TASK.STATUS_CANCELED, 0) > 0:
        return _PLAN.PLAN_STATUS_CANCELED
    if waiting == total:
        return _PLAN.PLAN_STATUS_WAITING
    if doing == 0 and done == 0:  # waiting < total here
        return _PLAN.PLAN_STATUS_TODO
    return _PLAN.PLAN_STATUS_DOING


def with_derived_fields(plan: computeplan_pb2.ComputePlan, counts: Mapping[int, int]) -> computeplan_pb2.ComputePlan:
    """A copy of a stored plan with the seven counters and the status filled in (CP-10, CP-11)."""
    result = computeplan_pb2.ComputePlan()
    result.CopyFrom(plan)
    result.task_count = sum(counts.values())
    result.waiting_count = counts.get(_TASK.STATUS_WAITING, 0)
    result.todo_count = counts.get(_TASK.STATUS_TODO, 0)
    result.doing_count = counts.get(_TASK.STATUS_DOING, 0)
    result.canceled_count = counts.get(_TASK.STATUS_CANCELED, 0)
    result.failed_count = counts.get(_TASK.STATUS_FAILED, 0)
    result.done_count = counts.get(_TASK.STATUS_DONE, 0)
    result.status = plan_status(counts)
    return result


class ComputePlanService:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = ComputePlanStore(services.docs)

    def register_plan(self, new: computeplan_pb2.NewComputePlan) -> computeplan_pb2.ComputePlan:
        """Validate (CP-5), refuse an existing key (CP-6), store the stated fields (CP-7) and announce (CP-9).

        The stored document has no counters nor status: they are derived on every read. A new
        plan has no task, so the returned plan and the event carry EMPTY and zeros (CP-8).

        Raises:
            InvalidAssetError: the request is invalid (CP-1…CP-4).
            ConflictError: a plan with this key exists.
        """
        validate_new_compute_plan(new)
        if self.store.exists(new.key):
            raise conflict(KIND, new.key)
        stored = computeplan_pb2.ComputePlan(  # CP-7
            key=new.key,
            owner=self.services.requester,
            delete_intermediary_models=new.delete_intermediary_models,
            creation_date=self.services.tx.info.timestamp(),
            tag=new.tag,
            metadata=dict(new.metadata),
            name=new.name,
        )
        self.store.add(stored)
        plan = with_derived_fields(stored, {})  # CP-8
        self.services.tx.emit(event_pb2.Event(  # CP-9
            asset_key=plan.key, asset_kind=common_pb2.ASSET_COMPUTE_PLAN, event_kind=event_pb2.EVENT_ASSET_CREATED,
            compute_plan=plan,
        ))
        return plan

    def get_plan(self, param: computeplan_pb2.GetComputePlanParam) -> computeplan_pb2.ComputePlan:
        """The plan with its derived counters and status (CP-10…CP-12); the key is not validated (PAGE-7).

        Raises:
            NotFoundError: no such plan.
        """
        plan = self.get_stored(param.key)
        return with_derived_fields(plan, self.counts(plan.key))

    def query_plans(self, param: computeplan_pb2.QueryPlansParam) -> computeplan_pb2.QueryPlansResponse:
        """Plans in PAGE-4 order, of one owner when ``filter.owner`` is given, each with derived fields (CP-13).

        Raises:
            InvalidAssetError: the page token is not one this query produced (PAGE-3).
        """
        plans, token = self.store.page(param.filter.owner, self.services.page_request(param),
                                       lambda plan: with_derived_fields(plan, self.counts(plan.key)))
        return computeplan_pb2.QueryPlansResponse(plans=plans, next_page_token=token)

    def apply_plan_action(self, param: computeplan_pb2.ApplyPlanActionParam) -> computeplan_pb2.ApplyPlanActionResponse:
        """Act on a plan: only its owner may, and only cancellation exists (CP-14…CP-16).

        Raises:
            NotFoundError: no such plan (CP-14).
            PermissionDeniedError: the caller does not own the plan (CP-15).
            UnimplementedError: any action but PLAN_ACTION_CANCELED (CP-16).
        """
        plan = self.get_stored(param.key)
        requester = self.services.requester
        if plan.owner != requester:
            raise PermissionDeniedError("only plan owner can act on it")
        if param.action != computeplan_pb2.PLAN_ACTION_CANCELED:
            raise UnimplementedError("plan action unimplemented")
        self.services.computetask.cancel_plan_tasks(plan.key, requester)  # CP-17
        return computeplan_pb2.ApplyPlanActionResponse()

    def get_stored(self, key: str) -> computeplan_pb2.ComputePlan:
        """The plan's stored fields only (no counters, no status), as this call sees them.

        Raises:
            NotFoundError: no such plan.
        """
        plan = self.store.load(key)
        if plan is None:
            raise not_found(KIND, key)
        return plan

    def counts(self, plan_key: str) -> dict[int, int]:
        """Number of the plan's tasks in each task status, every status present (CP-10)."""
        return self.store.task_counts(plan_key)
