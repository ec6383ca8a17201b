"""Domain benchmark: large compute plans through the contract on the embedded SQLite ledger."""

from __future__ import annotations

import argparse
import cProfile
import itertools
import pstats
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from google.protobuf.message import Message

from orchestrator.api import (
    algo_pb2,
    common_pb2,
    computeplan_pb2,
    computetask_pb2,
    datamanager_pb2,
    datasample_pb2,
    organization_pb2,
)
from orchestrator.gateway.ledger.sqlite import SqliteLedger
from orchestrator.shared import codec
from orchestrator.shared.functions import BY_HANDLER, Function

USAGE = """Run with ``.venv/bin/python benchmarks/domain.py`` (not collected by pytest). Every call goes the
way the embedded gateway sends it: the request's bytes in an envelope, :func:`orchestrator.shared.contract.invoke`
in one transaction on a :class:`~orchestrator.gateway.ledger.sqlite.SqliteLedger`, reply decoding.
Transaction ids and timestamps are fixed per call, as in the tests.

Measured:
  (a) a 10,000-task plan registered in batches of 1,000  (target < 2 s, peak RSS < 300 MB)
  (b) the same 10,000 tasks, one call each              (target < 6 s)
  (c) the 5,000 tasks of one plan in one page of 5,000, from a ledger holding other plans' tasks
      (target < 0.5 s)
  (d) a 10,000-task plan's tasks started and marked done rank by rank, with cascades (reported)

The graph is a band of ranks: ``WIDTH`` train tasks per rank; task ``i`` of rank ``r > 0`` has
parent ``i`` of rank ``r - 1`` and, for even ``i``, also parent ``i + 1`` (one or two parents).
Pass ``--profile`` to print the top of a cProfile of (a) and (b), ``--synchronous OFF`` to see how
much of the time is the ledger's commit (WAL checkpoints) rather than the domain.
"""

ORG = "MyOrg1MSP"
TASKS = 10_000
BATCH = 1_000
WIDTH = 10
QUERY_TASKS = 5_000
START_NS = 1_654_041_600 * 1_000_000_000
_NAMESPACE = uuid.UUID("0b6c1c52-3f0d-4c8e-9d53-7a4f3c1e5a10")


def key(ref: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, ref))


class Ledger:
    """One embedded ledger and a caller; ``ledger.register_tasks(msg)`` calls the contract."""

    def __init__(self, path: Path, synchronous: str = "NORMAL") -> None:
        self.ledger = SqliteLedger(path, "mychannel", synchronous=synchronous)
        self._calls = itertools.count()

    def call(self, handler: str, request: Message, mspid: str = ORG) -> Message:
        function: Function = BY_HANDLER[handler]
        argument = codec.encode_serialized(request.SerializeToString(), "bench")  # the request as it arrives
        if function.read_only:
            reply = self.ledger.evaluate(mspid, function.name, argument)
        else:
            n = next(self._calls)
            reply = self.ledger.submit(mspid, function.name, argument, tx_id=f"{n:064x}",
                                       timestamp_ns=START_NS + n * 1_000_000)
        return function.response.FromString(codec.decode_serialized(reply, function.response))

    def __getattr__(self, handler: str) -> Callable[[Message], Message]:
        return lambda request: self.call(handler, request)

    def close(self) -> None:
        self.ledger.close()


def setup(ledger: Ledger, plans: list[str]) -> None:
    """An organization, a public simple algo, a data manager with one sample, and the plans."""
    ledger.register_organization(organization_pb2.RegisterOrganizationParam())
    checksum = "7e87" + "0" * 56 + "0b9c"

    def addressable(ref: str) -> common_pb2.Addressable:
        return common_pb2.Addressable(checksum=checksum, storage_address=f"https://somewhere.local/{key(ref)}")

    ledger.register_algo(algo_pb2.NewAlgo(
        key=key("algo"), name="simple algo", category=algo_pb2.ALGO_SIMPLE, description=addressable("d"),
        algorithm=addressable("a"), new_permissions=common_pb2.NewPermissions(public=True),
        outputs={"model": algo_pb2.AlgoOutput(kind=common_pb2.ASSET_MODEL)},
        inputs={"opener": algo_pb2.AlgoInput(kind=common_pb2.ASSET_DATA_MANAGER),
                "datasamples": algo_pb2.AlgoInput(kind=common_pb2.ASSET_DATA_SAMPLE, multiple=True),
                "model": algo_pb2.AlgoInput(kind=common_pb2.ASSET_MODEL, optional=True, multiple=True)},
    ))
    ledger.register_data_manager(datamanager_pb2.NewDataManager(
        key=key("dm"), name="dm", type="test", new_permissions=common_pb2.NewPermissions(public=True),
        logs_permission=common_pb2.NewPermissions(public=True), description=addressable("dmd"),
        opener=addressable("opener"),
    ))
    ledger.register_data_samples(datasample_pb2.RegisterDataSamplesParam(samples=[datasample_pb2.NewDataSample(
        key=key("ds"), data_manager_keys=[key("dm")], checksum=checksum)]))
    for plan in plans:
        ledger.register_plan(computeplan_pb2.NewComputePlan(key=key(plan), name=plan))


def task_ref(plan: str, rank: int, i: int) -> str:
    return f"{plan}/{rank}/{i}"


def parents_of(plan: str, rank: int, i: int) -> list[str]:
    if rank == 0:
        return []
    parents = [task_ref(plan, rank - 1, i)]
    if i % 2 == 0 and i + 1 < WIDTH:
        parents.append(task_ref(plan, rank - 1, i + 1))
    return parents


