"""Compute tasks: registration in batches, queries and actions (TASK-1…TASK-51, STATE-3…STATE-10, CP-17)."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from orchestrator.api import (
    algo_pb2,
    common_pb2,
    computeplan_pb2,
    computetask_pb2,
    datamanager_pb2,
    event_pb2,
)
from orchestrator.shared.errors import (
    BadRequestError,
    IllegalTransitionError,
    IncompatibleTaskStatusError,
    InternalError,
    InvalidAssetError,
    NotFoundError,
    PermissionDeniedError,
    UnimplementedError,
    conflict,
    not_found,
)
from orchestrator.shared.permissions import (
    can_download,
    can_process,
    intersect_permissions,
    make_permission,
    make_permissions,
    union_permission,
)
from orchestrator.shared.services.lazy import lazy
from orchestrator.shared.services.task_states import (
    CANCELED,
    DONE,
    FAILED,
    TODO,
    TRANSITION_BY_ACTION,
    WAITING,
    Transition,
    apply_transition,
)
from orchestrator.shared.store.computetask import CATEGORY_NAMES, KIND, STATUS_NAMES, ComputeTaskStore
from orchestrator.shared.store.indexes import (
    TASK_BY_ALGO,
    TASK_BY_CATEGORY,
    TASK_BY_DATE,
    TASK_BY_PLAN,
    TASK_BY_STATUS,
    TASK_BY_WORKER_STATUS,
)
from orchestrator.shared.store.listing import is_attribute
from orchestrator.shared.validation import validate_new_compute_task

if TYPE_CHECKING:
    from orchestrator.shared.services import Services

logger = logging.getLogger(__name__)

ComputeTask = computetask_pb2.ComputeTask
NewComputeTask = computetask_pb2.NewComputeTask

TRAIN: Final = computetask_pb2.TASK_TRAIN
AGGREGATE: Final = computetask_pb2.TASK_AGGREGATE
COMPOSITE: Final = computetask_pb2.TASK_COMPOSITE
TEST: Final = computetask_pb2.TASK_TEST
PREDICT: Final = computetask_pb2.TASK_PREDICT

# Output identifiers with a fixed meaning (section 9).
OUTPUT_MODEL: Final = "model"
OUTPUT_SHARED: Final = "shared"
OUTPUT_LOCAL: Final = "local"
OUTPUT_PREDICTIONS: Final = "predictions"

#: TASK-31: the algo category each task category runs (test tasks run their parent's algo).
ALGO_CATEGORY_FOR_TASK: Final[dict[int, int]] = {
    TRAIN: algo_pb2.ALGO_SIMPLE,
    AGGREGATE: algo_pb2.ALGO_AGGREGATE,
    COMPOSITE: algo_pb2.ALGO_COMPOSITE,
    PREDICT: algo_pb2.ALGO_PREDICT,
}

#: STATE-7: who may request each action, besides the worker (always allowed).
_OWNER_MAY: Final = frozenset({computetask_pb2.TASK_ACTION_CANCELED})

CANCEL_PLAN_REASON: Final = "compute plan {} is cancelled"


class ComputeTaskService:
    def __init__(self, services: Services) -> None:
        self.services = services

    @lazy
    def store(self) -> ComputeTaskStore:
        return ComputeTaskStore(self.services.docs)

    # -- RPCs --------------------------------------------------------------------------

    def register_tasks(self, param: computetask_pb2.RegisterTasksParam) -> computetask_pb2.RegisterTasksResponse:
        """Register a batch of tasks, parents first, all or nothing (TASK-1…TASK-8, BATCH-1…BATCH-3).

        Raises:
            BadRequestError: empty batch (TASK-1); unknown authorized ids in an output (PERM-2).
            InvalidAssetError: an invalid task (TASK-2), an unsortable graph (TASK-4) or a rule of 9.3.
            ConflictError: a key already stored or repeated in the batch (TASK-14, BATCH-3).
            NotFoundError, PermissionDeniedError, IncompatibleTaskStatusError, InternalError,
            UnimplementedError: the checks of 9.3 to 9.7.
        """
        new_tasks = list(param.tasks)
        if not new_tasks:
            raise BadRequestError("no task to register")  # TASK-1
        for new_task in new_tasks:
            validate_new_compute_task(new_task)  # TASK-2
        _reject_repeated_keys(new_tasks)  # BATCH-3
        parent_keys = sorted({key for new_task in new_tasks for key in new_task.parent_task_keys})
        self.store.prefetch([*parent_keys, *(new_task.key for new_task in new_tasks)])  # TASK-3, TASK-14
        existing = {key for key in parent_keys if self.store.exists_committed(key)}  # TASK-3
        registration = _Registration(self.services, self.store)
        response = computetask_pb2.RegisterTasksResponse()
        for new_task in sort_tasks(new_tasks, existing):  # TASK-4
            task = response.tasks.add()  # TASK-7: the response lists tasks in the sorted order
            registration.create(new_task, task)  # TASK-5
            self.store.add(task)  # TASK-6
            event = event_pb2.Event(
                asset_key=task.key, asset_kind=common_pb2.ASSET_COMPUTE_TASK, event_kind=event_pb2.EVENT_ASSET_CREATED,
            )
            event.compute_task.CopyFrom(task)  # a snapshot (EVT-4); CopyFrom is cheaper than the keyword form
            self.services.tx.emit(event)
        logger.debug("registered %d tasks", len(new_tasks))
        return response

    def get_task(self, param: computetask_pb2.GetTaskParam) -> ComputeTask:
        """The stored task with its current status (TASK-49).

        Raises:
            NotFoundError: unknown key (PAGE-6).
        """
        return self.get(param.key)

    def query_tasks(self, param: computetask_pb2.QueryTasksParam) -> computetask_pb2.QueryTasksResponse:
        """Tasks matching every non-zero filter, by creation date then key (TASK-50, PAGE-1…PAGE-5).

        The scan walks the most selective index the filters allow (plan, algo, worker and status,
        status, category, else all tasks by date); the other filters are checked on each task.
        """
        flt = param.filter
        page = self.services.page_request(param)
        if (
            (flt.status and flt.status not in STATUS_NAMES)
            or (flt.category and flt.category not in CATEGORY_NAMES)
            or not all(is_attribute(v) for v in (flt.worker, flt.compute_plan_key, flt.algo_key))
        ):
            return computetask_pb2.QueryTasksResponse()  # PAGE-7: a value no task can have matches nothing
        checks: list[Callable[[ComputeTask], bool]] = []
        if flt.compute_plan_key:
            index, prefix = TASK_BY_PLAN, [flt.compute_plan_key]
        elif flt.algo_key:
            index, prefix = TASK_BY_ALGO, [flt.algo_key]
        elif flt.worker and flt.status:
            index, prefix = TASK_BY_WORKER_STATUS, [flt.worker, STATUS_NAMES[flt.status]]
        elif flt.status:
            index, prefix = TASK_BY_STATUS, [STATUS_NAMES[flt.status]]
        elif flt.category:
            index, prefix = TASK_BY_CATEGORY, [CATEGORY_NAMES[flt.category]]
        else:
            index, prefix = TASK_BY_DATE, []
        if flt.algo_key and index is not TASK_BY_ALGO:
            checks.append(lambda t: t.algo.key == flt.algo_key)
        if flt.worker and index is not TASK_BY_WORKER_STATUS:
            checks.append(lambda t: t.worker == flt.worker)
        if flt.status and index not in (TASK_BY_WORKER_STATUS, TASK_BY_STATUS):
            checks.append(lambda t: t.status == flt.status)
        if flt.category and index is not TASK_BY_CATEGORY:
            checks.append(lambda t: t.category == flt.category)

        def load(attributes: list[str]) -> ComputeTask | None:
            task = self.get(attributes[-1])
            return task if all(check(task) for check in checks) else None

        tasks, token = self.store.page(index, prefix, page, load)
        return computetask_pb2.QueryTasksResponse(tasks=tasks, next_page_token=token)

    def apply_task_action(
        self, param: computetask_pb2.ApplyTaskActionParam
    ) -> computetask_pb2.ApplyTaskActionResponse:
        """Apply a caller's action to a task (STATE-3…STATE-9).

        Raises:
            BadRequestError: action outside 1-4 (STATE-4), checked before the task is loaded.
            NotFoundError: unknown task (STATE-6).
            PermissionDeniedError: the caller's role does not allow the action (STATE-7).
            IllegalTransitionError: the task's status does not allow it (STATE-9).
        """
        if param.action not in TRANSITION_BY_ACTION:
            raise BadRequestError("unsupported action")  # STATE-4
        reason = param.log or "User action"  # STATE-5
        self.apply_action(param.compute_task_key, param.action, reason, self.services.requester)
        return computetask_pb2.ApplyTaskActionResponse()

    # -- internal API (other services) -------------------------------------------------

    def get(self, key: str) -> ComputeTask:
        """One task as this call sees it.

        Raises:
            NotFoundError: unknown key.
        """
        task = self.store.get(key)
        if task is None:
            raise not_found(KIND, key)
        return task

    def children(self, key: str) -> list[ComputeTask]:
        """The tasks listing ``key`` among their parents, by key (MODEL-14)."""
        return [self.get(child) for child in self.store.children_keys(key)]

    def apply_action(self, key: str, action: int, reason: str, requester: str) -> None:
        """ApplyTaskAction from STATE-6 on, for callers other than the RPC (FAIL-5, CP-17).

        Raises:
            NotFoundError, PermissionDeniedError, IllegalTransitionError: as :meth:`apply_task_action`.
        """
        task = self.get(key)  # STATE-6
        if not (requester == task.worker or (action in _OWNER_MAY and requester == task.owner)):  # STATE-7
            raise PermissionDeniedError("only task owner can update it")
        self.transition(task, TRANSITION_BY_ACTION[action], reason)  # STATE-8

    def transition(self, task: ComputeTask, transition: Transition, reason: str) -> None:
        """Apply ``transition`` to ``task`` with its effects (STATE-11, STATE-12), no role check.

        Raises:
            IllegalTransitionError: the task's status does not allow it (STATE-9).
        """
        apply_transition(self.store, task, transition, reason)

    def cancel_plan_tasks(self, plan_key: str, requester: str) -> None:
        """Cancel every cancellable task of a plan, by creation date then key (CP-17).

        Each task gets exactly ApplyTaskAction(CANCELED) by ``requester``; tasks whose status does
        not allow it are skipped, any other error aborts the call.

        Raises:
            PermissionDeniedError: ``requester`` is neither owner nor worker of one of the tasks.
        """
        reason = CANCEL_PLAN_REASON.format(plan_key)
        for key in self.store.plan_task_keys(plan_key):
            try:
                self.apply_action(key, computetask_pb2.TASK_ACTION_CANCELED, reason, requester)
            except IllegalTransitionError:
                continue


def _reject_repeated_keys(new_tasks: Sequence[NewComputeTask]) -> None:
    """BATCH-3: a key given twice in one batch is a conflict naming it."""
    seen: set[str] = set()
    for new_task in new_tasks:
        if new_task.key in seen:
            raise conflict(KIND, new_task.key)
        seen.add(new_task.key)


def sort_tasks(new_tasks: Sequence[NewComputeTask], existing: set[str]) -> list[NewComputeTask]:
    """Parents before children, exactly in upstream's order (TASK-4), in linear time.

    Upstream pops a FIFO queue and rescans its pending list for each popped task; here each key
    maps to the request positions listing it as a parent (in request order, one entry per
    occurrence), which visits the same pending tasks in the same order.

    Raises:
        InvalidAssetError: a cycle, a self-reference or a parent neither stored nor in the batch.
    """
    remaining = [sum(1 for key in t.parent_task_keys if key not in existing) for t in new_tasks]
    listed_by: dict[str, list[int]] = {}
    for position, new_task in enumerate(new_tasks):
        for key in new_task.parent_task_keys:
            listed_by.setdefault(key, []).append(position)
    queue = deque(position for position, count in enumerate(remaining) if count == 0)
    pending = set(range(len(new_tasks))).difference(queue)
    ordered: list[NewComputeTask] = []
    while queue:
        current = new_tasks[queue.popleft()]
        ordered.append(current)
        for position in listed_by.get(current.key, ()):
            if position in pending:
                remaining[position] -= 1
                if remaining[position] == 0:
                    pending.discard(position)
                    queue.append(position)
    if pending:
        raise InvalidAssetError(
            "cyclic dependency in compute plan graph or unknown task parent, "
            f"unsorted_tasks_count: {len(pending)}"
        )
    return ordered


def initial_status(parents: Sequence[ComputeTask]) -> computetask_pb2.ComputeTaskStatus:
    """TASK-20: CANCELED below a failed or cancelled parent, TODO when all are done, else WAITING."""
    statuses = [parent.status for parent in parents]
    if FAILED in statuses or CANCELED in statuses:
        return CANCELED
    if all(status == DONE for status in statuses):
        return TODO
    return WAITING


def rank_of(parents: Sequence[ComputeTask]) -> int:
    """TASK-21: 0 without parents, else one more than the highest parent rank."""
    return max((parent.rank for parent in parents), default=-1) + 1


def compatible_with_parents(category: int, parents: Sequence[ComputeTask]) -> bool:
    """TASK-22: the parent categories (with multiplicity) a task category accepts."""
    count = dict.fromkeys((TRAIN, AGGREGATE, COMPOSITE, TEST, PREDICT), 0)
    for parent in parents:
        if parent.category in count:
            count[parent.category] += 1
    n_train, n_agg, n_comp, n_test, n_pred = (count[c] for c in (TRAIN, AGGREGATE, COMPOSITE, TEST, PREDICT))
    if n_test:
        return False
    if category == TRAIN:
        return n_comp == 0
    if category == TEST:
        return n_train + n_agg + n_comp + n_pred == 1
    if category == AGGREGATE:
        return n_train + n_agg + n_comp >= 1
    if category == COMPOSITE:
        return n_train == 0 and (
            n_agg + n_comp == 0 or (n_agg == 0 and n_comp == 1) or (n_agg == 1 and n_comp == 1)
            or (n_comp == 2 and n_agg == 0)
        )
    if category == PREDICT:
        return n_train + n_agg + n_comp == 1
    return False


class _Registration:
    """One RegisterTasks call: creates tasks one by one (9.3), caching what does not change during it.

    The plan, algos, data managers, data-sample checks, output permissions and the state of
    parents' models are read at most once per call (TASK-12 caches the plan upstream; the rest
    are pure functions of state this call does not modify), so registering the n-th task of a
    plan touches a bounded number of keys.
    """

    def __init__(self, services: Services, store: ComputeTaskStore) -> None:
        self.services = services
        self.store = store
        self.owner = services.requester
        self.creation_date = services.tx.info.timestamp()
        self._plans: dict[str, computeplan_pb2.ComputePlan] = {}
        self._algos: dict[str, algo_pb2.Algo] = {}
        self._managers: dict[str, datamanager_pb2.DataManager] = {}
        self._same_manager: set[tuple[str, tuple[str, ...]]] = set()
        self._has_test_sample: dict[tuple[str, ...], bool] = {}
        self._permissions: dict[bytes, common_pb2.Permissions] = {}
        self._models_available: set[str] = set()
        self._templates: dict[tuple[object, ...], ComputeTask] = {}

    # -- one task ----------------------------------------------------------------------

    def create(self, new: NewComputeTask, task: ComputeTask) -> None:
        """Fill ``task`` from ``new`` after the ordered checks TASK-12…TASK-19f."""
        owner = self.owner
        plan = self._plan(new.compute_plan_key)  # TASK-12
        if plan.owner != owner:
            raise PermissionDeniedError("Cannot register tasks to a compute plan you don't own")  # TASK-13
        if self.store.exists_committed(new.key):
            raise conflict(KIND, new.key)  # TASK-14
        parents = [self._parent(key) for key in new.parent_task_keys]  # TASK-15
        if not compatible_with_parents(new.category, parents):
            raise InvalidAssetError("incompatible models from parent tasks")  # TASK-16
        status = initial_status(parents)
        if status == CANCELED:
            raise IncompatibleTaskStatusError(f'cannot create a task with status "{STATUS_NAMES[status]}"')  # TASK-17
        for parent in parents:
            if parent.status == DONE:
                self._check_models_available(parent.key)  # TASK-18

        variant = new.WhichOneof("data")  # TASK-19c, TASK-25: processing follows the data variant
        signature = _template_signature(new, variant)
        template = self._templates.get(signature) if signature is not None else None
        if template is not None:
            # TASK-19a, 19c-19e already ran for a task with the same inputs in this call: they read only
            # state this call does not change (algo, data manager, samples, organizations), so they
            # would pass again and produce the same fields.
            task.CopyFrom(template)
        else:
            for identifier in sorted(new.outputs):  # TASK-19a (sorted: one deterministic first failure)
                task.outputs[identifier].permissions.CopyFrom(self._output_permissions(new.outputs[identifier]))
            task.category = new.category  # TASK-19b
            task.owner = owner
            task.creation_date.CopyFrom(self.creation_date)
        task.key = new.key
        task.compute_plan_key = new.compute_plan_key
        task.metadata.update(new.metadata)
        task.status = status
        task.rank = rank_of(parents)
        task.parent_task_keys.extend(new.parent_task_keys)
        task.inputs.extend(new.inputs)  # TASK-38: verbatim
        if template is None:
            if variant in ("train", "composite"):
                self._set_training(new, task, variant)
            elif variant == "aggregate":
                self._set_aggregate(new, task, parents)
            elif variant == "predict":
                self._set_predict(new, task)
            elif variant == "test":
                self._set_test(new, task, parents)
            else:
                raise InvalidAssetError(f"unknown task data {variant}")  # unreachable: validated (TASK-9)
            self._check_outputs(task)  # TASK-19d
            self._set_legacy_permissions(task)  # TASK-19e
            if signature is not None:
                self._templates[signature] = _template_of(task)
        self._check_parent_outputs(task, parents)  # TASK-19f

    # -- data variants (TASK-26…TASK-37) -----------------------------------------------

    def _set_training(self, new: NewComputeTask, task: ComputeTask, variant: str) -> None:
        """TASK-32 (train), TASK-34 (composite): checked data manager, no test data, checked algo."""
        data = getattr(new, variant)
        manager = self._checked_manager(data.data_manager_key, data.data_sample_keys)
        self._reject_test_data(data.data_sample_keys)
        task.algo.CopyFrom(self._checked_algo(new.algo_key, new.category))
        stored = getattr(task, variant)
        stored.data_manager_key = data.data_manager_key
        stored.data_sample_keys.extend(data.data_sample_keys)
        task.worker = manager.owner
        task.logs_permission.CopyFrom(manager.logs_permission)  # TASK-48

    def _set_predict(self, new: NewComputeTask, task: ComputeTask) -> None:
        """TASK-35: checked data manager and algo; legacy prediction permissions are their intersection."""
        data = new.predict
        manager = self._checked_manager(data.data_manager_key, data.data_sample_keys)
        algo = self._checked_algo(new.algo_key, new.category)
        task.algo.CopyFrom(algo)
        task.predict.data_manager_key = data.data_manager_key
        task.predict.data_sample_keys.extend(data.data_sample_keys)
        task.predict.prediction_permissions.CopyFrom(intersect_permissions(algo.permissions, manager.permissions))
        task.worker = manager.owner
        task.logs_permission.CopyFrom(manager.logs_permission)  # TASK-48

    def _set_aggregate(self, new: NewComputeTask, task: ComputeTask, parents: Sequence[ComputeTask]) -> None:
        """TASK-33: the worker must be registered; logs permission is the union of the parents'."""
        worker = self.services.organization.get(new.aggregate.worker).id  # ORG-6
        algo = self._checked_algo(new.algo_key, new.category)
        logs = make_permission(self.owner, common_pb2.NewPermissions(public=False), self.services.organization.exists)
        for parent in parents:
            logs = union_permission(parent.logs_permission, logs)
        task.algo.CopyFrom(algo)
        task.aggregate.SetInParent()
        task.worker = worker
        task.logs_permission.CopyFrom(logs)

    def _set_test(self, new: NewComputeTask, task: ComputeTask, parents: Sequence[ComputeTask]) -> None:
        """TASK-36: metrics downloadable by the data manager owner; algo, plan and rank from the parent."""
        data = new.test
        manager = self._checked_manager(data.data_manager_key, data.data_sample_keys)
        for metric_key in data.metric_keys:
            metric = self._metric(metric_key)
            if not can_download(metric.permissions, manager.owner):
                raise PermissionDeniedError(f'datamanager owner cannot download the metric "{metric_key}"')
        task.test.data_manager_key = data.data_manager_key
        task.test.data_sample_keys.extend(data.data_sample_keys)
        task.test.metric_keys.extend(data.metric_keys)
        task.worker = manager.owner
        task.logs_permission.CopyFrom(manager.logs_permission)  # TASK-48
        if len(parents) != 1:
            raise InvalidAssetError("invalid number of parents")  # unreachable: TASK-22
        parent = parents[0]
        task.algo.CopyFrom(parent.algo)
        task.compute_plan_key = parent.compute_plan_key
        task.rank = parent.rank

    # -- checks ------------------------------------------------------------------------

    def _checked_manager(self, key: str, sample_keys: Sequence[str]) -> datamanager_pb2.DataManager:
        """TASK-26: the data manager exists, the owner may process it, the samples share it (DS-12)."""
        manager = self._managers.get(key)
        if manager is None:
            manager = self._managers[key] = self.services.datamanager.get(key)
        if not can_process(manager.permissions, self.owner):  # TASK-27: the owner, not the worker
            raise PermissionDeniedError(f'not authorized to process datamanager "{key}"')
        checked = (key, tuple(sample_keys))
        if checked not in self._same_manager:
            self.services.datasample.check_same_manager(key, list(sample_keys))
            self._same_manager.add(checked)
        return manager

    def _reject_test_data(self, sample_keys: Sequence[str]) -> None:
        """TASK-28: train and composite tasks never see test-only samples (DS-13)."""
        samples = tuple(sample_keys)
        has_test = self._has_test_sample.get(samples)
        if has_test is None:
            has_test = self._has_test_sample[samples] = self.services.datasample.contains_test_sample(list(samples))
        if has_test:
            raise InvalidAssetError("cannot create task with test data")

    def _checked_algo(self, key: str, category: int) -> algo_pb2.Algo:
        """TASK-29: the algo exists, the owner may process it, it fits the task category (TASK-31)."""
        algo = self._algo(key)
        if not can_process(algo.permissions, self.owner):
            raise PermissionDeniedError(f'not authorized to process algo "{key}"')
        if ALGO_CATEGORY_FOR_TASK.get(category) != algo.category:
            raise InvalidAssetError("algo category is not compatible with task category")
        return algo

    def _check_outputs(self, task: ComputeTask) -> None:
        """TASK-45: the task's outputs are exactly those its algo declares (the first metric's for tests)."""
        if task.WhichOneof("data") == "test":
            if not task.test.metric_keys:
                raise InvalidAssetError("test task must have at least one metric key")
            declared = self._algo(task.test.metric_keys[0]).outputs
        else:
            declared = task.algo.outputs
        for identifier in sorted(task.outputs):
            if identifier not in declared:
                raise InvalidAssetError(
                    f"invalid task {task.key}, unknown task output: "
                    f'this identifier was not declared in the Algo: "{identifier}"'
                )
            if declared[identifier].kind == common_pb2.ASSET_PERFORMANCE and not (
                task.outputs[identifier].permissions.process.public
            ):
                raise InvalidAssetError(
                    f'invalid task {task.key}, invalid task output "{identifier}": '
                    "a PERFORMANCE output should be public"
                )
        for identifier in sorted(declared):
            if identifier not in task.outputs:
                raise InvalidAssetError(
                    f"invalid task {task.key}, missing task output: "
                    f'this identifier is required by the Algo: "{identifier}"'
                )

    @staticmethod
    def _set_legacy_permissions(task: ComputeTask) -> None:
        """TASK-46: deprecated per-variant permission fields mirror the outputs."""
        outputs = task.outputs
        variant = task.WhichOneof("data")
        if variant == "composite":
            if OUTPUT_SHARED in outputs:
                task.composite.trunk_permissions.CopyFrom(outputs[OUTPUT_SHARED].permissions)
            if OUTPUT_LOCAL in outputs:
                task.composite.head_permissions.CopyFrom(outputs[OUTPUT_LOCAL].permissions)
        elif variant == "aggregate":
            if OUTPUT_MODEL in outputs:
                task.aggregate.model_permissions.CopyFrom(outputs[OUTPUT_MODEL].permissions)
        elif variant == "train" and OUTPUT_MODEL in outputs:
            task.train.model_permissions.CopyFrom(outputs[OUTPUT_MODEL].permissions)

    def _check_parent_outputs(self, task: ComputeTask, parents: Sequence[ComputeTask]) -> None:
        """TASK-40…TASK-44: the worker may process what each parent hands down."""
        worker = task.worker
        if task.category in (TRAIN, AGGREGATE, TEST, PREDICT):
            for parent in parents:
                variant = parent.WhichOneof("data")
                if variant == "composite":
                    _check_output(parent, OUTPUT_SHARED, worker, "trunk model")
                    local = _output(parent, OUTPUT_LOCAL)
                    if task.category == TEST and not can_process(local.permissions, worker):
                        raise _cannot_process(parent, worker, "head model")
                elif variant in ("train", "aggregate"):
                    _check_output(parent, OUTPUT_MODEL, worker, "model")
                elif variant == "predict":
                    _check_output(parent, OUTPUT_PREDICTIONS, worker, "predictions")
                else:
                    raise UnimplementedError("invalid parent category")
        elif task.category == COMPOSITE:
            inputs = list(parents) * 2 if len(parents) == 1 else list(parents)  # TASK-41: one parent gives both
            has_aggregate = any(parent.WhichOneof("data") == "aggregate" for parent in parents)
            for position, parent in enumerate(inputs):
                variant = parent.WhichOneof("data")
                if variant == "composite":
                    if has_aggregate or position == 0:
                        _check_output(parent, OUTPUT_LOCAL, worker, "head model")
                    else:
                        _check_output(parent, OUTPUT_SHARED, worker, "trunk model")
                elif variant == "aggregate":
                    _check_output(parent, OUTPUT_MODEL, worker, "model")
                else:
                    raise UnimplementedError("invalid parent category")
        else:
            raise UnimplementedError("invalid task category")

    def _check_models_available(self, parent_key: str) -> None:
        """TASK-18: a DONE parent's models must all still have an address (MODEL-13)."""
        if parent_key in self._models_available:
            return
        for model in self.services.model.output_models(parent_key):
            if not model.HasField("address"):
                raise InvalidAssetError(f'Model "{model.key}" has been disabled')
        self._models_available.add(parent_key)

    # -- cached reads ------------------------------------------------------------------

    def _plan(self, key: str) -> computeplan_pb2.ComputePlan:
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self.services.computeplan.get_stored(key)
        return plan

    def _algo(self, key: str) -> algo_pb2.Algo:
        algo = self._algos.get(key)
        if algo is None:
            algo = self._algos[key] = self.services.algo.get(key)
        return algo

    def _metric(self, key: str) -> algo_pb2.Algo:
        """TASK-36 step 2: a metric is an algo; its absence is named as a metric's."""
        try:
            return self._algo(key)
        except NotFoundError:
            raise not_found("metric", key) from None

    def _parent(self, key: str) -> ComputeTask:
        """TASK-15: created earlier in this call, else stored (the store's cache serves both)."""
        parent = self.store.get(key)
        if parent is None:
            raise not_found(KIND, key)  # unreachable: TASK-4 leaves no unknown parent
        return parent

    def _output_permissions(self, output: computetask_pb2.NewComputeTaskOutput) -> common_pb2.Permissions:
        """TASK-19a: PERM-3 for the task owner, memoized by the requested permissions."""
        requested = output.permissions
        memo = requested.SerializeToString(deterministic=True)
        permissions = self._permissions.get(memo)
        if permissions is None:
            permissions = make_permissions(self.owner, requested, self.services.organization.exists)
            self._permissions[memo] = permissions
        return permissions


