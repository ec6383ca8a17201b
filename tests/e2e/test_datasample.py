"""Data sample scenarios DS1-DS3 (scenarios.md 5)."""

from __future__ import annotations

from orchestrator.api import common_pb2, datasample_pb2, event_pb2
from tests.builders import key
from tests.client import GatewayClient
from tests.e2e import steps


def test_DS1_registered_sample_reads_back_with_one_created_event(client: GatewayClient) -> None:
    steps.register_data_manager(client)
    sample = steps.register_sample(client)
    assert client.get_data_sample(datasample_pb2.GetDataSampleParam(key=sample.key)) == sample
    events = client.query_events(asset_key=sample.key, asset_kind=common_pb2.ASSET_DATA_SAMPLE,
                                 event_kind=event_pb2.EVENT_ASSET_CREATED, page_size=100)
    assert len(events) == 1
    assert events[0].data_sample == sample


def test_DS2_unfiltered_listing_contains_every_sample(client: GatewayClient) -> None:
    steps.register_data_manager(client)
    steps.register_sample(client, "earlier scenario sample")  # the upstream run relies on earlier scenarios
    for ref in ("ds1", "ds2", "ds3"):
        steps.register_sample(client, ref)
    listed = steps.keys_of(client.query_data_samples(datasample_pb2.QueryDataSamplesParam(page_size=1000)).data_samples)
    assert len(listed) > 3
    assert {key("ds1"), key("ds2"), key("ds3")} <= listed


def test_DS3_listing_filtered_by_keys_returns_exactly_those(client: GatewayClient) -> None:
    steps.register_data_manager(client)
    for ref in ("filtered_ds1", "filtered_ds2", "filtered_ds3"):
        steps.register_sample(client, ref)
    page = client.query_data_samples(datasample_pb2.QueryDataSamplesParam(
        page_size=10, filter=datasample_pb2.DataSampleQueryFilter(keys=[key("filtered_ds1"), key("filtered_ds3")])))
    assert steps.keys_of(page.data_samples) == {key("filtered_ds1"), key("filtered_ds3")}
    assert len(page.data_samples) == 2
