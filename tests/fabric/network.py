"""A stand-in Fabric network on loopback: organizations with their CAs, peers, one orderer, channels and chaincodes."""

# ``StandInNetwork(directory).start()`` gives two organizations (``MyOrg1MSP``, ``MyOrg2MSP``)
# with one TLS peer each, channels ``mychannel`` (chaincode ``mycc``) and ``yourchannel``
# (``yourcc``), an endorsement policy requiring both organizations, and a user identity per
# organization. :meth:`StandInNetwork.gateway_config` writes the gateway's YAML configuration
# for it. Peers can be stopped and restarted on the same port (failover tests), the orderer
# can hold blocks back (deadline tests).
#
# Run ``python -m tests.fabric.network DIR`` to serve one in its own process (benchmarks): it
# writes ``DIR/gateway.yaml`` and ``DIR/ready``, answers ``DIR/stats-request`` by writing
# ``DIR/stats.json`` (chaincode executions and CPU, process CPU, blocks), and stops when
# ``DIR/stop`` appears.

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives.serialization import Encoding

from tests.fabric.chaincode import Executor, InProcessExecutor
from tests.fabric.ledger import ChaincodeDefinition, ChannelLedger, EndorsementPolicy
from tests.fabric.msp import Msp, MspManager
from tests.fabric.orderer import Orderer
from tests.fabric.peer import StandInPeer
from tests.fabric.pki import Credentials, OrgPki

DEFAULT_ORGS = ("MyOrg1MSP", "MyOrg2MSP")
DEFAULT_CHANNELS: Mapping[str, tuple[str, ...]] = {"mychannel": ("mycc",), "yourchannel": ("yourcc",)}

ExecutorFactory = Callable[[str], Executor]  # MSP ID -> that organization's chaincode


