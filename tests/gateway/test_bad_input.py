"""Bad input on every RPC: malformed bytes and invalid messages get a clear status and change nothing."""

# A table-driven sweep sends undecodable bytes and empty messages to every method; a
# property-based sweep (hypothesis) sends messages generated from the request descriptors,
# with keys drawn from assets that exist and from ones that do not, so calls get past
# validation into the checks behind it. Whatever a call answers, it is never INTERNAL, and a
# call that fails leaves the ledger (state, transactions, events) byte-for-byte unchanged.

from __future__ import annotations

import math
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.api import algo_pb2
from orchestrator.gateway.ledger.redo import decode_all
from orchestrator.shared.functions import BY_NAME, Function
from tests import builders as b
from tests.client import GatewayClient, connected, running_gateway
from tests.e2e import steps

ALL = sorted(BY_NAME.values(), key=lambda f: f.name)
WRITES = [f for f in ALL if not f.read_only]
READS = [f for f in ALL if f.read_only]
#: What a refused call may answer: a domain status (ERR-1), never INTERNAL.
REFUSALS = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION,
            grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNIMPLEMENTED}
#: Writes whose empty request is a valid no-op (BATCH-4: an empty sample batch succeeds).
EMPTY_ACCEPTED = {"orchestrator.datasample:RegisterDataSamples"}
EXISTING = ["simple algo", "metric algo", "dm", "ds", "cp", "task", "child", "model"]


@pytest.fixture(scope="module")
def ledger_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GatewayClient, Path]]:
    """A gateway whose ledger holds a little of everything, and the path of its SQLite file."""
    data_dir = tmp_path_factory.mktemp("bad-input")
    with running_gateway(data_dir) as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        client.as_org("MyOrg2MSP").register()
        steps.setup_train(client)
        steps.register_algo(client, "metric algo", algo_pb2.ALGO_METRIC)
        steps.register_task(client, b.new_train_task("task"))
        steps.register_task(client, b.new_train_task("child", parents=("task",)))
        steps.start(client, "task")
        yield client, data_dir / "mychannel" / "mycc.sqlite"


def dump(path: Path) -> dict[str, list[Any]]:
    """Every row of every table of the ledger (state, events, bookkeeping), read straight from its SQLite file.

    The gateway commits acknowledged calls to the file in groups; this waits until none is left
    only in the redo log, so two dumps differ only if calls changed the ledger.
    """
    redo = path.with_name(path.name + "-redo")
    deadline = time.monotonic() + 10
    while True:
        logged = [record.call for record in decode_all(redo.read_bytes())] if redo.exists() else []
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            rows = {table: db.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall() for table in tables}
        committed = rows["calls"][0][1] if rows.get("calls") else 0
        if all(call <= committed for call in logged):
            return rows
        assert time.monotonic() < deadline, f"acknowledged calls still uncommitted in {redo}"
        time.sleep(0.01)


def raw_call(client: GatewayClient, function: Function, payload: bytes) -> tuple[grpc.StatusCode, str]:
    """Send ``payload`` as the request bytes; the status and details of the answer."""
    try:
        if function.server_streaming:
            stream = client.channel.unary_stream(function.grpc_path)(payload, metadata=client.metadata, timeout=10)
            next(iter(stream), None)
            stream.cancel()
            return grpc.StatusCode.OK, ""
        client.channel.unary_unary(function.grpc_path)(payload, metadata=client.metadata, timeout=30)
        return grpc.StatusCode.OK, ""
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or ""


def check_refusal(code: grpc.StatusCode, details: str) -> None:
    if code == grpc.StatusCode.UNKNOWN:  # ERR-2: upstream's one non-domain error seen in normal use
        assert "inappropriate in current state" in details, details
        return
    assert code in REFUSALS, (code, details)
    assert details[:2] == "OE" and ": " in details, details


# -- table-driven sweep ----------------------------------------------------------------------

MALFORMED = [b"\xff\xff\xff\xff", b"\x0a\x05abc", b"\x08"]  # bad wire type, truncated length, truncated varint


@pytest.mark.parametrize("function", ALL, ids=lambda f: f.method.name)
def test_undecodable_bytes_are_invalid_argument_on_every_rpc_and_change_nothing(
    ledger_world: tuple[GatewayClient, Path], function: Function
) -> None:
    client, path = ledger_world
    before = dump(path)
    for payload in MALFORMED:
        code, details = raw_call(client, function, payload)
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (payload, code, details)
        assert details.startswith(f"OE0101: {function.request.DESCRIPTOR.full_name} is not valid: cannot decode")
    assert dump(path) == before


@pytest.mark.parametrize("function", WRITES, ids=lambda f: f.method.name)
def test_an_empty_request_to_a_write_is_refused_with_a_domain_status_and_changes_nothing(
    ledger_world: tuple[GatewayClient, Path], function: Function
) -> None:
    client, path = ledger_world
    before = dump(path)
    code, details = raw_call(client, function, b"")
    if function.name in EMPTY_ACCEPTED:
        assert code == grpc.StatusCode.OK
        return
    if function.name == "orchestrator.organization:RegisterOrganization":
        assert code == grpc.StatusCode.ALREADY_EXISTS  # the caller is registered: an empty request is complete
    check_refusal(code, details)
    assert dump(path) == before


