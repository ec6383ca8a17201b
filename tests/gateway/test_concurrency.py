"""Concurrency: many clients changing shared assets lose nothing and duplicate nothing (BATCH-5; issue tests)."""

from __future__ import annotations

import concurrent.futures
import threading

import grpc

from orchestrator.api import common_pb2, computetask_pb2, event_pb2
from orchestrator.gateway.server import GatewayThread
from tests import builders as b
from tests.client import GatewayClient, connected, ledger_order
from tests.e2e import steps

THREADS = 16
TASKS_PER_THREAD = 25  # two mutations each (start, then the model that completes it): 50 per thread


def test_sixteen_clients_times_fifty_mutations_on_one_plan_lose_and_duplicate_nothing(
    gateway: GatewayThread, client: GatewayClient
) -> None:
    steps.setup_train(client)
    refs = [[f"t{thread}-{n}" for n in range(TASKS_PER_THREAD)] for thread in range(THREADS)]
    steps.register_tasks(client, *(b.new_train_task(ref) for group in refs for ref in group))
    setup_events = len(client.query_events())
    stream = client.subscribe(timeout=120)  # a subscriber watching the whole run
    start = threading.Barrier(THREADS)

    def mutate(group: list[str]) -> int:
        with connected(gateway.address) as channel:
            worker = GatewayClient(channel)
            start.wait()
            for ref in group:
                steps.start(worker, ref)
                steps.register_model(worker, f"{ref} model", ref)
        return 2 * len(group)

    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        done = sum(pool.map(mutate, refs))
    assert done == THREADS * 50

    total = THREADS * TASKS_PER_THREAD
    plan = steps.get_plan(client)
    assert (plan.task_count, plan.done_count, plan.doing_count, plan.todo_count) == (total, total, 0, 0)
    page = client.query_tasks(computetask_pb2.QueryTasksParam(page_size=total + 1))
    assert {t.status for t in page.tasks} == {computetask_pb2.STATUS_DONE} and len(page.tasks) == total
    events = ledger_order(client.query_events())
    assert len(events) == setup_events + 3 * total  # per task: DOING, model CREATED, DONE
    assert len({e.id for e in events}) == len(events)
    for ref in (refs[0][0], refs[7][12], refs[15][24]):
        kinds = [(e.asset_kind, e.event_kind) for e in events if e.asset_key == b.key(ref)]
        assert kinds.count((common_pb2.ASSET_COMPUTE_TASK, event_pb2.EVENT_ASSET_UPDATED)) == 2
    streamed = [next(stream).id for _ in range(len(events))]
    stream.cancel()
    assert streamed == [e.id for e in events]  # every event once, in ledger order


def test_sixteen_clients_racing_to_start_one_task_let_exactly_one_win(gateway: GatewayThread, client: GatewayClient
                                                                      ) -> None:
    steps.setup_train(client)
    steps.register_task(client, b.new_train_task("contended"))
    start = threading.Barrier(THREADS)

    def race(_: int) -> grpc.StatusCode:
        with connected(gateway.address) as channel:
            worker = GatewayClient(channel)
            start.wait()
            try:
                steps.start(worker, "contended")
            except grpc.RpcError as exc:
                assert "inappropriate in current state STATUS_DOING" in exc.details()
                return exc.code()
            return grpc.StatusCode.OK

    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(race, range(THREADS)))
    assert outcomes.count(grpc.StatusCode.OK) == 1
    updates = client.query_events(asset_key=b.key("contended"), event_kind=event_pb2.EVENT_ASSET_UPDATED)
    assert len(updates) == 1
