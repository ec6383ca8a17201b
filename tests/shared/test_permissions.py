"""Permissions (rules.md section 2): building from a request, checks, intersection, union, task outputs."""

from __future__ import annotations

import pytest

from orchestrator.api import common_pb2, computetask_pb2, datasample_pb2
from orchestrator.shared.errors import BadRequestError
from orchestrator.shared.permissions import (
    can_download,
    can_process,
    intersect_permission,
    intersect_permissions,
    is_allowed,
    make_permission,
    make_permissions,
    union_permission,
    union_permissions,
)
from tests.builders import (
    key,
    new_algo,
    new_data_manager,
    new_data_sample,
    new_plan,
    new_train_task,
    public,
    restricted,
)
from tests.network import Network

REGISTERED = {"Org1", "Org2", "Org3"}


def registered(org_id: str) -> bool:
    return org_id in REGISTERED


def nobody(org_id: str) -> bool:
    raise AssertionError(f"{org_id} should not be looked up")


def perm(public: bool, *ids: str) -> common_pb2.Permission:
    return common_pb2.Permission(public=public, authorized_ids=list(ids))


def new(public: bool, *ids: str) -> common_pb2.NewPermissions:
    return common_pb2.NewPermissions(public=public, authorized_ids=list(ids))


# -- PERM-1, PERM-4, PERM-5 --------------------------------------------------------------


@pytest.mark.parametrize(
    ("permission", "org", "allowed"),
    [
        (perm(True), "Anyone", True),
        (perm(True, "Org1"), "Org2", True),
        (perm(False, "Org1", "Org2"), "Org2", True),
        (perm(False, "Org1"), "Org2", False),
        (perm(False), "Org1", False),
    ],
)
def test_an_org_is_allowed_when_public_or_listed__PERM_1(permission: common_pb2.Permission, org: str,
                                                           allowed: bool) -> None:
    assert is_allowed(permission, org) is allowed


def test_can_process_reads_the_process_permission_only__PERM_4() -> None:
    perms = common_pb2.Permissions(process=perm(False, "Org1"), download=perm(True))
    assert can_process(perms, "Org1")
    assert not can_process(perms, "Org2")
    assert can_process(common_pb2.Permissions(process=perm(True), download=perm(False)), "Org2")


def test_can_download_reads_the_download_permission_only__PERM_5() -> None:
    perms = common_pb2.Permissions(process=perm(True), download=perm(False, "Org1"))
    assert can_download(perms, "Org1")
    assert not can_download(perms, "Org2")
    assert can_download(common_pb2.Permissions(process=perm(False), download=perm(True)), "Org2")


# -- PERM-2, PERM-3 ----------------------------------------------------------------------


def test_absent_request_is_private_to_the_owner__PERM_2() -> None:
    assert make_permission("Org1", None, registered) == perm(False, "Org1")


def test_owner_is_appended_even_when_public__PERM_2() -> None:
    assert make_permission("Org1", new(True), registered) == perm(True, "Org1")


def test_ids_keep_their_order_and_duplicates_and_owner_is_not_repeated__PERM_2() -> None:
    assert make_permission("Org1", new(False, "Org3", "Org2", "Org3"), registered) == perm(
        False, "Org3", "Org2", "Org3", "Org1")
    assert make_permission("Org1", new(False, "Org2", "Org1"), registered) == perm(False, "Org2", "Org1")


def test_private_permission_naming_an_unregistered_org_is_a_bad_request__PERM_2() -> None:
    with pytest.raises(BadRequestError, match=r"^OE0003: invalid permission input values$"):
        make_permission("Org1", new(False, "Org2", "UnknownOrg"), registered)


def test_public_permission_ids_are_not_checked__PERM_2() -> None:
    assert make_permission("Org1", new(True, "UnknownOrg"), nobody) == perm(True, "UnknownOrg", "Org1")


def test_the_owner_itself_need_not_be_registered__PERM_2() -> None:
    assert make_permission("Newcomer", new(False), registered) == perm(False, "Newcomer")


def test_process_and_download_are_the_same_permission__PERM_3() -> None:
    perms = make_permissions("Org1", new(False, "Org2"), registered)
    assert perms.process == perm(False, "Org2", "Org1")
    assert perms.download == perms.process


