"""The end-to-end scenarios' fixtures, driven through the harness: a harness peer in front of a chaincode server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaincode.e2e.network import HarnessClient, HarnessNetwork
from tests.chaincode.harness import FABRIC_3_1, ChaincodeProcess


@pytest.fixture
def network(tmp_path: Path) -> Iterator[HarnessNetwork]:
    net = HarnessNetwork(tmp_path)
    yield net
    net.close()


@pytest.fixture
def client(network: HarnessNetwork) -> HarnessClient:
    """MyOrg1MSP, registered, on mychannel/mycc."""
    return HarnessClient(network).register()


@pytest.fixture
def client2(client: HarnessClient) -> HarnessClient:
    """MyOrg2MSP, registered."""
    return client.as_org("MyOrg2MSP").register()


@pytest.fixture
def process_client(tmp_path: Path) -> Iterator[HarnessClient]:
    """MyOrg1MSP through a Fabric 3.1 harness peer (write batches) in front of ``orchestrator-chaincode`` in a
    subprocess, which gets a core of its own; the Fabric 2.5 path is the other scenarios'."""
    with ChaincodeProcess() as process:
        net = HarnessNetwork(tmp_path, address=process.address, capabilities=FABRIC_3_1)
        try:
            yield HarnessClient(net).register()
        finally:
            net.close()
