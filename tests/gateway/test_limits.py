"""Bounded resources: ledgers, response bytes, subscriber bytes, and plausible ``mspid`` headers."""

from __future__ import annotations

import re
from pathlib import Path

import grpc
import pytest

from orchestrator.api import computeplan_pb2, computetask_pb2, event_pb2, info_pb2, organization_pb2
from orchestrator.gateway.config import parse_channels
from orchestrator.gateway.interceptors.headers import invalid_mspid
from orchestrator.shared.functions import BY_HANDLER
from orchestrator.shared.store.documents import DEFAULT_MAX_RESPONSE_BYTES, field_bytes
from tests import builders as b
from tests.client import GatewayClient, connected, running_gateway
from tests.e2e import steps

STREAM_TIMEOUT = 60.0
KIB = 1024


def _plan(ref: str, metadata_bytes: int) -> computeplan_pb2.NewComputePlan:
    """A plan carrying about ``metadata_bytes`` of metadata (entries at the 100-byte limits)."""
    plan = b.new_plan(ref)
    plan.metadata.update({f"{n:04d}".ljust(100, "k"): "v" * 100 for n in range(metadata_bytes // 206)})
    return plan


def _version(client: GatewayClient) -> grpc.RpcError | None:
    try:
        client.call(BY_HANDLER["query_version"], info_pb2.QueryVersionParam())
    except grpc.RpcError as exc:
        return exc
    return None


# -- ledgers ---------------------------------------------------------------------------------

def test_past_max_ledgers_a_new_channel_is_resource_exhausted_naming_the_option_and_open_ones_still_serve(
    tmp_path: Path,
) -> None:
    with running_gateway(tmp_path, max_ledgers=2) as gateway, connected(gateway.address) as channel:
        first = GatewayClient(channel, channel_name="first").register()
        GatewayClient(channel, channel_name="second").register()
        error = _version(GatewayClient(channel, channel_name="third"))
        assert error is not None and error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "--max-ledgers" in error.details() and "'channels:'" in error.details()
        assert not (tmp_path / "third").exists()
        assert _version(first) is None
        assert _version(GatewayClient(channel, channel_name="second")) is None
        first.register_algo(b.new_algo())  # writes go on where ledgers are open


def test_a_channel_configuration_lifts_the_ledger_cap(tmp_path: Path) -> None:
    channels = parse_channels({name: ["MyOrg1MSP"] for name in ("first", "second", "third")})
    with running_gateway(tmp_path, max_ledgers=1, channels=channels) as gateway, \
            connected(gateway.address) as channel:
        for name in ("first", "second", "third"):
            assert _version(GatewayClient(channel, channel_name=name)) is None


# -- caches bounded in bytes -----------------------------------------------------------------

def test_a_ledgers_caches_stay_within_their_byte_budgets(tmp_path: Path) -> None:
    with running_gateway(tmp_path, ledger_cache_bytes=64 * KIB, event_cache_bytes=32 * KIB) as gateway, \
            connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        for n in range(30):
            client.register_plan(_plan(f"plan {n}", 10 * KIB))  # about 300 KB of values and as much of events
            ledger = gateway.gateway.invoker.ledger("mychannel", "mycc")  # type: ignore[attr-defined]
            assert ledger.cached_bytes <= 64 * KIB
            assert ledger.events.cached_bytes <= 32 * KIB
        assert ledger.events.cached_bytes > 0  # the recent events are still served from memory


# -- responses bounded in bytes ---------------------------------------------------------------

def test_query_events_and_query_plans_pages_end_before_the_byte_budget_and_list_every_item_once(
    tmp_path: Path,
) -> None:
    budget = 64 * KIB
    with running_gateway(tmp_path, max_response_bytes=budget) as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        for n in range(24):
            client.register_plan(_plan(f"plan {n}", 10 * KIB))  # 24 plans, about 240 KB, events as large
        for handler, param, items in (
            ("query_events", event_pb2.QueryEventsParam, "events"),
            ("query_plans", computeplan_pb2.QueryPlansParam, "plans"),
        ):
            seen: list[str] = []
            pages = 0
            token = ""
            while True:
                page = client.call(BY_HANDLER[handler], param(page_token=token, page_size=1000))
                assert page.ByteSize() <= budget
                pages += 1
                seen += [item.id if items == "events" else item.key for item in getattr(page, items)]
                token = page.next_page_token
                if not token:
                    break
            assert pages >= 4, handler
            assert len(seen) == len(set(seen)) == (25 if items == "events" else 24), handler


def test_a_page_holds_one_item_even_when_that_item_passes_the_budget(tmp_path: Path) -> None:
    with running_gateway(tmp_path, max_response_bytes=KIB) as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        keys = [client.register_plan(_plan(f"plan {n}", 4 * KIB)).key for n in range(3)]
        pages = []
        token = ""
        while True:
            page = client.query_plans(computeplan_pb2.QueryPlansParam(page_token=token, page_size=50))
            pages.append([plan.key for plan in page.plans])
            token = page.next_page_token
            if not token:
                break
        assert sorted(key for page in pages for key in page) == sorted(keys)
        assert [len(page) for page in pages] == [1, 1, 1]


def test_a_page_size_past_the_maximum_or_negative_on_the_wire_asks_for_the_maximum(tmp_path: Path) -> None:
    with running_gateway(tmp_path) as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        steps.register_data_manager(client)
        page = client.call(BY_HANDLER["query_events"], event_pb2.QueryEventsParam(page_size=2**32 - 1))
        assert len(page.events) == 2 and page.next_page_token == ""


def test_upstreams_5000_task_page_fits_in_the_default_budget(tmp_path: Path) -> None:
    with running_gateway(tmp_path) as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        steps.setup_train(client)
        client.register_tasks(computetask_pb2.RegisterTasksParam(tasks=[
            b.new_train_task(f"task {n}", samples=("ds",)) for n in range(20)]))
        page = client.query_tasks(computetask_pb2.QueryTasksParam(page_size=5000))
        largest = max(task.ByteSize() for task in page.tasks)
        assert 5000 * field_bytes(largest) + field_bytes(200) < DEFAULT_MAX_RESPONSE_BYTES


# -- subscribers bounded in bytes -------------------------------------------------------------

def test_a_stalled_subscriber_past_its_budget_ends_with_resource_exhausted_then_resumes_without_gap(
    tmp_path: Path,
) -> None:
    with running_gateway(tmp_path, subscriber_buffer_bytes=64 * KIB) as gateway, \
            connected(gateway.address) as channel, \
            connected(gateway.address, options=[("grpc.http2.bdp_probe", 0)]) as slow_channel:
        client = GatewayClient(channel).register()
        slow = GatewayClient(slow_channel)
        stream = slow.subscribe(timeout=STREAM_TIMEOUT)
        received = [next(stream).id]  # live now; then not read while the writes happen
        for n in range(300):
            client.register_plan(_plan(f"plan {n}", 20 * KIB))  # about 6 MB of events, writers never wait
        with pytest.raises(grpc.RpcError) as ended:
            for event in stream:
                received.append(event.id)
        assert ended.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        resume = re.search(r'start_event_id "([^"]+)"', ended.value.details())
        assert resume is not None and resume.group(1) == received[-1]
        exhausted = gateway.gateway.metrics.registry.get_sample_value(
            "orchestrator_event_streams_exhausted_total", {"channel": "mychannel"})
        assert exhausted == 1
        resumed = slow.subscribe(resume.group(1), timeout=STREAM_TIMEOUT)
        while len(received) < 301:
            received.append(next(resumed).id)
        resumed.cancel()
        assert received == [event.id for event in client.query_events()]


# -- mspid header ----------------------------------------------------------------------------

@pytest.mark.parametrize("mspid", ["x" * 129, "../x", "Org/1", "My Org", "MyOrg1MSP "])
def test_an_implausible_mspid_is_invalid_argument_and_registers_nothing(client: GatewayClient, mspid: str) -> None:
    with pytest.raises(grpc.RpcError) as error:
        client.as_org(mspid).register_organization(organization_pb2.RegisterOrganizationParam())
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "invalid header 'mspid'" in error.value.details()
    organizations = client.get_all_organizations(organization_pb2.GetAllOrganizationsParam()).organizations
    assert [org.id for org in organizations] == ["MyOrg1MSP"]


@pytest.mark.parametrize("mspid", ["a\x00b", "a\x1fb", "a\x7fb", "a\u0085b", "a\u2028b", "a\tb", "x" * 129])
def test_control_characters_whitespace_and_length_make_an_mspid_implausible(mspid: str) -> None:
    assert invalid_mspid(mspid) is not None


@pytest.mark.parametrize("mspid", ["MyOrg1MSP", "org-2.example_MSP", "x" * 128])
def test_real_msp_ids_are_plausible(mspid: str) -> None:
    assert invalid_mspid(mspid) is None
