"""Chaincode servers for the harness to dial: in this process, or `orchestrator-chaincode` in a subprocess."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import grpc

from orchestrator.chaincode.contract import OrchestratorChaincode
from orchestrator.chaincode.shim.handler import Chaincode
from orchestrator.chaincode.shim.server import ChaincodeServer, TlsSettings
from tests.chaincode.harness.peer import HarnessPeer
from tests.chaincode.harness.stream import FABRIC_2_5, Capabilities, ChaincodeConnection
from tests.client import free_port

CCID = "mycc_1.0:4c0ffee4c0ffee4c0ffee4c0ffee4c0ffee4c0ffee4c0ffee4c0ffee4c0ffee0"


@contextlib.contextmanager
def chaincode_server(chaincode: Chaincode | None = None, *, ccid: str = CCID, tls: TlsSettings | None = None,
                     workers: int = 32) -> Iterator[ChaincodeServer]:
    """A chaincode server in this process on 127.0.0.1:<free port> (the orchestrator's by default)."""
    server = ChaincodeServer(chaincode or OrchestratorChaincode(), ccid, "127.0.0.1:0", tls=tls,
                             workers=workers).start()
    try:
        yield server
    finally:
        server.stop(grace=1.0)


@contextlib.contextmanager
def harness_peer(address: str, *, capabilities: Capabilities = FABRIC_2_5,
                 credentials: grpc.ChannelCredentials | None = None, **peer_options: object
                 ) -> Iterator[HarnessPeer]:
    """A harness peer connected (registered) to the chaincode at ``address``."""
    connection = ChaincodeConnection(address, credentials=credentials, capabilities=capabilities).connect()
    peer = HarnessPeer(connection, **peer_options)  # type: ignore[arg-type]
    try:
        yield peer
    finally:
        peer.close()


class ChaincodeProcess:
    """``orchestrator-chaincode`` in a subprocess, configured by environment as in a pod; plaintext by default."""

    def __init__(self, *, ccid: str = CCID, port: int | None = None, env: Mapping[str, str] | None = None,
                 tls_disabled: bool = True, hash_seed: str | None = None) -> None:
        self.port = port or free_port()
        self.address = f"127.0.0.1:{self.port}"
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("CHAINCODE_", "TLS_"))}
        environment.update(CHAINCODE_ID=ccid, CHAINCODE_SERVER_ADDRESS=self.address, LOG_LEVEL="WARNING")
        if tls_disabled:
            environment["CHAINCODE_TLS_DISABLED"] = "true"
        if hash_seed is not None:
            environment["PYTHONHASHSEED"] = hash_seed
        environment.update(env or {})
        script = Path(sys.executable).with_name("orchestrator-chaincode")
        self.process = subprocess.Popen([str(script)], env=environment, stderr=subprocess.PIPE, text=True)

    def wait_listening(self, timeout: float = 30.0) -> ChaincodeProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"orchestrator-chaincode exited {self.process.returncode}: "
                                   f"{self.process.stderr.read() if self.process.stderr else ''}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return self
            time.sleep(0.05)
        raise TimeoutError(f"orchestrator-chaincode did not listen on {self.address} within {timeout} s")

    def cpu_seconds(self) -> float:
        """User + system CPU the process used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self, signal_number: int = 15, timeout: float = 30.0) -> tuple[int, str]:
        """Send ``signal_number`` and wait: (exit status, what it logged)."""
        if self.process.poll() is None:
            self.process.send_signal(signal_number)
        _, stderr = self.process.communicate(timeout=timeout)
        return self.process.returncode, stderr

    def __enter__(self) -> ChaincodeProcess:
        return self.wait_listening()

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=30)


__all__ = ["CCID", "ChaincodeProcess", "chaincode_server", "free_port", "harness_peer"]
