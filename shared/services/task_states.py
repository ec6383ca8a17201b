"""The compute task state machine as data (STATE-2) and the one function applying a transition."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from orchestrator.api import common_pb2, computetask_pb2, event_pb2
from orchestrator.shared.errors import IllegalTransitionError, not_found
from orchestrator.shared.store.computetask import KIND, STATUS_NAMES, ComputeTaskStore, creation_ns

WAITING: Final = computetask_pb2.STATUS_WAITING
TODO: Final = computetask_pb2.STATUS_TODO
DOING: Final = computetask_pb2.STATUS_DOING
DONE: Final = computetask_pb2.STATUS_DONE
CANCELED: Final = computetask_pb2.STATUS_CANCELED
FAILED: Final = computetask_pb2.STATUS_FAILED


@dataclass(frozen=True)
class Transition:
    """One row of the transition table: a name, the statuses it leaves from and the one it enters."""

    name: str
    sources: frozenset[int]
    destination: computetask_pb2.ComputeTaskStatus

    def allowed_from(self, status: int) -> bool:
        return status in self.sources


# STATE-2: the complete table; any (status, transition) pair not listed is illegal (STATE-9).
TRANSITION_TODO: Final = Transition("transitionTodo", frozenset({WAITING}), TODO)
TRANSITION_DOING: Final = Transition("transitionDoing", frozenset({TODO}), DOING)
TRANSITION_DONE: Final = Transition("transitionDone", frozenset({DOING}), DONE)
TRANSITION_CANCELED: Final = Transition("transitionCanceled", frozenset({WAITING, TODO, DOING}), CANCELED)
TRANSITION_FAILED: Final = Transition("transitionFailed", frozenset({WAITING, TODO, DOING}), FAILED)

TRANSITIONS: Final[tuple[Transition, ...]] = (
    TRANSITION_TODO, TRANSITION_DOING, TRANSITION_DONE, TRANSITION_CANCELED, TRANSITION_FAILED,
)

#: STATE-3: the actions a caller may request; there is none for TODO (internal only).
TRANSITION_BY_ACTION: Final[dict[int, Transition]] = {
    computetask_pb2.TASK_ACTION_DOING: TRANSITION_DOING,
    computetask_pb2.TASK_ACTION_CANCELED: TRANSITION_CANCELED,
    computetask_pb2.TASK_ACTION_FAILED: TRANSITION_FAILED,
    computetask_pb2.TASK_ACTION_DONE: TRANSITION_DONE,
}


def is_terminal(status: int) -> bool:
    """No transition leaves the status: DONE, CANCELED, FAILED (STATE-1)."""
    return not any(t.allowed_from(status) for t in TRANSITIONS)


def apply_transition(
    tasks: ComputeTaskStore, task: computetask_pb2.ComputeTask, transition: Transition, reason: str
) -> None:
    """Move ``task`` along ``transition``: save, reindex, emit, then propagate DONE to children.

    STATE-11: the stored status changes (nothing else does) and one UPDATED event carries the
    complete task and ``{"reason": reason}``. STATE-12: entering DONE may move children to TODO,
    their events following the task's own (STATE-15). Failure and cancellation do not cascade
    (STATE-13).

    Raises:
        IllegalTransitionError: the task's status does not allow the transition (STATE-9).
    """
    if not transition.allowed_from(task.status):
        raise IllegalTransitionError(transition.name, STATUS_NAMES[task.status])
    previous = task.status
    task.status = transition.destination
    tasks.update_status(task, previous)
    event = event_pb2.Event(
        asset_key=task.key, asset_kind=common_pb2.ASSET_COMPUTE_TASK, event_kind=event_pb2.EVENT_ASSET_UPDATED,
        compute_task=task, metadata={"reason": reason},
    )
    tasks.tx.emit(event)
    if transition.destination == DONE:
        _propagate_done(tasks, task)


def _propagate_done(tasks: ComputeTaskStore, done: computetask_pb2.ComputeTask) -> None:
    """STATE-12: children whose every other parent is DONE go WAITING -> TODO.

    Children are visited once each, by creation date then key (the recommended order).
    """
    children = [_load(tasks, key) for key in tasks.children_keys(done.key)]
    children.sort(key=lambda child: (creation_ns(child), child.key))
    reason = f"Last parent task {done.key} done"
    for child in children:
        if not TRANSITION_TODO.allowed_from(child.status):
            continue
        if all(_load(tasks, key).status == DONE for key in child.parent_task_keys if key != done.key):
            apply_transition(tasks, child, TRANSITION_TODO, reason)


def _load(tasks: ComputeTaskStore, key: str) -> computetask_pb2.ComputeTask:
    task = tasks.get(key)
    if task is None:
        raise not_found(KIND, key)
    return task
