"""Every end-to-end scenario of ``tests/e2e`` (scenarios.md), driven through the harness into the real chaincode.

The scenarios are written once, against the gateway client's interface; this module collects
each ``tests/e2e/test_<asset>.py`` test as ``test_<asset>__<scenario>`` so that it runs with
this folder's fixtures, where every call is a signed proposal endorsed by the chaincode server
and committed by the harness peer. A scenario that builds its own gateway client (it needs a
gRPC channel) is left out; its harness counterpart follows.
"""

from __future__ import annotations

import concurrent.futures
import importlib
import inspect
from pathlib import Path

from tests import builders as b
from tests.builders import key
from tests.chaincode.e2e.network import HarnessClient, HarnessNetwork
from tests.chaincode.harness import FABRIC_3_1
from tests.e2e import steps

_SCENARIOS = Path(__file__).resolve().parents[2] / "e2e"

for _path in sorted(_SCENARIOS.glob("test_*.py")):
    _module = importlib.import_module(f"tests.e2e.{_path.stem}")
    _asset = _path.stem.removeprefix("test_")
    for _name, _test in vars(_module).items():
        if not (_name.startswith("test_") and callable(_test) and getattr(_test, "__module__", "") == _module.__name__):
            continue
        if "GatewayClient(" in inspect.getsource(_test):
            continue
        globals()[f"test_{_asset}__{_name.removeprefix('test_')}"] = _test


def test_computetask__T7_concurrent_registrations_in_one_plan_all_succeed__BATCH_5(client: HarnessClient) -> None:
    other = HarnessClient(client.network)  # same organization, shared references
    steps.setup_train(client)  # type: ignore[arg-type]
    steps.register_task(client, b.new_train_task("parent1"))  # type: ignore[arg-type]
    steps.register_task(other, b.new_train_task("parent2"))  # type: ignore[arg-type]
    jobs = [(client, f"task1{n}", "parent1") for n in range(5)] + [(other, f"task2{n}", "parent2") for n in range(5)]
    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
        futures = [pool.submit(steps.register_task, c, b.new_train_task(ref, parents=(parent,)))
                   for c, ref, parent in jobs]
        registered = [future.result() for future in futures]
    assert {task.key for task in registered} == {key(ref) for _, ref, _ in jobs}
    assert steps.get_plan(client).task_count == 12  # type: ignore[arg-type]


def test_computetask__a_batch_reads_the_tasks_it_checks_in_one_request_on_a_fabric_3_1_peer(tmp_path: Path) -> None:
    """TASK-3, TASK-14 on Fabric 3.1: the existence checks of a batch cost one GET_STATE_MULTIPLE, not one
    GET_STATE per task (on a remote peer each request is a round trip)."""
    network = HarnessNetwork(tmp_path, capabilities=FABRIC_3_1)
    try:
        client = HarnessClient(network).register()
        steps.setup_train(client)  # type: ignore[arg-type]
        steps.register_task(client, b.new_train_task("parent"))  # type: ignore[arg-type]
        served = network.peer.connection.served
        before = served.copy()
        batch = [b.new_train_task(f"task{n}", parents=("parent",)) for n in range(50)]
        assert len(steps.register_tasks(client, *batch)) == 50  # type: ignore[arg-type]
        assert served["GET_STATE_MULTIPLE"] - before["GET_STATE_MULTIPLE"] == 1
        assert served["GET_STATE"] - before["GET_STATE"] < 10  # plan, algo, data manager, sample, owner …
    finally:
        network.close()
