"""Resuming on a replica whose event log lags: the wait holds no thread, loses nothing and ends with a clear status."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from orchestrator.api import algo_pb2, event_pb2
from orchestrator.shared import codec
from orchestrator.shared.functions import BY_NAME
from tests import builders
from tests.client import GatewayClient, connected
from tests.fabric.conftest import Clients
from tests.fabric.gateway import fabric_gateway
from tests.fabric.network import StandInNetwork
from tests.fabric.test_events import REGISTER_ALGO, STREAM_TIMEOUT, _lagging_replica_config, ledger_event_ids, take
from tests.fabric.test_invoker import new_algo

WORKERS = 2
RESUMING = 4 * WORKERS


def _query(client: GatewayClient) -> list[event_pb2.Event]:
    """One page of QueryEvents, which needs one of the gateway's workers; failing well before the streams do."""
    page = client.call(BY_NAME["orchestrator.event:QueryEvents"], event_pb2.QueryEventsParam(page_size=500),
                       timeout=STREAM_TIMEOUT / 3)
    return list(page.events)


def _gateway_threads() -> int:
    """Python threads of this process but the stand-in network's (peers, orderer) and the test's readers."""
    return sum(1 for thread in threading.enumerate() if not thread.name.startswith(("peer", "orderer", "reader")))


def _commit_status_calls(network: StandInNetwork) -> int:
    return sum(peer.calls.get("CommitStatus", 0) for peers in network.peers.values() for peer in peers)


def test_subscribers_waiting_for_a_lagging_log_hold_no_thread_and_resume_without_gap_or_duplicate(
        network: StandInNetwork, clients: Clients, tmp_path: Path) -> None:
    contract = clients.gateway("MyOrg1MSP").get_network("mychannel").get_contract("mycc")
    with fabric_gateway(network, tmp_path / "gateway", workers=WORKERS) as gateway, \
            connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        client.register_algo(new_algo("logged"))
        logged = [event.id for event in client.query_events()]
        with network.events_held():  # the peers commit blocks, but this gateway's log cannot follow them
            for index in range(3):  # written through another replica, as it were
                contract.submit(REGISTER_ALGO, [codec.encode(new_algo(f"not logged yet {index}"))], timeout=30)
            expected = ledger_event_ids(network)
            unlogged = expected[len(logged):]
            assert expected[:len(logged)] == logged and len(unlogged) == 3
            before = _commit_status_calls(network)
            threads_before = _gateway_threads()
            streams = [client.subscribe(unlogged[n % len(unlogged)], timeout=STREAM_TIMEOUT) for n in range(RESUMING)]
            firsts: list[list[str]] = [[] for _ in streams]
            readers = [threading.Thread(target=lambda s=stream, out=first: out.extend(e.id for e in take(s, 1)),
                                        name=f"reader-{n}")
                       for n, (stream, first) in enumerate(zip(streams, firsts, strict=True))]
            for reader in readers:
                reader.start()
            while _commit_status_calls(network) < before + RESUMING:  # each located its transaction's block
                threading.Event().wait(0.02)
            threads_waiting = _gateway_threads()

            # more subscribers wait than the gateway has workers: ordinary calls still get one, many at once
            answers: list[list[str]] = [[] for _ in range(2 * WORKERS)]
            queries = [threading.Thread(target=lambda out=out: out.extend(e.id for e in _query(client)))
                       for out in answers]
            for query in queries:
                query.start()
            for query in queries:
                query.join()
            assert answers == [logged] * len(answers)
            assert client.get_algo(algo_pb2.GetAlgoParam(key=builders.key("logged"))).key == builders.key("logged")
            # no thread per waiting subscriber: at most the worker pool filled up, and a gRPC poller
            assert threads_waiting <= threads_before + WORKERS + 1 < threads_before + RESUMING
            assert not any(first for first in firsts)

            with pytest.raises(grpc.RpcError) as late:  # a deadline shorter than the lag: answered before it
                next(iter(client.subscribe(unlogged[0], timeout=1.5)))
            assert late.value.code() == grpc.StatusCode.UNAVAILABLE
            details = late.value.details() or ""  # the block not logged yet (or, on a slow peer, not located yet)
            assert ("has not reached block" in details or "is not known" in details) and "retry the call" in details

        client.register_algo(new_algo("live"))
        for reader in readers:
            reader.join(STREAM_TIMEOUT)
        final = ledger_event_ids(network)
        for n, (stream, first) in enumerate(zip(streams, firsts, strict=True)):
            start = expected.index(unlogged[n % len(unlogged)])
            missing = len(final) - start - 1 - len(first)
            rest = [event.id for event in take(stream, missing)] if missing else []
            stream.cancel()
            assert first + rest == final[start + 1:]  # every later event once, in ledger order, then live ones


