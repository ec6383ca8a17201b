"""Gateway benchmarks over real gRPC: a gateway subprocess on loopback, clients in this process."""

# Run from the repository root: ``.venv/bin/python benchmarks/gateway.py`` (``--help`` for
# options). Figures go to stdout; nothing is asserted (tests never time anything).

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator.api import algo_pb2, computetask_pb2, datasample_pb2, organization_pb2  # noqa: E402
from orchestrator.gateway.ledger.sqlite import SqliteLedger  # noqa: E402
from orchestrator.shared import codec  # noqa: E402
from orchestrator.shared.functions import BY_NAME  # noqa: E402
from tests import builders as b  # noqa: E402
from tests.client import GatewayClient, free_port  # noqa: E402

MSPID = "MyOrg1MSP"


@contextlib.contextmanager
def gateway_process(data_dir: Path, extra: list[str]) -> Iterator[str]:
    """``orchestrator-gateway`` as a subprocess; yields its address once it reports SERVING."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    command = [str(Path(sys.executable).with_name("orchestrator-gateway")), "--listen", address,
               "--data-dir", str(data_dir), "--log-level", "WARNING", *extra]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        with grpc.insecure_channel(address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            for _ in range(200):
                try:
                    answer = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if answer.status == health_pb2.HealthCheckResponse.SERVING:
                        break
                except grpc.RpcError:
                    time.sleep(0.05)
        yield address
    finally:
        process.terminate()
        process.wait(30)


def _channel(address: str) -> grpc.Channel:
    return grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)])


def setup(client: GatewayClient, plan: str) -> None:
    """A plan with its root task (organization, algo, data manager and sample already registered)."""
    client.register_plan(b.new_plan(plan))
    client.register_tasks(computetask_pb2.RegisterTasksParam(tasks=[b.new_train_task(f"{plan} root", plan=plan)]))


def tasks(plan: str, count: int, start: int = 0) -> list[computetask_pb2.NewComputeTask]:
    return [b.new_train_task(f"{plan} task{n}", parents=(f"{plan} root",), plan=plan)
            for n in range(start, start + count)]


def timed(fn: Callable[[], object]) -> float:
    begin = time.perf_counter()
    fn()
    return time.perf_counter() - begin


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def percentile_ms(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


def latencies(fn: Callable[[], object], count: int) -> list[float]:
    out = []
    for _ in range(count):
        begin = time.perf_counter()
        fn()
        out.append(time.perf_counter() - begin)
    return out


def in_process_latencies(work_dir: Path, count: int) -> tuple[list[float], list[float]]:
    """GetAlgo and single-task RegisterTasks on an SQLite ledger in this process: the domain without the gateway."""
    ledger = SqliteLedger(work_dir / "inprocess.sqlite", "mychannel")

    def call(function: str, message: object) -> object:
        f = BY_NAME[function]
        argument = codec.encode_serialized(message.SerializeToString(), "bench")  # type: ignore[attr-defined]
        run = ledger.evaluate if f.read_only else ledger.submit
        return f.response.FromString(codec.decode_serialized(run(MSPID, f.name, argument), f.response))

    call("orchestrator.organization:RegisterOrganization", organization_pb2.RegisterOrganizationParam())
    call("orchestrator.algo:RegisterAlgo", b.new_algo())
    call("orchestrator.datamanager:RegisterDataManager", b.new_data_manager())
    call("orchestrator.datasample:RegisterDataSamples",
         datasample_pb2.RegisterDataSamplesParam(samples=[b.new_data_sample()]))
    call("orchestrator.computeplan:RegisterPlan", b.new_plan("inproc"))
    call("orchestrator.computetask:RegisterTasks",
         computetask_pb2.RegisterTasksParam(tasks=[b.new_train_task("inproc root", plan="inproc")]))
    get = algo_pb2.GetAlgoParam(key=b.key("simple algo"))
    reads = latencies(lambda: call("orchestrator.algo:GetAlgo", get), count)
    singles = iter(tasks("inproc", count))
    writes = latencies(lambda: call("orchestrator.computetask:RegisterTasks",
                                    computetask_pb2.RegisterTasksParam(tasks=[next(singles)])), count)
    ledger.close()
    return reads, writes


def concurrent_load(address: str, clients: int, calls_per_client: int, plan: str) -> tuple[float, list[float]]:
    """``clients`` threads, each on its own channel, alternating a single-task registration and a read."""
    all_latencies: list[list[float]] = [[] for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)

    def worker(index: int) -> None:
        with _channel(address) as channel:
            client = GatewayClient(channel)
            new = iter(tasks(plan, calls_per_client, start=100_000 + index * calls_per_client))
            get = computetask_pb2.GetTaskParam(key=b.key(f"{plan} root"))
            client.get_task(get)
            barrier.wait()
            for n in range(calls_per_client):
                begin = time.perf_counter()
                if n % 2:
                    client.get_task(get)
                else:
                    client.register_tasks(computetask_pb2.RegisterTasksParam(tasks=[next(new)]))
                all_latencies[index].append(time.perf_counter() - begin)

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(worker, i) for i in range(clients)]
        barrier.wait()
        begin = time.perf_counter()
        for future in futures:
            future.result()
        elapsed = time.perf_counter() - begin
    return elapsed, [x for per_client in all_latencies for x in per_client]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000, help="tasks per plan (default 10,000)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--calls", type=int, default=200, help="calls per concurrent client (default 200)")
    parser.add_argument("--samples", type=int, default=2000, help="calls timed for the overhead figure")
    parser.add_argument("gateway_args", nargs="*", help="extra gateway flags (after --)")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, grpcio {grpc.__version__}, {os.cpu_count()} CPU(s)")
    with tempfile.TemporaryDirectory() as tmp, gateway_process(Path(tmp) / "data", args.gateway_args) as address, \
            _channel(address) as channel:
        client = GatewayClient(channel)
        # overhead first, on ledgers of the same (small) size in the gateway and in process
        client.register_organization(organization_pb2.RegisterOrganizationParam())
        client.register_algo(b.new_algo())
        client.register_data_manager(b.new_data_manager())
        client.register_data_samples(datasample_pb2.RegisterDataSamplesParam(samples=[b.new_data_sample()]))
        get = algo_pb2.GetAlgoParam(key=b.key("simple algo"))
        latencies(lambda: client.get_algo(get), 200)
        grpc_reads = latencies(lambda: client.get_algo(get), args.samples)
        client.register_plan(b.new_plan("overhead"))
        client.register_tasks(computetask_pb2.RegisterTasksParam(tasks=[b.new_train_task("overhead root",
                                                                                         plan="overhead")]))
        new = iter(tasks("overhead", args.samples))
        grpc_writes = latencies(lambda: client.register_tasks(computetask_pb2.RegisterTasksParam(tasks=[next(new)])),
                                args.samples)
        local_reads, local_writes = in_process_latencies(Path(tmp), args.samples)
        print(f"GetAlgo median: {median_ms(grpc_reads):.3f} ms via gateway, {median_ms(local_reads):.3f} ms in process"
              f" -> overhead {median_ms(grpc_reads) - median_ms(local_reads):.3f} ms")
        print(f"RegisterTasks(1) median: {median_ms(grpc_writes):.3f} ms via gateway, {median_ms(local_writes):.3f} ms "
              f"in process -> overhead {median_ms(grpc_writes) - median_ms(local_writes):.3f} ms")

        setup(client, "batched")
        batches = [computetask_pb2.RegisterTasksParam(tasks=tasks("batched", 1000, start))
                   for start in range(0, args.tasks, 1000)]
        seconds = timed(lambda: [client.register_tasks(batch) for batch in batches])
        print(f"{args.tasks:,}-task plan in batches of 1,000: {seconds:.2f} s")

        client.register_plan(b.new_plan("single"))
        client.register_tasks(computetask_pb2.RegisterTasksParam(
            tasks=[b.new_train_task("single root", plan="single")]))
        singles = [computetask_pb2.RegisterTasksParam(tasks=[task]) for task in tasks("single", args.tasks)]
        seconds = timed(lambda: [client.register_tasks(one) for one in singles])
        print(f"{args.tasks:,}-task plan one task per call: {seconds:.2f} s "
              f"({seconds / args.tasks * 1000:.2f} ms/call)")

        page = computetask_pb2.QueryTasksParam(
            page_size=5000, filter=computetask_pb2.TaskQueryFilter(compute_plan_key=b.key("batched")))
        runs = [timed(lambda: client.query_tasks(page)) for _ in range(5)]
        print(f"5,000 tasks of a plan in one page: median {statistics.median(runs):.3f} s, best {min(runs):.3f} s")

        client.register_plan(b.new_plan("load"))
        client.register_tasks(computetask_pb2.RegisterTasksParam(tasks=[b.new_train_task("load root", plan="load")]))
        elapsed, load = concurrent_load(address, args.clients, args.calls, "load")
        print(f"{args.clients} concurrent clients, {len(load):,} calls (half single-task registrations, half GetTask):"
              f" {len(load) / elapsed:,.0f} calls/s, p50 {percentile_ms(load, 0.5):.2f} ms, "
              f"p99 {percentile_ms(load, 0.99):.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
