"""Model persistence: model documents and their date, category and producing-task indexes."""

from __future__ import annotations

from typing import Final

from orchestrator.api import model_pb2
from orchestrator.shared.errors import InternalError
from orchestrator.shared.store.documents import DocumentStore, PageRequest
from orchestrator.shared.store.indexes import MODEL_BY_CATEGORY, MODEL_BY_DATE, MODEL_BY_TASK
from orchestrator.shared.store.keys import sortable_time
from orchestrator.shared.store.listing import is_attribute

KIND: Final = "model"

CATEGORY_NAMES: Final[dict[int, str]] = {v: k for k, v in model_pb2.ModelCategory.items()}


def _date(model: model_pb2.Model) -> str:
    return sortable_time(model.creation_date.seconds * 1_000_000_000 + model.creation_date.nanos)


class ModelStore:
    """Models of one transaction."""

    def __init__(self, docs: DocumentStore) -> None:
        self.docs = docs

    def get(self, key: str) -> model_pb2.Model | None:
        return self.docs.load(KIND, key, model_pb2.Model)

    def exists(self, key: str) -> bool:
        """Whether the key is taken, this call's own models included (MODEL-4 step 7)."""
        return self.docs.exists(KIND, key)

    def add(self, model: model_pb2.Model) -> None:
        date = _date(model)
        self.docs.save(KIND, model.key, model)
        self.docs.add_index(MODEL_BY_DATE, [date, model.key])
        self.docs.add_index(MODEL_BY_CATEGORY, [CATEGORY_NAMES[model.category], date, model.key])
        self.docs.add_index(MODEL_BY_TASK, [model.compute_task_key, date, model.key])

    def update(self, model: model_pb2.Model) -> None:
        """Rewrite a model's document; no indexed attribute ever changes (MODEL-13)."""
        self.docs.save(KIND, model.key, model)

    def of_task(self, task_key: str) -> list[model_pb2.Model]:
        """Models produced by a task, by creation date then key (MODEL-10)."""
        if not is_attribute(task_key):
            return []  # PAGE-7: no task has such a key
        keys = [attributes[1] for attributes in self.docs.index_entries(MODEL_BY_TASK, [task_key])]
        return [self._load(key) for key in keys]

    def page(self, category: int, page: PageRequest) -> tuple[list[model_pb2.Model], str]:
        """One page of models, of one category unless 0, by creation date then key (MODEL-9)."""
        if category and category not in CATEGORY_NAMES:
            return [], ""  # PAGE-7: an unknown value matches nothing
        if category:
            index, prefix = MODEL_BY_CATEGORY, [CATEGORY_NAMES[category]]
        else:
            index, prefix = MODEL_BY_DATE, []
        return self.docs.index_page(index, prefix, page, lambda attributes: self._load(attributes[-1]))

    def _load(self, key: str) -> model_pb2.Model:
        model = self.get(key)
        if model is None:
            raise InternalError(f"model {key!r} is indexed but not stored")
        return model
