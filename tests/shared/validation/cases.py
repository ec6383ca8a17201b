"""Shared material of the validation tests: fixed keys, well-formed values and the invalid-asset assertion."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from orchestrator.api import common_pb2
from orchestrator.shared.errors import InvalidAssetError

KEY = "0b4e3b3a-5b1c-4f7e-9a57-3f7c1e5d2a10"
OTHER_KEY = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
UPPERCASE_KEY = KEY.upper()
NOT_A_KEY = "not-a-uuid"
CHECKSUM = "0123456789abcdef" * 4
URL = f"https://somewhere.local/desc/{KEY}"
INVALID_URL = "0698796898"


def addressable(checksum: str = CHECKSUM, storage_address: str = URL) -> common_pb2.Addressable:
    """An Addressable, valid unless told otherwise."""
    return common_pb2.Addressable(checksum=checksum, storage_address=storage_address)


def permissions() -> common_pb2.NewPermissions:
    """Public new permissions."""
    return common_pb2.NewPermissions(public=True)


def text_of_bytes(n: int, unit: str = "a") -> str:
    """A string whose UTF-8 encoding is exactly ``n`` bytes, made of ``unit`` (which must divide ``n``)."""
    size = len(unit.encode())
    assert n % size == 0
    return unit * (n // size)


def failing_fields(text: str, kind: str) -> set[str]:
    """Field names listed by an invalid-asset error text, checking its shape (ERR-3)."""
    prefix = f"OE0101: {kind} is not valid: "
    assert text.startswith(prefix), text
    assert text.endswith("."), text
    pairs = [pair.partition(": ") for pair in text[len(prefix) : -1].split("; ")]
    names = [name for name, _, _ in pairs]
    assert names == sorted(names), text
    return set(names)


def assert_invalid(validate: Callable[[Any], None], msg: Any, kind: str, *fields: str) -> str:
    """``validate(msg)`` fails with OE0101 for ``kind``, naming exactly ``fields``; returns the text."""
    with pytest.raises(InvalidAssetError) as raised:
        validate(msg)
    text = str(raised.value)
    assert failing_fields(text, kind) == set(fields), text
    return text
