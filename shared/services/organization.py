"""Organizations: an organization registers itself, by its MSP ID (ORG-1…ORG-7)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from orchestrator.api import common_pb2, event_pb2, organization_pb2
from orchestrator.shared.errors import conflict, not_found
from orchestrator.shared.store.indexes import ORGANIZATION_BY_DATE as BY_DATE
from orchestrator.shared.store.keys import sortable_time

if TYPE_CHECKING:
    from orchestrator.shared.services import Services

KIND: Final = "organization"


class OrganizationService:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.docs = services.docs

    def register_organization(self, _: organization_pb2.RegisterOrganizationParam) -> organization_pb2.Organization:
        """Register the caller (ORG-1); a second registration is a conflict (ORG-2).

        Raises:
            ConflictError: the organization already exists.
        """
        tx = self.services.tx
        org_id = self.services.requester
        if self.docs.exists(KIND, org_id):
            raise conflict(KIND, org_id)
        organization = organization_pb2.Organization(id=org_id, creation_date=tx.info.timestamp())  # ORG-3
        self.docs.save(KIND, org_id, organization)
        self.docs.add_index(BY_DATE, [sortable_time(tx.info.timestamp_ns), org_id])
        tx.emit(event_pb2.Event(  # ORG-4
            asset_key=org_id, asset_kind=common_pb2.ASSET_ORGANIZATION, event_kind=event_pb2.EVENT_ASSET_CREATED,
            organization=organization,
        ))
        return organization

    def get_all_organizations(
        self, _: organization_pb2.GetAllOrganizationsParam
    ) -> organization_pb2.GetAllOrganizationsResponse:
        """Every organization of the channel, by creation date then id (ORG-5)."""
        ids = [attributes[1] for attributes in self.docs.index_entries(BY_DATE, [])]
        return organization_pb2.GetAllOrganizationsResponse(organizations=[self.get(org_id) for org_id in ids])

    def get(self, org_id: str) -> organization_pb2.Organization:
        """One organization (ORG-6).

        Raises:
            NotFoundError: unknown id.
        """
        organization = self.docs.load(KIND, org_id, organization_pb2.Organization)
        if organization is None:
            raise not_found(KIND, org_id)
        return organization

    def exists(self, org_id: str) -> bool:
        return self.docs.exists(KIND, org_id)
