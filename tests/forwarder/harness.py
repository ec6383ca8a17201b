"""The forwarder as operators run it (a subprocess), a consumer reading its queues, and a ledger to fill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pika

from orchestrator.api import datasample_pb2
from tests import builders as b
from tests.client import GatewayClient, free_port
from tests.e2e import steps

SCRIPT = Path(sys.executable).with_name("orchestrator-forwarder")
QUEUES = ("MyOrg1MSP", "MyOrg2MSP", "MyOrg3MSP")
EXCHANGES = ("orchestrator", "mychannel", "yourchannel")


class ForwarderProcess:
    """``orchestrator-forwarder`` in a subprocess, with its status endpoint on a free port."""

    def __init__(self, gateway: str, amqp_url: str, state_dir: Path, *args: str,
                 channels: Sequence[str] = ("mychannel",),
                 queues: Sequence[str] = ("MyOrg1MSP=mychannel",), mspid: str = "MyOrg1MSP") -> None:
        self.status_port = free_port()
        self.log_path = state_dir.parent / f"forwarder-{self.status_port}.log"
        state_dir.parent.mkdir(parents=True, exist_ok=True)
        command = [str(SCRIPT), "--gateway", gateway, "--mspid", mspid, "--amqp-url", amqp_url,
                   "--state-dir", str(state_dir), "--metrics-listen", f"127.0.0.1:{self.status_port}",
                   "--chaincode", "mycc", "--reconnect-max-delay", "1", "--lag-interval", "0.5",
                   *(arg for channel in channels for arg in ("--channel", channel)),
                   *(arg for queue in queues for arg in ("--queue", queue)), *args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATOR_FORWARDER_")}
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(command, stderr=log, stdout=log, stdin=subprocess.DEVNULL, env=env)

    def status(self, path: str = "/readyz") -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.status_port}{path}", timeout=5) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as failure:
            return failure.code, json.loads(failure.read())

    def wait_ready(self, timeout: float = 60.0) -> ForwarderProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"forwarder exited with {self.process.returncode}: {self.log()}")
            try:
                if self.status()[0] == 200:
                    return self
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        raise AssertionError(f"forwarder not ready in {timeout}s: {self.log()}")

    def metric(self, name: str, **labels: str) -> float:
        """The value of one sample of ``/metrics`` (0 when absent)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.status_port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        wanted = name + ("{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}" if labels else "")
        for line in text.splitlines():
            sample, _, value = line.rpartition(" ")
            if sample == wanted:
                return float(value)
        return 0.0

    def log(self) -> str:
        return self.log_path.read_text()

    def kill(self) -> None:
        """kill -9: no checkpoint flushed, no confirm awaited."""
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode

    def wait_exit(self, timeout: float = 60.0) -> int:
        return self.process.wait(timeout=timeout)


def run_forwarder_once(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATOR_FORWARDER_")}
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, env=env)


class Consumer:
    """A backend reading its queue: every message body, in arrival order."""

    def __init__(self, amqp_url: str) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        self.channel = self.connection.channel()

    def reset(self) -> None:
        """Remove what earlier tests declared on this broker: queues and exchanges start fresh."""
        for queue in QUEUES:
            self.channel.queue_delete(queue)
        for exchange in EXCHANGES:
            self.channel.exchange_delete(exchange)

    def read(self, queue: str, count: int, timeout: float = 60.0) -> list[tuple[dict[str, Any], Any, bytes]]:
        """At least ``count`` messages of ``queue`` (all that arrive until then): (JSON, properties, body)."""
        received: list[tuple[dict[str, Any], Any, bytes]] = []
        deadline = time.monotonic() + timeout
        while len(received) < count and time.monotonic() < deadline:
            method, properties, body = self.channel.basic_get(queue, auto_ack=True)
            if method is None:
                self.connection.sleep(0.05)
                continue
            received.append((json.loads(body), properties, body))
        return received

    def ids(self, queue: str, count: int, timeout: float = 60.0) -> list[str]:
        return [message["id"] for message, _, _ in self.read(queue, count, timeout)]

    def depth(self, queue: str) -> int:
        return int(self.channel.queue_declare(queue, passive=True).method.message_count)

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()


def fill(client: GatewayClient, prefix: str, batches: int, per_batch: int) -> None:
    """``batches`` transactions of ``per_batch`` data samples each: as many events."""
    for batch in range(batches):
        client.register_data_samples(datasample_pb2.RegisterDataSamplesParam(
            samples=[b.new_data_sample(f"{prefix}-{batch}-{n}") for n in range(per_batch)]))


def setup_manager(client: GatewayClient) -> None:
    steps.register_data_manager(client)


def duplicates(ids: Iterable[str]) -> int:
    seen: set[str] = set()
    repeated = 0
    for event_id in ids:
        if event_id in seen:
            repeated += 1
        seen.add(event_id)
    return repeated
