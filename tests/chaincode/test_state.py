"""Every state operation of the stub against the harness peer: reads, writes, deletes, ranges, pages, composite keys."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from orchestrator.chaincode.shim.server import ChaincodeServer
from tests.chaincode.chaincodes import StateChaincode, call
from tests.chaincode.harness import (
    FABRIC_2_5,
    FABRIC_3_1,
    MAX_RESULTS_PER_BATCH,
    Capabilities,
    HarnessPeer,
    chaincode_server,
    harness_peer,
)


@pytest.fixture(scope="module")
def state_server() -> Iterator[ChaincodeServer]:
    with chaincode_server(StateChaincode()) as running:
        yield running


@pytest.fixture(params=[FABRIC_2_5, FABRIC_3_1], ids=["fabric-2.5", "fabric-3.1"])
def capabilities(request: pytest.FixtureRequest) -> Capabilities:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def peer(state_server: ChaincodeServer, capabilities: Capabilities) -> Iterator[HarnessPeer]:
    with harness_peer(state_server.address, capabilities=capabilities) as connected:
        yield connected


def endorse(peer: HarnessPeer, function: str, *params: str) -> object:
    return json.loads(peer.endorse(peer.proposal("MyOrg1MSP", function, *(p.encode() for p in params)))
                      .check().payload)


def test_get_of_an_absent_key_is_none_and_is_read_as_absent(peer: HarnessPeer) -> None:
    endorsement = peer.endorse(peer.proposal("MyOrg1MSP", "get", b"missing")).check()
    assert json.loads(endorsement.payload) is None
    assert endorsement.read_set == {"missing": None}


def test_put_then_get_in_a_later_transaction_reads_the_committed_value_and_its_version(peer: HarnessPeer) -> None:
    assert call(peer, "put", "a", "1", "b", "2") == 2
    endorsement = peer.endorse(peer.proposal("MyOrg1MSP", "get", b"a")).check()
    assert json.loads(endorsement.payload) == "1"
    assert endorsement.read_set == {"a": (1, 0)}  # written by transaction 0 of block 1


def test_reads_see_committed_state_only_never_the_transactions_own_writes(peer: HarnessPeer) -> None:
    call(peer, "put", "k", "old")
    endorsement = peer.endorse(peer.proposal("MyOrg1MSP", "increment", b"n")).check()
    assert endorsement.write_set == {"n": b"1"}
    assert endorsement.read_set == {"n": None}


def test_delete_removes_the_key_at_commit(peer: HarnessPeer) -> None:
    call(peer, "put", "gone", "x")
    endorsement = peer.endorse(peer.proposal("MyOrg1MSP", "delete", b"gone")).check()
    assert endorsement.write_set == {"gone": None}
    peer.commit(endorsement)
    assert "gone" not in peer.state.items()


def test_an_empty_key_is_refused_by_the_stub(peer: HarnessPeer) -> None:
    endorsement = peer.endorse(peer.proposal("MyOrg1MSP", "put", b"", b"v"))
    assert endorsement.response.status == 500
    assert "key must not be an empty string" in endorsement.response.message


def test_a_range_across_several_batches_returns_every_key_in_order(peer: HarnessPeer) -> None:
    keys = [f"r{n:04d}" for n in range(2 * MAX_RESULTS_PER_BATCH + 50)]
    call(peer, "put", *(item for key in keys for item in (key, "v")), "s0000", "outside")
    endorsement = peer.endorse(peer.proposal("MyOrg1MSP", "scan", b"r", b"s")).check()
    assert json.loads(endorsement.payload) == keys
    assert peer.connection.served["GET_STATE_BY_RANGE"] == 1
    assert peer.connection.served["QUERY_STATE_NEXT"] == 2  # 100 + 100 + 50
    assert peer.connection.served["QUERY_STATE_CLOSE"] == 0  # the peer dropped the iterator with the last batch
    (query,) = endorsement.range_queries
    assert query.exhausted
    assert [key for key, _ in query.reads] == keys


def test_a_range_left_unfinished_is_closed_on_the_peer_before_completing(peer: HarnessPeer) -> None:
    call(peer, "put", *(item for n in range(300) for item in (f"u{n:04d}", "v")))
    endorsement = peer.endorse(peer.proposal("MyOrg1MSP", "scan", b"u", b"v", b"5")).check()
    assert json.loads(endorsement.payload) == [f"u{n:04d}" for n in range(5)]
    assert peer.connection.served["QUERY_STATE_CLOSE"] == 1
    (query,) = endorsement.range_queries
    assert not query.exhausted
    # What the peer fetched is what Fabric validates: the first batch and the result that opened the next.
    assert len(query.reads) == MAX_RESULTS_PER_BATCH + 1


def test_paginated_ranges_walk_every_key_once_by_bookmark(peer: HarnessPeer) -> None:
    keys = [f"p{n:03d}" for n in range(25)]
    call(peer, "put", *(item for key in keys for item in (key, "v")))
    seen: list[str] = []
    bookmark = ""
    pages = 0
    while True:
        page = endorse(peer, "page", "p", "q", "10", bookmark)
        assert isinstance(page, dict)
        seen.extend(page["keys"])
        pages += 1
        bookmark = page["bookmark"]
        if not bookmark:
            break
    assert seen == keys
    assert pages == 3


def test_an_exactly_full_last_page_has_no_bookmark(peer: HarnessPeer) -> None:
    call(peer, "put", *(item for n in range(10) for item in (f"f{n}", "v")))
    page = endorse(peer, "page", "f", "g", "10")
    assert page == {"keys": [f"f{n}" for n in range(10)], "bookmark": ""}


def test_composite_keys_use_fabrics_encoding_and_partial_keys_select_their_prefix(peer: HarnessPeer) -> None:
    key = call(peer, "index", "plan~status~task", "cp1", "STATUS_TODO", "t1")
    assert key == "\x00plan~status~task\x00cp1\x00STATUS_TODO\x00t1\x00"
    call(peer, "index", "plan~status~task", "cp1", "STATUS_DOING", "t2")
    call(peer, "index", "plan~status~task", "cp10", "STATUS_TODO", "t3")  # another plan sharing the prefix "cp1"
    call(peer, "index", "other~type", "cp1", "STATUS_TODO", "t4")
    assert endorse(peer, "partial", "plan~status~task", "cp1") == [["cp1", "STATUS_DOING", "t2"],
                                                                 ["cp1", "STATUS_TODO", "t1"]]
    assert endorse(peer, "partial", "plan~status~task", "cp1", "STATUS_TODO") == [["cp1", "STATUS_TODO", "t1"]]
    assert len(endorse(peer, "partial", "plan~status~task")) == 3  # type: ignore[arg-type]


def test_a_composite_key_attribute_holding_the_separator_is_refused(peer: HarnessPeer) -> None:
    endorsement = peer.endorse(peer.proposal("MyOrg1MSP", "index", b"type", b"bad\x00attribute"))
    assert endorsement.response.status == 500
    assert "invalid composite key attribute" in endorsement.response.message


def test_multiple_keys_are_read_in_one_request_when_the_peer_can(peer: HarnessPeer, capabilities: Capabilities
                                                                 ) -> None:
    call(peer, "put", "m1", "one", "m3", "three")
    assert endorse(peer, "multi", "m1", "m2", "m3") == ["one", None, "three"]
    if capabilities.get_multiple:
        assert (peer.connection.served["GET_STATE_MULTIPLE"], peer.connection.served["GET_STATE"]) == (1, 0)
    else:
        assert peer.connection.served["GET_STATE"] == 3


def test_an_empty_event_name_is_refused(peer: HarnessPeer) -> None:
    endorsement = peer.endorse(peer.proposal("MyOrg1MSP", "event", b"", b"x"))
    assert endorsement.response.status == 500
    assert "event name can not be empty string" in endorsement.response.message
    assert endorsement.event is None
