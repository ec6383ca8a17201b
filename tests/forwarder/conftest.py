"""Fixtures of the forwarder tests: a real RabbitMQ broker for the session, a gateway and a consumer per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.forwarder.broker import RabbitBroker, broker_available
from tests.forwarder.harness import Consumer
from tests.gateway_fixtures import channel, client, client2, gateway

__all__ = ["broker", "channel", "client", "client2", "consumer", "gateway"]


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitBroker]:
    """One broker for the session (starting one takes seconds); each test resets the queues it uses."""
    if not broker_available():
        pytest.skip("RabbitMQ is not installed (Debian package rabbitmq-server; .ci/run installs it)")
    started = RabbitBroker(tmp_path_factory.mktemp("rabbitmq")).start()
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def consumer(broker: RabbitBroker) -> Iterator[Consumer]:
    reader = Consumer(broker.url)
    reader.reset()
    try:
        yield reader
    finally:
        reader.close()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "forwarder-state"
