"""An in-doubt answer is remembered by the replica that gave it; another replica judges a retry as upstream would."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest

from orchestrator.api import algo_pb2
from orchestrator.gateway.invoke.base import TX_ID_TRAILER
from tests import builders
from tests.client import GatewayClient, connected
from tests.fabric.gateway import fabric_gateway
from tests.fabric.network import StandInNetwork
from tests.fabric.test_resilience import new_algo


def test_a_retry_on_another_replica_is_already_exists_and_the_events_show_the_in_doubt_write_was_its_own(
        network: StandInNetwork, tmp_path: Path) -> None:
    with fabric_gateway(network, tmp_path / "a") as a, fabric_gateway(network, tmp_path / "b") as b, \
            connected(a.address) as channel_a, connected(b.address) as channel_b:
        on_a = GatewayClient(channel_a).register()
        on_b = GatewayClient(channel_b)
        with network.orderer.hold("mychannel"), pytest.raises(grpc.RpcError) as caught:
            on_a.register_algo(new_algo("in doubt"), timeout=1.0)
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        tx_id = dict(caught.value.trailing_metadata() or ())[TX_ID_TRAILER]
        assert network.ledgers["mychannel"].wait_status(tx_id, 10) is not None

        # replica b never answered in doubt: an identical registration is a second one, as upstream says
        with pytest.raises(grpc.RpcError) as elsewhere:
            on_b.register_algo(new_algo("in doubt"))
        assert elsewhere.value.code() == grpc.StatusCode.ALREADY_EXISTS
        # what the backend reads then: the asset exists, written by the transaction named in the trailer
        deadline = time.monotonic() + 10
        while not (created := on_b.query_events(asset_key=builders.key("in doubt"))):  # b's log follows the chain
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert [event.id.rpartition(":")[0] for event in created] == [tx_id]
        assert on_b.get_algo(algo_pb2.GetAlgoParam(key=builders.key("in doubt"))).name == "Algo test"

        # replica a, which answered in doubt, answers the retry with its transaction's result
        assert on_a.register_algo(new_algo("in doubt")).key == builders.key("in doubt")
