"""Fixtures of the end-to-end scenarios: each runs against its own gateway, as a backend would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from orchestrator.gateway.server import GatewayThread
from tests.client import GatewayClient, connected, running_gateway


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[GatewayThread]:
    with running_gateway(tmp_path / "data") as running:
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
