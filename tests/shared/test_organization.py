"""Organizations (rules.md section 3)."""

from __future__ import annotations

import pytest

from orchestrator.api import common_pb2, computetask_pb2, event_pb2
from orchestrator.shared.errors import BadRequestError, ConflictError, NotFoundError
from tests.builders import new_aggregate_task, new_algo, new_train_task, register_task_assets, restricted
from tests.network import Network


def test_organization_id_is_the_callers_msp_id__ORG_1_ORG_3(net: Network) -> None:
    org = net.client("NewOrgMSP").register_organization()
    assert org.id == "NewOrgMSP"
    assert org.creation_date.ToNanoseconds() > 0


def test_registering_twice_is_a_conflict__ORG_2(net: Network) -> None:
    with pytest.raises(ConflictError, match=r'^OE0006: organization with key "MyOrg1MSP" already exists$'):
        net.org1.register_organization()


def test_registration_emits_one_created_event__ORG_4(net: Network) -> None:
    org = net.client("NewOrgMSP").register_organization()
    events = net.org1.query_events(asset_key="NewOrgMSP")
    assert len(events) == 1
    assert events[0].event_kind == event_pb2.EVENT_ASSET_CREATED
    assert events[0].asset_kind == common_pb2.ASSET_ORGANIZATION
    assert events[0].organization == org
    assert not events[0].metadata


def test_all_organizations_are_listed_by_creation_date__ORG_5(net: Network) -> None:
    net.client("AOrgMSP").register_organization()
    ids = [o.id for o in net.org1.get_all_organizations().organizations]
    assert ids == ["MyOrg1MSP", "MyOrg2MSP", "AOrgMSP"]


def test_an_aggregate_worker_must_be_a_registered_organization__ORG_6(net: Network) -> None:
    register_task_assets(net.org1)
    tasks = [new_train_task("train"), new_aggregate_task("agg", parents=["train"], worker="UnknownMSP")]
    with pytest.raises(NotFoundError, match=r'^OE0002: organization with key "UnknownMSP" not found$'):
        net.org1.register_tasks(computetask_pb2.RegisterTasksParam(tasks=tasks))


def test_authorized_ids_must_be_registered_organizations__ORG_7(net: Network) -> None:
    with pytest.raises(BadRequestError, match=r"^OE0003: invalid permission input values"):
        net.org1.register_algo(new_algo("private algo", permissions=restricted("UnknownMSP")))
    algo = net.org1.register_algo(new_algo("shared algo", permissions=restricted("MyOrg2MSP")))
    assert list(algo.permissions.process.authorized_ids) == ["MyOrg2MSP", "MyOrg1MSP"]
