"""Models: registration by the worker, completion of their task, queries and disabling (MODEL-1…MODEL-16)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from orchestrator.api import common_pb2, computetask_pb2, event_pb2, model_pb2
from orchestrator.shared.errors import (
    BadRequestError,
    CannotDisableModelError,
    ConflictError,
    InternalError,
    PermissionDeniedError,
    UnimplementedError,
    conflict,
    not_found,
)
from orchestrator.shared.services.lazy import lazy
from orchestrator.shared.services.task_states import DOING, TRANSITION_DONE, is_terminal
from orchestrator.shared.store.model import CATEGORY_NAMES, KIND, ModelStore
from orchestrator.shared.validation import validate_new_model

if TYPE_CHECKING:
    from orchestrator.shared.services import Services

Model = model_pb2.Model
ComputeTask = computetask_pb2.ComputeTask

SIMPLE: Final = model_pb2.MODEL_SIMPLE
HEAD: Final = model_pb2.MODEL_HEAD

#: MODEL-1: for each task category that produces models, the task output whose permissions
#: each accepted model category copies.
OUTPUT_FOR_MODEL: Final[dict[int, dict[int, str]]] = {
    computetask_pb2.TASK_TRAIN: {SIMPLE: "model"},
    computetask_pb2.TASK_AGGREGATE: {SIMPLE: "model"},
    computetask_pb2.TASK_PREDICT: {SIMPLE: "predictions"},
    computetask_pb2.TASK_COMPOSITE: {HEAD: "local", SIMPLE: "shared"},
}


class ModelService:
    def __init__(self, services: Services) -> None:
        self.services = services

    @lazy
    def store(self) -> ModelStore:
        return ModelStore(self.services.docs)

    # -- registration ------------------------------------------------------------------

    def register_model(self, new_model: model_pb2.NewModel) -> Model:
        """The deprecated single-model form: RegisterModels of one element (MODEL-2)."""
        return self.register_models(model_pb2.RegisterModelsParam(models=[new_model])).models[0]

    def register_models(self, param: model_pb2.RegisterModelsParam) -> model_pb2.RegisterModelsResponse:
        """Register the models of one task, in request order; the last expected one completes it (MODEL-3).

        Raises:
            BadRequestError: an empty list (MODEL-3, recommended), models of several tasks, a task
                not DOING or a model category the task does not produce (MODEL-4).
            NotFoundError: unknown task.
            InvalidAssetError: an invalid model (MODEL-4 step 1).
            PermissionDeniedError: the caller is not the task's worker.
            ConflictError: a second model of one category, or a key already used (BATCH-3).
            UnimplementedError: a task category producing no model.
            IllegalTransitionError: cannot happen (the task is checked DOING first).
        """
        new_models = list(param.models)
        if not new_models:
            raise BadRequestError("no model to register")  # MODEL-3: UNSETTLED, the recommended answer
        requester = self.services.requester
        task_key = new_models[0].compute_task_key
        existing = self.store.of_task(task_key)  # MODEL-3 step 1
        response = model_pb2.RegisterModelsResponse()
        for new_model in new_models:
            task = self.services.computetask.get(task_key)  # as this call sees it now
            if new_model.compute_task_key != task.key:
                raise BadRequestError("All models should be part of the same task")
            model = self._register(new_model, task, existing, requester)
            response.models.append(model)
            existing.append(model)
            if all_outputs_registered(task, existing):  # MODEL-6
                self.services.computetask.transition(
                    task, TRANSITION_DONE, f"Last model {model.key} registered by {requester}"
                )
        return response

    def _register(self, new_model: model_pb2.NewModel, task: ComputeTask, existing: Sequence[Model],
                  requester: str) -> Model:
        """MODEL-4: the ordered checks, then storage and the CREATED event."""
        validate_new_model(new_model)
        if requester != task.worker:
            raise PermissionDeniedError(f'only "{task.worker}" worker can register model')
        if task.status != DOING:
            status = computetask_pb2.ComputeTaskStatus.Name(task.status)
            raise BadRequestError(f'cannot register model for task with status "{status}"')
        if any(model.category == new_model.category for model in existing):
            raise ConflictError(f"task already has a {CATEGORY_NAMES[new_model.category]} model")
        outputs = OUTPUT_FOR_MODEL.get(task.category)
        if outputs is None:
            raise UnimplementedError("unhandled model category")
        identifier = outputs.get(new_model.category)
        if identifier is None:
            raise BadRequestError("cannot register non-simple model")
        if identifier not in task.outputs:
            raise InternalError(f'Task "{task.key}" has no output {identifier}')
        model = Model(
            key=new_model.key, category=new_model.category, compute_task_key=task.key, address=new_model.address,
            permissions=task.outputs[identifier].permissions, owner=requester,
            creation_date=self.services.tx.info.timestamp(),
        )
        if self.store.exists(model.key):
            raise conflict(KIND, model.key)  # MODEL-4 step 7
        self.store.add(model)
        self.services.tx.emit(event_pb2.Event(
            asset_key=model.key, asset_kind=common_pb2.ASSET_MODEL, event_kind=event_pb2.EVENT_ASSET_CREATED,
            model=model,
        ))
        return model

    # -- queries -----------------------------------------------------------------------

    def get_model(self, param: model_pb2.GetModelParam) -> Model:
        """One model; a disabled one has no address (MODEL-8).

        Raises:
            NotFoundError: unknown key.
        """
        return self.get(param.key)

    def query_models(self, param: model_pb2.QueryModelsParam) -> model_pb2.QueryModelsResponse:
        """Models of one category (all when 0), by creation date then key (MODEL-9)."""
        models, token = self.store.page(param.category, self.services.page_request(param))
        return model_pb2.QueryModelsResponse(models=models, next_page_token=token)

    def get_compute_task_output_models(
        self, param: model_pb2.GetComputeTaskModelsParam
    ) -> model_pb2.GetComputeTaskModelsResponse:
        """Every model a task produced, disabled ones included; none for an unknown task (MODEL-10)."""
        return model_pb2.GetComputeTaskModelsResponse(models=self.output_models(param.compute_task_key))

    def get_compute_task_input_models(
        self, param: model_pb2.GetComputeTaskModelsParam
    ) -> model_pb2.GetComputeTaskModelsResponse:
        """The models a task consumes from its parents, per its category (MODEL-11).

        Raises:
            NotFoundError: unknown task.
        """
        task = self.services.computetask.get(param.compute_task_key)
        return model_pb2.GetComputeTaskModelsResponse(models=input_models(task, self.output_models))

    # -- disabling ---------------------------------------------------------------------

    def can_disable_model(self, param: model_pb2.CanDisableModelParam) -> model_pb2.CanDisableModelResponse:
        """Whether the caller may disable the model now (MODEL-12, MODEL-14).

        Raises:
            NotFoundError: unknown model or task.
            PermissionDeniedError: the caller is not the producing task's worker.
        """
        model = self.get(param.model_key)
        return model_pb2.CanDisableModelResponse(can_disable=self._can_disable(model))

    def disable_model(self, param: model_pb2.DisableModelParam) -> model_pb2.DisableModelResponse:
        """Remove a model's address and emit DISABLED (MODEL-13); again on a disabled one (MODEL-15).

        Raises:
            NotFoundError: unknown model or task.
            PermissionDeniedError: the caller is not the producing task's worker.
            CannotDisableModelError: the model may still be needed (MODEL-14).
        """
        model = self.get(param.model_key)
        if not self._can_disable(model):
            raise CannotDisableModelError("cannot disable a model in use")
        model.ClearField("address")
        self.store.update(model)
        self.services.tx.emit(event_pb2.Event(
            asset_key=model.key, asset_kind=common_pb2.ASSET_MODEL, event_kind=event_pb2.EVENT_ASSET_DISABLED,
            model=model,
        ))
        return model_pb2.DisableModelResponse()

    def _can_disable(self, model: Model) -> bool:
        """MODEL-14, in its order: worker (an error), terminal task, plan flag, children all terminal,
        at least one child that is not a test."""
        computetask = self.services.computetask
        task = computetask.get(model.compute_task_key)
        if task.worker != self.services.requester:
            raise PermissionDeniedError("only the worker can disable a task outputs")
        if not is_terminal(task.status):
            return False
        if not self.services.computeplan.get_stored(task.compute_plan_key).delete_intermediary_models:  # CP-19
            return False
        children = computetask.children(task.key)
        if not all(is_terminal(child.status) for child in children):
            return False
        return any(child.category != computetask_pb2.TASK_TEST for child in children)

    # -- internal API ------------------------------------------------------------------

    def get(self, key: str) -> Model:
        """One model.

        Raises:
            NotFoundError: unknown key.
        """
        model = self.store.get(key)
        if model is None:
            raise not_found(KIND, key)
        return model

    def output_models(self, task_key: str) -> list[Model]:
        """Models produced by a task, by creation date then key (MODEL-10; used by TASK-18)."""
        return self.store.of_task(task_key)


def all_outputs_registered(task: ComputeTask, models: Sequence[Model]) -> bool:
    """MODEL-6: one SIMPLE for train, aggregate and predict; one HEAD and one SIMPLE for composite."""
    simple = sum(1 for model in models if model.category == SIMPLE)
    head = sum(1 for model in models if model.category == HEAD)
    if task.category in (computetask_pb2.TASK_TRAIN, computetask_pb2.TASK_AGGREGATE, computetask_pb2.TASK_PREDICT):
        return simple == 1
    if task.category == computetask_pb2.TASK_COMPOSITE:
        return head == 1 and simple == 1
    return False


def input_models(task: ComputeTask, output_models: Callable[[str], list[Model]]) -> list[Model]:
    """MODEL-11: what each parent contributes, in parent order (duplicates included)."""
    inputs: list[Model] = []
    single_parent = len(task.parent_task_keys) == 1
    for parent_key in task.parent_task_keys:
        models = output_models(parent_key)
        if task.category == computetask_pb2.TASK_AGGREGATE:
            inputs.extend(model for model in models if model.category == SIMPLE)  # trunks, not heads
        elif task.category == computetask_pb2.TASK_COMPOSITE:
            contributed = False
            for model in sorted(models, key=lambda m: m.category != HEAD):  # heads first, stable
                if model.category == HEAD and not any(m.category == HEAD for m in inputs):
                    inputs.append(model)
                    contributed = True
                if model.category == SIMPLE and (single_parent or (not contributed and len(inputs) < 2)):
                    inputs.append(model)
                    contributed = True
        else:
            inputs.extend(models)
    return inputs
