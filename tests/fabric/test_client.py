"""The Fabric Gateway client against the stand-in peers: proposals, signatures, the submit path, errors, events."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from fabric_protos.common import common_pb2
from fabric_protos.peer import proposal_pb2, transaction_pb2

from orchestrator.api import algo_pb2, organization_pb2
from orchestrator.gateway.fabric.client import Endpoint, GatewayClient
from orchestrator.gateway.fabric.commit import Status, Watch, settle_all
from orchestrator.gateway.fabric.errors import (
    CommitError,
    CommitStatusError,
    EndorseError,
    EvaluateError,
    GatewayError,
    SubmitError,
)
from orchestrator.gateway.fabric.gateway import Gateway
from orchestrator.gateway.fabric.proposal import prepared_transaction
from orchestrator.gateway.fabric.signing import SigningIdentity, signer_for
from orchestrator.shared import codec
from orchestrator.shared.store.transaction import CHAINCODE_EVENT_NAME, decode_events
from tests import builders
from tests.fabric.conftest import Clients
from tests.fabric.hops import CountingLoop
from tests.fabric.msp import verify_signature
from tests.fabric.network import StandInNetwork
from tests.fabric.orderer import OrdererUnavailableError
from tests.fabric.pki import new_key

REGISTER_ORG = "orchestrator.organization:RegisterOrganization"
ALL_ORGS = "orchestrator.organization:GetAllOrganizations"
GET_ALGO = "orchestrator.algo:GetAlgo"


def register_org(gateway: Gateway, channel: str = "mychannel", chaincode: str = "mycc") -> bytes:
    contract = gateway.get_network(channel).get_contract(chaincode)
    return contract.submit(REGISTER_ORG, [codec.encode(organization_pb2.RegisterOrganizationParam())])


# -- signatures and proposals -------------------------------------------------------------


def test_ecdsa_signatures_are_low_s_der_that_the_peer_accepts(clients: Clients) -> None:
    identity = clients.identity("MyOrg1MSP")
    certificate = clients.network.users["MyOrg1MSP"].cert
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    for index in range(64):  # about half of raw ECDSA signatures are high-S: 64 tries all but surely meet one
        message = f"message {index}".encode()
        signature = identity.sign(message)
        _, s = decode_dss_signature(signature)
        assert s <= order >> 1
        verify_signature(certificate, message, signature)


def test_transaction_id_is_sha256_of_nonce_and_creator(clients: Clients) -> None:
    gateway = clients.gateway("MyOrg1MSP")
    proposal = gateway.get_network("mychannel").get_contract("mycc").new_proposal(ALL_ORGS)
    header = common_pb2.Header.FromString(proposal_pb2.Proposal.FromString(proposal.signed.proposal_bytes).header)
    channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
    signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
    assert len(signature_header.nonce) == 24
    assert signature_header.creator == gateway.identity.creator
    assert channel_header.tx_id == proposal.tx_id
    assert proposal.tx_id == hashlib.sha256(signature_header.nonce + signature_header.creator).hexdigest()
    assert channel_header.channel_id == "mychannel" and channel_header.type == common_pb2.ENDORSER_TRANSACTION


def test_every_proposal_gets_a_fresh_transaction_id(clients: Clients) -> None:
    contract = clients.gateway("MyOrg1MSP").get_network("mychannel").get_contract("mycc")
    assert len({contract.new_proposal(ALL_ORGS).tx_id for _ in range(100)}) == 100


def test_ed25519_identities_sign_what_peers_accept(tmp_path: Path) -> None:
    with StandInNetwork(tmp_path / "net", key_type="ed25519") as network:
        clients = Clients(network)
        try:
            gateway = clients.gateway("MyOrg1MSP")
            assert gateway.identity.signer.algorithm == "Ed25519"
            organization = codec.decode_message(register_org(gateway), organization_pb2.Organization)
            assert organization.id == "MyOrg1MSP"
        finally:
            clients.close()


# -- evaluate and submit --------------------------------------------------------------------


@pytest.mark.parametrize("threaded", [False, True], ids=["asyncio-channel", "grpc-future"])
def test_submit_commits_and_a_later_evaluate_reads_it(clients: Clients, threaded: bool) -> None:
    gateway = clients.gateway("MyOrg1MSP", threaded=threaded)
    contract = gateway.get_network("mychannel").get_contract("mycc")
    committed = contract.submit_transaction(REGISTER_ORG, [codec.encode(organization_pb2.RegisterOrganizationParam())])
    assert codec.decode_message(committed.result, organization_pb2.Organization).id == "MyOrg1MSP"
    assert committed.block_number >= 1
    assert clients.network.ledgers["mychannel"].status(committed.tx_id) == (committed.block_number,
                                                                            transaction_pb2.VALID)
    reply = contract.evaluate(ALL_ORGS, [codec.encode(organization_pb2.GetAllOrganizationsParam())])
    assert [o.id for o in codec.decode_message(reply, organization_pb2.GetAllOrganizationsResponse).organizations] \
        == ["MyOrg1MSP"]


def test_the_prepared_transaction_carries_the_chaincode_event(clients: Clients) -> None:
    committed = clients.gateway("MyOrg1MSP").get_network("mychannel").get_contract("mycc").submit_transaction(
        REGISTER_ORG, [codec.encode(organization_pb2.RegisterOrganizationParam())])
    assert committed.event is not None and committed.event.event_name == CHAINCODE_EVENT_NAME
    assert committed.event.tx_id == committed.tx_id
    assert [e.asset_key for e in decode_events(committed.event.payload)] == ["MyOrg1MSP"]


def test_both_organizations_endorse_when_the_policy_requires_both(clients: Clients) -> None:
    gateway = clients.gateway("MyOrg1MSP")
    contract = gateway.get_network("mychannel").get_contract("mycc")
    proposal = contract.new_proposal(REGISTER_ORG, [codec.encode(organization_pb2.RegisterOrganizationParam())])
    prepared = contract.endorse(proposal, deadline=time.monotonic() + 10)
    payload = common_pb2.Payload.FromString(prepared.envelope.payload)
    action = transaction_pb2.ChaincodeActionPayload.FromString(
        transaction_pb2.Transaction.FromString(payload.data).actions[0].payload)
    endorsers = {clients.network.msp.deserialize(e.endorser).mspid for e in action.action.endorsements}
    assert endorsers == {"MyOrg1MSP", "MyOrg2MSP"}


def test_a_chaincode_error_on_evaluate_keeps_the_chaincode_text(clients: Clients) -> None:
    contract = clients.gateway("MyOrg1MSP").get_network("mychannel").get_contract("mycc")
    with pytest.raises(EvaluateError) as caught:
        contract.evaluate(GET_ALGO, [codec.encode(algo_pb2.GetAlgoParam(key=builders.key("absent")))])
    assert caught.value.code == grpc.StatusCode.UNKNOWN
    assert caught.value.chaincode_message == f'OE0002: algo with key "{builders.key("absent")}" not found'
    assert caught.value.details[0].msp_id == "MyOrg1MSP"


def test_a_chaincode_error_on_endorse_keeps_the_chaincode_text(clients: Clients) -> None:
    gateway = clients.gateway("MyOrg1MSP")
    register_org(gateway)
    contract = gateway.get_network("mychannel").get_contract("mycc")
    with pytest.raises(EndorseError) as caught:
        contract.submit(REGISTER_ORG, [codec.encode(organization_pb2.RegisterOrganizationParam())])
    assert caught.value.code == grpc.StatusCode.ABORTED
    assert caught.value.chaincode_message.startswith("OE0006: ")
    assert caught.value.tx_id


def test_transactions_endorsed_on_the_same_state_conflict_at_commit(clients: Clients) -> None:
    gateway = clients.gateway("MyOrg1MSP")
    contract = gateway.get_network("mychannel").get_contract("mycc")
    argument = [codec.encode(organization_pb2.RegisterOrganizationParam())]
    first = contract.endorse(contract.new_proposal(REGISTER_ORG, argument), deadline=time.monotonic() + 10)
    second = contract.endorse(contract.new_proposal(REGISTER_ORG, argument), deadline=time.monotonic() + 10)
    contract.submit_prepared(first, deadline=time.monotonic() + 10)
    contract.submit_prepared(second, deadline=time.monotonic() + 10)
    assert contract.commit_status(first.tx_id, deadline=time.monotonic() + 10).successful
    status = contract.commit_status(second.tx_id, deadline=time.monotonic() + 10)
    assert status.code == transaction_pb2.MVCC_READ_CONFLICT
    error = CommitError(second.tx_id, status.code, status.block_number)
    assert error.conflict and "MVCC_READ_CONFLICT" in str(error)


def test_a_resubmitted_transaction_is_invalidated_as_a_duplicate(clients: Clients) -> None:
    gateway = clients.gateway("MyOrg1MSP")
    contract = gateway.get_network("mychannel").get_contract("mycc")
    prepared = contract.endorse(contract.new_proposal(REGISTER_ORG, [codec.encode(
        organization_pb2.RegisterOrganizationParam())]), deadline=time.monotonic() + 10)
    contract.submit_prepared(prepared, deadline=time.monotonic() + 10)
    assert contract.commit_status(prepared.tx_id, deadline=time.monotonic() + 10).successful
    ledger = clients.network.ledgers["mychannel"]
    height = ledger.height
    contract.submit_prepared(prepared, deadline=time.monotonic() + 10)
    assert ledger.wait_height(height, 10)
    assert [tx.code for tx in ledger.blocks[height].transactions] == [transaction_pb2.DUPLICATE_TXID]


# -- identities the peer refuses ------------------------------------------------------------


def test_a_signature_by_the_wrong_key_is_refused_by_the_peer(clients: Clients) -> None:
    genuine = clients.identity("MyOrg1MSP")
    forged = SigningIdentity(genuine.identity, signer_for(new_key("ecdsa")))
    contract = clients.gateway("MyOrg1MSP", identity=forged).get_network("mychannel").get_contract("mycc")
    with pytest.raises(EvaluateError) as caught:
        contract.evaluate(ALL_ORGS, [codec.encode(organization_pb2.GetAllOrganizationsParam())])
    assert caught.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "access denied" in caught.value.message
    with pytest.raises(EndorseError) as endorse:
        contract.submit(REGISTER_ORG, [codec.encode(organization_pb2.RegisterOrganizationParam())])
    assert "access denied" in endorse.value.details[0].message
    assert endorse.value.chaincode_message is None


def test_an_identity_of_org1_claiming_org2_is_refused(clients: Clients) -> None:
    impostor = clients.identity("MyOrg1MSP", as_mspid="MyOrg2MSP")
    contract = clients.gateway("MyOrg1MSP", identity=impostor).get_network("mychannel").get_contract("mycc")
    with pytest.raises(EndorseError) as caught:
        contract.submit(REGISTER_ORG, [codec.encode(organization_pb2.RegisterOrganizationParam())])
    assert "not issued by a CA of MyOrg2MSP" in caught.value.details[0].message
    assert clients.network.ledgers["mychannel"].height == 1


def test_a_transaction_signed_by_another_key_is_refused_by_the_orderer(clients: Clients) -> None:
    gateway = clients.gateway("MyOrg1MSP")
    contract = gateway.get_network("mychannel").get_contract("mycc")
    prepared = contract.endorse(contract.new_proposal(REGISTER_ORG, [codec.encode(
        organization_pb2.RegisterOrganizationParam())]), deadline=time.monotonic() + 10)
    forged = SigningIdentity(gateway.identity.identity, signer_for(new_key("ecdsa")))
    contract_forged = clients.gateway("MyOrg1MSP", identity=forged).get_network("mychannel").get_contract("mycc")
    with pytest.raises(SubmitError) as caught:
        contract_forged.submit_prepared(prepared, deadline=time.monotonic() + 10)
    assert "FORBIDDEN" in caught.value.message


def test_commit_status_requests_are_signed_and_checked(clients: Clients) -> None:
    genuine = clients.identity("MyOrg1MSP")
    forged = SigningIdentity(genuine.identity, signer_for(new_key("ecdsa")))
    contract = clients.gateway("MyOrg1MSP", identity=forged).get_network("mychannel").get_contract("mycc")
    with pytest.raises(CommitStatusError) as caught:
        contract.commit_status("0" * 64, deadline=time.monotonic() + 10)
    assert caught.value.code == grpc.StatusCode.PERMISSION_DENIED


# -- deadlines, limits and failover -----------------------------------------------------------


def test_a_deadline_shorter_than_the_commit_fails_the_status_wait_not_the_transaction(clients: Clients) -> None:
    contract = clients.gateway("MyOrg1MSP").get_network("mychannel").get_contract("mycc")
    with clients.network.orderer.hold("mychannel"):
        with pytest.raises(CommitStatusError) as caught:
            contract.submit(REGISTER_ORG, [codec.encode(organization_pb2.RegisterOrganizationParam())], timeout=0.5)
        assert caught.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    tx_id = caught.value.tx_id
    assert clients.network.ledgers["mychannel"].wait_status(tx_id, 10) is not None


def test_calls_past_the_peer_limit_queue_in_the_client(tmp_path: Path) -> None:
    with StandInNetwork(tmp_path / "net", concurrency_limit=4, policy="any") as network:
        clients = Clients(network)
        try:
            contract = clients.gateway("MyOrg1MSP", max_in_flight=4).get_network("mychannel").get_contract("mycc")
            _run_concurrently(32, lambda: contract.evaluate(
                ALL_ORGS, [codec.encode(organization_pb2.GetAllOrganizationsParam())]))
            assert network.peer("MyOrg1MSP").limiter.refused == 0
        finally:
            clients.close()


def test_too_many_requests_refusals_are_retried(tmp_path: Path) -> None:
    with StandInNetwork(tmp_path / "net", concurrency_limit=2, policy="any") as network:
        clients = Clients(network)
        try:
            gateway = clients.gateway("MyOrg1MSP", max_in_flight=64)
            contract = gateway.get_network("mychannel").get_contract("mycc")
            with network.orderer.hold("mychannel"):
                # two commit-status waits hold both of the peer's slots: every other call is refused until they end
                waits = [threading.Thread(target=_ignore, args=(contract.commit_status, "f" * 64, 1.0))
                         for _ in range(2)]
                for wait in waits:
                    wait.start()
                while network.peer("MyOrg1MSP").calls.get("CommitStatus", 0) < 2:
                    time.sleep(0.005)
                reply = contract.evaluate(ALL_ORGS, [codec.encode(organization_pb2.GetAllOrganizationsParam())],
                                          timeout=30)
                for wait in waits:
                    wait.join()
            assert codec.decode_message(reply, organization_pb2.GetAllOrganizationsResponse) is not None
            assert network.peer("MyOrg1MSP").limiter.refused >= 1
        finally:
            clients.close()


@pytest.mark.parametrize("threaded", [False, True], ids=["asyncio-channel", "grpc-future"])
def test_an_unreachable_peer_fails_over_to_the_next_endpoint(tmp_path: Path, threaded: bool) -> None:
    with StandInNetwork(tmp_path / "net", peers_per_org={"MyOrg1MSP": 2}) as network:
        clients = Clients(network)
        try:
            gateway = clients.gateway("MyOrg1MSP", threaded=threaded)
            network.peer("MyOrg1MSP", 0).stop()
            register_org(gateway)
            assert network.peer("MyOrg1MSP", 1).calls["Endorse"] == 1
            network.peer("MyOrg1MSP", 1).stop()
            with pytest.raises(GatewayError) as caught:
                gateway.get_network("mychannel").get_contract("mycc").evaluate(ALL_ORGS, timeout=10)
            assert caught.value.code == grpc.StatusCode.UNAVAILABLE
            assert {d.address for d in caught.value.details} == {p.address for p in network.peers["MyOrg1MSP"]}
        finally:
            clients.close()


# -- chaincode events -----------------------------------------------------------------------


def test_chaincode_events_stream_from_a_block_and_resume_after_a_transaction(clients: Clients) -> None:
    gateway = clients.gateway("MyOrg1MSP")
    first = gateway.get_network("mychannel").get_contract("mycc").submit_transaction(
        REGISTER_ORG, [codec.encode(organization_pb2.RegisterOrganizationParam())])
    second = clients.gateway("MyOrg2MSP").get_network("mychannel").get_contract("mycc").submit_transaction(
        REGISTER_ORG, [codec.encode(organization_pb2.RegisterOrganizationParam())])
    network = gateway.get_network("mychannel")
    with network.chaincode_events("mycc", start_block=0) as stream:
        seen = []
        for response in stream:
            seen += [(response.block_number, e.tx_id) for e in response.events]
            if len(seen) == 2:
                break
    assert seen == [(first.block_number, first.tx_id), (second.block_number, second.tx_id)]
    with network.chaincode_events("mycc", start_block=first.block_number, after_transaction_id=first.tx_id) as stream:
        response = next(iter(stream))
    assert [e.tx_id for e in response.events] == [second.tx_id]


def test_prepared_transaction_parsing_reads_the_result() -> None:
    envelope = common_pb2.Envelope(payload=b"\x01garbage")
    with pytest.raises(ValueError):
        prepared_transaction("tx", envelope)


def _ignore(call: Callable[..., object], *args: Any) -> None:
    """``call(*args[:-1])`` with a deadline of ``args[-1]`` seconds, its Gateway error ignored."""
    with contextlib.suppress(GatewayError):
        call(*args[:-1], deadline=time.monotonic() + args[-1])


def _run_concurrently(count: int, call: Callable[[], object]) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


# -- commit listener ------------------------------------------------------------------------


def test_commit_statuses_come_from_filtered_blocks_not_one_call_per_transaction(clients: Clients) -> None:
    gateway = clients.gateway("MyOrg1MSP")
    contract = gateway.get_network("mychannel").get_contract("mycc")
    listener = gateway.get_network("mychannel").commit_listener()
    assert listener is not None
    while not listener.positioned:  # the stream delivers the newest block first
        clients.network.ledgers["mychannel"].wait_height(clients.network.ledgers["mychannel"].height, 0.01)
    committed = contract.submit_transaction(REGISTER_ORG, [codec.encode(organization_pb2.RegisterOrganizationParam())])
    assert committed.block_number >= 1
    peer = clients.network.peer("MyOrg1MSP")
    assert peer.calls.get("CommitStatus", 0) == 0 and peer.calls["DeliverFiltered"] >= 1


@pytest.mark.parametrize(("threaded", "hops"), [(False, 1), (True, 3)], ids=["asyncio-channel", "grpc-future"])
def test_a_submit_crosses_from_another_thread_only_for_its_block_status(
        clients: Clients, threaded: bool, hops: int) -> None:
    gateway = clients.gateway("MyOrg1MSP", threaded=threaded)
    contract = gateway.get_network("mychannel").get_contract("mycc")
    listener = gateway.get_network("mychannel").commit_listener()
    assert listener is not None
    while not listener.positioned:
        clients.network.ledgers["mychannel"].wait_height(clients.network.ledgers["mychannel"].height, 0.01)
    argument = [codec.encode(organization_pb2.RegisterOrganizationParam())]
    loop = CountingLoop()
    try:
        loop.run_until_complete(contract.evaluate_async(ALL_ORGS, argument))  # the loop's channel is connected
        loop.hops.clear()
        committed = loop.run_until_complete(contract.submit_transaction_async(REGISTER_ORG, argument))
        # Endorse and Submit complete on the loop (asyncio channel) or each wake it from gRPC's thread;
        # the listener's wake for the block is the one hop left
        assert len(loop.hops) == hops, loop.hops
        assert committed.block_number >= 1
        assert clients.network.peer("MyOrg1MSP").calls.get("CommitStatus", 0) == 0
    finally:
        gateway.client.close()  # closes the asyncio channels on this loop
        loop.close()


def test_a_block_wakes_each_waiting_loop_once_for_all_its_transactions() -> None:
    loop = CountingLoop()
    watches = [Watch(f"{n:064x}") for n in range(20)]

    async def wait_all() -> list[bool]:
        waits = [asyncio.ensure_future(watch.wait_async(10)) for watch in watches]
        await asyncio.sleep(0)  # every wait registered
        threading.Thread(target=settle_all, args=([(w, Status(w.tx_id, transaction_pb2.VALID, 7)) for w in watches],)
                         ).start()
        return list(await asyncio.gather(*waits))

    try:
        assert loop.run_until_complete(wait_all()) == [True] * 20
        assert len(loop.hops) == 1, loop.hops
        assert {watch.status.block_number for watch in watches if watch.status is not None} == {7}
    finally:
        loop.close()


def test_an_invalidated_transaction_gets_its_code_from_the_listener(clients: Clients) -> None:
    gateway = clients.gateway("MyOrg1MSP")
    contract = gateway.get_network("mychannel").get_contract("mycc")
    listener = gateway.get_network("mychannel").commit_listener()
    while not listener.positioned:
        clients.network.ledgers["mychannel"].wait_height(clients.network.ledgers["mychannel"].height, 0.01)
    argument = [codec.encode(organization_pb2.RegisterOrganizationParam())]
    first = contract.endorse(contract.new_proposal(REGISTER_ORG, argument), deadline=time.monotonic() + 10)
    second = contract.endorse(contract.new_proposal(REGISTER_ORG, argument), deadline=time.monotonic() + 10)
    watches = [contract.watch(p.tx_id) for p in (first, second)]
    for prepared in (first, second):
        contract.submit_prepared(prepared, deadline=time.monotonic() + 10)
    statuses = [contract.commit_status(p.tx_id, deadline=time.monotonic() + 10, watch=w)
                for p, w in zip((first, second), watches, strict=True)]
    assert [s.code for s in statuses] == [transaction_pb2.VALID, transaction_pb2.MVCC_READ_CONFLICT]
    assert clients.network.peer("MyOrg1MSP").calls.get("CommitStatus", 0) == 0


def test_without_a_positioned_listener_the_status_is_asked_per_transaction(clients: Clients) -> None:
    gateway = clients.gateway("MyOrg1MSP", commit_by_blocks=False)
    contract = gateway.get_network("mychannel").get_contract("mycc")
    assert gateway.get_network("mychannel").commit_listener() is None
    contract.submit(REGISTER_ORG, [codec.encode(organization_pb2.RegisterOrganizationParam())])
    assert clients.network.peer("MyOrg1MSP").calls["CommitStatus"] == 1


def test_a_submit_refused_while_the_network_closes_reports_the_refusal(
        clients: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    network = clients.gateway("MyOrg1MSP").get_network("mychannel")
    contract = network.get_contract("mycc")
    listener = network.commit_listener()
    assert listener is not None
    while not listener.positioned:  # so that the submission is watched
        clients.network.ledgers["mychannel"].wait_height(clients.network.ledgers["mychannel"].height, 0.01)

    def close_then_refuse(channel: str, envelope: bytes) -> None:  # the orderer refuses once the client closed
        network.close()
        raise OrdererUnavailableError("ordering service stopped")

    monkeypatch.setattr(clients.network.orderer, "broadcast", close_then_refuse)
    with pytest.raises(SubmitError) as caught:
        contract.submit_transaction(REGISTER_ORG, [codec.encode(organization_pb2.RegisterOrganizationParam())])
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE
    assert network.commit_listener() is None


def test_an_endpoint_that_accepts_but_never_answers_is_skipped_after_the_connection_budget(
        clients: Clients) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts TCP connections, never speaks TLS or HTTP/2
    try:
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        tls = grpc.ssl_channel_credentials(root_certificates=clients.network.pki["MyOrg1MSP"].tls_ca.cert_path
                                           .read_bytes())
        channel = grpc.secure_channel(address, tls)
        endpoints = [Endpoint(address, channel, "MyOrg1MSP"), *clients.endpoints("MyOrg1MSP")]
        client = GatewayClient(endpoints, connect_timeout=0.5)
        gateway = Gateway(clients.identity("MyOrg1MSP"), client)
        try:
            reply = gateway.get_network("mychannel").get_contract("mycc").evaluate(ALL_ORGS, timeout=30)
            assert codec.decode_message(reply, organization_pb2.GetAllOrganizationsResponse) is not None
        finally:
            gateway.close()
            client.close()
            channel.close()
    finally:
        silent.close()
