"""Events reach RabbitMQ in upstream's topology and format, at least once and in order (real broker, real gateway)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from orchestrator.api import algo_pb2
from orchestrator.forwarder.checkpoint import Checkpoint, CheckpointStore
from orchestrator.gateway.server import GatewayThread
from tests import builders as b
from tests.client import GatewayClient, GatewayProcess, connected, free_port, ledger_order
from tests.e2e import steps
from tests.forwarder.broker import RabbitBroker
from tests.forwarder.harness import Consumer, ForwarderProcess, duplicates, fill, setup_manager

ALL_ASSET_KINDS = {"algo", "compute_plan", "compute_task", "data_manager", "data_sample", "failure_report", "model",
                   "organization", "performance"}


@pytest.fixture
def forwarder(gateway: GatewayThread, broker: RabbitBroker, consumer: Consumer,
              state_dir: Path) -> Iterator[ForwarderProcess]:
    process = ForwarderProcess(gateway.address, broker.url, state_dir).wait_ready()
    try:
        yield process
    finally:
        process.stop()


def _every_asset_kind(client: GatewayClient) -> None:
    """Organization, algos, data manager, samples, plan, tasks, model, performance and a failure report."""
    steps.setup_train(client)
    steps.register_sample(client, "testds", test_only=True)
    steps.register_task(client, b.new_train_task("task"))
    steps.start(client, "task")
    steps.register_model(client, "model", "task")
    steps.register_algo(client, "testmetric", algo_pb2.ALGO_METRIC)
    steps.register_task(client, b.new_test_task("testTask", parents=("task",), metrics=("testmetric",),
                                                samples=("testds",)))
    steps.start(client, "testTask")
    client.register_performance(b.new_performance("testTask", "testmetric"))
    steps.register_task(client, b.new_train_task("doomed"))
    steps.start(client, "doomed")
    client.register_failure_report(b.new_failure_report("doomed"))


def _reference(message: Message) -> dict[str, Any]:
    """Upstream's shape from protobuf's own JSON printer, plus the nulls Go writes for unset messages."""
    shaped = json_format.MessageToDict(message, preserving_proto_field_name=True,
                                       always_print_fields_with_no_presence=True)
    _add_nulls(message, shaped)
    return shaped


def _add_nulls(message: Message, shaped: dict[str, Any]) -> None:
    for field in message.DESCRIPTOR.fields:
        if field.type != FieldDescriptor.TYPE_MESSAGE or field.message_type.full_name.startswith("google.protobuf"):
            continue
        if field.message_type.GetOptions().map_entry:
            if field.message_type.fields_by_name["value"].type == FieldDescriptor.TYPE_MESSAGE:
                for key, value in getattr(message, field.name).items():
                    _add_nulls(value, shaped[field.name][key])
        elif field.label == FieldDescriptor.LABEL_REPEATED:
            for item, item_shape in zip(getattr(message, field.name), shaped[field.name], strict=True):
                _add_nulls(item, item_shape)
        elif message.HasField(field.name):
            _add_nulls(getattr(message, field.name), shaped[field.name])
        elif field.containing_oneof is None:
            shaped[field.name] = None


def _declaration_order(message: Message, shaped: dict[str, Any]) -> bool:
    order = [field.name for field in message.DESCRIPTOR.fields if field.name in shaped]
    return list(shaped) == order


def test_events_of_every_asset_kind_arrive_with_upstreams_json_shape(
        client: GatewayClient, consumer: Consumer, forwarder: ForwarderProcess) -> None:
    _every_asset_kind(client)
    ledger = ledger_order(client.query_events())
    received = consumer.read("MyOrg1MSP", len(ledger))
    assert [message["id"] for message, _, _ in received] == [event.id for event in ledger]
    kinds = set()
    for event, (message, properties, body) in zip(ledger, received, strict=True):
        assert properties.content_type == "application/json"
        assert properties.delivery_mode == 2  # persistent
        assert message == _reference(event)
        assert message["channel"] == "mychannel"
        assert _declaration_order(event, message)
        assert body == _compact(message)  # no whitespace, UTF-8, keys as written
        kinds |= ALL_ASSET_KINDS & set(message)
    assert kinds == ALL_ASSET_KINDS


def _compact(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def test_two_channels_route_each_event_to_the_queues_of_their_organizations_only(
        gateway: GatewayThread, channel: grpc.Channel, broker: RabbitBroker, consumer: Consumer,
        state_dir: Path) -> None:
    mine = GatewayClient(channel).register()
    yours = GatewayClient(channel, "MyOrg3MSP", channel_name="yourchannel").register()
    steps.register_algo(mine, "algo on mychannel")
    steps.register_algo(yours, "algo on yourchannel")
    process = ForwarderProcess(gateway.address, broker.url, state_dir, channels=("mychannel", "yourchannel"),
                               queues=("MyOrg1MSP=mychannel,yourchannel", "MyOrg2MSP=mychannel",
                                       "MyOrg3MSP=yourchannel")).wait_ready()
    try:
        on_mine = [event.id for event in ledger_order(mine.query_events())]
        on_yours = [event.id for event in ledger_order(yours.query_events())]
        assert len(on_mine) == len(on_yours) == 2
        org1 = consumer.read("MyOrg1MSP", 4)
        assert sorted(m["id"] for m, _, _ in org1) == sorted(on_mine + on_yours)
        for message, _, _ in org1:  # in order within each channel
            assert message["channel"] == ("mychannel" if message["id"] in on_mine else "yourchannel")
        assert [m["id"] for m, _, _ in org1 if m["channel"] == "mychannel"] == on_mine
        assert consumer.ids("MyOrg2MSP", 2) == on_mine
        assert consumer.ids("MyOrg3MSP", 2) == on_yours
        steps.register_algo(yours, "later algo")
        assert consumer.ids("MyOrg3MSP", 1)[0] == ledger_order(yours.query_events())[-1].id
        assert consumer.read("MyOrg2MSP", 1, timeout=1.0) == []  # nothing of yourchannel for MyOrg2MSP
    finally:
        process.stop()


def test_readiness_and_metrics_report_connections_progress_and_lag(
        client: GatewayClient, consumer: Consumer, forwarder: ForwarderProcess) -> None:
    setup_manager(client)
    fill(client, "s", 2, 50)
    ledger = [event.id for event in ledger_order(client.query_events())]
    assert consumer.ids("MyOrg1MSP", len(ledger)) == ledger
    status, body = forwarder.status("/readyz")
    assert status == 200 and body["broker_connected"] is True
    channel = body["channels"]["mychannel"]
    assert channel["gateway_connected"] is True and channel["last_confirmed_event"] == ledger[-1]
    assert forwarder.metric("orchestrator_forwarder_events_published_total", channel="mychannel") == len(ledger)
    assert forwarder.metric("orchestrator_forwarder_broker_connected") == 1
    assert forwarder.metric("orchestrator_forwarder_gateway_connected", channel="mychannel") == 1
    assert forwarder.metric("orchestrator_forwarder_events_repeated_total", channel="mychannel") == 0
    _wait(lambda: forwarder.status()[1]["channels"]["mychannel"]["lag_seconds"] == 0.0)


def _wait(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def _background_load(client: GatewayClient, prefix: str, batches: int, per_batch: int) -> threading.Thread:
    thread = threading.Thread(target=fill, args=(client, prefix, batches, per_batch), daemon=True)
    thread.start()
    return thread


def _assert_all_in_order(received: list[str], ledger: list[str]) -> None:
    """Every event at least once; the first time each arrives, it arrives in ledger order."""
    first_seen = list(dict.fromkeys(received))
    assert first_seen == ledger


def test_a_forwarder_killed_mid_load_loses_nothing_on_restart_and_counts_its_repeats(
        gateway: GatewayThread, client: GatewayClient, broker: RabbitBroker, consumer: Consumer,
        state_dir: Path) -> None:
    setup_manager(client)
    # confirmed progress is saved rarely: the restart sends again what the first run published
    first = ForwarderProcess(gateway.address, broker.url, state_dir, "--checkpoint-interval", "30").wait_ready()
    load = _background_load(client, "s", 40, 50)
    received = consumer.ids("MyOrg1MSP", 500)
    first.kill()
    load.join(timeout=120)
    ledger = [event.id for event in ledger_order(client.query_events())]
    assert len(ledger) == 2 + 40 * 50 and len(received) < len(ledger)
    second = ForwarderProcess(gateway.address, broker.url, state_dir).wait_ready()
    try:
        while len(set(received)) < len(ledger):
            more = consumer.ids("MyOrg1MSP", len(ledger) - len(set(received)), timeout=60)
            assert more, f"events missing after the restart: {second.log()[-2000:]}"
            received += more
        received += consumer.ids("MyOrg1MSP", len(ledger), timeout=2.0)  # repeats still on their way
        _assert_all_in_order(received, ledger)
        # every event received twice was sent again knowingly: the published mark covered it
        counted = second.metric("orchestrator_forwarder_events_repeated_total", channel="mychannel")
        assert duplicates(received) <= counted
    finally:
        second.stop()


def test_a_restart_counts_the_events_published_after_the_last_confirmed_checkpoint_as_repeats(
        gateway: GatewayThread, client: GatewayClient, broker: RabbitBroker, consumer: Consumer,
        state_dir: Path) -> None:
    setup_manager(client)
    fill(client, "s", 1, 10)
    ledger = [event.id for event in ledger_order(client.query_events())]
    # what a crash leaves behind: events 3..8 were published, only events up to 2 were confirmed
    CheckpointStore(state_dir).save("mychannel", Checkpoint(confirmed=ledger[2], published=ledger[8]))
    process = ForwarderProcess(gateway.address, broker.url, state_dir).wait_ready()
    try:
        assert consumer.ids("MyOrg1MSP", len(ledger) - 3) == ledger[3:]  # resumed right after the confirmed one
        assert process.metric("orchestrator_forwarder_events_repeated_total", channel="mychannel") == 6
        assert process.metric("orchestrator_forwarder_events_published_total", channel="mychannel") == 9
        fill(client, "t", 1, 1)
        assert len(consumer.ids("MyOrg1MSP", 1)) == 1
        assert process.metric("orchestrator_forwarder_events_repeated_total", channel="mychannel") == 6
    finally:
        process.stop()


def test_a_gateway_restart_only_pauses_the_stream(
        tmp_path: Path, broker: RabbitBroker, consumer: Consumer, state_dir: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "gateway-data"
    gateway = GatewayProcess(data_dir, port=port).wait_serving()
    try:
        with connected(gateway.address) as channel:
            client = GatewayClient(channel).register()
            setup_manager(client)
            fill(client, "before", 2, 20)
        process = ForwarderProcess(gateway.address, broker.url, state_dir).wait_ready()
        try:
            before = consumer.ids("MyOrg1MSP", 42)
            assert len(before) == 42
            gateway.stop(15)
            _wait(lambda: process.status()[0] == 503)
            assert process.status()[1]["channels"]["mychannel"]["gateway_connected"] is False
            gateway = GatewayProcess(data_dir, port=port).wait_serving()
            with connected(gateway.address) as channel:
                client = GatewayClient(channel)
                fill(client, "after", 2, 20)
                ledger = [event.id for event in ledger_order(client.query_events())]
            after = consumer.ids("MyOrg1MSP", 40)
            assert before + after == ledger  # each event once, in order
            process.wait_ready()
            assert process.metric("orchestrator_forwarder_reconnects_total", peer="gateway") >= 1
        finally:
            process.stop()
    finally:
        if gateway.process.poll() is None:
            gateway.stop(15)
