"""QueryEvents and SubscribeToEvents (EVT-7..EVT-10, api.md 8; issue item 4)."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator

import grpc
import pytest

from orchestrator.api import common_pb2, datasample_pb2, event_pb2
from orchestrator.shared.functions import BY_NAME
from tests import builders as b
from tests.client import GatewayClient, ledger_order
from tests.e2e import steps

STREAM_TIMEOUT = 60.0  # a stream that misses an event fails the test instead of hanging it


def _samples(client: GatewayClient, prefix: str, count: int) -> None:
    """One transaction emitting ``count`` events (one per sample)."""
    client.register_data_samples(datasample_pb2.RegisterDataSamplesParam(
        samples=[b.new_data_sample(f"{prefix}{n}") for n in range(count)]))


def _ledger_ids(client: GatewayClient) -> list[str]:
    """Every event id, in ledger order (one timestamp per transaction, then emission order)."""
    return [e.id for e in ledger_order(client.query_events())]


def _take(stream: Iterator[event_pb2.Event], count: int) -> list[str]:
    return [next(stream).id for _ in range(count)]


# -- QueryEvents -----------------------------------------------------------------------------

def test_query_events_filters_combine_with_and__EVT_7(client: GatewayClient) -> None:
    steps.setup_train(client)
    algo_events = client.query_events(asset_kind=common_pb2.ASSET_ALGO)
    assert [e.asset_key for e in algo_events] == [b.key("simple algo")]
    assert client.query_events(asset_key=b.key("ds"), event_kind=event_pb2.EVENT_ASSET_CREATED)[0].data_sample.key
    assert client.query_events(asset_key=b.key("ds"), asset_kind=common_pb2.ASSET_ALGO) == []
    assert all(e.channel == "mychannel" for e in client.query_events())


def test_query_events_descending_is_the_reverse_of_ascending__EVT_8(client: GatewayClient) -> None:
    steps.setup_train(client)
    ascending = [e.id for e in client.query_events()]
    assert [e.id for e in client.query_events(sort=common_pb2.DESCENDING)] == ascending[::-1]


def test_query_events_pages_return_each_event_once_and_end_with_an_empty_token__PAGE_2(client: GatewayClient) -> None:
    steps.register_data_manager(client)
    _samples(client, "s", 10)
    everything = _ledger_ids(client)
    assert len(everything) == 12  # organization, data manager, 10 samples
    paged = [e.id for e in client.query_events(page_size=3)]
    assert paged == [e.id for e in client.query_events()]
    assert sorted(paged) == sorted(everything)


def test_an_exactly_full_last_page_has_an_empty_token__PAGE_2(client: GatewayClient) -> None:
    steps.register_data_manager(client)
    _samples(client, "s", 2)
    page = client.call(BY_NAME["orchestrator.event:QueryEvents"], event_pb2.QueryEventsParam(page_size=4))
    assert len(page.events) == 4
    assert page.next_page_token == ""


def _page(client: GatewayClient, token: str = "", size: int = 3, sort: int = 0) -> event_pb2.QueryEventsResponse:
    return client.call(BY_NAME["orchestrator.event:QueryEvents"],
                       event_pb2.QueryEventsParam(page_token=token, page_size=size, sort=sort))


def _rest(client: GatewayClient, token: str, size: int = 3, sort: int = 0) -> list[str]:
    """Ids of the pages from ``token`` to the end of the listing."""
    ids: list[str] = []
    while token:
        page = _page(client, token, size, sort)
        ids += [e.id for e in page.events]
        token = page.next_page_token
    return ids


def test_a_listing_holds_the_events_committed_before_its_first_page_while_writers_go_on__PAGE_2(
        client: GatewayClient) -> None:
    steps.register_data_manager(client)
    _samples(client, "s", 10)
    for sort in (common_pb2.ASCENDING, common_pb2.DESCENDING):
        snapshot = [e.id for e in client.query_events(sort=sort)]
        first = _page(client, sort=sort)
        _samples(client, f"during {sort} ", 4)  # committed while the listing is paged: not part of it
        listing = [e.id for e in first.events] + _rest(client, first.next_page_token, sort=sort)
        assert listing == snapshot


def test_catching_up_by_paging_then_subscribing_from_the_last_id_loses_no_event_under_concurrent_writers(
        client: GatewayClient) -> None:
    """The pattern backends use; events paged and then streamed again are possible duplicates, never gaps."""
    steps.register_data_manager(client)
    _samples(client, "before", 5)
    writer_client = GatewayClient(client.channel)
    writing = threading.Thread(target=lambda: [_samples(writer_client, f"w{n}-", 3) for n in range(40)])
    writing.start()
    try:
        paged: list[str] = []
        token = ""
        while True:
            page = _page(client, token, size=4)
            paged += [e.id for e in page.events]
            token = page.next_page_token
            if not token:
                break
        stream = client.subscribe(paged[-1], timeout=STREAM_TIMEOUT)
    finally:
        writing.join()
    expected = _ledger_ids(client)
    assert len(expected) == 2 + 5 + 40 * 3
    streamed: list[str] = []
    missing = set(expected) - set(paged)
    while missing:
        streamed.append(next(stream).id)
        missing.discard(streamed[-1])
    stream.cancel()
    assert len(set(streamed)) == len(streamed)
    assert streamed == [i for i in expected if i in set(streamed)]  # ledger order
    assert set(paged) | set(streamed) == set(expected)


def test_an_undecodable_page_token_is_invalid_argument(client: GatewayClient) -> None:
    with pytest.raises(grpc.RpcError) as failure:
        client.call(BY_NAME["orchestrator.event:QueryEvents"], event_pb2.QueryEventsParam(page_token="%%%"))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT


# -- SubscribeToEvents -----------------------------------------------------------------------

def test_a_subscription_replays_history_then_streams_live_events_in_ledger_order(client: GatewayClient) -> None:
    steps.register_data_manager(client)
    _samples(client, "before", 5)
    stream = client.subscribe(timeout=STREAM_TIMEOUT)
    history = _take(stream, 7)
    assert history == _ledger_ids(client)
    _samples(client, "after", 5)
    live = _take(stream, 5)
    stream.cancel()
    assert history + live == _ledger_ids(client)


def test_a_subscription_from_an_event_starts_right_after_it(client: GatewayClient) -> None:
    steps.register_data_manager(client)
    _samples(client, "s", 5)
    ids = _ledger_ids(client)
    stream = client.subscribe(ids[2], timeout=STREAM_TIMEOUT)
    assert _take(stream, len(ids) - 3) == ids[3:]
    stream.cancel()


def test_any_number_of_subscribers_receive_every_event(client: GatewayClient) -> None:
    steps.register_data_manager(client)
    streams = [client.subscribe(timeout=STREAM_TIMEOUT) for _ in range(12)]
    for stream in streams:
        _take(stream, 2)
    _samples(client, "s", 20)
    expected = _ledger_ids(client)[2:]
    for stream in streams:
        assert _take(stream, 20) == expected
        stream.cancel()


def test_subscribing_mid_load_and_reconnecting_from_the_last_seen_id_gives_every_event_once(
    client: GatewayClient,
) -> None:
    steps.register_data_manager(client)
    writer_client = GatewayClient(client.channel)
    writes_done = threading.Event()

    def write() -> None:
        for n in range(60):
            _samples(writer_client, f"w{n}-", 5)
        writes_done.set()

    writer = threading.Thread(target=write)
    writer.start()
    received: list[str] = []
    last = ""
    for _ in range(3):  # three connections, each cut after some events
        stream = client.subscribe(last, timeout=STREAM_TIMEOUT)
        received += _take(stream, 40)
        stream.cancel()
        last = received[-1]
    writer.join()
    assert writes_done.is_set()
    total = 2 + 60 * 5
    stream = client.subscribe(last, timeout=STREAM_TIMEOUT)
    received += _take(stream, total - len(received))
    stream.cancel()
    assert len(set(received)) == len(received) == total
    assert received == _ledger_ids(client)


def test_subscribers_of_another_channel_see_only_their_channel__GEN_3(client: GatewayClient) -> None:
    other = GatewayClient(client.channel, channel_name="yourchannel").register()
    stream = other.subscribe(timeout=STREAM_TIMEOUT)
    steps.register_data_manager(client)
    other.register_algo(b.new_algo())
    events = [next(stream) for _ in range(2)]
    stream.cancel()
    assert [e.asset_kind for e in events] == [common_pb2.ASSET_ORGANIZATION, common_pb2.ASSET_ALGO]
    assert {e.channel for e in events} == {"yourchannel"}


def test_a_page_token_pinned_beyond_the_log_is_unavailable_before_the_deadline(client: GatewayClient) -> None:
    """A token from a replica further ahead waits for this log; what it never reaches is retried elsewhere."""
    steps.register_data_manager(client)
    first = _page(client, size=1)
    ts, event_id_, pinned = base64.urlsafe_b64decode(first.next_page_token).decode().split("/")
    ahead = base64.urlsafe_b64encode(f"{ts}/{event_id_}/{int(pinned) + 1000}".encode()).decode()
    with pytest.raises(grpc.RpcError) as failure:
        client.call(BY_NAME["orchestrator.event:QueryEvents"], event_pb2.QueryEventsParam(page_token=ahead),
                    timeout=1.5)
    assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "catching up" in failure.value.details()
