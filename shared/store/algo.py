"""Persistence of algos: documents at ``algo:<key>``, listed by date, by category and by plan."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from orchestrator.api import algo_pb2
from orchestrator.shared.errors import InternalError
from orchestrator.shared.store.documents import DocumentStore, PageRequest
from orchestrator.shared.store.indexes import ALGO_BY_CATEGORY, ALGO_BY_DATE, ALGO_OF_PLAN
from orchestrator.shared.store.keys import sortable_time
from orchestrator.shared.store.listing import Position, is_attribute, merged_index_page, page_of_sorted

KIND: Final = "algo"


def position(algo: algo_pb2.Algo) -> Position:
    """The algo's place in the PAGE-4 order."""
    return Position.of(algo.creation_date.ToNanoseconds(), algo.key)


def category_names(categories: Iterable[int]) -> list[str]:
    """Enum names of the known categories among ``categories``, sorted, once each (unknown ones match nothing)."""
    known = set(algo_pb2.AlgoCategory.values())
    return sorted({algo_pb2.AlgoCategory.Name(c) for c in categories if c in known})


class AlgoStore:
    def __init__(self, docs: DocumentStore) -> None:
        self.docs = docs

    def load(self, key: str) -> algo_pb2.Algo | None:
        return self.docs.load(KIND, key, algo_pb2.Algo)

    def exists(self, key: str) -> bool:
        return self.docs.exists(KIND, key)

    def add(self, algo: algo_pb2.Algo) -> None:
        """Save a new algo and its index entries (scans in PAGE-4 order)."""
        date = sortable_time(algo.creation_date.ToNanoseconds())
        self.docs.save(KIND, algo.key, algo)
        self.docs.add_index(ALGO_BY_DATE, [date, algo.key])
        self.docs.add_index(ALGO_BY_CATEGORY, [algo_pb2.AlgoCategory.Name(algo.category), date, algo.key])

    def page(self, page: PageRequest) -> tuple[list[algo_pb2.Algo], str]:
        """One page of every algo, in PAGE-4 order."""
        return self.docs.index_page(ALGO_BY_DATE, [], page, lambda attributes: self._must_load(attributes[1]))

    def page_by_categories(self, names: list[str], page: PageRequest) -> tuple[list[algo_pb2.Algo], str]:
        """One page of the algos of the given categories (enum names), in PAGE-4 order."""
        return merged_index_page(self.docs, ALGO_BY_CATEGORY, [[name] for name in names], page,
                                 lambda p: self._must_load(p.key))

    def page_of_plan(self, plan_key: str, names: list[str] | None, page: PageRequest
                     ) -> tuple[list[algo_pb2.Algo], str]:
        """One page of the algos used by the tasks of a plan (ALGO-15), of some categories unless ``names`` is None.

        A plan uses few algos, so they are loaded, filtered and sorted, then paged by position.
        """
        if not is_attribute(plan_key):
            return [], ""
        algos = [self._must_load(key) for (key,) in self.docs.index_entries(ALGO_OF_PLAN, [plan_key])]
        if names is not None:
            wanted = set(names)
            algos = [a for a in algos if algo_pb2.AlgoCategory.Name(a.category) in wanted]
        algos.sort(key=position)
        return page_of_sorted(algos, position, page)

    def _must_load(self, key: str) -> algo_pb2.Algo:
        algo = self.load(key)
        if algo is None:
            raise InternalError(f"algo index names {key!r}, which is not stored")
        return algo
