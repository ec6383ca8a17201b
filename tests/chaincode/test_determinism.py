"""Two independent chaincode processes endorse the same proposals: byte-identical read/write sets, events, replies."""

# The processes run with different PYTHONHASHSEED values, so any set or dict iteration order
# leaking into keys, values or events would show. Each process has its own harness peer and
# ledger, as two organizations' peers do; every proposal is signed once and endorsed by both,
# then committed on both. The scenario walks a plan through its life: registrations of every
# asset kind, a batch of dependent tasks, task actions, models, performances, a failure
# report, a cancelled plan, and paginated listings.

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message

from orchestrator.api import (
    algo_pb2,
    computeplan_pb2,
    computetask_pb2,
    datamanager_pb2,
    dataset_pb2,
    model_pb2,
    organization_pb2,
    performance_pb2,
)
from orchestrator.shared import codec
from orchestrator.shared.errors import status_name_for
from orchestrator.shared.functions import Function
from tests import builders as b
from tests.builders import key
from tests.chaincode.e2e.network import HarnessRpcError
from tests.chaincode.harness import VALID, ChaincodeProcess, HarnessPeer, harness_peer
from tests.e2e import steps
from tests.handler_calls import HandlerCalls


class TwinEndorsement(HandlerCalls):
    """Calls as one organization; each proposal endorsed by both peers, compared byte for byte, then committed."""

    def __init__(self, peers: tuple[HarnessPeer, HarnessPeer], mspid: str = "MyOrg1MSP") -> None:
        self.peers = peers
        self.mspid = mspid
        self.compared = 0
        self.timestamp_ns = 1_654_041_600 * 1_000_000_000

    def as_org(self, mspid: str) -> TwinEndorsement:
        twin = TwinEndorsement(self.peers, mspid)
        twin.timestamp_ns = self.timestamp_ns
        return twin

    def call(self, function: Function, request: Message | None = None, **_: Any) -> Message:
        self.timestamp_ns += 1_000_000
        argument = codec.encode(request if request is not None else function.request(), "twin")
        proposal = self.peers[0].proposal(self.mspid, function.name, argument, timestamp_ns=self.timestamp_ns)
        first, second = (peer.endorse(proposal) for peer in self.peers)
        assert first.response.SerializeToString() == second.response.SerializeToString(), function.name
        assert first.rwset == second.rwset, function.name
        assert (first.event is None) == (second.event is None), function.name
        if first.event is not None and second.event is not None:
            assert first.event.SerializeToString() == second.event.SerializeToString(), function.name
        self.compared += 1
        if not first.ok:
            raise HarnessRpcError(getattr(grpc.StatusCode, status_name_for(first.response.message)),
                                  first.response.message)
        if not function.read_only:
            assert [peer.commit(e)[0] for peer, e in zip(self.peers, (first, second), strict=True)] == [VALID, VALID]
        return codec.decode_message(first.payload, function.response)

@pytest.fixture(scope="module")
def twins() -> Iterator[tuple[HarnessPeer, HarnessPeer]]:
    with ChaincodeProcess(hash_seed="1") as one, ChaincodeProcess(hash_seed="2") as two, \
            harness_peer(one.address) as first, harness_peer(two.address) as second:
        yield first, second


def test_two_chaincode_processes_endorse_a_plans_life_identically(twins: tuple[HarnessPeer, HarnessPeer]) -> None:
    org1 = TwinEndorsement(twins)
    org2 = org1.as_org("MyOrg2MSP")
    for org in (org1, org2):
        org.register_organization(organization_pb2.RegisterOrganizationParam())
    with pytest.raises(HarnessRpcError):  # a refusal is endorsed identically too
        org1.register_organization(organization_pb2.RegisterOrganizationParam())
    client: Any = org1
    steps.setup_train(client)
    for ref, category in (("metric algo", algo_pb2.ALGO_METRIC), ("composite algo", algo_pb2.ALGO_COMPOSITE),
                          ("predict algo", algo_pb2.ALGO_PREDICT)):
        steps.register_algo(client, ref, category)
    steps.register_sample(client, "ds2")
    steps.register_sample(client, "testds", test_only=True)
    steps.register_tasks(client, *(
        [b.new_train_task("task"), b.new_train_task("task2", samples=("ds", "ds2"))]
        + [b.new_train_task(f"child{n}", parents=("task", "task2")) for n in range(20)]
        + [b.new_test_task("test", parents=("child0",), samples=("testds",))]
    ))
    steps.start(client, "task")
    steps.start(client, "task2")
    steps.register_models(client, b.new_model("model", task="task"))
    steps.register_model(client, "model2", "task2")
    steps.start(client, "child0")
    steps.register_model(client, "model0", "child0")
    steps.start(client, "test")
    client.register_performance(b.new_performance("test", "metric algo", 0.75))
    steps.start(client, "child1")
    client.register_failure_report(b.new_failure_report("child1"))
    org2.register_plan(b.new_plan("other plan"))
    org2.register_tasks(computetask_pb2.RegisterTasksParam(tasks=[b.new_train_task("other", plan="other plan")]))
    org2.apply_plan_action(computeplan_pb2.ApplyPlanActionParam(key=key("other plan"),
                                                                action=computeplan_pb2.PLAN_ACTION_CANCELED))
    # Reads, paginated or not, as endorsed evaluations.
    assert steps.get_plan(client).done_count == 4
    token = ""
    listed = 0
    while True:
        page = client.query_tasks(computetask_pb2.QueryTasksParam(page_size=7, page_token=token))
        listed += len(page.tasks)
        token = page.next_page_token
        if not token:
            break
    assert listed == 24
    client.query_algos(algo_pb2.QueryAlgosParam(page_size=3, filter=algo_pb2.AlgoQueryFilter(
        compute_plan_key=key("cp"))))
    client.query_data_managers(datamanager_pb2.QueryDataManagersParam(page_size=10))
    client.get_dataset(dataset_pb2.GetDatasetParam(key=key("dm")))
    client.query_models(model_pb2.QueryModelsParam(page_size=2))
    client.get_compute_task_input_models(model_pb2.GetComputeTaskModelsParam(compute_task_key=key("child0")))
    client.query_performances(performance_pb2.QueryPerformancesParam(page_size=10))
    client.query_plans(computeplan_pb2.QueryPlansParam(page_size=10))
    client.get_all_organizations(organization_pb2.GetAllOrganizationsParam())
    assert org1.compared + org2.compared == 39  # every call above was endorsed twice and compared
    assert twins[0].state.items() == twins[1].state.items()
    assert [e.event.SerializeToString() for e in twins[0].events] == \
        [e.event.SerializeToString() for e in twins[1].events]
