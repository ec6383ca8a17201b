"""Forwarder throughput: events per second from a gateway to a consumer on the queue, and CPU per event.

Run from the repository root: ``.venv/bin/python benchmarks/forwarder.py`` (``--help`` for options). It starts
a RabbitMQ broker of its own (Debian's rabbitmq-server) and a gateway subprocess on loopback, fills the ledger,
then starts ``orchestrator-forwarder`` and times the consumer until every event arrived. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import grpc
import pika

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.proc import group_cpu, process_cpu  # noqa: E402
from orchestrator.api import datasample_pb2  # noqa: E402
from tests import builders as b  # noqa: E402
from tests.client import GatewayClient, GatewayProcess  # noqa: E402
from tests.e2e import steps  # noqa: E402
from tests.forwarder.broker import RabbitBroker, broker_available  # noqa: E402
from tests.forwarder.harness import ForwarderProcess  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events in the ledger (default 20000)")
    parser.add_argument("--batch", type=int, default=500, help="events per transaction when filling (default 500)")
    parser.add_argument("--confirm-window", type=int, default=2000)
    args = parser.parse_args()
    if not broker_available():
        print("rabbitmq-server is not installed (apt-get install rabbitmq-server)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        broker = RabbitBroker(base / "rabbitmq").start()
        gateway = GatewayProcess(base / "gateway" / "data").wait_serving()
        try:
            with grpc.insecure_channel(gateway.address) as channel:
                client = GatewayClient(channel).register()
                steps.register_data_manager(client)
                filled = 2
                started = time.perf_counter()
                while filled < args.events:
                    count = min(args.batch, args.events - filled)
                    client.register_data_samples(datasample_pb2.RegisterDataSamplesParam(
                        samples=[b.new_data_sample(f"s{filled + n}") for n in range(count)]))
                    filled += count
                print(f"ledger filled: {filled} events in {time.perf_counter() - started:.1f}s")
            consumer = pika.BlockingConnection(pika.URLParameters(broker.url))
            queue = consumer.channel()
            queue.queue_declare("MyOrg1MSP", durable=True)
            queue.basic_qos(prefetch_count=2000)
            forwarder = ForwarderProcess(gateway.address, broker.url, base / "state",
                                         "--confirm-window", str(args.confirm_window))
            assert broker.process is not None
            broker_group = broker.process.pid  # started in a session of its own
            processes = {"forwarder": lambda: process_cpu(forwarder.process.pid),
                         "gateway": lambda: process_cpu(gateway.process.pid),
                         "broker": lambda: group_cpu(broker_group),
                         "consumer": time.process_time}
            cpu_before = {name: read() for name, read in processes.items()}
            started = time.perf_counter()
            times: list[float] = []
            cpu_at_first: list[float] = []

            def received(channel: object, method: object, properties: object, body: bytes) -> None:
                times.append(time.perf_counter())
                if len(times) == 1:
                    cpu_at_first.append(processes["forwarder"]())
                if len(times) >= filled:
                    queue.stop_consuming()

            queue.basic_consume("MyOrg1MSP", received, auto_ack=True)
            queue.start_consuming()
            cpu = {name: read() - cpu_before[name] for name, read in processes.items()}
            total = times[-1] - started
            steady = times[-1] - times[0]
            print(f"forwarded {len(times)} events: {len(times) / total:,.0f} events/s from the forwarder's start "
                  f"({total:.2f}s), {(len(times) - 1) / steady:,.0f} events/s from the first to the last message")
            steady_cpu = cpu["forwarder"] + cpu_before["forwarder"] - cpu_at_first[0]
            print(f"forwarder CPU: {cpu['forwarder']:.2f}s, {cpu['forwarder'] / len(times) * 1e6:.0f} us per event "
                  f"(start-up included), {steady_cpu / (len(times) - 1) * 1e6:.0f} us per event after the first")
            print("CPU per event while forwarding: " + ", ".join(
                f"{name} {seconds / len(times) * 1e6:.0f} us ({seconds / total:.0%} of a core)"
                for name, seconds in cpu.items()) + f"; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
            forwarder.stop()
            consumer.close()
        finally:
            gateway.stop(15)
            broker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
