"""The embedded invoker: one lazily opened SQLite ledger per (channel, chaincode), one gateway per data directory."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import grpc
import pytest

from orchestrator.api import organization_pb2
from orchestrator.gateway.invoke.base import DataDirInUseError, InvocationError, Target
from orchestrator.gateway.invoke.embedded import DEFAULT_CHAINCODE, EmbeddedInvoker
from orchestrator.shared import codec

REGISTER = "orchestrator.organization:RegisterOrganization"
LIST = "orchestrator.organization:GetAllOrganizations"


def test_ledgers_open_on_first_use_one_file_per_channel_and_chaincode(tmp_path: Path) -> None:
    invoker = EmbeddedInvoker(tmp_path)
    try:
        assert invoker.open_ledgers == []
        invoker.submit(Target("MyOrg1MSP", "mychannel", "mycc"), REGISTER,
                       codec.encode(organization_pb2.RegisterOrganizationParam()))
        invoker.evaluate(Target("MyOrg1MSP", "mychannel"), LIST, b"")
        assert invoker.open_ledgers == [("mychannel", DEFAULT_CHAINCODE), ("mychannel", "mycc")]
        assert sorted(p.name for p in (tmp_path / "mychannel").glob("*.sqlite")) == ["default.sqlite", "mycc.sqlite"]
    finally:
        invoker.close()


def test_concurrent_first_calls_share_one_ledger(tmp_path: Path) -> None:
    invoker = EmbeddedInvoker(tmp_path)
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            ledgers = list(pool.map(lambda _: invoker.ledger("mychannel", "mycc"), range(32)))
        assert all(ledger is ledgers[0] for ledger in ledgers)
    finally:
        invoker.close()


def test_a_configured_default_chaincode_serves_calls_without_one(tmp_path: Path) -> None:
    invoker = EmbeddedInvoker(tmp_path, default_chaincodes={"mychannel": "mycc"})
    try:
        assert invoker.ledger("mychannel") is invoker.ledger("mychannel", "mycc")
        assert invoker.ledger("yourchannel") is invoker.ledger("yourchannel", DEFAULT_CHAINCODE)
    finally:
        invoker.close()


def test_a_second_gateway_on_the_same_data_directory_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    first = EmbeddedInvoker(tmp_path)
    with pytest.raises(DataDirInUseError, match="in use by another gateway"):
        EmbeddedInvoker(tmp_path)
    first.close()
    EmbeddedInvoker(tmp_path).close()


def test_names_that_could_escape_the_data_directory_are_refused(tmp_path: Path) -> None:
    invoker = EmbeddedInvoker(tmp_path / "data")
    try:
        for channel, chaincode in (("..", "mycc"), ("mychannel", "../../etc"), ("my/channel", "")):
            with pytest.raises(InvocationError) as refused:
                invoker.ledger(channel, chaincode)
            assert refused.value.status == grpc.StatusCode.INVALID_ARGUMENT
        assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    finally:
        invoker.close()


def test_a_closed_invoker_is_unavailable(tmp_path: Path) -> None:
    invoker = EmbeddedInvoker(tmp_path)
    invoker.close()
    assert not invoker.ready()
    with pytest.raises(InvocationError) as refused:
        invoker.ledger("mychannel", "mycc")
    assert refused.value.status == grpc.StatusCode.UNAVAILABLE
