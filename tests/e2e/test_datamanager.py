"""Data manager scenario DM1 (scenarios.md 4)."""

from __future__ import annotations

from orchestrator.api import datamanager_pb2
from tests.client import GatewayClient
from tests.e2e import steps


def test_DM1_registered_data_manager_reads_back(client: GatewayClient) -> None:
    manager = steps.register_data_manager(client)
    assert client.get_data_manager(datamanager_pb2.GetDataManagerParam(key=manager.key)) == manager
