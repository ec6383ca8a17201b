"""Fabric mode: the chaincode builds each page within the gateway's response budget, carried in the envelope."""

from __future__ import annotations

from pathlib import Path

from orchestrator.api import computeplan_pb2
from tests import builders as b
from tests.client import GatewayClient, connected
from tests.fabric.gateway import fabric_gateway
from tests.fabric.network import StandInNetwork


def test_query_plans_pages_built_by_the_chaincode_stay_within_the_gateways_budget(
    network: StandInNetwork, tmp_path: Path
) -> None:
    budget = 32 * 1024
    with fabric_gateway(network, tmp_path / "gateway", max_response_bytes=budget) as gateway, \
            connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        for n in range(8):
            plan = b.new_plan(f"plan {n}")
            plan.metadata.update({f"{k:03d}".ljust(100, "k"): "v" * 100 for k in range(40)})  # about 8 KB
            client.register_plan(plan)
        keys: list[str] = []
        pages = 0
        token = ""
        while True:
            page = client.query_plans(computeplan_pb2.QueryPlansParam(page_token=token, page_size=100))
            assert page.ByteSize() <= budget
            keys += [plan.key for plan in page.plans]
            pages += 1
            token = page.next_page_token
            if not token:
                break
        assert pages >= 2
        assert sorted(keys) == sorted(b.key(f"plan {n}") for n in range(8))
