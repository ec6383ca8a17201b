"""Fixtures: a stand-in Fabric network on loopback, and Fabric clients of its organizations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest

from orchestrator.gateway.fabric.client import Endpoint, GatewayClient
from orchestrator.gateway.fabric.config import MAX_MESSAGE
from orchestrator.gateway.fabric.gateway import Gateway
from orchestrator.gateway.fabric.signing import SigningIdentity, load_signing_identity
from tests.chaincode.harness import FABRIC_3_1
from tests.fabric.network import DEFAULT_ORGS, StandInNetwork
from tests.fabric.processes import ChaincodeProcessExecutor

_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 100), ("grpc.max_reconnect_backoff_ms", 1000),
            ("grpc.max_receive_message_length", MAX_MESSAGE), ("grpc.max_send_message_length", MAX_MESSAGE)]


class Clients:
    """Builds Fabric clients of the network's organizations, and closes their channels at the end."""

    def __init__(self, network: StandInNetwork) -> None:
        self.network = network
        self._channels: list[grpc.Channel] = []
        self._gateways: list[Gateway] = []

    def endpoints(self, mspid: str, *, max_in_flight: int = 400, threaded: bool = False) -> list[Endpoint]:
        pki = self.network.pki[mspid]
        endpoints = []
        for peer in self.network.peers[mspid]:
            connect: Callable[[], grpc.aio.Channel]
            if self.network.tls:
                credentials = grpc.ssl_channel_credentials(root_certificates=pki.tls_ca.cert_path.read_bytes())
                channel = grpc.secure_channel(peer.address, credentials, options=_OPTIONS)
                connect = partial(grpc.aio.secure_channel, peer.address, credentials, options=_OPTIONS)
            else:
                channel = grpc.insecure_channel(peer.address, options=_OPTIONS)
                connect = partial(grpc.aio.insecure_channel, peer.address, options=_OPTIONS)
            self._channels.append(channel)
            # unary calls on asyncio channels, as the gateway makes them; ``threaded`` keeps gRPC futures
            endpoints.append(Endpoint(peer.address, channel, mspid, max_in_flight, None if threaded else connect))
        return endpoints

    def identity(self, mspid: str, *, as_mspid: str | None = None) -> SigningIdentity:
        user = self.network.users[mspid]
        return load_signing_identity(as_mspid or mspid, user.cert_path, user.key_path)

    def gateway(self, mspid: str, *, identity: SigningIdentity | None = None, max_in_flight: int = 400,
                threaded: bool = False, **options: Any) -> Gateway:
        client = GatewayClient(self.endpoints(mspid, max_in_flight=max_in_flight, threaded=threaded))
        gateway = Gateway(identity or self.identity(mspid), client, **options)
        self._gateways.append(gateway)
        return gateway

    def close(self) -> None:
        for gateway in self._gateways:
            gateway.close()
            gateway.client.close()
        for channel in self._channels:
            channel.close()


@pytest.fixture
def network(tmp_path: Path) -> Iterator[StandInNetwork]:
    """Two organizations, one TLS peer each, both must endorse; the contract runs inside the peer process."""
    with StandInNetwork(tmp_path / "network") as net:
        yield net


@pytest.fixture(scope="session")
def chaincode_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ChaincodeProcessExecutor]]:
    """``orchestrator-chaincode`` for MyOrg1MSP and for MyOrg2MSP, each in its own process, for the session.

    The processes hold no state (each transaction reads and writes the stand-in ledger through
    its simulation), so fresh networks can share them. Peers announce Fabric 3.1's capabilities
    (write batches, multi-key reads) so large plans stay quick; tests/chaincode covers 2.5 peers.
    """
    directory = tmp_path_factory.mktemp("chaincode")
    servers = {mspid: ChaincodeProcessExecutor(mspid, directory / mspid, capabilities=FABRIC_3_1)
               for mspid in DEFAULT_ORGS}
    yield servers
    for server in servers.values():
        server.close()


@pytest.fixture
def process_network(tmp_path: Path, chaincode_servers: dict[str, ChaincodeProcessExecutor]
                    ) -> Iterator[StandInNetwork]:
    """Two organizations, both endorsing every transaction, each with its own chaincode process."""
    with StandInNetwork(tmp_path / "network", executors=chaincode_servers.__getitem__, own_executors=False) as net:
        yield net


@pytest.fixture
def clients(network: StandInNetwork) -> Iterator[Clients]:
    made = Clients(network)
    yield made
    made.close()
