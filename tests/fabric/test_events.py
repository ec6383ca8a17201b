"""Events in Fabric mode: read from the peers' chaincode events into a checkpointed log, served like embedded mode."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from pathlib import Path

from fabric_protos.peer import chaincode_event_pb2, proposal_pb2, proposal_response_pb2

from orchestrator.api import datasample_pb2, event_pb2, organization_pb2
from orchestrator.shared import codec
from orchestrator.shared.events import event_id
from orchestrator.shared.store.transaction import CHAINCODE_EVENT_NAME, decode_events
from tests import builders
from tests.client import GatewayClient, connected
from tests.fabric.conftest import Clients
from tests.fabric.gateway import fabric_gateway
from tests.fabric.network import StandInNetwork
from tests.fabric.test_invoker import new_algo

REGISTER_ALGO = "orchestrator.algo:RegisterAlgo"
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
