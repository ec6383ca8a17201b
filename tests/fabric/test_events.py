"""Events in Fabric mode: read from the peers' chaincode events into a checkpointed log, served like embedded mode."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import grpc
import pytest
from fabric_protos.peer import chaincode_event_pb2, proposal_pb2, proposal_response_pb2

from orchestrator.api import datasample_pb2, event_pb2, organization_pb2
from orchestrator.gateway.fabric.contract import Contract
from orchestrator.gateway.fabric.proposal import Proposal
from orchestrator.shared import codec
from orchestrator.shared.events import event_id
from orchestrator.shared.functions import BY_NAME
from orchestrator.shared.store.transaction import CHAINCODE_EVENT_NAME, decode_events
from tests import builders
from tests.client import GatewayClient, connected
from tests.fabric.conftest import Clients
from tests.fabric.gateway import fabric_gateway
from tests.fabric.hops import CountingLoop
from tests.fabric.network import StandInNetwork
from tests.fabric.test_invoker import new_algo

REGISTER_ALGO = "orchestrator.algo:RegisterAlgo"
STREAM_TIMEOUT = 60.0  # a stream that misses an event fails the test instead of hanging it
REGISTER_ORGANIZATION = "orchestrator.organization:RegisterOrganization"
REGISTER_DATA_MANAGER = "orchestrator.datamanager:RegisterDataManager"
REGISTER_DATA_SAMPLES = "orchestrator.datasample:RegisterDataSamples"


def ledger_event_ids(network: StandInNetwork, channel: str = "mychannel", chaincode: str = "mycc") -> list[str]:
    """Every orchestrator event id in ledger order (block, then transaction, then emission order)."""
    ids = []
    for block in network.ledgers[channel].blocks:
        for tx in block.transactions:
            if tx.event is not None and tx.event.chaincode_id == chaincode:
                ids += [event.id for event in decode_events(tx.event.payload)]
    return ids


def assert_logged_once_in_ledger_order(client: GatewayClient, network: StandInNetwork) -> None:
    """The gateway's log holds exactly the ledger's events: streamed in ledger order, queried by time then id."""
    expected = ledger_event_ids(network)
    stream = client.subscribe()
    streamed = [event.id for event in take(stream, len(expected))]
    stream.cancel()
    assert streamed == expected
    queried = client.query_events()
    assert sorted(e.id for e in queried) == sorted(expected)
    order = [(e.timestamp.seconds, e.timestamp.nanos, e.id) for e in queried]
    assert order == sorted(order)  # EVT-8


def take(stream: Iterable[event_pb2.Event], count: int) -> list[event_pb2.Event]:
    events = []
    for event in stream:
        events.append(event)
        if len(events) == count:
            break
    return events


def _endorsed_event_ids(response: proposal_response_pb2.ProposalResponse) -> list[str]:
    """Ids of the orchestrator events in one endorser's proposal response."""
    payload = proposal_response_pb2.ProposalResponsePayload.FromString(response.payload)
    action = proposal_pb2.ChaincodeAction.FromString(payload.extension)
    event = chaincode_event_pb2.ChaincodeEvent.FromString(action.events)
    assert event.event_name == CHAINCODE_EVENT_NAME
    return [e.id for e in decode_events(event.payload)]


def test_event_ids_are_the_transaction_id_and_a_uuid_identical_on_every_endorser__EVT_2(
        process_network: StandInNetwork) -> None:
    """Two organizations' chaincode processes endorse one proposal: the same ids, in upstream's shape."""
    clients = Clients(process_network)
    try:
        contract = clients.gateway("MyOrg1MSP").get_network("mychannel").get_contract("mycc")
        contract.submit(REGISTER_ORGANIZATION, [codec.encode(organization_pb2.RegisterOrganizationParam())])
        contract.submit(REGISTER_DATA_MANAGER, [codec.encode(builders.new_data_manager())])
        proposal = contract.new_proposal(REGISTER_DATA_SAMPLES, [codec.encode(datasample_pb2.RegisterDataSamplesParam(
            samples=[builders.new_data_sample(f"sample {n}") for n in range(3)]))])
        endorsed = []
        for mspid in process_network.orgs:
            response, error = process_network.peer(mspid).process_proposal(proposal.signed)
            assert error is None and response.response.status == 200, response.response.message
            endorsed.append(_endorsed_event_ids(response))
    finally:
        clients.close()
    assert endorsed[0] == endorsed[1] and len(endorsed[0]) == 3
    for index, event_id_ in enumerate(endorsed[0]):
        assert re.fullmatch(rf"{proposal.tx_id}:[0-9a-f]{{8}}-[0-9a-f]{{4}}-5[0-9a-f]{{3}}-[89ab][0-9a-f]{{3}}-"
                            r"[0-9a-f]{12}", event_id_)
        assert event_id_ == event_id(proposal.tx_id, index)


