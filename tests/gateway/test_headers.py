"""Headers ``mspid``, ``channel``, ``chaincode`` and channel membership (api.md 5; issue items 3 and 6)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from orchestrator.api import algo_pb2, info_pb2
from orchestrator.gateway.config import ChannelAccess, ChannelConfig
from orchestrator.gateway.invoke import register_mode
from orchestrator.gateway.invoke.embedded import EmbeddedInvoker
from orchestrator.gateway.server import GatewayThread
from tests import builders as b
from tests.client import GatewayClient, connected, running_gateway

VERSION = info_pb2.QueryVersionParam()


def _failure(call: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as failure:
        call()  # type: ignore[operator]
    return failure.value


def _query_version(client: GatewayClient, metadata: list[tuple[str, str]]) -> grpc.RpcError:
    return _failure(lambda: client.query_version(VERSION, metadata=metadata))


@pytest.mark.parametrize("metadata", [
    [("channel", "mychannel"), ("chaincode", "mycc")],
    [("mspid", "MyOrg1MSP"), ("mspid", "MyOrg1MSP"), ("channel", "mychannel")],
    [("mspid", ""), ("channel", "mychannel")],
], ids=["missing", "repeated", "empty"])
def test_mspid_missing_or_repeated_is_failed_precondition_as_upstream__GEN_7(
    client: GatewayClient, metadata: list[tuple[str, str]]
) -> None:
    error = _query_version(client, metadata)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == "OE0003: missing or invalid header 'mspid'"


@pytest.mark.parametrize("metadata", [
    [("mspid", "MyOrg1MSP")],
    [("mspid", "MyOrg1MSP"), ("channel", "mychannel"), ("channel", "yourchannel")],
], ids=["missing", "repeated"])
def test_channel_missing_or_repeated_is_invalid_argument_not_unknown(
    client: GatewayClient, metadata: list[tuple[str, str]]
) -> None:
    error = _query_version(client, metadata)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "missing or invalid header 'channel'"


def test_mspid_is_checked_before_channel(client: GatewayClient) -> None:
    assert _query_version(client, []).code() == grpc.StatusCode.FAILED_PRECONDITION


@pytest.mark.parametrize("name", ["../escape", "MyChannel", "a/b", "x" * 300])
def test_a_channel_that_is_not_a_fabric_channel_name_is_refused_and_creates_no_file(
    client: GatewayClient, gateway: GatewayThread, name: str
) -> None:
    error = _query_version(client, [("mspid", "MyOrg1MSP"), ("channel", name)])
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "invalid header 'channel'" in error.details()
    data_dir = gateway.gateway.config.data_dir
    assert sorted(p.name for p in data_dir.iterdir()) == [".lock", "mychannel"]


def test_a_malformed_chaincode_name_is_refused(client: GatewayClient) -> None:
    error = _query_version(client, [("mspid", "MyOrg1MSP"), ("channel", "mychannel"), ("chaincode", "../cc")])
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "invalid header 'chaincode'" in error.details()


def test_a_repeated_chaincode_is_refused(client: GatewayClient) -> None:
    error = _query_version(client, [*client.metadata, ("chaincode", "othercc")])
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "missing or invalid header 'chaincode'"


def test_embedded_mode_without_chaincode_uses_the_channels_default_ledger(channel: grpc.Channel) -> None:
    without = GatewayClient(channel, chaincode=None).register()
    without.register_algo(b.new_algo())
    assert without.get_algo(algo_pb2.GetAlgoParam(key=b.key("simple algo"))).key == b.key("simple algo")
    named = GatewayClient(channel, chaincode="mycc").register()
    error = _failure(lambda: named.get_algo(algo_pb2.GetAlgoParam(key=b.key("simple algo"))))
    assert error.code() == grpc.StatusCode.NOT_FOUND  # another chaincode, another ledger


def test_each_channel_chaincode_pair_has_its_own_ledger__GEN_3(channel: grpc.Channel) -> None:
    mine = GatewayClient(channel).register()
    mine.register_algo(b.new_algo())
    for other in (GatewayClient(channel, channel_name="yourchannel"), GatewayClient(channel, chaincode="othercc")):
        error = _failure(lambda other=other: other.get_algo(algo_pb2.GetAlgoParam(key=b.key("simple algo"))))
        assert error.code() == grpc.StatusCode.NOT_FOUND


# -- channel configuration -----------------------------------------------------------------

CHANNELS = ChannelConfig({
    "mychannel": ChannelAccess(frozenset({"MyOrg1MSP", "MyOrg2MSP"}), ("mycc",)),
    "yourchannel": ChannelAccess(frozenset({"MyOrg1MSP"})),
})


@pytest.fixture
def configured(tmp_path: Path) -> Iterator[grpc.Channel]:
    with running_gateway(tmp_path / "configured", channels=CHANNELS) as gateway, connected(gateway.address) as channel:
        yield channel


def test_members_of_a_configured_channel_are_served(configured: grpc.Channel) -> None:
    for client in (GatewayClient(configured), GatewayClient(configured, "MyOrg2MSP"),
                   GatewayClient(configured, channel_name="yourchannel", chaincode="anycc")):
        assert client.query_version(VERSION).orchestrator


def test_an_organization_outside_the_channel_is_permission_denied(configured: grpc.Channel) -> None:
    error = _failure(lambda: GatewayClient(configured, "MyOrg2MSP", channel_name="yourchannel").query_version(VERSION))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error.details() == 'organization "MyOrg2MSP" has no access to channel "yourchannel"'


def test_an_organization_of_no_channel_is_unknown_permission_denied(configured: grpc.Channel) -> None:
    error = _failure(lambda: GatewayClient(configured, "StrangerMSP").query_version(VERSION))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error.details() == 'organization "StrangerMSP" is unknown'


def test_an_unconfigured_channel_is_permission_denied(configured: grpc.Channel) -> None:
    error = _failure(lambda: GatewayClient(configured, channel_name="otherchannel").query_version(VERSION))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_chaincode_not_offered_on_the_channel_is_permission_denied(configured: grpc.Channel) -> None:
    error = _failure(lambda: GatewayClient(configured, chaincode="othercc").query_version(VERSION))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error.details() == 'chaincode "othercc" is not available on channel "mychannel"'


def test_without_chaincode_the_first_configured_chaincode_is_the_default(configured: grpc.Channel) -> None:
    GatewayClient(configured).register().register_algo(b.new_algo())
    without = GatewayClient(configured, chaincode=None)
    assert without.get_algo(algo_pb2.GetAlgoParam(key=b.key("simple algo"))).key == b.key("simple algo")


def test_a_refused_call_writes_nothing(configured: grpc.Channel, tmp_path: Path) -> None:
    outsider = GatewayClient(configured, "MyOrg2MSP", channel_name="yourchannel")
    assert _failure(lambda: outsider.register_algo(b.new_algo())).code() == grpc.StatusCode.PERMISSION_DENIED
    assert not (tmp_path / "configured" / "yourchannel").exists()


# -- chaincode required (a mode like Fabric's) and streams ----------------------------------

def test_a_mode_requiring_the_chaincode_header_refuses_calls_without_it(tmp_path: Path) -> None:
    register_mode("embedded-strict", lambda config: EmbeddedInvoker(config.data_dir), chaincode_header_required=True)
    with running_gateway(tmp_path / "data", mode="embedded-strict") as gateway, \
            connected(gateway.address) as channel:
        error = _failure(lambda: GatewayClient(channel, chaincode=None).query_version(VERSION))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error.details() == "missing or invalid header 'chaincode'"
        assert GatewayClient(channel).query_version(VERSION).chaincode


def test_streams_get_the_same_header_checks(client: GatewayClient, configured: grpc.Channel) -> None:
    anonymous = GatewayClient(client.channel)
    anonymous.metadata = (("channel", "mychannel"),)
    error = _failure(lambda: next(iter(anonymous.subscribe())))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    outsider = GatewayClient(configured, "MyOrg2MSP", channel_name="yourchannel")
    assert _failure(lambda: next(iter(outsider.subscribe()))).code() == grpc.StatusCode.PERMISSION_DENIED


def test_the_reqid_header_names_the_call_in_the_access_log(client: GatewayClient, caplog: pytest.LogCaptureFixture
                                                           ) -> None:
    with caplog.at_level(logging.INFO, logger="orchestrator.gateway.access"):
        client.query_version(VERSION, metadata=[*client.metadata, ("reqid", "trace-0042")])
    lines = [r for r in caplog.records if r.name == "orchestrator.gateway.access"]
    assert lines[-1].request_id == "trace-0042"  # type: ignore[attr-defined]
    assert lines[-1].mspid == "MyOrg1MSP"  # type: ignore[attr-defined]
    assert lines[-1].status == "OK"  # type: ignore[attr-defined]


def test_without_reqid_each_call_gets_an_eight_hex_digit_id(client: GatewayClient, caplog: pytest.LogCaptureFixture
                                                            ) -> None:
    with caplog.at_level(logging.INFO, logger="orchestrator.gateway.access"):
        client.query_version(VERSION)
        client.query_version(VERSION)
    ids = [r.request_id for r in caplog.records if r.name == "orchestrator.gateway.access"]  # type: ignore[attr-defined]
    assert len(ids) == 2 and ids[0] != ids[1]
    assert all(len(i) == 8 and int(i, 16) >= 0 for i in ids)
