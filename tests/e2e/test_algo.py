"""Algo scenarios A1-A4 (scenarios.md 3), through the gateway."""

from __future__ import annotations

from orchestrator.api import algo_pb2, common_pb2, event_pb2
from tests import builders as b
from tests.builders import key
from tests.client import GatewayClient
from tests.e2e import steps


def test_A1_registered_algo_reads_back_with_one_created_event(client: GatewayClient) -> None:
    algo = steps.register_algo(client)
    assert client.get_algo(algo_pb2.GetAlgoParam(key=algo.key)) == algo
    events = client.query_events(asset_key=algo.key, asset_kind=common_pb2.ASSET_ALGO,
                                 event_kind=event_pb2.EVENT_ASSET_CREATED, page_size=100)
    assert len(events) == 1
    assert events[0].algo == algo


def test_A2_predict_algos_are_queryable_by_category(client: GatewayClient) -> None:
    steps.register_algo(client, "predict algo", algo_pb2.ALGO_PREDICT)
    page = client.query_algos(algo_pb2.QueryAlgosParam(
        page_size=100, filter=algo_pb2.AlgoQueryFilter(categories=[algo_pb2.ALGO_PREDICT])))
    assert len(page.Algos) >= 1
    assert {a.category for a in page.Algos} == {algo_pb2.ALGO_PREDICT}


def test_A3_a_plan_uses_the_algos_of_its_tasks_not_its_metrics(client: GatewayClient) -> None:
    steps.register_algo(client)
    steps.register_data_manager(client)
    steps.register_sample(client)
    steps.register_sample(client, "objSample", test_only=True)
    steps.register_algo(client, "metric algo", algo_pb2.ALGO_METRIC)
    assert len(client.query_algos(algo_pb2.QueryAlgosParam(page_size=100)).Algos) >= 1
    steps.register_plan(client)
    by_plan = algo_pb2.QueryAlgosParam(page_size=100, filter=algo_pb2.AlgoQueryFilter(compute_plan_key=key("cp")))
    assert len(client.query_algos(by_plan).Algos) == 0
    steps.register_tasks(
        client,
        b.new_train_task("train1"), b.new_train_task("train2"),
        b.new_train_task("train3", parents=("train1", "train2")),
        b.new_test_task("test", parents=("train3",), samples=("objSample",)),
    )
    used = client.query_algos(by_plan).Algos
    assert [a.key for a in used] == [key("simple algo")]


def test_A4_algos_filtered_by_several_categories(client: GatewayClient) -> None:
    refs = {"simple": algo_pb2.ALGO_SIMPLE, "composite": algo_pb2.ALGO_COMPOSITE,
            "aggregate": algo_pb2.ALGO_AGGREGATE, "metric": algo_pb2.ALGO_METRIC}
    for ref, category in refs.items():
        steps.register_algo(client, ref, category)
    everything = steps.keys_of(client.query_algos(algo_pb2.QueryAlgosParam(page_size=10_000)).Algos)
    assert {key(ref) for ref in refs} <= everything
    filtered = steps.keys_of(client.query_algos(algo_pb2.QueryAlgosParam(
        page_size=10_000, filter=algo_pb2.AlgoQueryFilter(categories=[algo_pb2.ALGO_SIMPLE, algo_pb2.ALGO_METRIC]),
    )).Algos)
    assert {key("simple"), key("metric")} <= filtered
    assert not {key("composite"), key("aggregate")} & filtered