def test_the_log_holds_every_event_once_streamed_in_ledger_order(network: StandInNetwork, clients: Clients,
                                                            tmp_path: Path) -> None:
    with fabric_gateway(network, tmp_path / "gateway") as gateway, connected(gateway.address) as channel:
        org1 = GatewayClient(channel).register()
        org2 = org1.as_org("MyOrg2MSP").register()
        for index in range(6):
            (org1 if index % 2 else org2).register_algo(new_algo(f"algo {index}"))
        assert len(ledger_event_ids(network)) == 8
        assert_logged_once_in_ledger_order(org1, network)


def test_a_subscriber_resumes_across_a_gateway_restart_without_gap_or_duplicate(
        network: StandInNetwork, clients: Clients, tmp_path: Path) -> None:
    data_dir = tmp_path / "gateway"
    with fabric_gateway(network, data_dir) as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        for index in range(3):
            client.register_algo(new_algo(f"before {index}"))
        stream = client.subscribe()
        first = take(stream, 2)
        stream.cancel()
    # while the gateway is down, the ledger moves on
    contract = clients.gateway("MyOrg2MSP").get_network("mychannel").get_contract("mycc")
    for index in range(3):
        contract.submit(REGISTER_ALGO, [codec.encode(new_algo(f"while down {index}"))])
    with fabric_gateway(network, data_dir) as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel)
        expected = ledger_event_ids(network)
        stream = client.subscribe(first[-1].id)
        rest = take(stream, len(expected) - len(first))
        stream.cancel()
        assert [e.id for e in first + rest] == expected
        assert_logged_once_in_ledger_order(client, network)


def test_the_event_log_resumes_from_its_checkpoint_after_a_restart(network: StandInNetwork, tmp_path: Path) -> None:
    data_dir = tmp_path / "gateway"
    with fabric_gateway(network, data_dir) as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        client.register_algo(new_algo("one"))
        feed = gateway.gateway.invoker.feed("mychannel", "mycc")  # type: ignore[attr-defined]
        checkpoint = feed.checkpoint
    assert checkpoint is not None and checkpoint.block_number == network.ledgers["mychannel"].height - 1
    with fabric_gateway(network, data_dir) as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel)
        client.register_algo(new_algo("two"))
        assert_logged_once_in_ledger_order(client, network)


def test_events_keep_flowing_when_the_feed_peer_goes_down(tmp_path: Path) -> None:
    with StandInNetwork(tmp_path / "net", peers_per_org={"MyOrg1MSP": 2}) as network, \
            fabric_gateway(network, tmp_path / "gateway") as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        client.register_algo(new_algo("before"))
        stream = client.subscribe()
        assert len(take(stream, 2)) == 2
        network.peer("MyOrg1MSP", 0).stop()
        client.register_algo(new_algo("after"))
        assert [e.algo.key for e in take(stream, 1)] == [new_algo("after").key]
        stream.cancel()
        assert_logged_once_in_ledger_order(client, network)


def test_events_of_invalidated_transactions_never_reach_the_log(network: StandInNetwork, clients: Clients,
                                                                tmp_path: Path) -> None:
    contract = clients.gateway("MyOrg1MSP").get_network("mychannel").get_contract("mycc")
    argument = [codec.encode(new_algo("contended"))]
    contract.submit("orchestrator.organization:RegisterOrganization",
                    [codec.encode(organization_pb2.RegisterOrganizationParam())])
    first = contract.endorse(contract.new_proposal(REGISTER_ALGO, argument), deadline=time.monotonic() + 10)
    second = contract.endorse(contract.new_proposal(REGISTER_ALGO, argument), deadline=time.monotonic() + 10)
    for prepared in (first, second):
        contract.submit_prepared(prepared, deadline=time.monotonic() + 10)
    assert contract.commit_status(second.tx_id, deadline=time.monotonic() + 10).code != 0
    with fabric_gateway(network, tmp_path / "gateway") as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel)
        client.register_algo(new_algo("marker"))
        events = client.query_events()
        assert_logged_once_in_ledger_order(client, network)
    assert [e.id.split(":")[0] for e in events].count(second.tx_id) == 0


