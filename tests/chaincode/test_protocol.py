"""The shim on Fabric's chaincode protocol: registration, state table, keepalive, concurrency, reconnection."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import threading
from collections.abc import Iterator

import grpc
import pytest
from fabric_protos.peer import chaincode_pb2, chaincode_shim_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from orchestrator.chaincode.shim.server import ChaincodeServer
from tests.chaincode.chaincodes import RaisingChaincode, StateChaincode, call
from tests.chaincode.harness import (
    CCID,
    FABRIC_3_1,
    STREAM_TERMINATED,
    ChaincodeConnection,
    HarnessPeer,
    Simulation,
    VersionedState,
    build_proposal,
    chaincode_server,
    harness_peer,
    identity_for,
)

Message = chaincode_shim_pb2.ChaincodeMessage
WAIT = 30.0  # a guard against hanging, never an assertion on time


@pytest.fixture
def state_chaincode() -> StateChaincode:
    return StateChaincode()


@pytest.fixture
def state_server(state_chaincode: StateChaincode) -> Iterator[ChaincodeServer]:
    with chaincode_server(state_chaincode) as running:
        yield running


@pytest.fixture
def state_peer(state_server: ChaincodeServer) -> Iterator[HarnessPeer]:
    with harness_peer(state_server.address) as connected:
        yield connected


def _next(connection: ChaincodeConnection) -> Message:
    return connection.unexpected.get(timeout=WAIT)


# -- registration and the state table ---------------------------------------------------------


def test_the_chaincode_speaks_first_with_register_naming_its_package_id(server: ChaincodeServer) -> None:
    with ChaincodeConnection(server.address) as connection:
        first = connection.open()
        assert first.type == Message.REGISTER
        assert chaincode_pb2.ChaincodeID.FromString(first.payload).name == CCID


def test_registered_then_ready_lets_transactions_flow(server: ChaincodeServer) -> None:
    with harness_peer(server.address) as peer:
        assert peer.connection.ccid == CCID
        assert peer.query("MyOrg1MSP", "orchestrator.info:QueryVersion") is not None


def test_a_transaction_before_registered_is_answered_error_and_the_stream_ends(server: ChaincodeServer) -> None:
    with ChaincodeConnection(server.address) as connection:
        connection.open()
        connection.send(Message(type=Message.TRANSACTION, txid="t1", channel_id="mychannel"))
        reply = _next(connection)
        assert reply.type == Message.ERROR
        assert reply.txid == "t1"
        assert b"(TRANSACTION) while in state: created" in reply.payload
        assert connection.wait_closed(WAIT)


def test_ready_before_registered_is_refused(server: ChaincodeServer) -> None:
    with ChaincodeConnection(server.address) as connection:
        connection.open()
        connection.send(Message(type=Message.READY))
        assert b"(READY) while in state: created" in _next(connection).payload
        assert connection.wait_closed(WAIT)


def test_a_transaction_between_registered_and_ready_is_refused(server: ChaincodeServer) -> None:
    with ChaincodeConnection(server.address) as connection:
        connection.open()
        connection.send(Message(type=Message.REGISTERED))
        connection.send(Message(type=Message.TRANSACTION, txid="t2"))
        assert b"(TRANSACTION) while in state: established" in _next(connection).payload
        assert connection.wait_closed(WAIT)


def test_a_second_registered_once_ready_ends_the_stream(peer: HarnessPeer) -> None:
    peer.connection.send(Message(type=Message.REGISTERED))
    assert b"(REGISTERED) while in state: ready" in _next(peer.connection).payload
    assert peer.connection.wait_closed(WAIT)


@pytest.mark.parametrize("registered", [False, True], ids=["created", "ready"])
def test_keepalive_is_echoed_in_any_state(server: ChaincodeServer, registered: bool) -> None:
    with ChaincodeConnection(server.address) as connection:
        if registered:
            connection.connect()
        else:
            connection.open()
        connection.send_keepalive()
        connection.send_keepalive()
        # A transaction behind the keepalives proves they were handled (the stream is ordered).
        if registered:
            peer = HarnessPeer(connection)
            peer.query("MyOrg1MSP", "orchestrator.info:QueryVersion")
            assert connection.keepalives_received == 2
        else:
            connection.send(Message(type=Message.READY))  # refused in created state: an ERROR follows the echoes
            assert _next(connection).type == Message.ERROR
            assert connection.keepalives_received == 2


def test_a_stray_response_for_a_finished_transaction_is_dropped_and_the_stream_lives(peer: HarnessPeer) -> None:
    peer.connection.send(Message(type=Message.RESPONSE, txid="nobody", channel_id="mychannel"))
    peer.connection.send(Message(type=Message.ERROR, txid="nobody", channel_id="mychannel", payload=b"late"))
    assert peer.query("MyOrg1MSP", "orchestrator.info:QueryVersion") is not None
    assert peer.connection.connected


def test_health_reports_serving_for_the_server_and_the_chaincode_service(server: ChaincodeServer) -> None:
    with grpc.insecure_channel(server.address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for service in ("", "protos.Chaincode"):
            answer = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=WAIT)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING


# -- transactions ------------------------------------------------------------------------------


def test_sixteen_transactions_are_in_flight_at_once_and_each_gets_its_own_answer(
        state_chaincode: StateChaincode, state_peer: HarnessPeer) -> None:
    # Each transaction reads, then waits at a barrier of 16 before writing: the barrier only
    # opens if 16 transactions are running on the chaincode at the same time.
    state_chaincode.barrier = threading.Barrier(16)
    proposals = [state_peer.proposal("MyOrg1MSP", "together", f"key{n}".encode()) for n in range(16)]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        endorsements = list(pool.map(state_peer.endorse, proposals))
    for proposal, endorsement in zip(proposals, endorsements, strict=True):
        assert endorsement.ok, endorsement.response.message
        assert json.loads(endorsement.payload) == proposal.tx_id
        assert endorsement.write_set == {endorsement.read_set.popitem()[0]: proposal.tx_id.encode()}


def test_many_concurrent_transactions_on_many_peers_streams_do_not_mix(state_server: ChaincodeServer) -> None:
    with harness_peer(state_server.address) as first, harness_peer(state_server.address) as second:
        def run(args: tuple[HarnessPeer, int]) -> tuple[int, object]:
            peer, n = args
            return n, call(peer, "increment", f"counter{n % 4}")

        jobs = [(first if n % 2 else second, n) for n in range(64)]
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            results = dict(pool.map(run, jobs))
        assert len(results) == 64
        assert len(state_server.handlers) == 2


def test_a_failure_in_one_transaction_leaves_the_others_untouched(server: ChaincodeServer) -> None:
    with chaincode_server(RaisingChaincode()) as raising, harness_peer(raising.address) as peer:
        proposals = [peer.proposal("MyOrg1MSP", "boom" if n % 2 else "read") for n in range(32)]
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            endorsements = list(pool.map(peer.endorse, proposals))
        for n, endorsement in enumerate(endorsements):
            if n % 2:
                assert endorsement.response.status == 500
                assert endorsement.response.message == "ZeroDivisionError: rule divided by zero"
            else:
                assert endorsement.ok
                assert endorsement.payload == b"none"


def test_an_exception_in_init_is_an_error_message_and_the_chaincode_serves_on() -> None:
    with chaincode_server(RaisingChaincode()) as raising, harness_peer(raising.address, init_required=True) as peer:
        endorsement = peer.endorse(peer.proposal("MyOrg1MSP", "", is_init=True))
        assert endorsement.response.status == 500
        assert "transaction returned with failure: RuntimeError: init exploded" in endorsement.response.message
        assert peer.connection.connected


def test_a_transaction_without_a_signed_proposal_is_answered_error(state_peer: HarnessPeer) -> None:
    completion = state_peer.connection.execute("mychannel", "no-proposal", None, [b"get", b"k"],
                                               Simulation(VersionedState()))
    assert completion.response is None
    assert "transaction without a signed proposal" in completion.error
    assert call(state_peer, "get", "k") is None  # the next one runs


def test_an_undecodable_chaincode_input_is_answered_error(state_peer: HarnessPeer) -> None:
    proposal = state_peer.proposal("MyOrg1MSP", "get", b"k")
    connection = state_peer.connection
    connection.send(Message(type=Message.TRANSACTION, txid="garbage", channel_id="mychannel", payload=b"\xff\xff",
                            proposal=proposal.signed))
    reply = _next(connection)  # no transaction context on our side: it lands among the unexpected messages
    assert reply.type == Message.ERROR
    assert b"failed to unmarshal input" in reply.payload


def test_a_refused_state_request_fails_that_transaction_with_the_peers_text(state_peer: HarnessPeer) -> None:
    endorsement = state_peer.endorse(state_peer.proposal("MyOrg1MSP", "put_then_page", b"k"))
    # Writes go first only once the transaction ends (batched or not): the peer refuses the
    # write after a paginated query, as Fabric's simulator does.
    assert endorsement.response.status == 500
    assert "Writes are not allowed" in endorsement.response.message or \
        "Paginated queries are supported only in a read-only transaction" in endorsement.response.message


def test_the_chaincode_event_travels_in_completed(state_peer: HarnessPeer) -> None:
    endorsement = state_peer.endorse(state_peer.proposal("MyOrg1MSP", "event", b"chaincode-updates", b"payload"))
    assert endorsement.event is not None
    assert (endorsement.event.event_name, endorsement.event.payload) == ("chaincode-updates", b"payload")
    state_peer.commit(endorsement)
    assert [(e.tx_id, e.event.payload) for e in state_peer.events] == [(endorsement.tx_id, b"payload")]


def test_the_caller_is_the_creators_msp_and_the_time_the_channel_headers(state_peer: HarnessPeer) -> None:
    proposal = state_peer.proposal("MyOrg2MSP", "whoami", timestamp_ns=1_654_041_600_123_456_789)
    answer = json.loads(state_peer.endorse(proposal).check().payload)
    assert answer == {"msp": "MyOrg2MSP", "ts": 1_654_041_600_123_456_789, "tx": proposal.tx_id,
                      "channel": "mychannel"}


def test_the_stub_reads_creator_nonce_transient_map_and_binding_as_fabric_defines_them(
        state_peer: HarnessPeer) -> None:
    signer = identity_for("MyOrg1MSP")
    proposal = build_proposal(signer, state_peer.channel, state_peer.chaincode, [b"proposal"], nonce=b"n" * 24,
                              transient={"secret": b"not on the ledger"})
    answer = json.loads(state_peer.endorse(proposal).check().payload)
    epoch = (0).to_bytes(8, "little")  # the channel header's epoch: 0, as every Fabric client sets it
    assert answer == {"msp": "MyOrg1MSP", "creator": signer.serialized.hex(), "nonce": (b"n" * 24).hex(),
                      "binding": hashlib.sha256(b"n" * 24 + signer.serialized + epoch).hexdigest(),
                      "transient": {"secret": "not on the ledger"}}


def test_callers_of_many_organizations_in_turn_are_each_named_by_their_own_msp(state_peer: HarnessPeer) -> None:
    # The decoded creator is remembered per certificate: interleaved callers must never be mixed up.
    mspids = ["MyOrg1MSP", "MyOrg2MSP", "MyOrg1MSP", "MyOrg3MSP", "MyOrg2MSP"]
    answers = [json.loads(state_peer.endorse(state_peer.proposal(mspid, "proposal")).check().payload)
               for mspid in mspids]
    assert [answer["msp"] for answer in answers] == mspids
    assert [answer["creator"] for answer in answers] == [identity_for(m).serialized.hex() for m in mspids]


# -- the stream goes away ------------------------------------------------------------------------


def test_a_peer_that_disconnects_mid_transaction_and_reconnects_is_served_again(
        state_chaincode: StateChaincode, state_server: ChaincodeServer) -> None:
    first = harness_peer(state_server.address)
    peer = first.__enter__()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(peer.endorse, peer.proposal("MyOrg1MSP", "wait", b"k"))
        assert state_chaincode.entered.acquire(timeout=WAIT)  # the transaction runs on the chaincode
        peer.connection.close()  # the peer goes away
        endorsement = pending.result(timeout=WAIT)
    assert STREAM_TERMINATED in endorsement.response.message
    state_chaincode.release.set()  # the orphaned transaction resumes, finds the stream gone, ends
    with harness_peer(state_server.address) as again:
        assert call(again, "put", "k", "v") == 1
        assert call(again, "get", "k") == "v"
    first.__exit__(None, None, None)


def test_stopping_the_server_lets_a_running_transaction_answer_and_refuses_new_ones(
        state_chaincode: StateChaincode) -> None:
    server = ChaincodeServer(state_chaincode, CCID, "127.0.0.1:0").start()
    with harness_peer(server.address) as peer, concurrent.futures.ThreadPoolExecutor(2) as pool:
        running = pool.submit(peer.endorse, peer.proposal("MyOrg1MSP", "wait", b"k"))
        assert state_chaincode.entered.acquire(timeout=WAIT)
        stopping = pool.submit(server.stop, WAIT)
        while all(h.accepting for h in server.handlers):  # the stop has begun: new work is refused
            threading.Event().wait(0.01)
        refused = peer.endorse(peer.proposal("MyOrg1MSP", "get", b"k"))
        state_chaincode.release.set()
        assert running.result(timeout=WAIT).ok
        stopping.result(timeout=WAIT)
    assert "chaincode is shutting down" in refused.response.message


def test_write_batches_announced_by_a_fabric_3_peer_carry_every_write_in_few_messages(
        state_server: ChaincodeServer) -> None:
    pairs = [item for n in range(2500) for item in (f"k{n:04d}", str(n))]
    with harness_peer(state_server.address, capabilities=FABRIC_3_1) as peer:
        endorsement = peer.endorse(peer.proposal("MyOrg1MSP", "put", *(p.encode() for p in pairs))).check()
        assert peer.connection.served["WRITE_BATCH_STATE"] == 3  # 1000 + 1000 + 500
        assert peer.connection.served["PUT_STATE"] == 0
        assert len(endorsement.write_set) == 2500
    with harness_peer(state_server.address) as peer:
        endorsement = peer.endorse(peer.proposal("MyOrg1MSP", "put", *(p.encode() for p in pairs[:20]))).check()
        assert peer.connection.served["PUT_STATE"] == 10
        assert len(endorsement.write_set) == 10