class StandInNetwork:
    """Organizations, peers, orderer and ledgers, all in this process."""

    def __init__(
        self, directory: Path, *, orgs: Sequence[str] = DEFAULT_ORGS, peers_per_org: int | Mapping[str, int] = 1,
        channels: Mapping[str, Sequence[str]] = DEFAULT_CHANNELS, policy: str = "all", init_required: bool = False,
        key_type: str = "ecdsa", executors: ExecutorFactory | None = None, batch_timeout: float = 0.002,
        max_batch: int = 500, concurrency_limit: int = 500, tls: bool = True, mutual_tls: bool = False,
        own_executors: bool = True,
    ) -> None:
        self.directory = Path(directory)
        self.orgs = tuple(orgs)
        self.pki = {mspid: OrgPki(mspid, self.directory / "orgs" / mspid, key_type=key_type) for mspid in self.orgs}
        self.msp = MspManager({mspid: Msp(mspid, [pki.ca.cert]) for mspid, pki in self.pki.items()})
        self.users: dict[str, Credentials] = {mspid: pki.identity(f"User1@{mspid}") for mspid, pki in self.pki.items()}
        self.tls = tls
        self.mutual_tls = mutual_tls
        self.tls_clients: dict[str, Credentials] = {
            mspid: pki.tls_client(f"gateway.{mspid}") for mspid, pki in self.pki.items()
        } if mutual_tls else {}
        self.channels = {name: tuple(chaincodes) for name, chaincodes in channels.items()}
        self.ledgers: dict[str, ChannelLedger] = {}
        for channel, chaincodes in self.channels.items():
            ledger = ChannelLedger(channel, self.msp, self.orgs)
            for chaincode in chaincodes:
                ledger.define(ChaincodeDefinition(chaincode, EndorsementPolicy(policy, self.orgs),
                                                  init_required=init_required))
            self.ledgers[channel] = ledger
        self.orderer = Orderer(self.ledgers, batch_timeout=batch_timeout, max_batch=max_batch)
        factory = executors or (lambda mspid: InProcessExecutor())
        self.executors = {mspid: factory(mspid) for mspid in self.orgs}
        self._own_executors = own_executors  # False: chaincode servers shared with other networks
        client_ca = (b"".join(pki.tls_ca.cert.public_bytes(Encoding.PEM) for pki in self.pki.values())
                     if mutual_tls else None)
        self.peers: dict[str, list[StandInPeer]] = {}
        for mspid in self.orgs:
            count = peers_per_org if isinstance(peers_per_org, int) else peers_per_org.get(mspid, 1)
            self.peers[mspid] = [
                StandInPeer(
                    self, mspid, f"peer{index}.{mspid}", self.pki[mspid].identity(f"peer{index}.{mspid}",
                                                                                   organizational_unit="peer"),
                    self.pki[mspid].tls_server(f"peer{index}.{mspid}") if tls else None,
                    self.executors[mspid], concurrency_limit=concurrency_limit, client_ca=client_ca,
                )
                for index in range(count)
            ]

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> StandInNetwork:
        for peers in self.peers.values():
            for peer in peers:
                peer.start()
        return self

    def stop(self) -> None:
        for peers in self.peers.values():
            for peer in peers:
                peer.stop()
        self.orderer.stop()
        if self._own_executors:
            for executor in self.executors.values():
                executor.close()

    def __enter__(self) -> StandInNetwork:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def peer(self, mspid: str, index: int = 0) -> StandInPeer:
        return self.peers[mspid][index]

    @contextlib.contextmanager
    def events_held(self) -> Iterator[None]:
        """Every peer keeps its ChaincodeEvents streams open but delivers no block until the block exits."""
        peers = [peer for peers in self.peers.values() for peer in peers]
        for peer in peers:
            peer.events_held = True
        try:
            yield
        finally:
            for peer in peers:
                peer.events_held = False

    def running_peer(self, mspid: str) -> StandInPeer | None:
        return next((peer for peer in self.peers.get(mspid, []) if peer.running), None)

    # -- gateway configuration -----------------------------------------------------------

    def organization_config(self, mspid: str, *, user: Credentials | None = None) -> dict[str, Any]:
        """The ``organizations:`` entry of the gateway configuration for ``mspid``."""
        user = user or self.users[mspid]
        peers = []
        for peer in self.peers[mspid]:
            entry: dict[str, Any] = {"address": peer.address}
            if self.tls:
                entry["tls_ca"] = str(self.pki[mspid].tls_ca.cert_path)
            if self.mutual_tls:
                entry["tls_client_certificate"] = str(self.tls_clients[mspid].cert_path)
                entry["tls_client_key"] = str(self.tls_clients[mspid].key_path)
            peers.append(entry)
        return {"identity": {"certificate": str(user.cert_path), "key": str(user.key_path)}, "peers": peers}

    def gateway_config(self, path: Path, *, orgs: Sequence[str] | None = None, data_dir: Path | None = None,
                       extra: Mapping[str, Any] | None = None) -> Path:
        """Write the gateway's YAML configuration (channels, organizations) and return its path."""
        orgs = tuple(orgs or self.orgs)
        document: dict[str, Any] = {
            "mode": "fabric",
            "channels": {name: {"organizations": list(self.orgs), "chaincodes": list(chaincodes)}
                         for name, chaincodes in self.channels.items()},
            "organizations": {mspid: self.organization_config(mspid) for mspid in orgs},
        }
        if data_dir is not None:
            document["data_dir"] = str(data_dir)
        document.update(extra or {})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return path


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a network until ``DIR/stop`` exists (for benchmarks in separate processes)."""
    parser = argparse.ArgumentParser(prog="python -m tests.fabric.network")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--policy", default="all", choices=("any", "all", "majority"))
    parser.add_argument("--batch-timeout", type=float, default=0.002)
    parser.add_argument("--max-batch", type=int, default=500)
    parser.add_argument("--chaincode", default="in-process", choices=("in-process", "processes"))
    parser.add_argument("--shim", default="3.1", choices=("2.5", "3.1"),
                        help="peer capabilities on the chaincode stream: 3.1 adds write batches and multi-key reads")
    args = parser.parse_args(argv)
    executors = None
    if args.chaincode == "processes":
        from tests.chaincode.harness import FABRIC_2_5, FABRIC_3_1
        from tests.fabric.processes import chaincode_processes

        executors = chaincode_processes(args.directory / "chaincode",
                                        capabilities=FABRIC_3_1 if args.shim == "3.1" else FABRIC_2_5)
    network = StandInNetwork(args.directory, policy=args.policy, batch_timeout=args.batch_timeout,
                             max_batch=args.max_batch, executors=executors).start()
    network.gateway_config(args.directory / "gateway.yaml", data_dir=args.directory / "gateway-data")
    (args.directory / "ready").write_text("ready\n")
    request = args.directory / "stats-request"
    try:
        while not (args.directory / "stop").exists():
            if request.exists():
                request.unlink()
                stats = {"chaincode": {mspid: executor.stats() for mspid, executor in network.executors.items()},
                         "process_cpu_seconds": time.process_time(),
                         "peer_calls": {peer.name: dict(peer.calls) for peers in network.peers.values()
                                        for peer in peers},
                         "blocks": {name: ledger.height for name, ledger in network.ledgers.items()},
                         "invalid": sum(1 for ledger in network.ledgers.values() for block in ledger.blocks
                                        for tx in block.transactions if tx.code != 0)}
                partial = args.directory / "stats.json.partial"
                partial.write_text(json.dumps(stats))
                partial.rename(args.directory / "stats.json")
            time.sleep(0.05)
    finally:
        network.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["DEFAULT_CHANNELS", "DEFAULT_ORGS", "StandInNetwork"]