@pytest.fixture
def two_peer_network(tmp_path: Path) -> Iterator[StandInNetwork]:
    with StandInNetwork(tmp_path / "net", peers_per_org={"MyOrg1MSP": 2}) as network:
        yield network


def test_page_tokens_waiting_for_a_lagging_replica_hold_no_thread_and_continue_the_same_listing__PAGE_2(
        two_peer_network: StandInNetwork, tmp_path: Path) -> None:
    network = two_peer_network
    lagging_peer = network.peer("MyOrg1MSP", 1)  # the only peer of replica b
    with fabric_gateway(network, tmp_path / "a") as a, connected(a.address) as channel_a:
        client_a = GatewayClient(channel_a).register()
        for index in range(4):
            client_a.register_algo(new_algo(f"algo {index}"))
        listing = [event.id for event in client_a.query_events()]
        first = client_a.call(BY_NAME["orchestrator.event:QueryEvents"], event_pb2.QueryEventsParam(page_size=2))
        lagging_peer.events_held = True
        with fabric_gateway(network, tmp_path / "b", workers=WORKERS,
                            organizations=_lagging_replica_config(network)) as b, \
                connected(b.address) as channel_b:
            client_b = GatewayClient(channel_b)
            stub = client_b.stub(BY_NAME["orchestrator.event:QueryEvents"])
            waiting = [stub.future(event_pb2.QueryEventsParam(page_token=first.next_page_token, page_size=100),
                                   metadata=client_b.metadata, timeout=STREAM_TIMEOUT) for _ in range(RESUMING)]
            answers: list[list[str]] = [[] for _ in range(2 * WORKERS)]
            queries = [threading.Thread(target=lambda out=out: out.extend(e.id for e in _query(client_b)))
                       for out in answers]
            for query in queries:
                query.start()
            for query in queries:
                query.join()
            assert answers == [[]] * len(answers)  # its log is empty, and it answers while tokens wait
            assert not any(future.done() for future in waiting)
            lagging_peer.events_held = False
            pages = [[event.id for event in future.result().events] for future in waiting]
    assert pages == [listing[2:]] * RESUMING


def test_a_subscriber_that_leaves_while_waiting_for_a_lagging_log_stops_waiting_at_once(
        network: StandInNetwork, clients: Clients, tmp_path: Path) -> None:
    contract = clients.gateway("MyOrg1MSP").get_network("mychannel").get_contract("mycc")
    with fabric_gateway(network, tmp_path / "gateway") as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        feed = gateway.gateway.invoker.feed("mychannel", "mycc")  # type: ignore[attr-defined]
        with network.events_held():
            contract.submit(REGISTER_ALGO, [codec.encode(new_algo("not logged yet"))], timeout=30)
            stream = client.subscribe(ledger_event_ids(network)[-1], timeout=STREAM_TIMEOUT)
            cancelled: list[grpc.StatusCode] = []

            def read() -> None:
                try:
                    take(stream, 1)
                except grpc.RpcError as exc:
                    cancelled.append(exc.code())

            reader = threading.Thread(target=read, name="reader-leaving")
            reader.start()
            assert _eventually(lambda: bool(feed._block_waiters))  # located, and waiting for its block
            stream.cancel()
            reader.join(STREAM_TIMEOUT)
            assert cancelled == [grpc.StatusCode.CANCELLED]
            # the wait ends with the call, not when its 30 s bound passes
            assert _eventually(lambda: not feed._block_waiters)


def _eventually(condition: Callable[[], bool], within: float = STREAM_TIMEOUT / 3) -> bool:
    """Whether ``condition`` holds at some point before ``within`` seconds pass (a bound, not a measure)."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True