@pytest.mark.parametrize("function", READS, ids=lambda f: f.method.name)
def test_an_empty_request_to_a_read_answers_cleanly_and_changes_nothing(
    ledger_world: tuple[GatewayClient, Path], function: Function
) -> None:
    client, path = ledger_world
    before = dump(path)
    code, details = raw_call(client, function, b"")
    if code != grpc.StatusCode.OK:
        check_refusal(code, details)
    assert dump(path) == before


# -- property-based sweep --------------------------------------------------------------------

def _keys() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from([b.key(ref) for ref in EXISTING]),
        st.sampled_from(["", "not-a-uuid", "MyOrg1MSP", "MyOrg2MSP", str(uuid.UUID(int=0)), b.key("x").upper()]),
        st.uuids().map(str),
    )


def _strings(field: FieldDescriptor) -> st.SearchStrategy[str]:
    name = field.name
    if "key" in name or name in ("worker", "authorized_ids", "by_pass"):
        return _keys()
    if name == "checksum":
        return st.sampled_from([b.CHECKSUM, "", "xyz", "0" * 63])
    if name == "storage_address":
        return st.sampled_from(["https://somewhere.local/x", "", "not a url", "ftp://127.0.0.1/test"])
    if name in ("identifier", "output_identifier"):
        return st.sampled_from(["model", "opener", "datasamples", "shared", "local", "", "nothing"])
    return st.text(max_size=12)


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    t = field.type
    if t == FieldDescriptor.TYPE_STRING:
        return _strings(field)
    if t == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t == FieldDescriptor.TYPE_ENUM:
        return st.sampled_from([v.number for v in field.enum_type.values] + [99])
    if t in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_UINT32):
        return st.integers(0, 300)
    if t == FieldDescriptor.TYPE_FLOAT:
        return st.one_of(st.floats(-1e6, 1e6, width=32), st.just(math.nan), st.just(math.inf))
    raise NotImplementedError(field.full_name)


def _value(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return messages(field.message_type, depth + 1)
    return _scalar(field)


def messages(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    """Messages of ``descriptor``, any subset of fields set, sub-messages up to three levels deep."""
    cls = message_factory.GetMessageClass(descriptor)
    if descriptor.full_name == "google.protobuf.Timestamp" or depth > 3:
        return st.just(cls())
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key_field, value_field = field.message_type.fields
            parts[field.name] = st.dictionaries(_value(key_field, depth), _value(value_field, depth), max_size=3)
        elif field.label == FieldDescriptor.LABEL_REPEATED:
            parts[field.name] = st.lists(_value(field, depth), max_size=3)
        else:
            parts[field.name] = _value(field, depth)

    def build(values: dict[str, Any]) -> Message:
        message = cls()
        for name, value in values.items():
            field = descriptor.fields_by_name[name]
            target = getattr(message, name)
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                for k, v in value.items():
                    if isinstance(v, Message):
                        target[k].CopyFrom(v)
                    else:
                        target[k] = v
            elif field.label == FieldDescriptor.LABEL_REPEATED:
                if field.type == FieldDescriptor.TYPE_MESSAGE:
                    for item in value:
                        target.add().CopyFrom(item)
                else:
                    target.extend(value)
            elif field.type == FieldDescriptor.TYPE_MESSAGE:
                target.CopyFrom(value)
            else:
                setattr(message, name, value)
        return message

    return st.fixed_dictionaries({}, optional=parts).map(build)


def _sweep(client: GatewayClient, path: Path, function: Function, message: Message) -> None:
    before = dump(path)
    code, details = raw_call(client, function, message.SerializeToString())
    if code != grpc.StatusCode.OK:
        check_refusal(code, details)
        assert dump(path) == before, f"{function.name} failed with {code} but changed the ledger"
    elif function.read_only:
        assert dump(path) == before


SWEEP = settings(max_examples=25, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.parametrize("function", WRITES, ids=lambda f: f.method.name)
def test_generated_write_requests_are_answered_cleanly_and_failures_change_nothing(
    ledger_world: tuple[GatewayClient, Path], function: Function
) -> None:
    client, path = ledger_world

    @SWEEP
    @given(messages(function.request.DESCRIPTOR))
    def sweep(message: Message) -> None:
        _sweep(client, path, function, message)

    sweep()


@pytest.mark.parametrize("function", READS, ids=lambda f: f.method.name)
def test_generated_read_requests_are_answered_cleanly_and_change_nothing(
    ledger_world: tuple[GatewayClient, Path], function: Function
) -> None:
    client, path = ledger_world

    @settings(SWEEP, max_examples=10)
    @given(messages(function.request.DESCRIPTOR))
    def sweep(message: Message) -> None:
        _sweep(client, path, function, message)

    sweep()
