"""Failure reports (rules.md section 13)."""

from __future__ import annotations

import pytest

from orchestrator.api import common_pb2, computetask_pb2, event_pb2, failure_report_pb2
from orchestrator.shared.errors import BadRequestError, InvalidAssetError, NotFoundError, PermissionDeniedError
from tests.builders import addressable, key, new_failure_report, new_train_task, register_task_assets
from tests.network import Client, Network

ORG1, ORG2 = "MyOrg1MSP", "MyOrg2MSP"
T = computetask_pb2
F = failure_report_pb2


@pytest.fixture
def net(net: Network) -> Network:
    """Task "task" owned by org1 running on org2 (data manager "dm2"), with a waiting child."""
    register_task_assets(net.org1, net.org2)
    net.org1.register_tasks(T.RegisterTasksParam(tasks=[
        new_train_task(dm="dm2", samples=["ds2"]), new_train_task("child", parents=["task"], dm="dm2", samples=["ds2"]),
    ]))
    return net


def start(client: Client, ref: str = "task") -> None:
    client.apply_task_action(T.ApplyTaskActionParam(compute_task_key=key(ref), action=T.TASK_ACTION_DOING))


def status(net: Network, ref: str) -> int:
    return net.org1.get_task(T.GetTaskParam(key=key(ref))).status


@pytest.mark.parametrize(
    ("error_type", "with_logs"),
    [(F.ERROR_TYPE_EXECUTION, False), (F.ERROR_TYPE_BUILD, True), (F.ERROR_TYPE_UNSPECIFIED, True), (99, False)],
)
def test_logs_address_iff_execution_error_and_known_types__FAIL_1(
    net: Network, error_type: int, with_logs: bool
) -> None:
    start(net.org2)
    report = F.NewFailureReport(compute_task_key=key("task"), error_type=error_type)  # type: ignore[arg-type]
    if with_logs:
        report.logs_address.CopyFrom(addressable("logs"))
    with pytest.raises(InvalidAssetError, match=r"^OE0101: failurereport is not valid"):
        net.org2.register_failure_report(report)


@pytest.mark.parametrize("error_type", [F.ERROR_TYPE_UNSPECIFIED, F.ERROR_TYPE_BUILD, F.ERROR_TYPE_INTERNAL])
def test_other_error_types_without_logs_are_accepted__FAIL_1(net: Network, error_type: int) -> None:
    start(net.org2)
    report = net.org2.register_failure_report(F.NewFailureReport(compute_task_key=key("task"), error_type=error_type))
    assert report.error_type == error_type and not report.HasField("logs_address")


def test_unknown_task_is_not_found__FAIL_2(net: Network) -> None:
    with pytest.raises(NotFoundError, match=rf'^OE0002: computetask with key "{key("nope")}" not found$'):
        net.org2.register_failure_report(new_failure_report("nope"))


def test_only_the_worker_reports__FAIL_3(net: Network) -> None:
    start(net.org2)
    with pytest.raises(PermissionDeniedError, match=rf'^OE0102: only "{ORG2}" worker can register failure report$'):
        net.org1.register_failure_report(new_failure_report())


def test_only_a_running_task_fails_by_report__FAIL_4(net: Network) -> None:
    expected = r'^OE0003: cannot register failure report for task with status "STATUS_TODO"$'
    with pytest.raises(BadRequestError, match=expected):
        net.org2.register_failure_report(new_failure_report())


def test_the_task_fails_with_the_report_reason_without_cascade__FAIL_5(net: Network) -> None:
    start(net.org2)
    net.org2.register_failure_report(new_failure_report())
    assert status(net, "task") == T.STATUS_FAILED
    assert status(net, "child") == T.STATUS_WAITING
    update = net.org1.query_events(asset_key=key("task"), event_kind=event_pb2.EVENT_ASSET_UPDATED)[-1]
    assert dict(update.metadata) == {"reason": "failure report registered"}
    assert update.compute_task.status == T.STATUS_FAILED


def test_stored_report_is_owned_by_the_worker__FAIL_6_FAIL_10(net: Network) -> None:
    start(net.org2)
    new = new_failure_report()
    report = net.org2.register_failure_report(new)
    assert (report.compute_task_key, report.error_type, report.logs_address, report.owner) == (
        key("task"), new.error_type, new.logs_address, ORG2)
    assert net.org1.get_failure_report(F.GetFailureReportParam(compute_task_key=key("task"))) == report


def test_report_event_follows_the_task_update__FAIL_7_FAIL_9(net: Network) -> None:
    start(net.org2)
    report = net.org2.register_failure_report(new_failure_report())
    last_call = net.org1.ledger_events()[-2:]
    assert [(e.asset_kind, e.event_kind) for e in last_call] == [
        (common_pb2.ASSET_COMPUTE_TASK, event_pb2.EVENT_ASSET_UPDATED),
        (common_pb2.ASSET_FAILURE_REPORT, event_pb2.EVENT_ASSET_CREATED),
    ]
    assert last_call[1].asset_key == key("task")
    assert last_call[1].failure_report == report
    assert report.creation_date == last_call[1].timestamp
    reports = net.org1.query_events(asset_key=key("task"), asset_kind=common_pb2.ASSET_FAILURE_REPORT)
    assert len(reports) == 1


def test_a_second_report_is_a_bad_request__FAIL_8(net: Network) -> None:
    start(net.org2)
    net.org2.register_failure_report(new_failure_report())
    with pytest.raises(BadRequestError, match="STATUS_FAILED"):
        net.org2.register_failure_report(new_failure_report())


def test_get_of_a_task_without_report_is_not_found__FAIL_10(net: Network) -> None:
    with pytest.raises(NotFoundError, match=rf'^OE0002: failurereport with key "{key("task")}" not found$'):
        net.org1.get_failure_report(F.GetFailureReportParam(compute_task_key=key("task")))
