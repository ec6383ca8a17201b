"""Persistence of data managers: documents at ``datamanager:<key>``, listed by date."""

from __future__ import annotations

from typing import Final

from orchestrator.api import datamanager_pb2
from orchestrator.shared.errors import InternalError
from orchestrator.shared.store.documents import DocumentStore, PageRequest
from orchestrator.shared.store.indexes import DATAMANAGER_BY_DATE
from orchestrator.shared.store.keys import sortable_time

KIND: Final = "datamanager"


class DataManagerStore:
    def __init__(self, docs: DocumentStore) -> None:
        self.docs = docs

    def load(self, key: str) -> datamanager_pb2.DataManager | None:
        return self.docs.load(KIND, key, datamanager_pb2.DataManager)

    def exists(self, key: str) -> bool:
        return self.docs.exists(KIND, key)

    def add(self, data_manager: datamanager_pb2.DataManager) -> None:
        """Save a new data manager and its date index entry (scans in PAGE-4 order)."""
        self.docs.save(KIND, data_manager.key, data_manager)
        self.docs.add_index(DATAMANAGER_BY_DATE, [sortable_time(data_manager.creation_date.ToNanoseconds()),
                                                  data_manager.key])

    def page(self, page: PageRequest) -> tuple[list[datamanager_pb2.DataManager], str]:
        """One page of every data manager, in PAGE-4 order."""
        return self.docs.index_page(DATAMANAGER_BY_DATE, [], page, lambda attributes: self._must_load(attributes[1]))

    def _must_load(self, key: str) -> datamanager_pb2.DataManager:
        data_manager = self.load(key)
        if data_manager is None:
            raise InternalError(f"datamanager index names {key!r}, which is not stored")
        return data_manager