def parent_output(parent: str) -> computetask_pb2.ParentTaskOutputRef:
    return computetask_pb2.ParentTaskOutputRef(parent_task_key=key(parent), output_identifier="model")


def plan_tasks(plan: str, count: int) -> Iterator[computetask_pb2.NewComputeTask]:
    """``count`` train tasks of ``plan``, rank by rank (parents always come first)."""
    output = computetask_pb2.NewComputeTaskOutput(permissions=common_pb2.NewPermissions(public=True))
    for n in range(count):
        rank, i = divmod(n, WIDTH)
        yield computetask_pb2.NewComputeTask(
            key=key(task_ref(plan, rank, i)), category=computetask_pb2.TASK_TRAIN, algo_key=key("algo"),
            compute_plan_key=key(plan), parent_task_keys=[key(p) for p in parents_of(plan, rank, i)],
            train=computetask_pb2.NewTrainTaskData(data_manager_key=key("dm"), data_sample_keys=[key("ds")]),
            inputs=[computetask_pb2.ComputeTaskInput(identifier="opener", asset_key=key("dm")),
                    computetask_pb2.ComputeTaskInput(identifier="datasamples", asset_key=key("ds"))]
            + [computetask_pb2.ComputeTaskInput(identifier="model", parent_task_output=parent_output(p))
               for p in parents_of(plan, rank, i)],
            outputs={"model": output},
            metadata={"rank": str(rank)},
        )


def register_in_batches(ledger: Ledger, tasks: list[computetask_pb2.NewComputeTask], size: int) -> None:
    for start in range(0, len(tasks), size):
        reply = ledger.register_tasks(computetask_pb2.RegisterTasksParam(tasks=tasks[start:start + size]))
        assert len(reply.tasks) == min(size, len(tasks) - start)


def timed(label: str, body: Callable[[], object], profile: bool = False) -> float:
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    body()
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - started
    if profiler:
        print(f"--- profile of {label}")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    return elapsed


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, epilog=USAGE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", action="store_true", help="profile (a) and (b) with cProfile")
    parser.add_argument("--synchronous", default="NORMAL", choices=["OFF", "NORMAL", "FULL"],
                        help="the SQLite ledger's synchronous setting (its default is NORMAL)")
    args = parser.parse_args()
    rows: list[tuple[str, float, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        # (a) batches of 1,000
        a = Ledger(Path(tmp) / "a.db", args.synchronous)
        setup(a, ["batched", "queried", "other"])
        tasks = list(plan_tasks("batched", TASKS))
        elapsed = timed("(a)", lambda: register_in_batches(a, tasks, BATCH), args.profile)
        rss = max_rss_mb()
        rows.append(("(a) 10,000 tasks, batches of 1,000", elapsed, "< 2 s", f"peak RSS {rss:.0f} MB (< 300)"))

        # (c) the 5,000 tasks of one plan among other plans' tasks
        register_in_batches(a, list(plan_tasks("other", QUERY_TASKS)), BATCH)
        register_in_batches(a, list(plan_tasks("queried", QUERY_TASKS)), BATCH)
        query = computetask_pb2.QueryTasksParam(
            page_size=QUERY_TASKS, filter=computetask_pb2.TaskQueryFilter(compute_plan_key=key("queried")))
        result: list[Message] = []
        elapsed = timed("(c)", lambda: result.append(a.query_tasks(query)))
        reply = result[0]
        assert len(reply.tasks) == QUERY_TASKS and not reply.next_page_token  # type: ignore[attr-defined]
        rows.append(("(c) query 5,000 tasks of a plan (20,000 stored)", elapsed, "< 0.5 s", ""))

        # (d) start and finish the batched plan rank by rank: each DONE moves the next rank to TODO
        def run_plan() -> None:
            for rank in range(TASKS // WIDTH):
                for i in range(WIDTH):
                    task = key(task_ref("batched", rank, i))
                    for action in (computetask_pb2.TASK_ACTION_DOING, computetask_pb2.TASK_ACTION_DONE):
                        a.apply_task_action(computetask_pb2.ApplyTaskActionParam(compute_task_key=task, action=action))

        elapsed = timed("(d)", run_plan)
        plan = a.get_plan(computeplan_pb2.GetComputePlanParam(key=key("batched")))
        assert plan.done_count == TASKS, plan  # type: ignore[attr-defined]
        rows.append(("(d) 10,000 tasks DOING then DONE, rank by rank", elapsed, "reported",
                     f"{elapsed / (2 * TASKS) * 1e3:.2f} ms per action"))
        a.close()

        # (b) one call per task, on a fresh ledger
        b = Ledger(Path(tmp) / "b.db", args.synchronous)
        setup(b, ["batched"])
        elapsed = timed("(b)", lambda: register_in_batches(b, tasks, 1), args.profile)
        rows.append(("(b) 10,000 tasks, one call each", elapsed, "< 6 s", f"{elapsed / TASKS * 1e3:.2f} ms per call"))
        b.close()

    print(f"{'measure':<50} {'seconds':>8}  {'target':<9} notes")
    for label, seconds, target, notes in rows:
        print(f"{label:<50} {seconds:>8.3f}  {target:<9} {notes}")
    print(f"peak RSS of the whole run: {max_rss_mb():.0f} MB; ledger synchronous={args.synchronous}; "
          f"Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
