"""Determinism: one realistic scenario on two fresh ledgers writes byte-identical state and event logs."""

# Endorsing peers must agree on every write set (DESIGN.md), so the domain may not depend on the
# wall clock, randomness or hash order. The scenario runs twice in this process and once in each of
# two child processes with different ``PYTHONHASHSEED`` values, so set or dict order leaking into
# output would show.

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from orchestrator.api import computeplan_pb2, computetask_pb2, model_pb2
from tests.builders import (
    key,
    new_aggregate_task,
    new_composite_task,
    new_failure_report,
    new_model,
    new_performance,
    new_plan,
    new_predict_task,
    new_test_task,
    new_train_task,
    register_task_assets,
)
from tests.network import Client, Network

T = computetask_pb2
ROOT = Path(__file__).resolve().parents[2]
SIMPLE, HEAD = model_pb2.MODEL_SIMPLE, model_pb2.MODEL_HEAD


def _act(client: Client, ref: str, action: int) -> None:
    client.apply_task_action(T.ApplyTaskActionParam(compute_task_key=key(ref), action=action))


def _models(client: Client, task: str, *outputs: tuple[str, int]) -> None:
    client.register_models(model_pb2.RegisterModelsParam(
        models=[new_model(ref, task=task, category=category) for ref, category in outputs]))


def run_scenario(net: Network) -> None:
    """Every writing RPC of sections 9 to 13 on a federated plan, a failure and a cancellation."""
    org1, org2 = net.org1, net.org2
    register_task_assets(org1, org2)
    org1.register_plan(new_plan("cp2", delete_intermediary_models=True))
    on_dm2 = {"dm": "dm2", "samples": ["ds2"]}
    tasks = [
        new_test_task("test1", parents=["t3"]),
        new_train_task("t3", parents=["t1", "t2"]),
        new_composite_task("c3", parents=["c1", "a1"]),
        new_aggregate_task("a1", parents=["c1", "c2"]),
        new_train_task("t1"),
        new_train_task("t2", **on_dm2),  # type: ignore[arg-type]
        new_composite_task("c1"),
        new_composite_task("c2", **on_dm2),  # type: ignore[arg-type]
        new_predict_task("p1", parents=["t1"]),
        new_test_task("test2", parents=["p1"]),
    ]
    tasks[0].metadata.update({"z": "last", "a": "first", "m": "middle"})
    org1.register_tasks(T.RegisterTasksParam(tasks=tasks))
    doing = T.TASK_ACTION_DOING
    for client, task, outputs in (
        (org1, "t1", [("m t1", SIMPLE)]),
        (org2, "t2", [("m t2", SIMPLE)]),
        (org1, "c1", [("h c1", HEAD), ("s c1", SIMPLE)]),
        (org2, "c2", [("s c2", SIMPLE), ("h c2", HEAD)]),
        (org1, "a1", [("m a1", SIMPLE)]),
        (org1, "p1", [("m p1", SIMPLE)]),
    ):
        _act(client, task, doing)
        _models(client, task, *outputs)
    _act(org1, "test2", doing)
    org1.register_performance(new_performance(task="test2", value=0.75))
    _act(org1, "t3", doing)
    org1.register_failure_report(new_failure_report("t3"))
    _act(org1, "c3", doing)
    org1.register_tasks(T.RegisterTasksParam(tasks=[
        new_train_task("y", parents=["x"], plan="cp2"), new_train_task("x", plan="cp2")]))
    for task in ("x", "y"):
        _act(org1, task, doing)
        org1.register_model(new_model(f"m {task}", task=task))
    org1.disable_model(model_pb2.DisableModelParam(model_key=key("m x")))
    org1.apply_plan_action(computeplan_pb2.ApplyPlanActionParam(
        key=key("cp"), action=computeplan_pb2.PLAN_ACTION_CANCELED))


def ledger_bytes(net: Network) -> tuple[list[tuple[bytes, bytes]], list[tuple[object, ...]]]:
    """The world state and the raw event log table, row by row."""
    state = net.ledger.dump()  # commits every acknowledged call, so another connection sees them
    with sqlite3.connect(net.ledger.path) as conn:
        events = conn.execute(
            "SELECT seq, id, tx_id, ts_ns, asset_key, asset_kind, event_kind, metadata, payload"
            " FROM events ORDER BY seq"
        ).fetchall()
    return state, events


def fingerprint(path: str) -> str:
    """SHA-256 of what the scenario leaves on a fresh ledger at ``path`` (used by the child process)."""
    net = Network(Path(path)).with_orgs_registered()
    try:
        run_scenario(net)
        state, events = ledger_bytes(net)
    finally:
        net.close()
    digest = hashlib.sha256()
    for entry in (*state, *events):
        digest.update(repr(entry).encode())
    return digest.hexdigest()


def test_same_scenario_gives_identical_state_and_events_on_two_ledgers(tmp_path: Path) -> None:
    results = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        net = Network(tmp_path / name).with_orgs_registered()
        try:
            run_scenario(net)
            results.append(ledger_bytes(net))
            statuses = {ref: net.org1.get_task(T.GetTaskParam(key=key(ref))).status
                        for ref in ("t1", "a1", "c3", "t3", "test1", "test2", "x", "y")}
        finally:
            net.close()
        assert statuses == {  # the scenario went where it means to go
            "t1": T.STATUS_DONE, "a1": T.STATUS_DONE, "c3": T.STATUS_CANCELED, "t3": T.STATUS_FAILED,
            "test1": T.STATUS_CANCELED, "test2": T.STATUS_DONE, "x": T.STATUS_DONE, "y": T.STATUS_DONE,
        }
    (state_a, events_a), (state_b, events_b) = results
    assert len(state_a) > 150 and len(events_a) > 50
    assert state_a == state_b
    assert events_a == events_b


def test_hash_seed_does_not_change_the_result(tmp_path: Path) -> None:
    digests = []
    for seed in ("0", "4242"):
        path = tmp_path / f"seed{seed}"
        path.mkdir()
        code = f"from tests.shared.test_determinism import fingerprint; print(fingerprint({str(path)!r}))"
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                             check=True, timeout=120)
        digests.append(out.stdout.strip())
    assert digests[0] == digests[1] and len(digests[0]) == 64
