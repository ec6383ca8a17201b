"""The deployment guide's RabbitMQ permissions, applied to a real broker: each backend reads its own queue only."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pika
import pika.exceptions
import pytest

from orchestrator.gateway.server import GatewayThread
from tests.client import GatewayClient
from tests.forwarder.broker import RabbitBroker
from tests.forwarder.harness import Consumer, ForwarderProcess

GUIDE = (Path(__file__).resolve().parents[2] / "docs" / "deployment.md").read_text()


def _guide_commands() -> list[list[str]]:
    blocks = re.findall(r"```bash\n(.*?)```", GUIDE, flags=re.DOTALL)
    lines = re.sub(r"\\\n\s*", " ", "\n".join(blocks)).splitlines()
    return [shlex.split(line)[1:] for line in lines if line.strip().startswith("rabbitmqctl ")]


def _url(broker: RabbitBroker, user: str, password: str) -> str:
    return f"amqp://{user}:{password}@127.0.0.1:{broker.port}/%2F"


def test_the_guides_users_let_the_forwarder_publish_and_each_backend_read_only_its_queue(
        gateway: GatewayThread, client: GatewayClient, broker: RabbitBroker, consumer: Consumer,
        tmp_path: Path) -> None:
    commands = _guide_commands()
    users = {command[1]: command[2] for command in commands if command[0] == "add_user"}
    assert set(users) == {"orchestrator-forwarder", "backend-org-2"}
    existing = broker.ctl("list_users").stdout
    for command in commands:
        if command[0] == "add_user" and command[1] in existing:
            broker.ctl("delete_user", command[1])
        broker.ctl(*command)
    forwarder_url = _url(broker, "orchestrator-forwarder", users["orchestrator-forwarder"])
    forwarder = ForwarderProcess(gateway.address, forwarder_url, tmp_path / "state",
                                 queues=("MyOrg1MSP=mychannel", "MyOrg2MSP=mychannel"))
    try:
        forwarder.wait_ready()
        backend = pika.BlockingConnection(pika.URLParameters(_url(broker, "backend-org-2", users["backend-org-2"])))
        try:
            channel = backend.channel()
            method, _, body = None, None, b""
            for _ in range(100):
                method, _, body = channel.basic_get("MyOrg2MSP", auto_ack=True)
                if method is not None:
                    break
                backend.sleep(0.05)
            assert method is not None and b'"organization"' in body  # its own queue: readable
            with pytest.raises(pika.exceptions.ChannelClosedByBroker, match="ACCESS_REFUSED"):
                channel.basic_get("MyOrg1MSP", auto_ack=True)
            channel = backend.channel()
            with pytest.raises(pika.exceptions.ChannelClosedByBroker, match="ACCESS_REFUSED"):
                channel.queue_declare("sneaky", durable=True)
            channel = backend.channel()
            channel.confirm_delivery()
            with pytest.raises(pika.exceptions.ChannelClosedByBroker, match="ACCESS_REFUSED"):
                channel.basic_publish("orchestrator", "mychannel", b"{}")
        finally:
            if backend.is_open:
                backend.close()
    finally:
        forwarder.stop()
