"""Metrics for operators in Fabric mode, scraped over HTTP after each situation happened for real."""

from __future__ import annotations

import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from orchestrator.api import algo_pb2, algo_pb2_grpc
from orchestrator.gateway.invoke.base import TX_ID_TRAILER
from orchestrator.gateway.server import GatewayThread
from tests import builders
from tests.client import GatewayClient, connected
from tests.fabric.gateway import fabric_gateway
from tests.fabric.network import StandInNetwork
from tests.fabric.test_resilience import new_algo

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
GUIDE = (ROOT / "docs" / "deployment.md").read_text()
ORG1, ORG2 = "MyOrg1MSP", "MyOrg2MSP"
CIRCUIT_OPEN = "orchestrator_fabric_peer_circuit_open"
FAILOVERS = "orchestrator_fabric_failovers_total"
IN_DOUBT = "orchestrator_fabric_in_doubt_total"
RETRIES_ANSWERED = "orchestrator_fabric_in_doubt_retries_answered_total"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(gateway: GatewayThread) -> Samples:
    """Every sample of ``/metrics``, by name and labels, parsed as Prometheus does."""
    with urllib.request.urlopen(f"http://127.0.0.1:{gateway.gateway.metrics_port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def in_doubt(samples: Samples, resolution: str) -> float | None:
    return value(samples, IN_DOUBT, channel="mychannel", resolution=resolution)


@pytest.fixture
def any_org_network(tmp_path: Path) -> Iterator[StandInNetwork]:
    """Two organizations, one peer each; either organization's endorsement is enough."""
    with StandInNetwork(tmp_path / "network", policy="any") as network:
        yield network


def test_a_dead_peer_shows_as_an_open_circuit_and_calls_it_cannot_serve_count_as_failovers(
        any_org_network: StandInNetwork, tmp_path: Path) -> None:
    network = any_org_network
    peer1, peer2 = network.peer(ORG1), network.peer(ORG2)
    with fabric_gateway(network, tmp_path / "gateway", metrics_listen="127.0.0.1:0") as gateway, \
            connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        samples = scrape(gateway)
        assert value(samples, CIRCUIT_OPEN, peer=peer1.address, mspid=ORG1) == 0
        assert value(samples, CIRCUIT_OPEN, peer=peer2.address, mspid=ORG2) == 0
        assert not [key for key in samples if key[0] == FAILOVERS]

        peer1.stop()
        client.register_algo(new_algo("through org2"))
        samples = scrape(gateway)
        assert value(samples, CIRCUIT_OPEN, peer=peer1.address, mspid=ORG1) == 1
        assert value(samples, CIRCUIT_OPEN, peer=peer2.address, mspid=ORG2) == 0
        for method in ("Endorse", "Submit"):
            assert (value(samples, FAILOVERS, mspid=ORG1, peer_mspid=ORG2, method=method) or 0) >= 1
        assert not [key for key in samples if key[0] == FAILOVERS and ("peer_mspid", ORG1) in key[1]]
        deadline = time.monotonic() + 10  # the commit listener, its stream cut, reads another organization's blocks
        while not value(scrape(gateway), FAILOVERS, mspid=ORG1, peer_mspid=ORG2, method="DeliverFiltered"):
            assert time.monotonic() < deadline, "the commit listener did not move to the other organization's peer"
            time.sleep(0.05)

        peer1.start()  # the background probe closes the circuit
        deadline = time.monotonic() + 10
        while value(scrape(gateway), CIRCUIT_OPEN, peer=peer1.address, mspid=ORG1) != 0:
            assert time.monotonic() < deadline, "the circuit stayed open after the peer came back"
            time.sleep(0.05)
        endorsed = value(scrape(gateway), FAILOVERS, mspid=ORG1, peer_mspid=ORG2, method="Endorse")
        client.register_algo(new_algo("back on org1"))
        samples = scrape(gateway)
        assert value(samples, FAILOVERS, mspid=ORG1, peer_mspid=ORG2, method="Endorse") == endorsed
    documented = set(re.findall(r"orchestrator_fabric_\w+", README + GUIDE))
    assert documented == {name for name, _ in samples if name.startswith("orchestrator_fabric_")}


def test_an_outcome_unknown_at_the_deadline_counts_as_unknown_and_its_answered_retry_is_counted(
        network: StandInNetwork, tmp_path: Path) -> None:
    with fabric_gateway(network, tmp_path / "gateway", metrics_listen="127.0.0.1:0") as gateway, \
            connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        samples = scrape(gateway)
        assert [in_doubt(samples, r) for r in ("committed", "invalidated", "unknown")] == [0, 0, 0]
        assert value(samples, RETRIES_ANSWERED, channel="mychannel") == 0

        with network.orderer.hold("mychannel"), pytest.raises(grpc.RpcError) as caught:
            client.register_algo(new_algo("in doubt"), timeout=1.0)
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert network.ledgers["mychannel"].wait_status(dict(caught.value.trailing_metadata() or ())[TX_ID_TRAILER],
                                                        10) is not None
        samples = scrape(gateway)
        assert [in_doubt(samples, r) for r in ("committed", "invalidated", "unknown")] == [0, 0, 1]
        assert value(samples, RETRIES_ANSWERED, channel="mychannel") == 0

        client.register_algo(new_algo("in doubt"))  # the retry is answered from the in-doubt memory
        samples = scrape(gateway)
        assert value(samples, RETRIES_ANSWERED, channel="mychannel") == 1
        assert [in_doubt(samples, r) for r in ("committed", "invalidated", "unknown")] == [0, 0, 1]


def test_calls_in_doubt_when_their_peer_dies_count_as_committed_or_invalidated_as_they_settled(
        any_org_network: StandInNetwork, tmp_path: Path) -> None:
    network = any_org_network
    with fabric_gateway(network, tmp_path / "gateway", metrics_listen="127.0.0.1:0") as gateway, \
            connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        client.register_algo(new_algo("settled normally"))
        assert [in_doubt(scrape(gateway), r) for r in ("committed", "invalidated", "unknown")] == [0, 0, 0]

        stub = algo_pb2_grpc.AlgoServiceStub(channel)
        algos = [new_algo(f"awaiting {n}") for n in range(3)]
        # the same key twice with different content: both endorsed before either commits, one is invalidated
        algos += [new_algo("contended", name="first"), new_algo("contended", name="second")]
        with network.orderer.hold("mychannel"):
            futures = []
            for algo in algos:
                futures.append(stub.RegisterAlgo.future(algo, metadata=client.metadata, timeout=60))
                deadline = time.monotonic() + 30
                while network.orderer.pending("mychannel") < len(futures):  # ordered, awaiting its block
                    assert time.monotonic() < deadline
                    time.sleep(0.02)
            network.peer(ORG1).stop()  # every status is in doubt now: the listener's peer is gone
        outcomes = []
        for future in futures:
            try:
                outcomes.append(future.result().name)
            except grpc.RpcError as exc:
                outcomes.append(exc.code().name)
        assert outcomes[:3] == ["Algo test"] * 3
        assert sorted(outcomes[3:]) in (["ALREADY_EXISTS", "first"], ["ALREADY_EXISTS", "second"])
        samples = scrape(gateway)
        assert [in_doubt(samples, r) for r in ("committed", "invalidated", "unknown")] == [4, 1, 0]
        assert client.get_algo(algo_pb2.GetAlgoParam(key=builders.key("contended"))).name in ("first", "second")
