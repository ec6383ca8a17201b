"""Durability: a gateway killed with SIGKILL under load restarts with every acknowledged write (issue tests)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import grpc

from orchestrator.api import common_pb2, computetask_pb2, event_pb2
from tests import builders as b
from tests.client import GatewayClient, GatewayProcess, connected
from tests.e2e import steps

WRITERS = 4
KILL_AFTER = 200  # acknowledged registrations before the kill


def test_every_acknowledged_write_survives_a_sigkill_and_the_ledger_stays_consistent(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    gateway = GatewayProcess(data_dir).wait_serving()
    acknowledged: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()

    with connected(gateway.address) as channel:
        setup = GatewayClient(channel).register()
        steps.setup_train(setup)

        def write(writer: int) -> None:
            client = GatewayClient(channel)
            for n in range(100_000):
                ref = f"w{writer}-{n}"
                try:
                    steps.register_task(client, b.new_train_task(ref))
                except grpc.RpcError:
                    return  # the gateway is gone
                with lock:
                    acknowledged.append(b.key(ref))
                    if len(acknowledged) >= KILL_AFTER:
                        enough.set()

        writers = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
        for thread in writers:
            thread.start()
        enough.wait(timeout=120)
        gateway.process.send_signal(signal.SIGKILL)  # writers are mid-call: some writes are never acknowledged
        gateway.process.wait(timeout=30)
        for thread in writers:
            thread.join(timeout=60)
    assert len(acknowledged) >= KILL_AFTER

    restarted = GatewayProcess(data_dir).wait_serving()  # same data dir; the killed process' lock is gone
    try:
        with connected(restarted.address) as channel:
            client = GatewayClient(channel)
            for task_key in acknowledged:
                assert client.get_task(computetask_pb2.GetTaskParam(key=task_key)).key == task_key
            created = client.query_events(asset_kind=common_pb2.ASSET_COMPUTE_TASK,
                                          event_kind=event_pb2.EVENT_ASSET_CREATED)
            listed = client.query_tasks(computetask_pb2.QueryTasksParam(page_size=100_000)).tasks
            plan = steps.get_plan(client)
            assert len({e.asset_key for e in created}) == len(created) == len(listed) == plan.task_count
            assert set(acknowledged) <= {t.key for t in listed}
            assert len(acknowledged) <= len(listed) <= len(acknowledged) + WRITERS  # at most one unacknowledged each
            steps.register_task(client, b.new_train_task("after restart"))  # and it takes writes again
    finally:
        status, log = restarted.stop(signal.SIGTERM)
    assert status == 0, log
