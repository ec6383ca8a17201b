"""The end-to-end scenarios' fixtures in Fabric mode: gateway → stand-in network → one chaincode process per org."""

# One pair of chaincode processes serves the whole session (``chaincode_servers``, in
# tests/fabric/conftest.py); each test gets a fresh network: ledgers, peers, orderer, gateway.
# ``channel``, ``client`` and ``client2`` are the standalone scenarios' (tests/gateway_fixtures.py),
# over this gateway.

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.gateway.server import GatewayThread
from tests.client import GatewayClient, GatewayProcess, connected
from tests.fabric.gateway import fabric_gateway
from tests.fabric.network import StandInNetwork
from tests.gateway_fixtures import channel, client, client2


@pytest.fixture
def network(process_network: StandInNetwork) -> StandInNetwork:
    """Two organizations, both endorsing every transaction, each with its own chaincode process."""
    return process_network


@pytest.fixture
def gateway(network: StandInNetwork, tmp_path: Path) -> Iterator[GatewayThread]:
    with fabric_gateway(network, tmp_path / "gateway") as running:
        yield running


@pytest.fixture
def process_client(network: StandInNetwork, tmp_path: Path) -> Iterator[GatewayClient]:
    """A client of a Fabric-mode gateway subprocess: the long scenarios give the gateway a core of its own."""
    config = network.gateway_config(tmp_path / "gateway.yaml")
    gateway = GatewayProcess(tmp_path / "gateway-data", "--config", str(config), "--log-level", "WARNING",
                             "--workers", "64").wait_serving()
    try:
        with connected(gateway.address) as opened:
            yield GatewayClient(opened).register()
    finally:
        gateway.stop(signal.SIGTERM)


__all__ = ["channel", "client", "client2", "gateway", "network", "process_client"]
