"""Data managers: registration, lookup, listing and the ownership check of data samples (DM-1…DM-16)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from orchestrator.api import common_pb2, datamanager_pb2, event_pb2
from orchestrator.shared.errors import PermissionDeniedError, conflict, not_found
from orchestrator.shared.permissions import make_permission, make_permissions
from orchestrator.shared.store.datamanager import KIND, DataManagerStore
from orchestrator.shared.validation import validate_new_data_manager

if TYPE_CHECKING:
    from orchestrator.shared.services import Services


class DataManagerService:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = DataManagerStore(services.docs)

    def register_data_manager(self, new: datamanager_pb2.NewDataManager) -> datamanager_pb2.DataManager:
        """Validate (DM-8), refuse an existing key (DM-9), build both permissions (DM-10, DM-11), store, announce.

        Raises:
            InvalidAssetError: the request is invalid (DM-1…DM-7).
            ConflictError: a data manager with this key exists.
            BadRequestError: a permission names an unregistered organization (PERM-2).
        """
        validate_new_data_manager(new)
        if self.store.exists(new.key):
            raise conflict(KIND, new.key)
        owner = self.services.requester
        is_registered = self.services.organization.exists
        logs_permission = make_permission(  # DM-10: one Permission, owner appended even if public
            owner, new.logs_permission if new.HasField("logs_permission") else None, is_registered)
        permissions = make_permissions(  # DM-11
            owner, new.new_permissions if new.HasField("new_permissions") else None, is_registered)
        data_manager = datamanager_pb2.DataManager(  # DM-12
            key=new.key,
            name=new.name,
            owner=owner,
            permissions=permissions,
            description=new.description,
            opener=new.opener,
            type=new.type,
            creation_date=self.services.tx.info.timestamp(),
            logs_permission=logs_permission,
            metadata=dict(new.metadata),
        )
        self.store.add(data_manager)
        self.services.tx.emit(event_pb2.Event(  # DM-13
            asset_key=data_manager.key, asset_kind=common_pb2.ASSET_DATA_MANAGER,
            event_kind=event_pb2.EVENT_ASSET_CREATED, data_manager=data_manager,
        ))
        return data_manager

    def get_data_manager(self, param: datamanager_pb2.GetDataManagerParam) -> datamanager_pb2.DataManager:
        """The data manager with this key (DM-14); the key is not validated (PAGE-7).

        Raises:
            NotFoundError: no such data manager.
        """
        return self.get(param.key)

    def query_data_managers(
        self, param: datamanager_pb2.QueryDataManagersParam
    ) -> datamanager_pb2.QueryDataManagersResponse:
        """Every data manager, in PAGE-4 order, paginated (DM-15).

        Raises:
            InvalidAssetError: the page token is not one this query produced (PAGE-3).
        """
        managers, token = self.store.page(self.services.page_request(param))
        return datamanager_pb2.QueryDataManagersResponse(data_managers=managers, next_page_token=token)

    def get(self, key: str) -> datamanager_pb2.DataManager:
        """The stored data manager.

        Raises:
            NotFoundError: no such data manager.
        """
        data_manager = self.store.load(key)
        if data_manager is None:
            raise not_found(KIND, key)
        return data_manager

    def check_owner(self, keys: Sequence[str], requester: str) -> None:
        """Every data manager of ``keys`` exists and belongs to ``requester``, checked in order (DM-16).

        Raises:
            NotFoundError: a data manager does not exist.
            PermissionDeniedError: a data manager belongs to another organization.
        """
        for key in keys:
            if self.get(key).owner != requester:
                raise PermissionDeniedError(f'requester does not own the datamanager "{key}"')
