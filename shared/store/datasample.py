"""Persistence of data samples: documents at ``datasample:<key>``, listed by date and by data manager."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from orchestrator.api import datasample_pb2
from orchestrator.shared.errors import InternalError
from orchestrator.shared.store.documents import DocumentStore, PageRequest
from orchestrator.shared.store.indexes import DATASAMPLE_BY_DATE, DATASAMPLE_BY_MANAGER
from orchestrator.shared.store.keys import sortable_time
from orchestrator.shared.store.listing import Position, page_of_sorted

KIND: Final = "datasample"


def position(sample: datasample_pb2.DataSample) -> Position:
    """The sample's place in the PAGE-4 order."""
    return Position.of(sample.creation_date.ToNanoseconds(), sample.key)


def _flag(test_only: bool) -> str:
    return "true" if test_only else "false"


class DataSampleStore:
    def __init__(self, docs: DocumentStore) -> None:
        self.docs = docs

    def load(self, key: str) -> datasample_pb2.DataSample | None:
        return self.docs.load(KIND, key, datasample_pb2.DataSample)

    def exists(self, key: str) -> bool:
        """Whether the sample exists, counting those written earlier in this call (BATCH-3)."""
        return self.docs.exists(KIND, key)

    def add(self, sample: datasample_pb2.DataSample) -> None:
        """Save a new sample, its date entry and one entry per data manager (DSET-2)."""
        self.docs.save(KIND, sample.key, sample)
        self.docs.add_index(DATASAMPLE_BY_DATE, [self._date(sample), sample.key])
        self._index_managers(sample, sample.data_manager_keys)

    def update(self, sample: datasample_pb2.DataSample, added_manager_keys: Iterable[str]) -> None:
        """Save an updated sample and index it under the managers it gained (DS-8, DSET-2)."""
        self.docs.save(KIND, sample.key, sample)
        self._index_managers(sample, added_manager_keys)

    def _index_managers(self, sample: datasample_pb2.DataSample, manager_keys: Iterable[str]) -> None:
        # Entries keep the sample's creation date, so a dataset lists its samples in PAGE-4
        # order whenever they joined the manager; a manager named twice gets one entry.
        date = self._date(sample)
        for manager_key in sorted(set(manager_keys)):
            self.docs.add_index(DATASAMPLE_BY_MANAGER, [manager_key, _flag(sample.test_only), date, sample.key])

    @staticmethod
    def _date(sample: datasample_pb2.DataSample) -> str:
        return sortable_time(sample.creation_date.ToNanoseconds())

    def keys_of_manager(self, manager_key: str, test_only: bool) -> list[str]:
        """Keys of the samples of a data manager with this ``test_only`` flag, in PAGE-4 order (DSET-2)."""
        return [key for _, key in self.docs.index_entries(DATASAMPLE_BY_MANAGER, [manager_key, _flag(test_only)])]

    def page(self, page: PageRequest) -> tuple[list[datasample_pb2.DataSample], str]:
        """One page of every sample, in PAGE-4 order."""
        return self.docs.index_page(DATASAMPLE_BY_DATE, [], page, lambda attributes: self._must_load(attributes[1]))

    def page_of_keys(self, keys: Iterable[str], page: PageRequest) -> tuple[list[datasample_pb2.DataSample], str]:
        """One page of the stored samples among ``keys`` (unknown keys ignored, DS-11), in PAGE-4 order."""
        samples = [s for s in (self.load(key) for key in sorted(set(keys))) if s is not None]
        samples.sort(key=position)
        return page_of_sorted(samples, position, page)

    def _must_load(self, key: str) -> datasample_pb2.DataSample:
        sample = self.load(key)
        if sample is None:
            raise InternalError(f"datasample index names {key!r}, which is not stored")
        return sample
