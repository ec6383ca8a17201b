"""Permissions: building them from a request, checking them, combining them (rules.md section 2)."""

from __future__ import annotations

from collections.abc import Callable

from orchestrator.api import common_pb2
from orchestrator.shared.errors import BadRequestError


def make_permission(
    owner: str, requested: common_pb2.NewPermissions | None, is_registered: Callable[[str], bool]
) -> common_pb2.Permission:
    """One stored Permission from its input form (PERM-2).

    An absent request is private with no ids. Private ids must name registered organizations
    (ORG-7); public ones are not checked. The owner is appended when missing, even to a public
    permission: upstream stores it so, and clients compare what they read with it.

    Raises:
        BadRequestError: a private permission names an unregistered organization.
    """
    public = requested.public if requested is not None else False
    ids = list(requested.authorized_ids) if requested is not None else []
    if not public and not all(is_registered(org_id) for org_id in ids):
        raise BadRequestError("invalid permission input values")
    if owner not in ids:
        ids.append(owner)
    return common_pb2.Permission(public=public, authorized_ids=ids)


def make_permissions(
    owner: str, requested: common_pb2.NewPermissions | None, is_registered: Callable[[str], bool]
) -> common_pb2.Permissions:
    """Process and download permissions, both the PERM-2 result of one request (PERM-3).

    Raises:
        BadRequestError: a private permission names an unregistered organization.
    """
    permission = make_permission(owner, requested, is_registered)
    return common_pb2.Permissions(process=permission, download=permission)


def is_allowed(permission: common_pb2.Permission, org: str) -> bool:
    """Whether ``org`` passes ``permission``: public, or listed (PERM-1)."""
    return permission.public or org in permission.authorized_ids


def can_process(perms: common_pb2.Permissions, org: str) -> bool:
    """Whether ``org`` may use the asset in a computation (PERM-4)."""
    return is_allowed(perms.process, org)


def can_download(perms: common_pb2.Permissions, org: str) -> bool:
    """Whether ``org`` may fetch the asset's content (PERM-5)."""
    return is_allowed(perms.download, org)


def intersect_permission(x: common_pb2.Permission, y: common_pb2.Permission) -> common_pb2.Permission:
    """Organizations allowed by both ``x`` and ``y`` (PERM-6).

    A public side restricts nothing, so the other side's ids are kept; otherwise the ids of
    ``x`` also in ``y``, in ``x``'s order.
    """
    if x.public and not y.public:
        ids = list(y.authorized_ids)
    elif y.public and not x.public:
        ids = list(x.authorized_ids)
    else:
        kept = set(y.authorized_ids)
        ids = [org_id for org_id in x.authorized_ids if org_id in kept]
    return common_pb2.Permission(public=x.public and y.public, authorized_ids=ids)


def intersect_permissions(x: common_pb2.Permissions, y: common_pb2.Permissions) -> common_pb2.Permissions:
    """Field-wise PERM-6 intersection of two Permissions."""
    return common_pb2.Permissions(
        process=intersect_permission(x.process, y.process),
        download=intersect_permission(x.download, y.download),
    )


def union_permission(x: common_pb2.Permission, y: common_pb2.Permission) -> common_pb2.Permission:
    """Organizations allowed by ``x`` or ``y`` (PERM-7).

    A public result lists no ids; otherwise the ids of both without duplicates, in order of
    first appearance (``x`` then ``y``) so the result is deterministic.
    """
    if x.public or y.public:
        return common_pb2.Permission(public=True, authorized_ids=[])
    ids = list(dict.fromkeys([*x.authorized_ids, *y.authorized_ids]))
    return common_pb2.Permission(public=False, authorized_ids=ids)


def union_permissions(x: common_pb2.Permissions, y: common_pb2.Permissions) -> common_pb2.Permissions:
    """Field-wise PERM-7 union of two Permissions."""
    return common_pb2.Permissions(
        process=union_permission(x.process, y.process),
        download=union_permission(x.download, y.download),
    )
