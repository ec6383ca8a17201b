"""Real chaincode servers behind the stand-in peers: one ``orchestrator-chaincode`` process per organization."""

# Each organization runs its own chaincode server, as in a deployment (chaincode as a service,
# mutual TLS between peer and chaincode). Its peers dial it through the chaincode issue's
# peer-side harness (``tests.chaincode.harness.ChaincodeConnection``), which serves the
# chaincode's state requests from the stand-in ledger's simulation: so every endorsement runs
# the shipped shim, contract and domain in another process, and with an endorsement policy
# naming both organizations, two processes must produce byte-identical read/write sets.
# ``restart()`` kills the process (SIGKILL, like a crashed pod) and starts a new one on the same
# port; transactions in flight fail with "chaincode stream terminated" and later ones reconnect.

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
from fabric_protos.peer import proposal_pb2

from tests.chaincode.harness import (
    FABRIC_2_5,
    STREAM_TERMINATED,
    Capabilities,
    ChaincodeConnection,
    ChaincodeProcess,
    TlsMaterial,
)
from tests.fabric.chaincode import Executor, Invocation, Outcome
from tests.fabric.ledger import Simulation


class ChaincodeUnavailableError(Exception):
    """The chaincode process cannot be reached (not started yet, restarting)."""


class ChaincodeProcessExecutor:
    """One organization's chaincode server process, and the peer's connection to it."""

    def __init__(self, mspid: str, directory: Path, *, capabilities: Capabilities = FABRIC_2_5,
                 connect_timeout: float = 30.0) -> None:
        self.mspid = mspid
        self.capabilities = capabilities
        self.connect_timeout = connect_timeout
        self.tls = TlsMaterial.generate(f"chaincode-{mspid}")
        self.files = self.tls.write(directory / "tls")
        self.ccid = f"orchestrator_1.0:{mspid.lower()}"
        self.executions = 0
        self._cpu_of_previous = 0.0  # CPU of the processes that were restarted
        self._lock = threading.Lock()
        self._connection: ChaincodeConnection | None = None
        self.process = self._start(port=None)
        self._connect()

    def _start(self, port: int | None) -> ChaincodeProcess:
        env = {"CHAINCODE_TLS_KEY_FILE": str(self.files["server_key"]),
               "CHAINCODE_TLS_CERT_FILE": str(self.files["server_cert"]),
               "CHAINCODE_TLS_CLIENT_CACERT_FILE": str(self.files["ca"])}
        return ChaincodeProcess(ccid=self.ccid, port=port, env=env, tls_disabled=False).wait_listening()

    def _connect(self) -> ChaincodeConnection:
        credentials = grpc.ssl_channel_credentials(root_certificates=self.tls.ca_pem,
                                                   private_key=self.tls.client_key,
                                                   certificate_chain=self.tls.client_cert)
        connection = ChaincodeConnection(self.process.address, credentials=credentials,
                                         capabilities=self.capabilities)
        try:
            connection.connect(timeout=self.connect_timeout)
        except (ConnectionError, TimeoutError, grpc.FutureTimeoutError) as exc:
            connection.close()
            raise ChaincodeUnavailableError(f"chaincode of {self.mspid} at {self.process.address}: {exc}") from None
        self._connection = connection
        return connection

    def _current(self) -> ChaincodeConnection:
        with self._lock:
            connection = self._connection
            if connection is None or not connection.connected:
                if connection is not None:
                    connection.close()
                    self._connection = None
                connection = self._connect()
            return connection

    def execute(self, invocation: Invocation, simulation: Simulation) -> Outcome:
        """Run the invocation on the chaincode process, its state requests served by ``simulation``.

        Raises:
            ChaincodeUnavailableError: the process does not answer, or its stream ended mid-transaction.
        """
        connection = self._current()
        completion = connection.execute(
            invocation.channel, invocation.tx_id, proposal_pb2.SignedProposal.FromString(invocation.signed_proposal),
            list(invocation.args), simulation, is_init=invocation.is_init,
        )
        with self._lock:
            self.executions += 1
        if completion.response is None:
            raise ChaincodeUnavailableError(f"failed to execute transaction {invocation.tx_id}: {completion.error}"
                                            if completion.error != STREAM_TERMINATED else
                                            f"failed to execute transaction {invocation.tx_id}: {STREAM_TERMINATED}")
        if completion.event is not None and completion.ok:
            simulation.set_event(completion.event.event_name, completion.event.payload)
        return Outcome(completion.response.status, completion.response.message, completion.response.payload)

    def restart(self) -> None:
        """Kill the process (as a crashed pod) and start a new one on the same port."""
        with self._lock:
            port = self.process.port
            self._cpu_of_previous += self.process.cpu_seconds()
            self.process.stop(signal_number=9)
            if self._connection is not None:
                self._connection.wait_closed(10)
            self.process = self._start(port=port)

    def stats(self) -> dict[str, float]:
        try:
            cpu = self.process.cpu_seconds()
        except OSError:
            cpu = 0.0
        return {"executions": self.executions, "cpu_seconds": self._cpu_of_previous + cpu}

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
            self.process.stop(timeout=30)


def chaincode_processes(directory: Path, *, capabilities: Capabilities = FABRIC_2_5
                        ) -> Callable[[str], Executor]:
    """The executor factory of :class:`~tests.fabric.network.StandInNetwork`: a chaincode process per MSP."""

    def start(mspid: str) -> Executor:
        return ChaincodeProcessExecutor(mspid, directory / mspid, capabilities=capabilities)

    return start


def wait_connected(executor: ChaincodeProcessExecutor, timeout: float = 30.0) -> None:
    """Block until the executor's chaincode accepts transactions again (after a restart)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            executor._current()
            return
        except ChaincodeUnavailableError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


__all__ = ["ChaincodeProcessExecutor", "ChaincodeUnavailableError", "chaincode_processes", "wait_connected"]
