"""Fabric mode under faults and load: in-doubt outcomes resolved, failover across organizations, no thread per call."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from fabric_protos.peer import transaction_pb2

from orchestrator.api import algo_pb2, algo_pb2_grpc, common_pb2, computetask_pb2, event_pb2
from orchestrator.gateway.invoke.base import TX_ID_TRAILER
from orchestrator.gateway.invoke.fabric import FabricInvoker
from orchestrator.gateway.server import GatewayThread
from tests import builders
from tests.client import GatewayClient, connected
from tests.e2e import steps
from tests.fabric.gateway import fabric_gateway
from tests.fabric.network import StandInNetwork

ORG1, ORG2 = "MyOrg1MSP", "MyOrg2MSP"


def new_algo(ref: str, name: str = "Algo test") -> algo_pb2.NewAlgo:
    return algo_pb2.NewAlgo(
        key=builders.key(ref), name=name, category=algo_pb2.ALGO_SIMPLE,
        description=builders.addressable(f"{ref} description"), algorithm=builders.addressable(f"{ref} algorithm"),
        new_permissions=builders.public(),
    )


def invoker_of(gateway: GatewayThread) -> FabricInvoker:
    invoker = gateway.gateway.invoker
    assert isinstance(invoker, FabricInvoker)
    return invoker


@pytest.fixture
def any_org_network(tmp_path: Path) -> Iterator[StandInNetwork]:
    """Two organizations, one peer each; either organization's endorsement is enough."""
    with StandInNetwork(tmp_path / "network", policy="any") as network:
        yield network


# -- in-doubt outcomes ------------------------------------------------------------------------


def test_a_call_still_in_doubt_at_its_deadline_is_deadline_exceeded_naming_its_transaction(
        network: StandInNetwork, tmp_path: Path) -> None:
    ledger = network.ledgers["mychannel"]
    with fabric_gateway(network, tmp_path / "gateway") as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        with network.orderer.hold("mychannel"):
            with pytest.raises(grpc.RpcError) as caught:
                client.register_algo(new_algo("in doubt"), timeout=1.5)
            assert network.orderer.pending("mychannel") == 1
        error = caught.value
        assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        trailers = dict(error.trailing_metadata() or ())
        tx_id = trailers[TX_ID_TRAILER]
        assert len(tx_id) == 64 and tx_id in (error.details() or "")
        found = ledger.wait_status(tx_id, 10)  # the transaction named is the one that was ordered
        assert found is not None and found[1] == transaction_pb2.VALID


def test_a_registration_retried_after_an_in_doubt_answer_succeeds_only_with_the_same_content(
        network: StandInNetwork, tmp_path: Path) -> None:
    ledger = network.ledgers["mychannel"]
    with fabric_gateway(network, tmp_path / "gateway") as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        with network.orderer.hold("mychannel"), pytest.raises(grpc.RpcError) as caught:
            client.register_algo(new_algo("in doubt"), timeout=1.0)
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert ledger.wait_status(dict(caught.value.trailing_metadata() or ())[TX_ID_TRAILER], 10) is not None

        with pytest.raises(grpc.RpcError) as different:  # same key, other content: a genuine conflict
            client.register_algo(new_algo("in doubt", name="another name"))
        assert different.value.code() == grpc.StatusCode.ALREADY_EXISTS
        with pytest.raises(grpc.RpcError) as other_org:  # the same request by another organization is not a retry
            client.as_org(ORG2).register_algo(new_algo("in doubt"))
        assert other_org.value.code() == grpc.StatusCode.ALREADY_EXISTS

        retried = client.register_algo(new_algo("in doubt"))  # the backend's retry finds its own write
        assert retried == client.get_algo(algo_pb2.GetAlgoParam(key=builders.key("in doubt")))
        assert retried.owner == ORG1

        with pytest.raises(grpc.RpcError) as again:  # answered once: a further registration is a conflict again
            client.register_algo(new_algo("in doubt"))
        assert again.value.code() == grpc.StatusCode.ALREADY_EXISTS
        assert len(client.query_events(asset_key=builders.key("in doubt"))) == 1


