"""Errors become gRPC statuses in one place (ERR-1, ERR-2; issue item 6): codes by text, no leaked internals."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from orchestrator.api import algo_pb2, computetask_pb2, event_pb2, info_pb2
from orchestrator.gateway.invoke.base import ChaincodeError, InvocationError, Target
from orchestrator.gateway.invoke.embedded import EmbeddedInvoker
from orchestrator.gateway.server import GatewayThread
from tests import builders as b
from tests.client import GatewayClient, connected, test_config
from tests.e2e import steps


class ScriptedInvoker(EmbeddedInvoker):
    """The embedded invoker, except that queued failures are raised first: the seam a Fabric invoker fills."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.failures: list[Exception] = []

    def _next(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    def evaluate(self, target: Target, function: str, argument: bytes, **kwargs: Any) -> bytes:
        self._next()
        return super().evaluate(target, function, argument, **kwargs)

    def submit(self, target: Target, function: str, argument: bytes, **kwargs: Any) -> bytes:
        self._next()
        return super().submit(target, function, argument, **kwargs)

    def run_now(self, target: Target, function: str, argument: bytes, **kwargs: Any) -> bytes | None:
        self._next()
        return super().run_now(target, function, argument, **kwargs)

    def event_log(self, target: Target) -> Any:
        self._next()
        return super().event_log(target)


@pytest.fixture
def scripted(tmp_path: Path) -> Iterator[tuple[ScriptedInvoker, GatewayClient]]:
    invoker = ScriptedInvoker(tmp_path / "scripted")
    gateway = GatewayThread(test_config(tmp_path / "scripted"), invoker=invoker).start()
    try:
        with connected(gateway.address) as channel:
            yield invoker, GatewayClient(channel).register()
    finally:
        gateway.stop()


def _failure(call: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as failure:
        call()
    return failure.value


def test_domain_errors_keep_their_text_and_map_by_code__ERR_1(client: GatewayClient) -> None:
    error = _failure(lambda: client.get_algo(algo_pb2.GetAlgoParam(key=b.key("nothing"))))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == f'OE0002: algo with key "{b.key("nothing")}" not found'
    client.register_algo(b.new_algo())
    error = _failure(lambda: client.register_algo(b.new_algo()))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert error.details().startswith("OE0006: ")


def test_an_illegal_task_transition_is_unknown_with_upstreams_text__ERR_2(client: GatewayClient) -> None:
    steps.setup_train(client)
    steps.register_task(client, b.new_train_task("task"))
    steps.register_task(client, b.new_train_task("child", parents=("task",)))
    error = _failure(lambda: steps.start(client, "child"))  # WAITING cannot start
    assert error.code() == grpc.StatusCode.UNKNOWN
    assert "inappropriate in current state" in error.details()


@pytest.mark.parametrize(("text", "status"), [
    ('OE0006: algo with key "k" already exists', grpc.StatusCode.ALREADY_EXISTS),
    ('OE0002: datamanager with key "x" not found: OE0101: wrapped', grpc.StatusCode.INVALID_ARGUMENT),
    ("OE0104: task is not in a compatible status", grpc.StatusCode.INVALID_ARGUMENT),
    ("chaincode panicked", grpc.StatusCode.UNKNOWN),
])
def test_chaincode_error_texts_map_by_the_first_code_in_priority_order__ERR_1(
    scripted: tuple[ScriptedInvoker, GatewayClient], text: str, status: grpc.StatusCode
) -> None:
    invoker, client = scripted
    invoker.failures.append(ChaincodeError(text))
    error = _failure(lambda: client.get_algo(algo_pb2.GetAlgoParam(key=b.key("a"))))
    assert (error.code(), error.details()) == (status, text)


@pytest.mark.parametrize("status", [grpc.StatusCode.ABORTED, grpc.StatusCode.UNAVAILABLE,
                                    grpc.StatusCode.DEADLINE_EXCEEDED])
def test_transport_failures_keep_their_status(scripted: tuple[ScriptedInvoker, GatewayClient],
                                              status: grpc.StatusCode) -> None:
    invoker, client = scripted
    invoker.failures.append(InvocationError(status, "MVCC conflict retries exhausted"))
    error = _failure(lambda: client.register_algo(b.new_algo()))
    assert (error.code(), error.details()) == (status, "MVCC conflict retries exhausted")


def test_unexpected_errors_are_internal_without_details_and_logged_with_the_request_id(
    scripted: tuple[ScriptedInvoker, GatewayClient], caplog: pytest.LogCaptureFixture
) -> None:
    invoker, client = scripted
    invoker.failures.append(RuntimeError("secret path /var/lib/peer/key.pem"))
    with caplog.at_level(logging.ERROR, logger="orchestrator.gateway"):
        error = _failure(lambda: client.register_algo(b.new_algo(), metadata=[*client.metadata, ("reqid", "r-77")]))
    assert error.code() == grpc.StatusCode.INTERNAL
    assert error.details() == "internal error (request id r-77)"
    assert "secret" not in error.details() and "Traceback" not in error.details()
    logged = [r for r in caplog.records if r.exc_info]
    assert logged and "secret path" in str(logged[0].exc_info[1])  # type: ignore[index]


def test_unexpected_errors_in_a_stream_are_internal_too(scripted: tuple[ScriptedInvoker, GatewayClient]) -> None:
    invoker, client = scripted
    invoker.failures.append(ZeroDivisionError("division by zero"))
    error = _failure(lambda: next(iter(client.subscribe())))
    assert error.code() == grpc.StatusCode.INTERNAL
    assert "division" not in error.details()


def test_a_corrupted_ledger_file_is_data_loss_and_names_no_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "mychannel").mkdir(parents=True)
    (data_dir / "mychannel" / "mycc.sqlite").write_bytes(b"this is not an SQLite database" * 100)
    with GatewayThread(test_config(data_dir)) as gateway, connected(gateway.address) as channel:
        error = _failure(lambda: GatewayClient(channel).query_version(info_pb2.QueryVersionParam()))
    assert error.code() == grpc.StatusCode.DATA_LOSS
    assert error.details().startswith("the ledger of channel mychannel, chaincode mycc is damaged and not served")
    assert str(tmp_path) not in error.details()


def test_an_unknown_start_event_is_not_found(client: GatewayClient) -> None:
    error = _failure(lambda: next(iter(client.subscribe("no-such-event"))))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == 'OE0002: event with key "no-such-event" not found'


def test_a_request_over_the_size_limit_is_resource_exhausted_and_writes_nothing(tmp_path: Path) -> None:
    with GatewayThread(test_config(tmp_path / "data", max_message_size=64 * 1024)) as gateway, \
            connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        steps.setup_train(client)
        big = computetask_pb2.RegisterTasksParam(tasks=[b.new_train_task(f"t{n}") for n in range(400)])
        assert big.ByteSize() > 64 * 1024
        error = _failure(lambda: client.register_tasks(big))
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert steps.get_plan(client).task_count == 0
        assert not client.query_events(event_kind=event_pb2.EVENT_ASSET_CREATED, asset_kind=6)
