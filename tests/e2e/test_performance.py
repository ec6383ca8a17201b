"""Performance scenarios P1-P3 (scenarios.md 10), through the gateway."""

from __future__ import annotations

from orchestrator.api import algo_pb2, common_pb2, computetask_pb2, event_pb2, performance_pb2
from tests import builders as b
from tests.builders import key
from tests.client import GatewayClient
from tests.e2e import steps


def _trained(client: GatewayClient) -> None:
    """Simple algo, dm, ds, test-only testds, plan, task started and done by its model."""
    steps.setup_train(client)
    steps.register_sample(client, "testds", test_only=True)
    steps.register_task(client, b.new_train_task("task"))
    steps.start(client, "task")
    steps.register_model(client, "model", "task")


def _test_task(client: GatewayClient, ref: str, metrics: tuple[str, ...]) -> None:
    steps.register_task(client, b.new_test_task(ref, parents=("task",), metrics=metrics, samples=("testds",)))
    steps.start(client, ref)


def test_P1_performance_on_a_test_task_finishes_it(client: GatewayClient) -> None:
    _trained(client)
    steps.register_algo(client, "testmetric", algo_pb2.ALGO_METRIC)
    _test_task(client, "testTask", ("testmetric",))
    performance = client.register_performance(b.new_performance("testTask", "testmetric"))
    assert steps.status(client, "testTask") == computetask_pb2.STATUS_DONE
    listed = client.query_performances(performance_pb2.QueryPerformancesParam(
        page_size=100, filter=performance_pb2.PerformanceQueryFilter(compute_task_key=key("testTask"))))
    assert list(listed.Performances) == [performance]
    events = client.query_events(asset_key=f"{key('testTask')}|{key('testmetric')}",
                                 asset_kind=common_pb2.ASSET_PERFORMANCE, event_kind=event_pb2.EVENT_ASSET_CREATED,
                                 page_size=100)
    assert len(events) == 1
    assert events[0].performance == performance


def test_P2_a_test_task_with_two_metrics_needs_two_performances(client: GatewayClient) -> None:
    _trained(client)
    steps.register_algo(client, "testmetric1", algo_pb2.ALGO_METRIC)
    steps.register_algo(client, "testmetric2", algo_pb2.ALGO_METRIC)
    _test_task(client, "testTask", ("testmetric1", "testmetric2"))
    client.register_performance(b.new_performance("testTask", "testmetric1"))
    assert steps.status(client, "testTask") == computetask_pb2.STATUS_DOING
    client.register_performance(b.new_performance("testTask", "testmetric2"))
    assert steps.status(client, "testTask") == computetask_pb2.STATUS_DONE


def test_P3_performances_are_listed_oldest_first(client: GatewayClient) -> None:
    _trained(client)
    steps.register_algo(client, "testmetric", algo_pb2.ALGO_METRIC)
    for ref in ("testTask0", "testTask1"):
        _test_task(client, ref, ("testmetric",))
        client.register_performance(b.new_performance(ref, "testmetric"))
    listed = client.query_performances(performance_pb2.QueryPerformancesParam(page_size=10)).Performances
    assert len(listed) >= 2
    assert listed[0].creation_date.ToNanoseconds() <= listed[1].creation_date.ToNanoseconds()
    assert [p.compute_task_key for p in listed] == [key("testTask0"), key("testTask1")]
