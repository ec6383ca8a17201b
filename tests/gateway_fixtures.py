"""Fixtures of the tests that talk to a gateway as a backend does: the gateway, a connection, registered clients.

A conftest imports the ones it uses: all four for a standalone gateway in process, or
``channel``, ``client`` and ``client2`` over a ``gateway`` fixture of its own (Fabric mode,
tests/fabric/e2e/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from orchestrator.gateway.server import GatewayThread
from tests.client import GatewayClient, connected, running_gateway


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[GatewayThread]:
    """A standalone gateway in process, on loopback, with a fresh data directory."""
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


__all__ = ["channel", "client", "client2", "gateway"]
