"""The embedded invoker: one lazily opened SQLite ledger per (channel, chaincode), one gateway per data directory,
small calls run at once when nothing holds their ledger."""

from __future__ import annotations

import concurrent.futures
import threading
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from orchestrator.api import algo_pb2, organization_pb2
from orchestrator.gateway.invoke.base import DataDirInUseError, InvocationError, Target
from orchestrator.gateway.invoke.embedded import DEFAULT_CHAINCODE, EmbeddedInvoker
from orchestrator.gateway.ledger import sqlite as ledger_module
from orchestrator.gateway.ledger.sqlite import SqliteLedger
from orchestrator.gateway.server import GatewayThread
from orchestrator.shared import codec
from orchestrator.shared.functions import BY_HANDLER
from tests import builders as b
from tests.client import GatewayClient, connected, test_config

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


def test_ledgers_already_in_the_data_directory_open_at_start(tmp_path: Path) -> None:
    first = EmbeddedInvoker(tmp_path)
    first.ledger("mychannel", "mycc").submit("MyOrg1MSP", REGISTER,
                                             codec.encode(organization_pb2.RegisterOrganizationParam()))
    first.close()
    (tmp_path / "mychannel" / "not a chaincode name!.sqlite").touch()  # not a ledger the gateway made: left alone
    restarted = EmbeddedInvoker(tmp_path)
    try:
        assert restarted.open_ledgers == [("mychannel", "mycc")]  # checked and replayed before any call
    finally:
        restarted.close()


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


class LedgerHolder:
    """Another call in progress on a ledger, until released: the ledger is busy meanwhile."""

    def __init__(self, ledger: SqliteLedger) -> None:
        self._holding = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=ledger.run_write, args=(self._hold,),
                                        kwargs={"creator_msp": "MyOrg1MSP"})

    def _hold(self, world_state: object) -> None:
        self._holding.set()
        self._release.wait(30)

    def __enter__(self) -> LedgerHolder:
        self._thread.start()
        assert self._holding.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        self._release.set()
        self._thread.join()


def test_a_call_runs_at_once_only_on_an_open_ledger_that_nothing_holds(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_module, "GROUP_AGE", 3600.0)  # calls stay uncommitted until a read needs them
    invoker = EmbeddedInvoker(tmp_path)
    target = Target("MyOrg1MSP", "mychannel", "mycc")
    register = codec.encode(organization_pb2.RegisterOrganizationParam())
    try:
        assert invoker.run_now(target, REGISTER, register, read_only=False) is None  # not open: opening waits
        invoker.ledger("mychannel", "mycc")
        assert invoker.run_now(target, REGISTER, register, read_only=False) is not None
        with LedgerHolder(invoker.ledger("mychannel", "mycc")):
            other = Target("MyOrg2MSP", "mychannel", "mycc")
            assert invoker.run_now(other, REGISTER, register, read_only=False) is None  # it would wait
            assert invoker.run_now(target, LIST, b"", read_only=True) is None  # a read must commit the first call
        listed = codec.decode_message(invoker.run_now(target, LIST, b"", read_only=True) or b"",
                                      organization_pb2.GetAllOrganizationsResponse)
        assert [o.id for o in listed.organizations] == ["MyOrg1MSP"]  # the refused call wrote nothing
        with LedgerHolder(invoker.ledger("mychannel", "mycc")):
            assert invoker.run_now(target, LIST, b"", read_only=True) is not None  # nothing to commit: no wait
    finally:
        invoker.close()


def test_a_small_call_waiting_for_a_busy_ledger_leaves_the_event_loop_serving(tmp_path: Path) -> None:
    invoker = EmbeddedInvoker(tmp_path / "data")
    with GatewayThread(test_config(tmp_path / "data"), invoker=invoker) as gateway, \
            connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        register_algo = BY_HANDLER["register_algo"]
        with LedgerHolder(invoker.ledger("mychannel", "mycc")):
            pending = channel.unary_unary(register_algo.grpc_path).future(
                b.new_algo("waiting").SerializeToString(), metadata=client.metadata, timeout=30)
            health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert health.status == health_pb2.HealthCheckResponse.SERVING  # the loop is not stuck on the ledger
            assert not pending.done()
        assert algo_pb2.Algo.FromString(pending.result(timeout=30)).key == b.key("waiting")
