"""A broker restart in the middle of a load loses nothing (a broker of its own: this test stops it)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.gateway.server import GatewayThread
from tests.client import GatewayClient, ledger_order
from tests.forwarder.broker import RabbitBroker, broker_available
from tests.forwarder.harness import Consumer, ForwarderProcess, fill, setup_manager


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[RabbitBroker]:
    if not broker_available():
        pytest.skip("RabbitMQ is not installed (Debian package rabbitmq-server; .ci/run installs it)")
    started = RabbitBroker(tmp_path / "rabbitmq").start()
    try:
        yield started
    finally:
        started.close()


def test_a_broker_killed_and_restarted_mid_load_loses_no_event(
        gateway: GatewayThread, client: GatewayClient, own_broker: RabbitBroker, tmp_path: Path) -> None:
    setup_manager(client)
    process = ForwarderProcess(gateway.address, own_broker.url, tmp_path / "state").wait_ready()
    try:
        consumer = Consumer(own_broker.url)
        load = threading.Thread(target=fill, args=(client, "s", 30, 50), daemon=True)
        load.start()
        received = consumer.ids("MyOrg1MSP", 300)
        consumer.close()
        own_broker.stop(kill=True)  # a crash: confirmed messages are on disk, the rest was never confirmed
        deadline = time.monotonic() + 30
        while process.status()[1]["broker_connected"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.status()[0] == 503
        load.join(timeout=120)
        own_broker.start()
        ledger = [event.id for event in ledger_order(client.query_events())]
        consumer = Consumer(own_broker.url)
        while len(set(received)) < len(ledger):
            more = consumer.ids("MyOrg1MSP", len(ledger) - len(set(received)), timeout=60)
            assert more, f"events lost across the broker restart: {process.log()[-3000:]}"
            received += more
        received += consumer.ids("MyOrg1MSP", len(ledger), timeout=2.0)
        assert list(dict.fromkeys(received)) == ledger  # everything, first arrivals in order
        process.wait_ready()
        assert process.metric("orchestrator_forwarder_reconnects_total", peer="broker") >= 1
        consumer.close()
    finally:
        process.stop()
