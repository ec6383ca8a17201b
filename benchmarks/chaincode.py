"""Chaincode benchmarks: the shim through the peer-side harness on loopback, against the same calls in-process."""

# Run from the repository root: ``.venv/bin/python benchmarks/chaincode.py`` (``--help`` for
# options). Figures go to stdout; nothing is asserted (tests never time anything).
#
# Processes: the chaincode server (a subprocess: ``orchestrator-chaincode``, or this script
# serving the one-read-one-write chaincode) and this one (the harness peer, its clients and
# its orderer). Chaincode CPU is read from /proc for the chaincode process; proposals are
# signed before the clock starts and the peer does not re-verify them, so the harness spends
# its CPU on the protocol and the ledger only.
#
# Measured:
#   (1) small transactions (one read, one write) with 16 in flight: tx/s (target >= 1,000) and
#       chaincode CPU per transaction (target < 0.5 ms); the same calls in-process, for the
#       shim's overhead
#   (2) the smallest orchestrator write (RegisterDataManager) the same way, through the contract
#   (1) and (2) also count, per transaction, the stream messages (each state request is a round
#       trip to the peer) and the chaincode's voluntary context switches (thread hand-offs)
#   (3) a 10,000-task plan in batches of 1,000 (target < 10 s), on a Fabric 2.5 peer (one
#       message per write) and a Fabric 3.1 peer (write batches), against the contract in-process

from __future__ import annotations

import argparse
import os
import queue
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.proc import voluntary_switches  # noqa: E402
from orchestrator.api import (  # noqa: E402
    computetask_pb2,
    datasample_pb2,
    organization_pb2,
)
from orchestrator.chaincode.shim import ChaincodeServer, ChaincodeStub, Response  # noqa: E402
from orchestrator.shared import codec, contract  # noqa: E402
from orchestrator.shared.functions import BY_NAME  # noqa: E402
from orchestrator.shared.store.worldstate import Page, TxInfo  # noqa: E402
from tests import builders as b  # noqa: E402
from tests.chaincode.harness import (  # noqa: E402
    FABRIC_2_5,
    FABRIC_3_1,
    VALID,
    Capabilities,
    ChaincodeConnection,
    ChaincodeProcess,
    HarnessPeer,
    Proposal,
    Simulation,
    VersionedState,
    commit_block,
    free_port,
)

F = {f.handler: f for f in BY_NAME.values()}
MSP = "MyOrg1MSP"


# -- the one-read-one-write chaincode ----------------------------------------------------------


def increment(state: Any, key: str) -> bytes:
    """The small transaction: read a counter, write it back plus one."""
    value = int(state.get(key) or b"0") + 1
    state.put(key, str(value).encode())
    return str(value).encode()


class IncrementChaincode:
    def init(self, stub: ChaincodeStub) -> Response:
        return Response.success()

    def invoke(self, stub: ChaincodeStub) -> Response:
        return Response.success(increment(stub, stub.args[1].decode()))


def serve_increment(port: int) -> None:
    server = ChaincodeServer(IncrementChaincode(), "bench:1", f"127.0.0.1:{port}").start()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    stopping.wait()
    server.stop(grace=1.0)


class IncrementProcess(ChaincodeProcess):
    """This script serving :class:`IncrementChaincode` in a subprocess."""

    def __init__(self) -> None:  # the attributes ChaincodeProcess sets, for this script
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.process = subprocess.Popen([sys.executable, __file__, "--serve-increment", str(self.port)],
                                        stderr=subprocess.PIPE, text=True)


# -- measuring -----------------------------------------------------------------------------------


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Figures:
    seconds: float
    chaincode_cpu: float
    harness_cpu: float
    count: int
    switches: int = 0  # the chaincode's voluntary context switches
    requests: dict[str, int] = field(default_factory=dict)  # state requests the chaincode sent, by type

    def per_tx(self, total: float) -> float:
        return total / self.count

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def per_tx_ms(self, cpu: float) -> float:
        return cpu / self.count * 1000


