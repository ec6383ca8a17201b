"""Failure report scenario F1 (scenarios.md 11), through the gateway."""

from __future__ import annotations

from orchestrator.api import common_pb2, computetask_pb2, event_pb2, failure_report_pb2
from tests import builders as b
from tests.builders import key
from tests.client import GatewayClient
from tests.e2e import steps


def test_F1_a_failure_report_fails_the_task_with_one_created_event(client: GatewayClient) -> None:
    steps.setup_train(client)
    steps.register_task(client, b.new_train_task("task"))
    assert steps.get_plan(client).task_count == 1
    steps.start(client, "task")
    report = client.register_failure_report(b.new_failure_report("task"))
    assert report.compute_task_key == key("task")
    assert steps.status(client, "task") == computetask_pb2.STATUS_FAILED
    assert client.get_failure_report(failure_report_pb2.GetFailureReportParam(compute_task_key=key("task"))) == report
    events = client.query_events(asset_key=key("task"), asset_kind=common_pb2.ASSET_FAILURE_REPORT,
                                 event_kind=event_pb2.EVENT_ASSET_CREATED, page_size=100)
    assert len(events) == 1
    assert events[0].failure_report == report
