"""Organizations (scenarios.md 2): every scenario starts registered; a second registration conflicts."""

from __future__ import annotations

import grpc
import pytest

from orchestrator.api import organization_pb2
from tests.client import GatewayClient


def test_registering_an_organization_twice_is_already_exists(client: GatewayClient) -> None:
    with pytest.raises(grpc.RpcError) as failure:
        client.register_organization(organization_pb2.RegisterOrganizationParam())
    assert failure.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "OE0006" in failure.value.details()


def test_registered_organizations_are_listed(client: GatewayClient, client2: GatewayClient) -> None:
    listed = client.get_all_organizations(organization_pb2.GetAllOrganizationsParam())
    assert [org.id for org in listed.organizations] == ["MyOrg1MSP", "MyOrg2MSP"]
