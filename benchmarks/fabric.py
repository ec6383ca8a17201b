"""Fabric-mode benchmarks: gateway → stand-in network → chaincode, each in its own process, over loopback gRPC."""

# Run from the repository root: ``.venv/bin/python benchmarks/fabric.py`` (``--help`` for options).
# Figures go to stdout; nothing is asserted (tests never time anything).
#
# Processes: the stand-in network (peers, orderer: ``python -m tests.fabric.network``), one
# ``orchestrator-chaincode`` per organization (its children; ``--chaincode in-process`` runs the
# contract inside the peers instead), the gateway (``orchestrator-gateway --mode fabric``), and
# this one (backend clients, and the Fabric client micro-benchmark). The endorsement policy
# needs both organizations by default, so each transaction runs on both chaincode processes.
# CPU figures are read from /proc (or counted by the executors) for the process concerned; the
# machine's other load inflates them, so compare runs made at the same load.
#
# Measured:
#   (1) Fabric client CPU per submitted call: proposal, signatures, endorse, submit, status wait
#       (target < 0.5 ms), sequential and with 32 calls in flight; and per evaluate
#   (2) chaincode CPU per simple transaction (target < 0.5 ms)
#   (3) a 10,000-task plan in batches of 1,000 through the gateway (target < 20 s)
#   (4) one task per call, 64 concurrent clients: tasks/s (upstream: about 11 tasks/s)
#   (5) evaluate and submit latency, p50/p99, and the gateway process's CPU per call
#   (6) RegisterDataManager with a fixed number of calls in flight (64, 256, 1,000: ``--in-flight``) from
#       one client thread: calls/s, gateway CPU per call, peer calls per transaction, and the gateway
#       process's peak thread count (it must not grow with the calls in flight)

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.proc import children_cpu, process_cpu, thread_count  # noqa: E402
from orchestrator.api import (  # noqa: E402
    computetask_pb2,
    datamanager_pb2_grpc,
    datasample_pb2,
    organization_pb2,
)
from orchestrator.gateway.config import load_config  # noqa: E402
from orchestrator.gateway.fabric.config import parse_fabric_config  # noqa: E402
from orchestrator.gateway.invoke.base import Target  # noqa: E402
from orchestrator.gateway.invoke.fabric import FabricInvoker  # noqa: E402
from orchestrator.shared import codec  # noqa: E402
from tests import builders as b  # noqa: E402
from tests.client import GatewayClient, free_port  # noqa: E402
from tests.e2e import steps  # noqa: E402

MSPID = "MyOrg1MSP"
class NetworkProcess:
    """The stand-in network in its own process."""

    def __init__(self, directory: Path, args: argparse.Namespace) -> None:
        self.directory = directory
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fabric.network", str(directory), "--policy", args.policy,
             "--batch-timeout", str(args.batch_timeout), "--chaincode", args.chaincode, "--shim", args.shim], env=env)
        while not (directory / "ready").exists():
            if self.process.poll() is not None:
                raise RuntimeError("the stand-in network did not start")
            time.sleep(0.1)
        self.config = directory / "gateway.yaml"

    def stats(self) -> dict[str, Any]:
        target = self.directory / "stats.json"
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        (self.directory / "stats-request").write_text("")
        while not target.exists():
            time.sleep(0.02)
        stats = json.loads(target.read_text())
        stats["children_cpu_seconds"] = children_cpu(self.process.pid)
        return stats

    def stop(self) -> None:
        (self.directory / "stop").write_text("")
        self.process.wait(30)


