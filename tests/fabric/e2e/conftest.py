"""The end-to-end scenarios' fixtures in Fabric mode: gateway → stand-in network → one chaincode process per org."""

# The chaincode processes hold no state (every read and write goes to the stand-in ledger of
# the transaction), so one pair serves the whole session and each test gets a fresh network:
# fresh ledgers, peers, orderer and gateway. Peers announce Fabric 3.1's capabilities (write
# batches, multi-key reads) so large plans stay quick; tests/chaincode covers 2.5 peers too.

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from orchestrator.gateway.server import GatewayThread
from tests.chaincode.harness import FABRIC_3_1
from tests.client import GatewayClient, GatewayProcess, connected
from tests.fabric.gateway import fabric_gateway
from tests.fabric.network import DEFAULT_ORGS, StandInNetwork
from tests.fabric.processes import ChaincodeProcessExecutor


@pytest.fixture(scope="session")
def chaincode_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ChaincodeProcessExecutor]]:
    """``orchestrator-chaincode`` for MyOrg1MSP and for MyOrg2MSP, each in its own process."""
    directory = tmp_path_factory.mktemp("chaincode")
    servers = {mspid: ChaincodeProcessExecutor(mspid, directory / mspid, capabilities=FABRIC_3_1)
               for mspid in DEFAULT_ORGS}
    yield servers
    for server in servers.values():
        server.close()


@pytest.fixture
def network(tmp_path: Path, chaincode_servers: dict[str, ChaincodeProcessExecutor]) -> Iterator[StandInNetwork]:
    """Two organizations, both endorsing every transaction, each with its own chaincode process."""
    with StandInNetwork(tmp_path / "network", executors=chaincode_servers.__getitem__, own_executors=False) as net:
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


@pytest.fixture
def process_client(network: StandInNetwork, tmp_path: Path) -> Iterator[GatewayClient]:
    """A client of a Fabric-mode gateway subprocess: the long scenarios give the gateway a core of its own."""
    config = network.gateway_config(tmp_path / "gateway.yaml")
    gateway = GatewayProcess(tmp_path / "gateway-data", "--config", str(config), "--log-level", "WARNING",
                             "--workers", "64").wait_serving()
    try:
        with connected(gateway.address) as channel:
            yield GatewayClient(channel).register()
    finally:
        gateway.stop(signal.SIGTERM)
