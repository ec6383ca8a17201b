"""Throughput and CPU per transaction on a real Fabric network: our gateway + chaincode against a one-put chaincode."""

# Run from the repository root against a network that is already up (peers, orderer, both chaincodes
# deployed and their servers running, the gateway serving):
#
#     .venv/bin/python benchmarks/real_fabric.py --gateway 127.0.0.1:9000 --config gateway.yaml \
#         --baseline-chaincode gocc --in-flight 64,256 --runs 3 \
#         --gateway-pid 1234 --chaincode-pids 1240,1241 --baseline-pids 1250,1251 --peer-pids 1200,1201
#
# ``--config`` is the gateway's own YAML (its ``organizations:`` section: signing identity, peers, TLS
# CAs and client pairs): the baseline goes through the same Fabric client the gateway uses
# (``orchestrator.gateway.invoke.fabric.FabricInvoker``), called directly from this process, so the two
# sides differ only by our gateway server and our chaincode. With N calls kept in flight from one thread:
#
#   (a) ours: RegisterDataManager through the gateway (gRPC, optionally mutual TLS) → tx/s;
#   (b) baseline: one call of the baseline chaincode (a Go chaincode making one PutState of the
#       argument) through FabricInvoker.submit_async → tx/s;
#
# and, for each side, the CPU per transaction of the gateway, of our chaincode servers, of the baseline
# chaincode servers, of the peers and of the orderer (user + system time read from /proc by pid), and of
# this process. Pids not given are looked up by command line (``--help``); only this machine's processes
# can be measured. Each run measures both sides back to back at each window, alternating which goes
# first. The machine's other load inflates CPU figures and lowers throughput: the "busy" column is the
# whole machine's CPU use during the measurement (100% = every core), to tell a quiet run from a loaded one.
# "CPU-bound ratio" is the baseline's CPU per transaction over ours, summed over every measured process
# (this one included): the throughput ratio both sides tend to when they saturate the machine's cores,
# and a figure the machine's other load does not move much, unlike tx/s.
# Figures go to stdout; nothing is asserted.

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.proc import processes_cpu  # noqa: E402
from orchestrator.api import datamanager_pb2_grpc, organization_pb2  # noqa: E402
from orchestrator.gateway.config import load_config  # noqa: E402
from orchestrator.gateway.fabric.config import parse_fabric_config  # noqa: E402
from orchestrator.gateway.invoke.base import Target  # noqa: E402
from orchestrator.gateway.invoke.fabric import FabricInvoker  # noqa: E402
from orchestrator.shared import codec  # noqa: E402
from tests import builders as b  # noqa: E402
from tests.client import GatewayClient  # noqa: E402

GROUPS = ("gateway", "chaincode", "baseline", "peers", "orderer")


# -- processes and CPU ----------------------------------------------------------------------------