@contextlib.contextmanager
def gateway_process(config: Path, data_dir: Path, workers: int, log_level: str = "WARNING"
                    ) -> Iterator[tuple[str, int]]:
    """``orchestrator-gateway --mode fabric`` as a subprocess; yields (address, pid) once SERVING."""
    address = f"127.0.0.1:{free_port()}"
    command = [str(Path(sys.executable).with_name("orchestrator-gateway")), "--config", str(config),
               "--listen", address, "--data-dir", str(data_dir), "--workers", str(workers), "--log-level", log_level]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)  # INFO: the access log goes to /dev/null
    try:
        with grpc.insecure_channel(address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            for _ in range(300):
                with contextlib.suppress(grpc.RpcError):
                    if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == \
                            health_pb2.HealthCheckResponse.SERVING:
                        break
                time.sleep(0.1)
        yield address, process.pid
    finally:
        process.terminate()
        process.wait(30)


def chaincode_cpu(before: dict[str, Any], after: dict[str, Any]) -> float:
    """Chaincode CPU seconds per execution between two network stats."""
    executions = sum(after["chaincode"][m]["executions"] - before["chaincode"][m]["executions"]
                     for m in after["chaincode"])
    spent = sum(after["chaincode"][m]["cpu_seconds"] - before["chaincode"][m]["cpu_seconds"]
                for m in after["chaincode"])
    return spent / executions if executions else 0.0


def calls_per_transaction(before: dict[str, Any], after: dict[str, Any], transactions: int) -> str:
    """Gateway-service calls the peers received per transaction between two network stats, by method."""
    counts: dict[str, int] = {}
    for peer, calls in after["peer_calls"].items():
        for method, count in calls.items():
            counts[method] = counts.get(method, 0) + count - before["peer_calls"].get(peer, {}).get(method, 0)
    return ", ".join(f"{method} {count / transactions:.2f}" for method, count in sorted(counts.items()) if count)


def percentiles(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms"


def concurrently(clients: int, work: Callable[[int], None]) -> float:
    """Run ``work(i)`` for each client in its own thread; the wall time."""
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            work(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    begin = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - begin


# -- (1) the Fabric client alone ----------------------------------------------------------------


def fabric_client(network: NetworkProcess, directory: Path, calls: int) -> None:
    config = load_config(["--config", str(network.config)], {})
    invoker = FabricInvoker(parse_fabric_config(config.organizations, base_dir=network.config.parent),
                            directory / "client-data", channels=config.channels)
    target = Target(MSPID, "yourchannel", "yourcc")
    try:
        invoker.submit(target, "orchestrator.organization:RegisterOrganization",
                       codec.encode(organization_pb2.RegisterOrganizationParam()))
        invoker.submit(target, "orchestrator.datamanager:RegisterDataManager", codec.encode(b.new_data_manager("dm")))

        def sample(ref: str) -> bytes:
            return invoker.submit(target, "orchestrator.datasample:RegisterDataSamples", codec.encode(
                datasample_pb2.RegisterDataSamplesParam(samples=[b.new_data_sample(ref)])))

        for index in range(50):
            sample(f"warm-up {index}")
        before_chaincode = network.stats()
        cpu, wall = time.process_time(), time.perf_counter()
        latencies = []
        for index in range(calls):
            started = time.perf_counter()
            sample(f"sequential {index}")
            latencies.append(time.perf_counter() - started)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        after_chaincode = network.stats()
        print(f"(1) Fabric client, sequential submits: CPU {cpu / calls * 1e3:.3f} ms/call, "
              f"wall {wall / calls * 1e3:.2f} ms/call ({percentiles(latencies)}); peer calls per transaction: "
              f"{calls_per_transaction(before_chaincode, after_chaincode, calls)}")
        executions = sum(after_chaincode["chaincode"][m]["executions"] - before_chaincode["chaincode"][m]["executions"]
                         for m in after_chaincode["chaincode"])
        if executions:
            print(f"(2) chaincode CPU per simple transaction (RegisterDataSamples, one sample): "
                  f"{chaincode_cpu(before_chaincode, after_chaincode) * 1e3:.3f} ms per execution, "
                  f"{executions / calls:.0f} executions per transaction (endorsement policy)")
        in_flight = 32
        per_client = max(1, calls // in_flight)
        cpu = time.process_time()
        wall = concurrently(in_flight, lambda i: [sample(f"concurrent {i}.{n}") for n in range(per_client)])
        cpu = time.process_time() - cpu
        total = in_flight * per_client
        print(f"(1) Fabric client, {in_flight} submits in flight: CPU {cpu / total * 1e3:.3f} ms/call, "
              f"{total / wall:.0f} submits/s")
        argument = codec.encode(organization_pb2.GetAllOrganizationsParam())
        cpu, latencies = time.process_time(), []
        for _ in range(calls):
            started = time.perf_counter()
            invoker.evaluate(target, "orchestrator.organization:GetAllOrganizations", argument)
            latencies.append(time.perf_counter() - started)
        cpu = time.process_time() - cpu
        print(f"(1) Fabric client, sequential evaluates: CPU {cpu / calls * 1e3:.3f} ms/call "
              f"({percentiles(latencies)})")
    finally:
        invoker.close()


# -- (3)-(5) through the gateway --------------------------------------------------------------


def through_gateway(network: NetworkProcess, directory: Path, args: argparse.Namespace) -> None:
    with gateway_process(network.config, directory / "gateway-data", args.workers, args.log_level) as (address, pid), \
            grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", 256 * 1024 * 1024)]) \
            as channel:
        client = GatewayClient(channel).register()
        steps.setup_train(client)
        steps.register_task(client, b.new_train_task("root"))

        begin = time.perf_counter()
        for batch in range(args.tasks // args.batch):
            steps.register_tasks(client, *(b.new_train_task(f"batch {n}", parents=("root",)) for n in
                                           range(batch * args.batch, (batch + 1) * args.batch)))
        elapsed = time.perf_counter() - begin
        print(f"(3) {args.tasks:,}-task plan in batches of {args.batch:,}: {elapsed:.2f} s "
              f"({args.tasks / elapsed:.0f} tasks/s)")

        per_client = max(1, args.single // args.clients)
        submit_latencies: list[float] = []
        lock = threading.Lock()

        def register(index: int) -> None:
            mine = []
            for n in range(per_client):
                started = time.perf_counter()
                steps.register_task(client, b.new_train_task(f"single {index}.{n}", parents=("root",)))
                mine.append(time.perf_counter() - started)
            with lock:
                submit_latencies.extend(mine)

        gateway_cpu, before = process_cpu(pid), network.stats()
        wall = concurrently(args.clients, register)
        gateway_cpu, after = process_cpu(pid) - gateway_cpu, network.stats()
        total = per_client * args.clients
        print(f"(4) one task per call, {args.clients} concurrent clients: {total / wall:.0f} tasks/s "
              f"({total:,} tasks in {wall:.1f} s); submit latency {percentiles(submit_latencies)}; "
              f"gateway CPU {gateway_cpu / total * 1e3:.3f} ms/call; network process CPU "
              f"{(after['process_cpu_seconds'] - before['process_cpu_seconds']) / total * 1e3:.3f} ms/call, "
              f"{after['blocks']['mychannel'] - before['blocks']['mychannel']} blocks, "
              f"{after['invalid'] - before['invalid']} invalidated transactions (retried); "
              f"chaincode CPU {chaincode_cpu(before, after) * 1e3:.3f} ms per execution of RegisterTasks")

        evaluate_latencies: list[float] = []
        param = computetask_pb2.GetTaskParam(key=b.key("root"))

        def read(index: int) -> None:
            mine = []
            for _ in range(per_client):
                started = time.perf_counter()
                client.get_task(param)
                mine.append(time.perf_counter() - started)
            with lock:
                evaluate_latencies.extend(mine)

        gateway_cpu = process_cpu(pid)
        wall = concurrently(args.clients, read)
        gateway_cpu = process_cpu(pid) - gateway_cpu
        print(f"(5) GetTask, {args.clients} concurrent clients: {total / wall:.0f} calls/s; evaluate latency "
              f"{percentiles(evaluate_latencies)}; gateway CPU {gateway_cpu / total * 1e3:.3f} ms/call")

        sequential = []
        gateway_cpu = process_cpu(pid)
        for n in range(args.calls):
            started = time.perf_counter()
            steps.register_task(client, b.new_train_task(f"latency {n}", parents=("root",)))
            sequential.append(time.perf_counter() - started)
        submit_cpu = process_cpu(pid) - gateway_cpu
        reads = []
        gateway_cpu = process_cpu(pid)
        for _ in range(args.calls):
            started = time.perf_counter()
            client.get_task(param)
            reads.append(time.perf_counter() - started)
        read_cpu = process_cpu(pid) - gateway_cpu
        print(f"(5) one client: submit latency {percentiles(sequential)}, gateway CPU "
              f"{submit_cpu / args.calls * 1e3:.3f} ms/call; evaluate latency {percentiles(reads)}, gateway CPU "
              f"{read_cpu / args.calls * 1e3:.3f} ms/call")



def in_flight(network: NetworkProcess, directory: Path, args: argparse.Namespace) -> None:
    """(6): calls kept in flight from one thread with gRPC futures, so the client adds no thread per call."""
    with gateway_process(network.config, directory / "gateway-in-flight", args.workers, args.log_level) as \
            (address, pid), \
            grpc.insecure_channel(address) as channel:
        client = GatewayClient(channel).register()
        stub = datamanager_pb2_grpc.DataManagerServiceStub(channel)
        for window in args.in_flight:
            keep_in_flight(network, stub, client.metadata, pid, window)


def keep_in_flight(network: NetworkProcess, stub: Any, metadata: Any, pid: int, window: int) -> None:
    calls = max(4 * window, 1000)
    slots = threading.Semaphore(window)
    failures: list[grpc.StatusCode] = []
    idle_threads = thread_count(pid)
    peak = [idle_threads]
    finished = threading.Event()

    def sample() -> None:
        while not finished.wait(0.05):
            peak[0] = max(peak[0], thread_count(pid))

    def done(future: grpc.Future) -> None:
        if future.code() != grpc.StatusCode.OK:
            failures.append(future.code())
        slots.release()

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    before, gateway_cpu, begin = network.stats(), process_cpu(pid), time.perf_counter()
    for n in range(calls):
        slots.acquire()
        stub.RegisterDataManager.future(b.new_data_manager(f"dm {window}.{n}"), metadata=metadata,
                                        timeout=300).add_done_callback(done)
    for _ in range(window):
        slots.acquire()
    wall, gateway_cpu = time.perf_counter() - begin, process_cpu(pid) - gateway_cpu
    after = network.stats()
    finished.set()
    sampler.join()
    print(f"(6) {window} in flight: {calls / wall:.0f} calls/s ({calls:,} RegisterDataManager, "
          f"{len(failures)} failed); gateway CPU {gateway_cpu / calls * 1e3:.3f} ms/call; gateway threads "
          f"{idle_threads} idle, {peak[0]} at most; peer calls per transaction: "
          f"{calls_per_transaction(before, after, calls)}; chaincode CPU "
          f"{chaincode_cpu(before, after) * 1e3:.3f} ms per execution")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--policy", default="all", choices=("any", "all", "majority"),
                        help="endorsement policy of the chaincodes (all: both organizations endorse)")
    parser.add_argument("--chaincode", default="processes", choices=("processes", "in-process"),
                        help="real chaincode server processes (default) or the contract inside the peer process")
    parser.add_argument("--shim", default="3.1", choices=("2.5", "3.1"),
                        help="peer capabilities on the chaincode stream (3.1: write batches, multi-key reads)")
    parser.add_argument("--batch-timeout", type=float, default=0.002, help="orderer batch timeout, seconds")
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--single", type=int, default=4_096, help="tasks registered one per call")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--calls", type=int, default=500, help="sequential calls for latency and CPU figures")
    parser.add_argument("--workers", type=int, default=128, help="gateway ledger threads")
    parser.add_argument("--in-flight", type=lambda text: [int(n) for n in text.split(",")], default=[64, 256, 1000],
                        help="calls kept in flight in (6), comma-separated")
    parser.add_argument("--log-level", default="WARNING", choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                        help="the gateway's log level (INFO, its default, writes one access line per call)")
    parser.add_argument("--only", choices=("client", "gateway", "in-flight"), help="run one part only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        network = NetworkProcess(directory / "network", args)
        try:
            if args.only in (None, "client"):
                fabric_client(network, directory, args.calls)
            if args.only in (None, "gateway"):
                through_gateway(network, directory, args)
            if args.only in (None, "in-flight"):
                in_flight(network, directory, args)
        finally:
            network.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
