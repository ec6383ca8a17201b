"""Fixtures of the chaincode tests: a chaincode server on loopback and a harness peer in front of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestrator.chaincode.shim.server import ChaincodeServer
from tests.chaincode.harness import HarnessPeer, chaincode_server, harness_peer


@pytest.fixture
def server() -> Iterator[ChaincodeServer]:
    """The orchestrator chaincode, served in this process on 127.0.0.1."""
    with chaincode_server() as running:
        yield running


@pytest.fixture
def peer(server: ChaincodeServer) -> Iterator[HarnessPeer]:
    """A Fabric 2.5 peer (no write batches), registered with ``server``, channel mychannel, chaincode mycc."""
    with harness_peer(server.address) as connected:
        yield connected
