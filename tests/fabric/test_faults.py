"""Faults with real chaincode processes: a chaincode killed and restarted mid-load, and processes that must agree."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fabric_protos.peer import transaction_pb2

from orchestrator.api import common_pb2, event_pb2
from tests import builders as b
from tests.builders import key
from tests.chaincode.harness import FABRIC_3_1
from tests.client import GatewayClient, connected
from tests.e2e import steps
from tests.fabric.chaincode import Invocation, Outcome
from tests.fabric.gateway import fabric_gateway
from tests.fabric.ledger import Simulation
from tests.fabric.network import StandInNetwork
from tests.fabric.processes import ChaincodeProcessExecutor, ChaincodeUnavailableError, chaincode_processes
from tests.fabric.test_events import assert_logged_once_in_ledger_order

CLIENTS = 8
TASKS_PER_CLIENT = 12


class _Gate:
    """Holds the next transaction of an executor at its first state read until its process is gone."""

    def __init__(self, executor: ChaincodeProcessExecutor) -> None:
        self.entered = threading.Event()
        self._process = executor.process.process
        self._armed = True
        self.failures = 0
        inner = executor.execute

        def execute(invocation: Invocation, simulation: Simulation) -> Outcome:
            if self._armed:
                self._armed = False
                original_get = simulation.get

                def get(key: str) -> bytes | None:
                    self.entered.set()
                    while self._process.poll() is None:  # answer only once the chaincode was killed
                        time.sleep(0.01)
                    return original_get(key)

                simulation.get = get  # type: ignore[method-assign]
            try:
                return inner(invocation, simulation)
            except ChaincodeUnavailableError:
                self.failures += 1
                raise

        executor.execute = execute  # type: ignore[method-assign]


@pytest.fixture
def process_network(tmp_path: Path) -> Iterator[StandInNetwork]:
    """Both organizations must endorse; each runs its own ``orchestrator-chaincode`` process."""
    with StandInNetwork(tmp_path / "network", executors=chaincode_processes(tmp_path / "chaincode",
                                                                            capabilities=FABRIC_3_1)) as network:
        yield network


def test_every_transaction_is_endorsed_by_both_chaincode_processes(process_network: StandInNetwork,
                                                                   tmp_path: Path) -> None:
    with fabric_gateway(process_network, tmp_path / "gateway") as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        steps.setup_train(client)
        steps.register_task(client, b.new_train_task("task"))
    executors = process_network.executors
    assert all(isinstance(e, ChaincodeProcessExecutor) for e in executors.values())
    assert executors["MyOrg1MSP"].process.process.pid != executors["MyOrg2MSP"].process.process.pid
    valid = sum(tx.code == transaction_pb2.VALID for blk in process_network.ledgers["mychannel"].blocks
                for tx in blk.transactions)
    # every valid transaction carried matching endorsements of both processes (policy: all members)
    assert executors["MyOrg1MSP"].executions >= valid and executors["MyOrg2MSP"].executions >= valid


def test_a_chaincode_process_restarted_mid_load_loses_and_duplicates_nothing(process_network: StandInNetwork,
                                                                            tmp_path: Path) -> None:
    with fabric_gateway(process_network, tmp_path / "gateway") as gateway, connected(gateway.address) as channel:
        owner = GatewayClient(channel).register()
        steps.setup_train(owner)
        steps.register_task(owner, b.new_train_task("root"))
        registered = threading.Semaphore(0)
        errors: list[BaseException] = []

        def load(index: int) -> None:
            client = GatewayClient(channel)
            try:
                for n in range(TASKS_PER_CLIENT):
                    steps.register_task(client, b.new_train_task(f"task {index}.{n}", parents=("root",)))
                    registered.release()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=load, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for _ in range(CLIENTS):  # the load is under way: every client has registered a task
            registered.acquire()
        victim = process_network.executors["MyOrg2MSP"]
        assert isinstance(victim, ChaincodeProcessExecutor)
        gate = _Gate(victim)  # the next transaction on the victim stops at its first state read
        gate.entered.wait()
        pid = victim.process.process.pid
        victim.restart()  # SIGKILL with that transaction in flight, then a new process on the same port
        for thread in threads:
            thread.join()

        assert not errors, errors
        assert victim.process.process.pid != pid
        assert gate.failures >= 1  # the transaction in flight failed, and its call was retried
        expected = sorted(key(f"task {i}.{n}") for i in range(CLIENTS) for n in range(TASKS_PER_CLIENT))
        created = owner.query_events(asset_kind=common_pb2.ASSET_COMPUTE_TASK, event_kind=event_pb2.EVENT_ASSET_CREATED)
        counts = Counter(e.compute_task.key for e in created)
        assert sorted(k for k in counts if k != key("root")) == expected
        assert set(counts.values()) == {1}
        assert all(steps.get_task(owner, f"task {i}.{n}").key for i in range(CLIENTS)
                   for n in (0, TASKS_PER_CLIENT - 1))
        assert_logged_once_in_ledger_order(owner, process_network)
