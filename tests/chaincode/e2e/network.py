"""A backend's view of the chaincode through the harness: the gateway client's calls, answered by a chaincode server.

``HarnessClient`` offers what ``tests.client.GatewayClient`` offers the scenarios
(``client.register_algo(msg)``, ``as_org``, ``register``, ``query_events``, failures as
``grpc.RpcError`` with the gateway's status codes), but each call is a signed proposal that a
harness peer endorses on a real chaincode server and commits with Fabric's validation. Reads
are evaluated (endorsed only); writes are committed, retried on MVCC conflicts as the
gateway retries them. ``QueryEvents`` is the gateway's, so it is answered from the gateway's
event log, filled from the committed chaincode events in block order, as in Fabric mode.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message import Message

from orchestrator.api import event_pb2, organization_pb2
from orchestrator.chaincode.shim.server import ChaincodeServer
from orchestrator.gateway.ledger.eventlog import SCHEMA, EventLog, append_events
from orchestrator.shared import codec
from orchestrator.shared.errors import status_name_for
from orchestrator.shared.functions import GATEWAY_SERVED, Function
from tests.chaincode.harness import (
    FABRIC_2_5,
    MVCC_READ_CONFLICT,
    PHANTOM_READ_CONFLICT,
    VALID,
    Block,
    Capabilities,
    ChaincodeConnection,
    CommittedEvent,
    HarnessPeer,
    code_name,
)
from tests.chaincode.harness.servers import CCID
from tests.handler_calls import HandlerCalls

MVCC_ATTEMPTS = 20


class HarnessRpcError(grpc.RpcError):
    """A failed call, as the gateway would report it (status from the error code in the chaincode's text)."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self._code = code
        self._details = details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


class HarnessNetwork:
    """One chaincode server, one harness peer in front of it, and the event log of the channel."""

    def __init__(self, folder: Path, *, address: str | None = None, capabilities: Capabilities = FABRIC_2_5) -> None:
        """In front of the chaincode server at ``address``, or of one started in this process."""
        from orchestrator.chaincode.contract import OrchestratorChaincode

        self.server = None if address else ChaincodeServer(OrchestratorChaincode(), CCID, "127.0.0.1:0").start()
        target = address or self.server.address  # type: ignore[union-attr]
        self.peer = HarnessPeer(ChaincodeConnection(target, capabilities=capabilities).connect())
        path = folder / "events.db"
        self._writer = sqlite3.connect(path, check_same_thread=False)
        self._writer.executescript(SCHEMA)
        self.events = EventLog(str(path), self.peer.channel)
        self.peer.on_commit.append(self._record)

    def _record(self, block: Block, events: list[CommittedEvent]) -> None:
        for committed in events:
            append_events(self._writer, committed.tx_id, committed.event.payload)
        self._writer.commit()
        self.events.notify_committed()

    def close(self) -> None:
        self.peer.close()
        if self.server is not None:
            self.server.stop(grace=1.0)
        self.events.close()
        self._writer.close()


class HarnessClient(HandlerCalls):
    """One organization calling the chaincode through the harness peer."""

    def __init__(self, network: HarnessNetwork, mspid: str = "MyOrg1MSP") -> None:
        self.network = network
        self.mspid = mspid

    def as_org(self, mspid: str) -> HarnessClient:
        return HarnessClient(self.network, mspid)

    def call(self, function: Function, request: Message | None = None, **_: Any) -> Message:
        request = request if request is not None else function.request()
        if function.method.full_name in GATEWAY_SERVED:
            if function.handler != "query_events":
                raise NotImplementedError(function.name)
            return self.network.events.query(request)  # type: ignore[arg-type]
        argument = codec.encode(request, "e2e")
        peer = self.network.peer
        for attempt in range(MVCC_ATTEMPTS):
            endorsement = peer.endorse(peer.proposal(self.mspid, function.name, argument))
            if not endorsement.ok:
                message = endorsement.response.message
                raise HarnessRpcError(getattr(grpc.StatusCode, status_name_for(message)), message)
            if function.read_only:
                return codec.decode_message(endorsement.payload, function.response)
            code = peer.submit(endorsement).result()
            if code == VALID:
                return codec.decode_message(endorsement.payload, function.response)
            if code not in (MVCC_READ_CONFLICT, PHANTOM_READ_CONFLICT):
                break
            time.sleep(0.002 * attempt)
        raise HarnessRpcError(grpc.StatusCode.ABORTED, f"transaction {endorsement.tx_id} invalidated: "
                                                       f"{code_name(code)}")

    def register(self) -> HarnessClient:
        """Register this organization, accepting ALREADY_EXISTS (scenarios.md 1.1 item 3)."""
        try:
            self.register_organization(organization_pb2.RegisterOrganizationParam())
        except HarnessRpcError as exc:
            if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
        return self

    def query_events(self, *, sort: int = 0, page_size: int = 500, **filters: Any) -> list[event_pb2.Event]:
        """Every event matching ``filters`` (EventQueryFilter fields), all pages."""
        events: list[event_pb2.Event] = []
        token = ""
        while True:
            page = self.network.events.query(event_pb2.QueryEventsParam(
                page_token=token, page_size=page_size, sort=sort, filter=event_pb2.EventQueryFilter(**filters)))
            events.extend(page.events)
            token = page.next_page_token
            if not token:
                return events



__all__ = ["HarnessClient", "HarnessNetwork", "HarnessRpcError"]