def test_a_block_delivered_twice_is_logged_once(network: StandInNetwork, clients: Clients, tmp_path: Path) -> None:
    with fabric_gateway(network, tmp_path / "gateway") as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        client.register_algo(new_algo("once"))
        feed = gateway.gateway.invoker.feed("mychannel", "mycc")  # type: ignore[attr-defined]
        with clients.gateway("MyOrg1MSP").get_network("mychannel").chaincode_events("mycc", start_block=0) as stream:
            replayed = next(iter(stream))  # a peer replaying a block the log already holds
        feed._ingest(replayed)
        assert_logged_once_in_ledger_order(client, network)


# -- one order, catch-up, several replicas -------------------------------------------------------

def _page(client: GatewayClient, token: str = "", size: int = 2) -> event_pb2.QueryEventsResponse:
    return client.call(BY_NAME["orchestrator.event:QueryEvents"],
                       event_pb2.QueryEventsParam(page_token=token, page_size=size))


def _submit_late(contract: Contract, proposal: Proposal) -> None:
    """Endorse and commit a proposal made earlier: its events carry a timestamp older than blocks before it."""
    deadline = time.monotonic() + 10
    prepared = contract.endorse(proposal, deadline=deadline)
    contract.submit_prepared(prepared, deadline=deadline)
    assert contract.commit_status(proposal.tx_id, deadline=deadline).successful


def test_catching_up_by_paging_then_subscribing_loses_no_event_stamped_before_the_cursor(
        network: StandInNetwork, clients: Clients, tmp_path: Path) -> None:
    """Blocks are not in timestamp order: a transaction stamped early can commit after the listing began."""
    contract = clients.gateway("MyOrg2MSP").get_network("mychannel").get_contract("mycc")
    with fabric_gateway(network, tmp_path / "gateway") as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        late = contract.new_proposal(REGISTER_ALGO, [codec.encode(new_algo("stamped early, committed late"))])
        for index in range(6):
            client.register_algo(new_algo(f"algo {index}"))
        writer = GatewayClient(channel)
        writing = threading.Thread(target=lambda: [writer.register_algo(new_algo(f"concurrent {n}"))
                                                   for n in range(10)])
        first = _page(client)
        writing.start()
        try:
            _submit_late(contract, late)  # behind the cursor of the listing, in a block after its first page
            client.register_algo(new_algo("after the late one"))
            paged = [e.id for e in first.events]
            token = first.next_page_token
            while token:
                page = _page(client, token)
                paged += [e.id for e in page.events]
                token = page.next_page_token
            stream = client.subscribe(paged[-1], timeout=STREAM_TIMEOUT)
        finally:
            writing.join()
        expected = ledger_event_ids(network)
        assert len(expected) == 1 + 6 + 10 + 1 + 1
        streamed: list[str] = []
        missing = set(expected) - set(paged)
        while missing:
            streamed.append(next(stream).id)
            missing.discard(streamed[-1])
        stream.cancel()
    assert late.tx_id in {i.rpartition(":")[0] for i in streamed}
    assert streamed == [i for i in expected if i in set(streamed)]  # ledger order, each once
    assert set(paged) | set(streamed) == set(expected)


def _lagging_replica_config(network: StandInNetwork) -> dict[str, dict[str, object]]:
    """MyOrg1MSP's identity, through its second peer only (stopped by the tests, then restarted)."""
    organization = network.organization_config("MyOrg1MSP")
    organization["peers"] = [peer for peer in organization["peers"]
                             if peer["address"] == network.peer("MyOrg1MSP", 1).address]
    return {"MyOrg1MSP": organization}


def _restart_later(network: StandInNetwork, delay: float) -> threading.Timer:
    timer = threading.Timer(delay, network.peer("MyOrg1MSP", 1).start)
    timer.start()
    return timer