def run_in_flight(peer: HarnessPeer, proposals: list[Proposal], in_flight: int, process: ChaincodeProcess
                  ) -> Figures:
    """Endorse and submit every proposal with ``in_flight`` clients; all must commit VALID."""
    work: queue.SimpleQueue[Proposal | None] = queue.SimpleQueue()
    for proposal in proposals:
        work.put(proposal)
    for _ in range(in_flight):
        work.put(None)
    failures: list[str] = []

    def client() -> None:
        while (proposal := work.get()) is not None:
            endorsement = peer.endorse(proposal)
            if not endorsement.ok:
                failures.append(endorsement.response.message)
                continue
            code = peer.submit(endorsement).result()
            if code != VALID:
                failures.append(f"validation code {code}")

    threads = [threading.Thread(target=client) for _ in range(in_flight)]
    served = dict(peer.connection.served)
    switches = voluntary_switches(process.process.pid)
    cpu0, harness0, begin = process.cpu_seconds(), own_cpu(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - begin
    figures = Figures(seconds, process.cpu_seconds() - cpu0, own_cpu() - harness0, len(proposals),
                      voluntary_switches(process.process.pid) - switches,
                      {kind: count - served.get(kind, 0) for kind, count in peer.connection.served.items()
                       if count > served.get(kind, 0)})
    if failures:
        raise SystemExit(f"{len(failures)} transactions failed, first: {failures[0]}")
    return figures


def in_process_cpu(body: Callable[[], object], count: int) -> float:
    begin = time.process_time()
    for _ in range(count):
        body()
    return (time.process_time() - begin) / count


class SimulationWorldState:
    """The contract's world state over a harness simulation: the in-process path, with no shim and no gRPC."""

    def __init__(self, simulation: Simulation, info: TxInfo) -> None:
        self.simulation = simulation
        self.info = info
        self.event: tuple[str, bytes] | None = None

    def get(self, key: str) -> bytes | None:
        return self.simulation.get(key)

    def get_multiple(self, keys: Sequence[str]) -> list[bytes | None]:
        return [self.simulation.get(key) for key in keys]

    def put(self, key: str, value: bytes) -> None:
        self.simulation.put(key, value)

    def delete(self, key: str) -> None:
        self.simulation.delete(key)

    def scan(self, start: str, end: str) -> Iterator[tuple[str, bytes]]:
        return self.simulation.scan(start, end)

    def scan_page(self, start: str, end: str, page_size: int, bookmark: str) -> Page:
        return Page(*self.simulation.scan_page(start, end, page_size, bookmark))

    def set_event(self, name: str, payload: bytes) -> None:
        self.event = (name, payload)


def connect(process: ChaincodeProcess, capabilities: Capabilities) -> HarnessPeer:
    return HarnessPeer(ChaincodeConnection(process.address, capabilities=capabilities).connect(),
                       check_signatures=False)


# -- the benchmarks --------------------------------------------------------------------------------


def bench_small(args: argparse.Namespace) -> None:
    count = args.transactions
    with IncrementProcess() as process:
        peer = connect(process, FABRIC_2_5)
        warmup = [peer.proposal(MSP, "increment", f"warm{n}".encode()) for n in range(500)]
        run_in_flight(peer, warmup, args.in_flight, process)
        proposals = [peer.proposal(MSP, "increment", f"counter{n}".encode()) for n in range(count)]
        figures = run_in_flight(peer, proposals, args.in_flight, process)
        peer.close()
    state = VersionedState()
    in_process = in_process_cpu(lambda: increment(Simulation(state), "counter"), count)
    shim = figures.per_tx_ms(figures.chaincode_cpu)
    print(f"(1) small transactions, {count} with {args.in_flight} in flight: {figures.rate:,.0f} tx/s "
          f"(target >= 1,000)")
    print(f"    chaincode CPU per transaction {shim:.3f} ms (target < 0.5 ms); the same calls in-process "
          f"{in_process * 1000:.3f} ms: shim overhead {shim - in_process * 1000:.3f} ms per transaction")
    print(f"    per transaction: {_messages(figures)}; {figures.per_tx(figures.switches):.1f} voluntary context "
          f"switches in the chaincode")
    print(f"    harness (peer + clients + orderer) CPU per transaction {figures.per_tx_ms(figures.harness_cpu):.3f} ms")


def _contract_in_process(state: VersionedState, function: str, argument: bytes, tx: int) -> bytes:
    info = TxInfo(f"{tx:064x}", 1_654_041_600_000_000_000 + tx, MSP, "mychannel",
                  read_only=F[function].read_only if function in F else False)
    simulation = Simulation(state)
    payload = contract.invoke(SimulationWorldState(simulation, info), F[function].name, argument)
    commit_block(state, tx, [simulation.kv_rwset()])
    return payload


def bench_contract_small(args: argparse.Namespace) -> None:
    count = args.transactions
    with ChaincodeProcess() as process:
        peer = connect(process, FABRIC_2_5)
        peer.invoke(MSP, F["register_organization"].name, codec.encode(organization_pb2.RegisterOrganizationParam()))
        name = F["register_data_manager"].name
        warmup = [peer.proposal(MSP, name, codec.encode(b.new_data_manager(f"warm{n}"))) for n in range(300)]
        run_in_flight(peer, warmup, args.in_flight, process)
        proposals = [peer.proposal(MSP, name, codec.encode(b.new_data_manager(f"dm{n}"))) for n in range(count)]
        figures = run_in_flight(peer, proposals, args.in_flight, process)
        peer.close()
    state = VersionedState()
    _contract_in_process(state, "register_organization", codec.encode(organization_pb2.RegisterOrganizationParam()),
                         1)
    arguments = iter([codec.encode(b.new_data_manager(f"dm{n}")) for n in range(count)])
    numbers = iter(range(2, count + 2))
    in_process = in_process_cpu(lambda: _contract_in_process(state, "register_data_manager", next(arguments),
                                                             next(numbers)), count)
    shim = figures.per_tx_ms(figures.chaincode_cpu)
    print(f"(2) RegisterDataManager, {count} with {args.in_flight} in flight: {figures.rate:,.0f} tx/s; chaincode CPU "
          f"{shim:.3f} ms per call, in-process {in_process * 1000:.3f} ms: shim overhead "
          f"{shim - in_process * 1000:.3f} ms")
    print(f"    per call: {_messages(figures)}; {figures.per_tx(figures.switches):.1f} voluntary context switches "
          f"in the chaincode")


def _messages(figures: Figures) -> str:
    """Stream messages per transaction: TRANSACTION in, each state request out and its answer in, COMPLETED out."""
    requests = {kind: figures.per_tx(count) for kind, count in sorted(figures.requests.items())}
    total = 2 + 2 * sum(requests.values())
    return (f"{total:g} stream messages (TRANSACTION, COMPLETED, and "
            + ", ".join(f"{count:g} {kind}" for kind, count in requests.items()) + " with their answers)")


def _plan_setup() -> list[tuple[str, bytes]]:
    return [
        ("register_organization", codec.encode(organization_pb2.RegisterOrganizationParam())),
        ("register_algo", codec.encode(b.new_algo())),
        ("register_data_manager", codec.encode(b.new_data_manager())),
        ("register_data_samples", codec.encode(datasample_pb2.RegisterDataSamplesParam(samples=[b.new_data_sample()]))),
        ("register_plan", codec.encode(b.new_plan())),
        ("register_tasks", codec.encode(computetask_pb2.RegisterTasksParam(tasks=[b.new_train_task("task")]))),
    ]


def _plan_batches(tasks: int, batch: int) -> list[bytes]:
    return [codec.encode(computetask_pb2.RegisterTasksParam(tasks=[
        b.new_train_task(f"task{n}", parents=("task",)) for n in range(start + 1, min(start + batch, tasks) + 1)]))
        for start in range(0, tasks, batch)]


def bench_plan(args: argparse.Namespace) -> None:
    batches = _plan_batches(args.tasks, args.batch)
    print(f"(3) a {args.tasks:,}-task plan in batches of {args.batch:,} (target < 10 s):")
    for label, capabilities in (("Fabric 2.5 peer (one PUT_STATE per write)", FABRIC_2_5),
                                ("Fabric 3.1 peer (write batches)", FABRIC_3_1)):
        with ChaincodeProcess() as process:
            peer = connect(process, capabilities)
            for function, argument in _plan_setup():
                peer.invoke(MSP, F[function].name, argument)
            proposals = [peer.proposal(MSP, F["register_tasks"].name, argument) for argument in batches]
            figures = run_in_flight(peer, proposals, 1, process)
            served = dict(peer.connection.served)
            peer.close()
        print(f"    {label}: {figures.seconds:.2f} s, chaincode CPU {figures.chaincode_cpu:.2f} s, harness CPU "
              f"{figures.harness_cpu:.2f} s; requests {served}")
    state = VersionedState()
    for number, (function, argument) in enumerate(_plan_setup(), start=1):
        _contract_in_process(state, function, argument, number)
    begin = time.process_time()
    for number, argument in enumerate(batches, start=100):
        _contract_in_process(state, "register_tasks", argument, number)
    spent = time.process_time() - begin
    print(f"    the same batches in-process (contract on a simulation, no shim): {spent:.2f} s CPU")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transactions", type=int, default=5000, help="small transactions per run (default 5000)")
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--only", choices=("small", "contract", "plan"), help="run one benchmark")
    parser.add_argument("--serve-increment", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_increment:
        serve_increment(args.serve_increment)
        return 0
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    for name, bench in (("small", bench_small), ("contract", bench_contract_small), ("plan", bench_plan)):
        if args.only in (None, name):
            bench(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
