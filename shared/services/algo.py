"""Algos: registration, lookup and listing (ALGO-1…ALGO-16); metrics are algos of category METRIC."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.api import algo_pb2, common_pb2, event_pb2
from orchestrator.shared import permissions
from orchestrator.shared.errors import conflict, not_found
from orchestrator.shared.store.algo import KIND, AlgoStore, category_names
from orchestrator.shared.validation import validate_new_algo

if TYPE_CHECKING:
    from orchestrator.shared.services import Services


class AlgoService:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = AlgoStore(services.docs)

    def register_algo(self, new: algo_pb2.NewAlgo) -> algo_pb2.Algo:
        """Validate (ALGO-9), refuse an existing key (ALGO-10), build permissions (ALGO-11), store and announce.

        Raises:
            InvalidAssetError: the request is invalid (ALGO-1…ALGO-8).
            ConflictError: an algo with this key exists.
            BadRequestError: the permissions name an unregistered organization (PERM-2).
        """
        validate_new_algo(new)
        if self.store.exists(new.key):
            raise conflict(KIND, new.key)
        owner = self.services.requester
        algo_permissions = permissions.make_permissions(
            owner, new.new_permissions if new.HasField("new_permissions") else None,
            self.services.organization.exists,
        )
        algo = algo_pb2.Algo(  # ALGO-12
            key=new.key,
            name=new.name,
            category=new.category,
            description=new.description,
            algorithm=new.algorithm,
            permissions=algo_permissions,
            owner=owner,
            creation_date=self.services.tx.info.timestamp(),
            metadata=dict(new.metadata),
            inputs=dict(new.inputs),
            outputs=dict(new.outputs),
        )
        self.store.add(algo)
        self.services.tx.emit(event_pb2.Event(  # ALGO-13
            asset_key=algo.key, asset_kind=common_pb2.ASSET_ALGO, event_kind=event_pb2.EVENT_ASSET_CREATED, algo=algo,
        ))
        return algo

    def get_algo(self, param: algo_pb2.GetAlgoParam) -> algo_pb2.Algo:
        """The algo with this key (ALGO-14); the key is not validated (PAGE-7).

        Raises:
            NotFoundError: no such algo.
        """
        return self.get(param.key)

    def query_algos(self, param: algo_pb2.QueryAlgosParam) -> algo_pb2.QueryAlgosResponse:
        """Algos in PAGE-4 order, filtered by categories and by plan when those are given (ALGO-15, PAGE-5).

        Raises:
            InvalidAssetError: the page token is not one this query produced (PAGE-3).
        """
        page = self.services.page_request(param)
        names = category_names(param.filter.categories) if param.filter.categories else None
        if param.filter.compute_plan_key:
            algos, token = self.store.page_of_plan(param.filter.compute_plan_key, names, page)
        elif names is not None:
            algos, token = self.store.page_by_categories(names, page)
        else:
            algos, token = self.store.page(page)
        return algo_pb2.QueryAlgosResponse(Algos=algos, next_page_token=token)

    def get(self, key: str) -> algo_pb2.Algo:
        """The stored algo.

        Raises:
            NotFoundError: no such algo.
        """
        algo = self.store.load(key)
        if algo is None:
            raise not_found(KIND, key)
        return algo

    def can_download(self, key: str, org: str) -> bool:
        """Whether ``org`` may download the algo (ALGO-16, PERM-5).

        Raises:
            NotFoundError: no such algo.
        """
        return permissions.can_download(self.get(key).permissions, org)
