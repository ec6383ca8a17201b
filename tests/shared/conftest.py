"""Fixtures of the domain tests: a realistic network on a fresh SQLite ledger per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.network import Network


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Network]:
    """Two registered organizations (MyOrg1MSP, MyOrg2MSP) on channel ``mychannel``."""
    network = Network(tmp_path).with_orgs_registered()
    yield network
    network.close()