def test_permissions_fail_like_one_permission__PERM_3() -> None:
    with pytest.raises(BadRequestError):
        make_permissions("Org1", new(False, "UnknownOrg"), registered)


# -- PERM-6 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        (perm(True, "Org1"), perm(False, "Org2", "Org3"), perm(False, "Org2", "Org3")),  # only x public: y's ids
        (perm(False, "Org2", "Org3"), perm(True, "Org1"), perm(False, "Org2", "Org3")),  # only y public: x's ids
        (perm(False, "Org3", "Org1", "Org2"), perm(False, "Org2", "Org3"), perm(False, "Org3", "Org2")),  # x order
        (perm(False, "Org1"), perm(False, "Org2"), perm(False)),  # may be empty
        (perm(True, "Org1", "Org2"), perm(True, "Org2"), perm(True, "Org2")),  # both public: common ids
    ],
)
def test_intersection_of_two_permissions__PERM_6(x: common_pb2.Permission, y: common_pb2.Permission,
                                                  expected: common_pb2.Permission) -> None:
    assert intersect_permission(x, y) == expected


def test_intersection_of_permissions_is_field_wise__PERM_6() -> None:
    x = common_pb2.Permissions(process=perm(True), download=perm(False, "Org1", "Org2"))
    y = common_pb2.Permissions(process=perm(False, "Org3"), download=perm(False, "Org2"))
    assert intersect_permissions(x, y) == common_pb2.Permissions(process=perm(False, "Org3"),
                                                                  download=perm(False, "Org2"))


# -- PERM-7 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        (perm(True, "Org1"), perm(False, "Org2"), perm(True)),  # public result lists no ids
        (perm(False, "Org2"), perm(True, "Org1"), perm(True)),
        (perm(False, "Org2", "Org1"), perm(False, "Org3", "Org1", "Org2"), perm(False, "Org2", "Org1", "Org3")),
        (perm(False, "Org1", "Org1"), perm(False), perm(False, "Org1")),  # no duplicates
    ],
)
def test_union_of_two_permissions_in_order_of_first_appearance__PERM_7(
    x: common_pb2.Permission, y: common_pb2.Permission, expected: common_pb2.Permission
) -> None:
    assert union_permission(x, y) == expected


def test_union_of_permissions_is_field_wise__PERM_7() -> None:
    x = common_pb2.Permissions(process=perm(False, "Org1"), download=perm(True))
    y = common_pb2.Permissions(process=perm(False, "Org2"), download=perm(False, "Org2"))
    assert union_permissions(x, y) == common_pb2.Permissions(process=perm(False, "Org1", "Org2"), download=perm(True))


def test_combining_does_not_change_its_arguments__PERM_6_PERM_7() -> None:
    x, y = perm(False, "Org1", "Org2"), perm(False, "Org2", "Org3")
    intersect_permission(x, y)
    union_permission(x, y)
    assert x == perm(False, "Org1", "Org2")
    assert y == perm(False, "Org2", "Org3")


# -- PERM-8 ------------------------------------------------------------------------------


def test_task_output_permissions_are_the_requested_ones_not_derived__PERM_8(net: Network) -> None:
    net.org1.register_algo(new_algo(permissions=restricted()))  # private to its owner
    net.org1.register_data_manager(new_data_manager(permissions=restricted()))
    net.org1.register_data_samples(datasample_pb2.RegisterDataSamplesParam(samples=[new_data_sample()]))
    net.org1.register_plan(new_plan())
    tasks = net.org1.register_tasks(computetask_pb2.RegisterTasksParam(tasks=[
        new_train_task("public output", outputs={"model": public()}),
        new_train_task("shared output", outputs={"model": restricted("MyOrg2MSP")}),
    ])).tasks
    by_key = {task.key: task for task in tasks}
    public_output = by_key[key("public output")].outputs["model"].permissions
    assert public_output == make_permissions("MyOrg1MSP", public(), registered)  # not narrowed by algo or data
    shared_output = by_key[key("shared output")].outputs["model"].permissions
    assert shared_output == make_permissions("MyOrg1MSP", restricted("MyOrg2MSP"), lambda _: True)