@pytest.fixture
def two_peer_network(tmp_path: Path) -> Iterator[StandInNetwork]:
    with StandInNetwork(tmp_path / "net", peers_per_org={"MyOrg1MSP": 2}) as network:
        yield network


def test_a_subscriber_moving_to_a_replica_that_lags_resumes_after_its_last_event_without_gap_or_duplicate(
        two_peer_network: StandInNetwork, tmp_path: Path) -> None:
    network = two_peer_network
    network.peer("MyOrg1MSP", 1).stop()  # the second replica's only peer: its log cannot follow yet
    with fabric_gateway(network, tmp_path / "a") as a, connected(a.address) as channel:
        client_a = GatewayClient(channel).register()
        for index in range(4):
            client_a.register_algo(new_algo(f"before {index}"))
        stream = client_a.subscribe(timeout=STREAM_TIMEOUT)
        first = take(stream, 3)
        stream.cancel()
        for index in range(3):
            client_a.register_algo(new_algo(f"after {index}"))
        expected = ledger_event_ids(network)
        with fabric_gateway(network, tmp_path / "b", organizations=_lagging_replica_config(network)) as b, \
                connected(b.address) as channel_b:
            assert b.gateway.invoker.feed("mychannel", "mycc").checkpoint is None  # type: ignore[attr-defined]
            timer = _restart_later(network, 1.0)
            stream = GatewayClient(channel_b).subscribe(first[-1].id, timeout=STREAM_TIMEOUT)
            rest = take(stream, len(expected) - len(first))
            client_a.register_algo(new_algo("live"))
            live = take(stream, 1)
            stream.cancel()
            timer.join()
    assert [e.id for e in first + rest] == expected
    assert [e.algo.key for e in live] == [new_algo("live").key]


def test_a_page_token_from_one_replica_continues_the_same_listing_on_a_replica_that_lags__PAGE_2(
        two_peer_network: StandInNetwork, tmp_path: Path) -> None:
    network = two_peer_network
    network.peer("MyOrg1MSP", 1).stop()
    with fabric_gateway(network, tmp_path / "a") as a, connected(a.address) as channel:
        client_a = GatewayClient(channel).register()
        for index in range(5):
            client_a.register_algo(new_algo(f"algo {index}"))
        listing = [e.id for e in client_a.query_events()]
        first = _page(client_a)
        client_a.register_algo(new_algo("after the first page"))
        with fabric_gateway(network, tmp_path / "b", organizations=_lagging_replica_config(network)) as b, \
                connected(b.address) as channel_b:
            timer = _restart_later(network, 1.0)
            client_b = GatewayClient(channel_b)
            paged = [e.id for e in first.events]
            token = first.next_page_token
            while token:
                page = _page(client_b, token)
                paged += [e.id for e in page.events]
                token = page.next_page_token
            timer.join()
    assert paged == listing


def test_resuming_from_an_unknown_event_of_a_known_transaction_is_not_found(
        network: StandInNetwork, tmp_path: Path) -> None:
    with fabric_gateway(network, tmp_path / "gateway") as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        tx_id = client.query_events()[0].id.rpartition(":")[0]
        for start in (event_id(tx_id, 5), "not an event id"):
            with pytest.raises(grpc.RpcError) as failure:
                next(iter(client.subscribe(start, timeout=STREAM_TIMEOUT)))
            assert failure.value.code() == grpc.StatusCode.NOT_FOUND


def test_subscribers_waiting_for_a_block_are_woken_with_one_hop_into_their_loop(
        network: StandInNetwork, tmp_path: Path) -> None:
    with fabric_gateway(network, tmp_path / "gateway") as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        feed = gateway.gateway.invoker.feed("mychannel", "mycc")  # type: ignore[attr-defined]
        checkpoint = feed.checkpoint
        assert checkpoint is not None
        loop = CountingLoop()

        async def wait_all() -> list[bool]:
            waits = [asyncio.ensure_future(feed.wait_for_block_async(checkpoint.block_number + 1, STREAM_TIMEOUT))
                     for _ in range(10)]
            await asyncio.sleep(0)  # every waiter registered
            threading.Thread(target=client.register_algo, args=(new_algo("wakes them all"),)).start()
            return list(await asyncio.gather(*waits))

        try:
            assert loop.run_until_complete(wait_all()) == [True] * 10
            assert len(loop.hops) == 1, loop.hops
        finally:
            loop.close()