def _cmdline(pid: int) -> list[str]:
    with contextlib.suppress(OSError):
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        return [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    return []


def find_pids(match: Callable[[list[str]], bool]) -> list[int]:
    """Pids of this machine's processes whose command line satisfies ``match``, not this process."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            argv = _cmdline(int(entry.name))
            if argv and match(argv):
                found.append(int(entry.name))
    return sorted(found)


def _program(argv: list[str]) -> str:
    """The program a command line runs, through a Python interpreter if need be."""
    name = Path(argv[0]).name
    if name.startswith("python") and len(argv) > 1:
        return Path(argv[1]).name
    return name


def default_pids(args: argparse.Namespace) -> dict[str, list[int]]:
    """The pids of each group: given as options, or found by command line."""
    finders: dict[str, Callable[[list[str]], bool]] = {
        "gateway": lambda argv: _program(argv) == "orchestrator-gateway",
        "chaincode": lambda argv: _program(argv) == "orchestrator-chaincode" and "package" not in argv,
        "baseline": lambda argv: _program(argv) == args.baseline_program,
        "peers": lambda argv: _program(argv) == "peer" and argv[1:3] == ["node", "start"],
        "orderer": lambda argv: _program(argv) == "orderer",
    }
    pids: dict[str, list[int]] = {}
    for group in GROUPS:
        given = getattr(args, f"{group}_pids")
        pids[group] = given if given is not None else find_pids(finders[group])
        if given is None:
            print(f"# {group}: pids {pids[group] or 'none found'} (by command line)")
    if len(pids["gateway"]) > 1:
        print("# several gateways found: pass --gateway-pids to measure the right one")
    return pids


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU ticks of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


@dataclass
class Measurement:
    """One side at one window: throughput and CPU seconds per transaction by group."""

    side: str
    window: int
    calls: int
    wall: float
    failures: dict[str, int]
    cpu: dict[str, float] = field(default_factory=dict)
    busy: float = 0.0

    @property
    def rate(self) -> float:
        return (self.calls - sum(self.failures.values())) / self.wall

    def ms(self, group: str) -> float:
        return self.cpu.get(group, 0.0) / self.calls * 1e3

    @property
    def total_ms(self) -> float:
        """CPU per transaction of every measured process, this one included."""
        return sum(self.ms(group) for group in (*GROUPS, "client"))


class Meter:
    """CPU of every group, of this process and of the machine, around one measurement."""

    def __init__(self, pids: dict[str, list[int]]) -> None:
        self.pids = pids

    def snapshot(self) -> tuple[dict[str, float], tuple[float, float]]:
        cpu = {group: processes_cpu(pids) for group, pids in self.pids.items()}
        cpu["client"] = time.process_time()
        return cpu, machine_busy()

    @staticmethod
    def fill(measurement: Measurement, before: Any, after: Any) -> Measurement:
        measurement.cpu = {group: after[0][group] - before[0][group] for group in after[0]}
        busy, total = after[1][0] - before[1][0], after[1][1] - before[1][1]
        measurement.busy = busy / total if total else 0.0
        return measurement


# -- the two sides --------------------------------------------------------------------------------


def ours(stub: Any, metadata: Sequence[tuple[str, str]], prefix: str, window: int, calls: int,
         timeout: float) -> tuple[float, dict[str, int]]:
    """RegisterDataManager through the gateway, ``window`` calls in flight from this thread (gRPC futures)."""
    slots = threading.Semaphore(window)
    failures: dict[str, int] = {}
    lock = threading.Lock()

    def done(future: grpc.Future) -> None:
        code = future.code()
        if code != grpc.StatusCode.OK:
            with lock:
                failures[code.name] = failures.get(code.name, 0) + 1
        slots.release()

    begin = time.perf_counter()
    for n in range(calls):
        slots.acquire()
        stub.RegisterDataManager.future(b.new_data_manager(f"{prefix}.{n}"), metadata=metadata,
                                        timeout=timeout).add_done_callback(done)
    for _ in range(window):
        slots.acquire()
    return time.perf_counter() - begin, failures


async def _baseline(invoker: FabricInvoker, target: Target, argument: bytes, window: int, calls: int,
                    timeout: float) -> tuple[float, dict[str, int]]:
    slots = asyncio.Semaphore(window)
    failures: dict[str, int] = {}

    async def one() -> None:
        try:
            await invoker.submit_async(target, "put", argument, timeout=timeout)
        except Exception as exc:  # counted by kind, the run goes on
            code = getattr(exc, "code", None)
            name = code.name if isinstance(code, grpc.StatusCode) else type(exc).__name__
            failures[name] = failures.get(name, 0) + 1
        finally:
            slots.release()

    tasks = []
    begin = time.perf_counter()
    for _ in range(calls):
        await slots.acquire()
        tasks.append(asyncio.ensure_future(one()))
    await asyncio.gather(*tasks)
    return time.perf_counter() - begin, failures


# -- report ---------------------------------------------------------------------------------------


def _spread(values: Sequence[float], digits: int = 0) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{min(values):.{digits}f} to {max(values):.{digits}f} (median {statistics.median(values):.{digits}f})"


def table(results: list[tuple[Measurement, Measurement]]) -> str:
    """The issue's table: per window, baseline vs ours tx/s and ratio, then CPU per transaction."""
    lines = ["| in flight | baseline (Go) tx/s | ours tx/s | ratio | gateway ms/tx | chaincode ms/tx | "
             "gateway + chaincode ms/tx | Go chaincode ms/tx | peers ms/tx (ours / Go) | orderer ms/tx "
             "(ours / Go) | baseline client ms/tx | all processes ms/tx (ours / Go) | CPU-bound ratio | "
             "machine busy (ours / Go) |",
             "| " + " | ".join(["---"] * 14) + " |"]
    for window in sorted({m.window for m, _ in results}):
        rows = [(o, g) for o, g in results if o.window == window]
        mine = [o for o, _ in rows]
        base = [g for _, g in rows]
        lines.append("| " + " | ".join([
            str(window), _spread([g.rate for g in base]), _spread([o.rate for o in mine]),
            _spread([o.rate / g.rate for o, g in rows], 2),
            _spread([o.ms("gateway") for o in mine], 2), _spread([o.ms("chaincode") for o in mine], 2),
            _spread([o.ms("gateway") + o.ms("chaincode") for o in mine], 2),
            _spread([g.ms("baseline") for g in base], 2),
            f"{statistics.median([o.ms('peers') for o in mine]):.2f} / "
            f"{statistics.median([g.ms('peers') for g in base]):.2f}",
            f"{statistics.median([o.ms('orderer') for o in mine]):.2f} / "
            f"{statistics.median([g.ms('orderer') for g in base]):.2f}",
            _spread([g.ms("client") for g in base], 2),
            f"{statistics.median([o.total_ms for o in mine]):.2f} / "
            f"{statistics.median([g.total_ms for g in base]):.2f}",
            _spread([g.total_ms / o.total_ms for o, g in rows], 2),
            f"{statistics.median([o.busy for o in mine]) * 100:.0f}% / "
            f"{statistics.median([g.busy for g in base]) * 100:.0f}%",
        ]) + " |")
    return "\n".join(lines)


def describe(measurement: Measurement) -> str:
    cpu = ", ".join(f"{group} {measurement.ms(group):.3f}" for group in (*GROUPS, "client"))
    failed = f", failed: {measurement.failures}" if measurement.failures else ""
    return (f"{measurement.side:>8} {measurement.window:>4} in flight: {measurement.rate:7.1f} tx/s "
            f"({measurement.calls} calls in {measurement.wall:.1f} s{failed}); CPU ms/tx: {cpu}; "
            f"machine busy {measurement.busy * 100:.0f}%")


# -- main -----------------------------------------------------------------------------------------


def _pids(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _read(path: Path | None) -> bytes | None:
    return path.read_bytes() if path is not None else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gateway", required=True, help="HOST:PORT of our gateway (Fabric mode)")
    parser.add_argument("--config", required=True, type=Path,
                        help="the gateway's YAML; its organizations: section describes the network")
    parser.add_argument("--mspid", default="MyOrg1MSP", help="organization calling (signing identity)")
    parser.add_argument("--channel", default="mychannel")
    parser.add_argument("--chaincode", default="mycc", help="our chaincode's name on the channel")
    parser.add_argument("--baseline-chaincode", default="gocc", help="the one-put chaincode's name on the channel")
    parser.add_argument("--in-flight", type=_pids, default=[64, 256], help="windows, comma-separated")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--calls", type=int, default=0,
                        help="calls per measurement (default: 12 x window, at least 1,500)")
    parser.add_argument("--warm-up", type=int, default=300, help="calls of each side before the first run")
    parser.add_argument("--timeout", type=float, default=120.0, help="deadline of each call, seconds")
    parser.add_argument("--tls-ca", type=Path, help="CA of the gateway's server certificate (TLS)")
    parser.add_argument("--tls-server-name", default="", help="name to verify in the gateway's certificate")
    parser.add_argument("--client-cert", type=Path, help="client certificate for the gateway (mutual TLS)")
    parser.add_argument("--client-key", type=Path)
    for group, what in (("gateway", "orchestrator-gateway"), ("chaincode", "orchestrator-chaincode"),
                        ("baseline", "--baseline-program"), ("peers", "peer node start"), ("orderer", "orderer")):
        parser.add_argument(f"--{group}-pids", type=_pids, default=None,
                            help=f"comma-separated pids (default: processes running {what})")
    parser.add_argument("--baseline-program", default="oneput",
                        help="program name of the baseline chaincode servers, to find their pids")
    args = parser.parse_args(argv)

    pids = default_pids(args)
    meter = Meter(pids)
    config = load_config(["--config", str(args.config)], {})
    fabric = parse_fabric_config(config.organizations, base_dir=args.config.resolve().parent, environ=os.environ)
    run_id = uuid.uuid4().hex[:8]
    options = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
    if args.tls_ca is not None:
        credentials = grpc.ssl_channel_credentials(_read(args.tls_ca), _read(args.client_key), _read(args.client_cert))
        if args.tls_server_name:
            options.append(("grpc.ssl_target_name_override", args.tls_server_name))
        channel = grpc.secure_channel(args.gateway, credentials, options=options)
    else:
        channel = grpc.insecure_channel(args.gateway, options=options)
    loop = asyncio.new_event_loop()
    with tempfile.TemporaryDirectory() as tmp, channel:
        # channels=None: no event feed of the baseline chaincode in this process, every target allowed
        invoker = loop.run_until_complete(_invoker(fabric, Path(tmp)))
        try:
            client = GatewayClient(channel, args.mspid, channel_name=args.channel, chaincode=args.chaincode).register()
            stub = datamanager_pb2_grpc.DataManagerServiceStub(channel)
            target = Target(args.mspid, args.channel, args.baseline_chaincode)
            # the baseline writes an argument the size of ours
            argument = codec.encode(b.new_data_manager(f"{run_id} baseline"))
            codec.encode(organization_pb2.RegisterOrganizationParam())  # the codec is warm on both sides

            phases = iter(range(1 << 30))

            def run_ours(window: int, calls: int) -> tuple[float, dict[str, int]]:
                # keys new to the ledger on every measurement: a re-run on the same network registers anew
                return ours(stub, client.metadata, f"{run_id}.{next(phases)}", window, calls, args.timeout)

            def run_baseline(window: int, calls: int) -> tuple[float, dict[str, int]]:
                return loop.run_until_complete(_baseline(invoker, target, argument, window, calls, args.timeout))

            sides: dict[str, Callable[[int, int], tuple[float, dict[str, int]]]] = {
                "ours": run_ours, "baseline": run_baseline}
            top = max(args.in_flight)
            for name, side in sides.items():
                wall, failures = side(top, args.warm_up)
                print(f"# warm-up {name}: {args.warm_up / wall:.0f} tx/s{f', failed: {failures}' if failures else ''}")
            results: list[tuple[Measurement, Measurement]] = []
            for run in range(args.runs):
                for window in args.in_flight:
                    calls = args.calls or max(12 * window, 1500)
                    done: dict[str, Measurement] = {}
                    order = ("baseline", "ours") if run % 2 == 0 else ("ours", "baseline")
                    for name in order:
                        before = meter.snapshot()
                        wall, failures = sides[name](window, calls)
                        done[name] = Meter.fill(Measurement(name, window, calls, wall, failures), before,
                                                meter.snapshot())
                        print(f"run {run + 1}: {describe(done[name])}", flush=True)
                    results.append((done["ours"], done["baseline"]))
        finally:
            invoker.close()
            loop.close()
    print()
    print(f"RegisterDataManager through our gateway and chaincode ({args.chaincode}) vs one PutState in the "
          f"baseline chaincode ({args.baseline_chaincode}), {args.runs} run(s); CPU per transaction "
          "(a transaction runs on every endorsing peer's chaincode server)")
    print(table(results))
    return 0


async def _invoker(fabric: Any, directory: Path) -> FabricInvoker:
    """The Fabric client, made inside the loop that will drive it."""
    return FabricInvoker(fabric, directory, channels=None)


if __name__ == "__main__":
    sys.exit(main())
