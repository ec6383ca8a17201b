"""The entry point of the Fabric client: an identity connected to its organization's peers, then networks."""

# ``Gateway(identity, client)`` → ``get_network(channel)`` → ``get_contract(chaincode)`` →
# ``evaluate`` / ``submit``, as the official Fabric Gateway clients. The gRPC channels belong to
# the caller (one set per organization, created once and shared by every call): closing a
# Gateway stops its background listeners but never closes them.

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from orchestrator.gateway.fabric.client import GatewayClient
from orchestrator.gateway.fabric.network import Network
from orchestrator.gateway.fabric.signing import SigningIdentity


@dataclass(frozen=True)
class Options:
    """Default timeout of each step, in seconds; a call's own deadline shortens them."""

    evaluate_timeout: float = 30.0
    endorse_timeout: float = 30.0
    submit_timeout: float = 10.0
    commit_status_timeout: float = 60.0
    commit_by_blocks: bool = True  # statuses from one filtered-block stream per channel, not one call each

    @property
    def total_submit_timeout(self) -> float:
        return self.endorse_timeout + self.submit_timeout + self.commit_status_timeout


class Gateway:
    """One signing identity over one organization's peers."""

    def __init__(
        self, identity: SigningIdentity, client: GatewayClient, *, evaluate_timeout: float = 30.0,
        endorse_timeout: float = 30.0, submit_timeout: float = 10.0, commit_status_timeout: float = 60.0,
        commit_by_blocks: bool = True, fallback: Callable[[str], Sequence[GatewayClient]] | None = None,
    ) -> None:
        self.identity = identity
        self.client = client
        #: Per channel, the clients of other organizations' peers to fail over to (still signed by ``identity``).
        self.fallback = fallback
        self.options = Options(evaluate_timeout, endorse_timeout, submit_timeout, commit_status_timeout,
                               commit_by_blocks)
        self._networks: dict[str, Network] = {}

    @property
    def mspid(self) -> str:
        return self.identity.mspid

    def get_network(self, channel: str) -> Network:
        network = self._networks.get(channel)
        if network is None:
            network = self._networks.setdefault(channel, Network(self, channel))
        return network

    def close(self) -> None:
        """Stop the networks' commit listeners; the gRPC channels belong to the caller and stay open."""
        for network in list(self._networks.values()):
            network.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Gateway", "Options"]
