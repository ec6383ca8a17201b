"""Pages bounded in items and in bytes: the one pagination helper, and the budget the envelope carries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.api import computeplan_pb2
from orchestrator.shared import codec
from orchestrator.shared.errors import InvalidAssetError
from orchestrator.shared.functions import BY_HANDLER
from orchestrator.shared.store.documents import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    PageRequest,
    field_bytes,
    take_page,
)
from tests import builders as b
from tests.network import Network


def _candidates(items: list[bytes], start: int) -> Iterator[tuple[bytes, int]]:
    """Items with their position as the cursor."""
    return ((item, n) for n, item in enumerate(items) if n >= start)


def _pages(items: list[bytes], size: int, budget: int) -> list[list[bytes]]:
    pages: list[list[bytes]] = []
    start = 0
    while True:
        page, token = take_page(_candidates(items, start), PageRequest("", size, budget), len, str)
        pages.append(page)
        if not token:
            return pages
        start = int(token)
        if len(page) > 1:  # only a lone item may pass the budget
            assert sum(field_bytes(len(item)) for item in page) + field_bytes(len(token)) <= budget


@pytest.mark.parametrize("size", [MAX_PAGE_SIZE + 1, 2**31, 2**32 - 1])
def test_a_page_size_above_the_maximum_or_negative_on_the_wire_asks_for_the_maximum(size: int) -> None:
    assert PageRequest(size=size).effective_size == MAX_PAGE_SIZE == 10_000


def test_a_page_size_of_zero_asks_for_the_default__PAGE_1() -> None:
    assert PageRequest().effective_size == DEFAULT_PAGE_SIZE == 50


@given(sizes=st.lists(st.integers(0, 3000), max_size=60), page_size=st.integers(1, 20),
       budget=st.integers(1024, 8192))
def test_pages_stay_within_the_budget_and_list_every_item_once_in_order(
    sizes: list[int], page_size: int, budget: int
) -> None:
    items = [bytes([n % 256]) * size for n, size in enumerate(sizes)]
    pages = _pages(items, page_size, budget)
    assert [item for page in pages for item in page] == items
    assert all(0 < len(page) <= page_size for page in pages if items)


def test_a_page_holds_one_item_even_when_it_passes_the_budget() -> None:
    items = [b"x" * 5000, b"y" * 5000]
    assert _pages(items, 50, 1024) == [[items[0]], [items[1]]]


# -- the budget travels in the envelope to the contract (the chaincode runs the same) --------

@pytest.fixture
def plans(tmp_path: Path) -> Iterator[Network]:
    net = Network(tmp_path).with_orgs_registered()
    for n in range(10):
        plan = b.new_plan(f"plan {n}")
        plan.metadata.update({f"{k:03d}".ljust(100, "k"): "v" * 100 for k in range(40)})  # about 8 KB
        net.org1.register_plan(plan)
    yield net
    net.close()


def _query_plans(net: Network, budget: int | None, token: str = "") -> computeplan_pb2.QueryPlansResponse:
    param = computeplan_pb2.QueryPlansParam(page_token=token, page_size=100)
    argument = codec.encode_serialized(param.SerializeToString(), "r1", max_response_bytes=budget)
    reply = net.ledger.evaluate("MyOrg1MSP", BY_HANDLER["query_plans"].name, argument)
    return codec.decode_message(reply, computeplan_pb2.QueryPlansResponse)


def test_the_contract_pages_within_the_budget_its_envelope_carries(plans: Network) -> None:
    keys: list[str] = []
    token = ""
    while True:
        page = _query_plans(plans, 20_000, token)
        assert page.ByteSize() <= 20_000
        keys += [plan.key for plan in page.plans]
        token = page.next_page_token
        if not token:
            break
    assert len(keys) == len(set(keys)) == 10


def test_an_envelope_without_a_budget_gets_the_default_of_4_mib(plans: Network) -> None:
    page = _query_plans(plans, None)
    assert len(page.plans) == 10 and page.next_page_token == ""


@pytest.mark.parametrize("budget", [b"0", b"-1", b'"4096"', b"1.5"])
def test_an_envelope_budget_that_is_not_a_positive_integer_is_invalid(budget: bytes) -> None:
    payload = b'{"pb":"","request_id":"r","max_response_bytes":%s}' % budget
    with pytest.raises(InvalidAssetError):
        codec.decode(payload, computeplan_pb2.QueryPlansParam)
