"""Conflict storm on real chaincode: concurrent mutations of one plan conflict, are retried, lose nothing."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from fabric_protos.peer import transaction_pb2

from orchestrator.api import algo_pb2, common_pb2, computetask_pb2, event_pb2
from tests import builders as b
from tests.builders import key
from tests.client import GatewayClient, connected
from tests.e2e import steps
from tests.fabric.gateway import fabric_gateway
from tests.fabric.network import StandInNetwork
from tests.fabric.test_events import assert_logged_once_in_ledger_order

CLIENTS = 16
DONE = computetask_pb2.TASK_ACTION_DONE


def validation_codes(network: StandInNetwork) -> Counter[int]:
    return Counter(tx.code for block in network.ledgers["mychannel"].blocks for tx in block.transactions)


def test_sixteen_clients_finishing_the_parents_of_one_aggregate_conflict_and_all_land(
        process_network: StandInNetwork, tmp_path: Path) -> None:
    network = process_network
    with fabric_gateway(network, tmp_path / "gateway") as gateway, connected(gateway.address) as channel:
        owner = GatewayClient(channel).register()
        steps.setup_train(owner)
        steps.register_algo(owner, "aggregate algo", algo_pb2.ALGO_AGGREGATE)
        parents = [f"train {i}" for i in range(CLIENTS)]
        steps.register_tasks(owner, *(b.new_train_task(ref) for ref in parents))
        steps.register_task(owner, b.new_aggregate_task("aggregate", parents=parents))
        for ref in parents:
            steps.start(owner, ref)
        before = validation_codes(network)

        errors: list[BaseException] = []

        def finish(ref: str) -> None:
            client = GatewayClient(channel)
            try:
                steps.act(client, ref, DONE)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=finish, args=(ref,)) for ref in parents]
        with network.orderer.hold("mychannel"):  # every client endorses on the same state before any commit
            for thread in threads:
                thread.start()
            while network.orderer.pending("mychannel") < CLIENTS:
                network.ledgers["mychannel"].wait_height(network.ledgers["mychannel"].height, 0.01)
        for thread in threads:
            thread.join()

        assert not errors, errors
        # Endorsed on one state, the first block holds all sixteen: each read another parent (the
        # first one still DOING), so whichever of the first two parents' transactions comes later
        # in the block read a parent the other one wrote: at least one conflict, whatever the order.
        conflicts = validation_codes(network) - before
        assert conflicts[transaction_pb2.MVCC_READ_CONFLICT] + conflicts[transaction_pb2.PHANTOM_READ_CONFLICT] >= 1
        assert all(steps.status(owner, ref) == computetask_pb2.STATUS_DONE for ref in parents)
        assert steps.status(owner, "aggregate") == computetask_pb2.STATUS_TODO  # not lost: the last DONE saw all
        updates = owner.query_events(asset_kind=common_pb2.ASSET_COMPUTE_TASK,
                                     event_kind=event_pb2.EVENT_ASSET_UPDATED)
        updated = Counter((e.compute_task.key, e.compute_task.status) for e in updates)
        assert all(updated[(key(ref), computetask_pb2.STATUS_DONE)] == 1 for ref in parents)  # not duplicated
        assert updated[(key("aggregate"), computetask_pb2.STATUS_TODO)] == 1
        assert_logged_once_in_ledger_order(owner, network)


def test_a_free_running_storm_of_task_registrations_and_actions_on_one_plan_loses_nothing(
        process_network: StandInNetwork, tmp_path: Path) -> None:
    network = process_network
    with fabric_gateway(network, tmp_path / "gateway") as gateway, connected(gateway.address) as channel:
        owner = GatewayClient(channel).register()
        steps.setup_train(owner)
        roots = [f"root {i}" for i in range(CLIENTS)]
        steps.register_tasks(owner, *(b.new_train_task(ref) for ref in roots))
        errors: list[BaseException] = []
        children_per_client = 4

        def work(index: int) -> None:
            client = GatewayClient(channel)
            try:
                for child in range(children_per_client):  # children read the root while its status moves
                    parent = roots[(index + child) % CLIENTS]
                    steps.register_task(client, b.new_train_task(f"child {index}.{child}", parents=[parent]))
                    if child == 0:
                        steps.start(client, roots[index])
                steps.act(client, roots[index], DONE)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert not errors, errors
        children = [f"child {i}.{c}" for i in range(CLIENTS) for c in range(children_per_client)]
        assert all(steps.status(owner, ref) == computetask_pb2.STATUS_DONE for ref in roots)
        assert all(steps.status(owner, ref) == computetask_pb2.STATUS_TODO for ref in children)  # parents all DONE
        created = owner.query_events(asset_kind=common_pb2.ASSET_COMPUTE_TASK,
                                     event_kind=event_pb2.EVENT_ASSET_CREATED)
        assert sorted(e.compute_task.key for e in created) == sorted(key(r) for r in roots + children)
        assert_logged_once_in_ledger_order(owner, network)