def test_a_task_action_retried_after_an_in_doubt_answer_succeeds_instead_of_an_illegal_transition(
        network: StandInNetwork, tmp_path: Path) -> None:
    with fabric_gateway(network, tmp_path / "gateway") as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        steps.setup_train(client)
        steps.register_task(client, builders.new_train_task("task"))
        param = computetask_pb2.ApplyTaskActionParam(compute_task_key=builders.key("task"), action=steps.DOING)
        with network.orderer.hold("mychannel"), pytest.raises(grpc.RpcError) as caught:
            client.apply_task_action(param, timeout=1.0)
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert network.ledgers["mychannel"].wait_status(dict(caught.value.trailing_metadata() or ())[TX_ID_TRAILER],
                                                        10) is not None
        client.apply_task_action(param)  # the retry finds the task doing: its own earlier action
        assert steps.status(client, "task") == computetask_pb2.STATUS_DOING
        with pytest.raises(grpc.RpcError) as again:  # a further action is judged by the state machine again
            client.apply_task_action(param)
        assert "inappropriate in current state STATUS_DOING" in (again.value.details() or "")


def test_a_registration_that_exists_without_an_in_doubt_answer_is_already_exists(
        network: StandInNetwork, tmp_path: Path) -> None:
    with fabric_gateway(network, tmp_path / "gateway") as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        client.register_algo(new_algo("twice"))
        with pytest.raises(grpc.RpcError) as caught:
            client.register_algo(new_algo("twice"))
        assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS


def test_a_peer_killed_mid_load_answers_every_committed_call_with_its_result(
        any_org_network: StandInNetwork, tmp_path: Path) -> None:
    network = any_org_network
    clients, per_client = 8, 12
    with fabric_gateway(network, tmp_path / "gateway") as gateway, connected(gateway.address) as channel:
        owner = GatewayClient(channel).register()
        done = threading.Semaphore(0)
        failures: dict[str, grpc.RpcError] = {}

        def load(index: int) -> None:
            client = GatewayClient(channel)
            for n in range(per_client):
                ref = f"algo {index}.{n}"
                try:
                    client.register_algo(new_algo(ref), timeout=30)
                except grpc.RpcError as exc:
                    failures[ref] = exc
                done.release()

        threads = [threading.Thread(target=load, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for _ in range(clients * 2):  # the load is under way
            done.acquire()
        peer = network.peer(ORG1)
        peer.stop()  # calls in flight on it are cut: endorsements, submissions, status waits
        for _ in range(clients * 2):  # the load goes on through the other organization's peer
            done.acquire()
        peer.start()
        for thread in threads:
            thread.join()

        committed = {key for key in (builders.key(f"algo {i}.{n}") for i in range(clients) for n in range(per_client))
                     if _exists(owner, key)}
        wrongly_failed = {ref: exc.code() for ref, exc in failures.items() if builders.key(ref) in committed}
        assert not wrongly_failed  # no committed call answered with an error
        assert not failures  # and with failover, none failed at all
        created = owner.query_events(asset_kind=common_pb2.ASSET_ALGO, event_kind=event_pb2.EVENT_ASSET_CREATED)
        assert Counter(event.algo.key for event in created) == Counter(committed)
        assert network.peer(ORG2).calls.get("Endorse", 0) > 0


def _register_while_held(network: StandInNetwork, channel: grpc.Channel, refs: list[str]) -> list[grpc.Future]:
    """Start registrations and return once every one is ordered and awaits its block (the orderer holds it)."""
    stub = algo_pb2_grpc.AlgoServiceStub(channel)
    metadata = GatewayClient(channel).metadata
    futures = [stub.RegisterAlgo.future(new_algo(ref), metadata=metadata, timeout=60) for ref in refs]
    deadline = time.monotonic() + 30
    while network.orderer.pending("mychannel") < len(refs) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert network.orderer.pending("mychannel") == len(refs)
    return futures


@pytest.mark.parametrize("failover", [True, False], ids=["from-another-organization", "from-the-same-peer"])
def test_calls_awaiting_their_commit_when_the_peer_dies_get_their_result_once_a_peer_tells_it(
        any_org_network: StandInNetwork, tmp_path: Path, failover: bool) -> None:
    network = any_org_network
    refs = [f"awaiting {n}" for n in range(6)]
    with fabric_gateway(network, tmp_path / "gateway", fabric_failover=failover) as gateway, \
            connected(gateway.address) as channel:
        owner = GatewayClient(channel).register()
        peer = network.peer(ORG1)
        with network.orderer.hold("mychannel"):
            futures = _register_while_held(network, channel, refs)
            peer.stop()  # every call is in doubt: ordered, its status not known yet
        if not failover:
            network.ledgers["mychannel"].wait_height(network.ledgers["mychannel"].height, 5)
            time.sleep(0.5)  # committed meanwhile, but no peer of the organization can tell
            assert not any(future.done() for future in futures)
            peer.start()
        results = [future.result() for future in futures]
        assert [algo.key for algo in results] == [builders.key(ref) for ref in refs]
        assert all(algo.owner == ORG1 for algo in results)
        if failover:
            assert network.peer(ORG2).calls.get("CommitStatus", 0) + network.peer(ORG2).calls.get(
                "DeliverFiltered", 0) > 0
        assert all(_exists(owner, builders.key(ref)) for ref in refs)


def _exists(client: GatewayClient, key: str) -> bool:
    try:
        client.get_algo(algo_pb2.GetAlgoParam(key=key))
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.NOT_FOUND
        return False
    return True


# -- failover across organizations ------------------------------------------------------------


def test_when_no_peer_of_the_organization_answers_another_organizations_peer_serves_it_signed_as_the_caller(
        any_org_network: StandInNetwork, tmp_path: Path) -> None:
    network = any_org_network
    with fabric_gateway(network, tmp_path / "gateway") as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        org1_client = invoker_of(gateway).gateways[ORG1].client
        peer1, peer2 = network.peer(ORG1), network.peer(ORG2)
        peer1.stop()
        before = dict(peer2.calls)
        algo = client.register_algo(new_algo("through org2"))
        assert algo.owner == ORG1  # the transaction's creator is the caller, whichever peer carried it
        assert client.get_algo(algo_pb2.GetAlgoParam(key=algo.key)) == algo
        for method in ("Endorse", "Submit", "Evaluate"):
            assert peer2.calls.get(method, 0) > before.get(method, 0)
        assert org1_client.unreachable() == [peer1.address]  # set aside: later calls do not wait on it

        peer1.start()  # the background probe brings it back
        deadline = time.monotonic() + 10
        while org1_client.unreachable() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert org1_client.unreachable() == []
        endorsed = peer1.calls.get("Endorse", 0)
        client.register_algo(new_algo("back on org1"))
        assert peer1.calls.get("Endorse", 0) == endorsed + 1


# -- no thread per call -------------------------------------------------------------------------


def _gateway_threads() -> int:
    """Python threads of this process that are not the stand-in network's (peers and orderer)."""
    return sum(1 for thread in threading.enumerate() if not thread.name.startswith(("peer", "orderer")))


def test_a_thousand_calls_in_flight_do_not_add_threads(any_org_network: StandInNetwork, tmp_path: Path) -> None:
    network = any_org_network
    calls = 1000
    with fabric_gateway(network, tmp_path / "gateway") as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        client.register_algo(new_algo("warm-up"))
        stub = algo_pb2_grpc.AlgoServiceStub(channel)
        baseline = _gateway_threads()
        with network.orderer.hold("mychannel"):
            futures = [stub.RegisterAlgo.future(new_algo(f"algo {n}"), metadata=client.metadata, timeout=120)
                       for n in range(calls)]
            deadline = time.monotonic() + 120
            while network.orderer.pending("mychannel") < calls and time.monotonic() < deadline:
                time.sleep(0.05)
            assert network.orderer.pending("mychannel") == calls  # every call endorsed, submitted, awaiting its block
            in_flight_threads = _gateway_threads()
        results = [future.result() for future in futures]
        assert sorted(algo.key for algo in results) == sorted(builders.key(f"algo {n}") for n in range(calls))
        assert in_flight_threads <= baseline + 2
