"""The end-to-end scenarios' fixtures in Fabric mode: a gateway in front of a stand-in network, both organizations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from orchestrator.gateway.server import GatewayThread
from tests.client import GatewayClient, connected
from tests.fabric.gateway import fabric_gateway
from tests.fabric.network import StandInNetwork


@pytest.fixture
def network(tmp_path: Path) -> Iterator[StandInNetwork]:
    """Two organizations, both endorsing every transaction."""
    with StandInNetwork(tmp_path / "network") as net:
        yield net


@pytest.fixture
def gateway(network: StandInNetwork, tmp_path: Path) -> Iterator[GatewayThread]:
    with fabric_gateway(network, tmp_path / "gateway") as running:
        yield running


@pytest.fixture
def channel(gateway: GatewayThread) -> Iterator[grpc.Channel]:
    with connected(gateway.address) as opened:
        yield opened


@pytest.fixture
def client(channel: grpc.Channel) -> GatewayClient:
    """MyOrg1MSP, registered, on mychannel/mycc."""
    return GatewayClient(channel).register()


@pytest.fixture
def client2(client: GatewayClient) -> GatewayClient:
    """MyOrg2MSP, registered, on the same connection."""
    return client.as_org("MyOrg2MSP").register()
