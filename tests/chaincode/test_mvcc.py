"""Commit-time validation through the harness, as Fabric does it: MVCC, phantoms, duplicates, init exactly once."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from orchestrator.api import organization_pb2
from orchestrator.chaincode.shim.server import ChaincodeServer
from orchestrator.shared import codec
from orchestrator.shared.store.transaction import decode_events
from tests.chaincode.chaincodes import StateChaincode, call
from tests.chaincode.harness import (
    DUPLICATE_TXID,
    INITIALIZED_KEY,
    MVCC_READ_CONFLICT,
    PHANTOM_READ_CONFLICT,
    VALID,
    HarnessPeer,
    chaincode_server,
    harness_peer,
)

REGISTER_ORG = "orchestrator.organization:RegisterOrganization"


@pytest.fixture(scope="module")
def state_server() -> Iterator[ChaincodeServer]:
    with chaincode_server(StateChaincode()) as running:
        yield running


@pytest.fixture
def state_peer(state_server: ChaincodeServer) -> Iterator[HarnessPeer]:
    with harness_peer(state_server.address) as connected:
        yield connected


def test_the_second_of_two_transactions_endorsed_on_the_same_version_is_invalidated_and_applies_nothing(
        state_peer: HarnessPeer) -> None:
    call(state_peer, "put", "counter", "10")
    first = state_peer.endorse(state_peer.proposal("MyOrg1MSP", "increment", b"counter")).check()
    second = state_peer.endorse(state_peer.proposal("MyOrg2MSP", "increment", b"counter")).check()
    assert first.read_set == second.read_set == {"counter": (1, 0)}
    assert state_peer.commit(first) == [VALID]
    assert state_peer.commit(second) == [MVCC_READ_CONFLICT]
    assert state_peer.state.items()["counter"] == b"11"
    assert state_peer.status(second.tx_id) == (3, MVCC_READ_CONFLICT)


def test_within_one_block_a_later_transaction_conflicts_with_an_earlier_valid_one(state_peer: HarnessPeer) -> None:
    first = state_peer.endorse(state_peer.proposal("MyOrg1MSP", "increment", b"n")).check()
    second = state_peer.endorse(state_peer.proposal("MyOrg1MSP", "increment", b"n")).check()
    other = state_peer.endorse(state_peer.proposal("MyOrg1MSP", "increment", b"m")).check()
    assert state_peer.commit(first, second, other) == [VALID, MVCC_READ_CONFLICT, VALID]
    assert state_peer.state.items() == {"n": b"1", "m": b"1"}


def test_a_key_appearing_in_a_scanned_range_is_a_phantom_and_the_scanner_writes_nothing(
        state_peer: HarnessPeer) -> None:
    call(state_peer, "put", "r1", "x", "r3", "x")
    scanner = state_peer.endorse(state_peer.proposal("MyOrg1MSP", "scan", b"r", b"s")).check()
    assert json.loads(scanner.payload) == ["r1", "r3"]
    inserter = state_peer.endorse(state_peer.proposal("MyOrg2MSP", "put", b"r2", b"new")).check()
    assert state_peer.commit(inserter) == [VALID]
    assert state_peer.commit(scanner) == [PHANTOM_READ_CONFLICT]


def test_a_change_beyond_what_an_unfinished_range_fetched_is_no_phantom(state_peer: HarnessPeer) -> None:
    call(state_peer, "put", *(item for n in range(150) for item in (f"k{n:03d}", "v")))
    partial = state_peer.endorse(state_peer.proposal("MyOrg1MSP", "scan", b"k", b"l", b"3")).check()
    beyond = state_peer.endorse(state_peer.proposal("MyOrg1MSP", "put", b"k149", b"changed")).check()
    assert state_peer.commit(beyond) == [VALID]
    assert state_peer.commit(partial) == [VALID]  # it fetched k000..k100: k149 was never read


def test_a_committed_transaction_id_is_a_duplicate_at_commit_and_refused_at_endorsement(
        state_peer: HarnessPeer) -> None:
    proposal = state_peer.proposal("MyOrg1MSP", "increment", b"d")
    endorsement = state_peer.endorse(proposal).check()
    assert state_peer.commit(endorsement) == [VALID]
    assert state_peer.commit(endorsement) == [DUPLICATE_TXID]
    again = state_peer.endorse(proposal)
    assert again.response.status == 500
    assert again.response.message == f"duplicate transaction found [{proposal.tx_id}]"
    assert state_peer.state.items()["d"] == b"1"


def test_the_same_transaction_twice_in_one_block_is_valid_once(state_peer: HarnessPeer) -> None:
    endorsement = state_peer.endorse(state_peer.proposal("MyOrg1MSP", "increment", b"e")).check()
    assert state_peer.commit(endorsement, endorsement) == [VALID, DUPLICATE_TXID]


def test_a_tampered_proposal_is_refused_before_the_chaincode_runs(state_peer: HarnessPeer) -> None:
    proposal = state_peer.proposal("MyOrg1MSP", "increment", b"t")
    proposal.signed.signature = proposal.signed.signature[:-1] + bytes([proposal.signed.signature[-1] ^ 1])
    refused = state_peer.endorse(proposal)
    assert refused.response.message == "access denied: creator signature invalid"
    assert state_peer.connection.served.total() == 0


def test_concurrent_registrations_of_one_organization_leave_one_organization_and_one_event(
        peer: HarnessPeer) -> None:
    argument = codec.encode(organization_pb2.RegisterOrganizationParam())
    first = peer.endorse(peer.proposal("NewOrgMSP", REGISTER_ORG, argument)).check()
    second = peer.endorse(peer.proposal("NewOrgMSP", REGISTER_ORG, argument)).check()
    assert peer.commit(first, second) == [VALID, MVCC_READ_CONFLICT]
    assert "organization:NewOrgMSP" in peer.state.items()
    (committed,) = peer.events
    assert committed.tx_id == first.tx_id
    (event,) = decode_events(committed.event.payload)
    assert event.organization.id == "NewOrgMSP"


# -- init exactly once (Fabric's lifecycle with --init-required) ----------------------------------


@pytest.fixture
def init_peer(server: ChaincodeServer) -> Iterator[HarnessPeer]:
    with harness_peer(server.address, init_required=True) as connected:
        yield connected


def test_before_init_an_init_required_chaincode_refuses_transactions(init_peer: HarnessPeer) -> None:
    refused = init_peer.endorse(init_peer.proposal("MyOrg1MSP", REGISTER_ORG))
    assert refused.response.message == \
        "chaincode 'mycc' has not been initialized for this version, must call as init first"


@pytest.mark.parametrize("function", ["", "orchestrator.info:Init"], ids=["upstream-empty-name", "init-function"])
def test_init_runs_once_then_is_already_initialized(init_peer: HarnessPeer, function: str) -> None:
    assert init_peer.invoke("MyOrg1MSP", function, is_init=True) == b""
    assert init_peer.state.items() == {INITIALIZED_KEY: b"1.0"}  # the peer's marker; the chaincode wrote nothing
    again = init_peer.endorse(init_peer.proposal("MyOrg1MSP", function, b"", is_init=True))
    assert again.response.message == "chaincode 'mycc' is already initialized but called as init"
    argument = codec.encode(organization_pb2.RegisterOrganizationParam())
    registered = init_peer.endorse(init_peer.proposal("MyOrg1MSP", REGISTER_ORG, argument)).check()
    assert registered.read_set[INITIALIZED_KEY] == (1, 0)  # every invocation reads the marker, as on Fabric


def test_the_init_function_runs_as_a_plain_transaction_when_init_is_not_required(peer: HarnessPeer) -> None:
    assert peer.invoke("MyOrg1MSP", "orchestrator.info:Init") == b""
    refused = peer.endorse(peer.proposal("MyOrg1MSP", "", is_init=True))
    assert refused.response.message == "chaincode 'mycc' does not require initialization but called as init"