#: What :func:`_template_of` leaves out: the fields each task sets from its own request and parents.
_PER_TASK_FIELDS: Final = ("key", "compute_plan_key", "metadata", "status", "rank", "parent_task_keys", "inputs")


def _template_signature(new: NewComputeTask, variant: str | None) -> tuple[object, ...] | None:
    """What TASK-19a and 19c-19e read from a train, composite or predict request (``None`` for the
    aggregate and test variants, whose processing also reads the parents)."""
    if variant not in ("train", "composite", "predict"):
        return None
    data = getattr(new, variant)
    outputs = tuple(sorted(
        (identifier, output.HasField("permissions"), output.permissions.public,
         tuple(output.permissions.authorized_ids))
        for identifier, output in new.outputs.items()
    ))
    return variant, new.category, new.algo_key, data.data_manager_key, tuple(data.data_sample_keys), outputs


def _template_of(task: ComputeTask) -> ComputeTask:
    """A copy of ``task`` without its per-task fields, for the next tasks of the same signature."""
    template = ComputeTask()
    template.CopyFrom(task)
    for field in _PER_TASK_FIELDS:
        template.ClearField(field)
    return template


def _output(parent: ComputeTask, identifier: str) -> computetask_pb2.ComputeTaskOutput:
    """A parent's output, which must exist (TASK-44)."""
    if identifier not in parent.outputs:
        raise InternalError(f'Task "{parent.key}" has no output {identifier}')
    return parent.outputs[identifier]


def _check_output(parent: ComputeTask, identifier: str, worker: str, what: str) -> None:
    """TASK-40, TASK-41: the output exists and the worker may process it."""
    if not can_process(_output(parent, identifier).permissions, worker):
        raise _cannot_process(parent, worker, what)


def _cannot_process(parent: ComputeTask, worker: str, what: str) -> PermissionDeniedError:
    """TASK-42: the message names the parent and the worker."""
    return PermissionDeniedError(
        f'cannot process parent task "{parent.key}": worker "{worker}" is not allowed to process its {what}'
    )
