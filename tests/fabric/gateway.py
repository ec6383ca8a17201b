"""A gateway in Fabric mode in front of a stand-in network, and backend clients of it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from orchestrator.gateway.config import GatewayConfig, parse_channels
from orchestrator.gateway.server import GatewayThread
from tests.fabric.network import StandInNetwork


def fabric_config(network: StandInNetwork, data_dir: Path, *, orgs: Sequence[str] | None = None,
                  organizations: Mapping[str, Any] | None = None, **overrides: Any) -> GatewayConfig:
    """The gateway configuration for ``network``: every channel open to every organization, identities of ``orgs``."""
    orgs = tuple(orgs or network.orgs)
    channels = parse_channels({name: {"organizations": list(network.orgs), "chaincodes": list(chaincodes)}
                               for name, chaincodes in network.channels.items()})
    config = GatewayConfig(
        mode="fabric", listen="127.0.0.1:0", data_dir=data_dir, grace_period=1.0, workers=64, channels=channels,
        organizations=dict(organizations) if organizations is not None else {
            mspid: network.organization_config(mspid) for mspid in orgs},
    )
    return replace(config, **overrides)


@contextlib.contextmanager
def fabric_gateway(network: StandInNetwork, data_dir: Path, **kwargs: Any) -> Iterator[GatewayThread]:
    """A Fabric-mode gateway on 127.0.0.1:<free port>, stopped on exit."""
    gateway = GatewayThread(fabric_config(network, data_dir, **kwargs)).start()
    try:
        yield gateway
    finally:
        gateway.stop(grace=0)


__all__ = ["fabric_config", "fabric_gateway"]
