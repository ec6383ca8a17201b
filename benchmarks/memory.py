"""Memory of the gateway under load: peak resident set size of a gateway subprocess, default settings.

Three runs, each on a fresh gateway (embedded mode) and data directory:

- ``plans``: 1,500 compute plans of about 64 KB each (metadata at its per-entry limits);
- ``stalled``: the same while three SubscribeToEvents streams are open and never read;
- ``channels``: 400 calls, each naming a new channel (no channel configuration): the growth.

Run from the repository root: ``.venv/bin/python benchmarks/memory.py`` (``--help`` for options);
``--gateway PATH`` measures another build's ``orchestrator-gateway``. Figures go to stdout.
Targets: under 350 MB for ``plans``, under 60 MB more for ``stalled``, under 120 MB of growth
for ``channels``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator.api import computeplan_pb2, info_pb2  # noqa: E402
from orchestrator.shared.functions import BY_HANDLER  # noqa: E402
from tests import builders as b  # noqa: E402
from tests.client import GatewayClient, connected, free_port  # noqa: E402

PLAN_COUNT = 1_500
PLAN_BYTES = 64 * 1024
STALLED = 3
SPAM_CHANNELS = 400
MIB = 1024 * 1024


def status_field(pid: int, name: str) -> str:
    """A field of ``/proc/<pid>/status`` (``VmHWM``, ``Threads`` ...), without its unit."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return line.split()[1]
    raise KeyError(name)


def peak_rss(pid: int) -> int:
    """Peak resident set size of the process so far, in bytes."""
    return int(status_field(pid, "VmHWM")) * 1024


def resident(pid: int) -> int:
    """Resident set size of the process now, in bytes."""
    return int(status_field(pid, "VmRSS")) * 1024


def plan_metadata(size: int) -> dict[str, str]:
    """Metadata of about ``size`` bytes: entries at the 100-byte key and value limits (CP-4)."""
    entries = size // 206  # 100 + 100 bytes, plus the map entry's framing
    return {f"{n:05d}".ljust(100, "k"): "v" * 100 for n in range(entries)}


@contextlib.contextmanager
def gateway(executable: str) -> Iterator[tuple[grpc.Channel, int]]:
    """A gateway subprocess with default settings on a fresh data directory; yields a channel to it and its pid."""
    with tempfile.TemporaryDirectory(prefix="orc-mem-") as data_dir:
        address = f"127.0.0.1:{free_port()}"
        process = subprocess.Popen([executable, "--listen", address, "--data-dir", data_dir, "--log-level", "ERROR"],
                                   stderr=subprocess.DEVNULL)
        try:
            with connected(address) as channel:
                yield channel, process.pid
        finally:
            process.terminate()
            process.wait(60)


def write_plans(client: GatewayClient, count: int, threads: int = 8) -> float:
    metadata = plan_metadata(PLAN_BYTES)
    started = time.perf_counter()

    def register(n: int) -> None:
        plan = b.new_plan(f"memory plan {n}")
        plan.metadata.update(metadata)
        client.register_plan(plan)

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(register, range(count)))
    return time.perf_counter() - started


def run_plans(executable: str, stalled: int) -> dict[str, Any]:
    with gateway(executable) as (channel, pid):
        client = GatewayClient(channel, "MyOrg1MSP").register()
        streams = [client.subscribe(timeout=300) for _ in range(stalled)]  # opened, not read during the writes
        try:
            seconds = write_plans(client, PLAN_COUNT)
            time.sleep(1.0)  # let the feed hand the last events to the streams
            peak = peak_rss(pid)
            ended = [_ended(stream) for stream in streams]  # then read: each ends, or (before) delivers all
        finally:
            for stream in streams:
                stream.cancel()
        check = client.call(BY_HANDLER["query_plans"], computeplan_pb2.QueryPlansParam(page_size=100))
    return {"peak_mib": peak / MIB, "seconds": seconds, "first_page": len(check.plans), "streams_ended": ended}


def _ended(stream: Any) -> str:
    """Read a stalled stream to its end: how many events it delivered, and the status it ended with."""
    received = 0
    try:
        for _ in stream:
            received += 1
            if received == PLAN_COUNT + 1:  # every event (the organization's and the plans'): still open
                stream.cancel()
                return f"{received} events, every one, and the stream stays open"
    except grpc.RpcError as exc:
        return f"{received} events, then {exc.code().name}: {exc.details()}"
    return f"{received} events, then OK"


def run_channels(executable: str) -> dict[str, Any]:
    with gateway(executable) as (channel, pid):
        GatewayClient(channel, "MyOrg1MSP").register()
        before = resident(pid)
        fds_before = len(os.listdir(f"/proc/{pid}/fd"))
        threads_before = int(status_field(pid, "Threads"))
        outcomes: dict[str, int] = {}
        started = time.perf_counter()
        for n in range(SPAM_CHANNELS):
            client = GatewayClient(channel, "MyOrg1MSP", channel_name=f"spam-{n}")
            try:
                client.call(BY_HANDLER["query_version"], info_pb2.QueryVersionParam())
                code = "OK"
            except grpc.RpcError as exc:
                code = exc.code().name
            outcomes[code] = outcomes.get(code, 0) + 1
        seconds = time.perf_counter() - started
        peak = peak_rss(pid)
        fds = len(os.listdir(f"/proc/{pid}/fd")) - fds_before
        threads = int(status_field(pid, "Threads")) - threads_before
    return {"growth_mib": (peak - before) / MIB, "seconds": seconds, "outcomes": outcomes,
            "fds_added": fds, "threads_added": threads}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateway", default=str(Path(sys.executable).with_name("orchestrator-gateway")),
                        help="the orchestrator-gateway executable to measure (default: this environment's)")
    parser.add_argument("--only", choices=("plans", "stalled", "channels"), action="append",
                        help="run only these (repeatable)")
    args = parser.parse_args()
    runs = args.only or ["plans", "stalled", "channels"]
    baseline = None
    if "plans" in runs:
        result = run_plans(args.gateway, 0)
        baseline = result["peak_mib"]
        print(f"plans: {PLAN_COUNT} plans of {PLAN_BYTES // 1024} KB: peak RSS {result['peak_mib']:.0f} MiB "
              f"(target < 350 MB), written in {result['seconds']:.1f} s")
    if "stalled" in runs:
        result = run_plans(args.gateway, STALLED)
        extra = "" if baseline is None else f", {result['peak_mib'] - baseline:+.0f} MiB over 'plans' (target < +60 MB)"
        print(f"stalled: the same with {STALLED} stalled subscribers: peak RSS {result['peak_mib']:.0f} MiB{extra}")
        for n, ended in enumerate(result["streams_ended"]):
            print(f"  stream {n}, read once the writes were done: {ended}")
    if "channels" in runs:
        result = run_channels(args.gateway)
        print(f"channels: {SPAM_CHANNELS} new channel names: RSS growth {result['growth_mib']:.0f} MiB "
              f"(target < 120 MB), {result['fds_added']} file descriptors and {result['threads_added']} threads "
              f"added, {result['seconds']:.1f} s; answers {result['outcomes']}")


if __name__ == "__main__":
    main()
