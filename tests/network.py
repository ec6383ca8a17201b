"""An in-process network for domain tests: organizations calling the contract on an SQLite ledger.

Each call goes through the very path the chaincode and the embedded gateway use
(function name, envelope, :func:`orchestrator.shared.contract.invoke`, one transaction),
and domain errors are re-raised as they are, so tests can assert on their type and text.
``org.register_algo(msg)`` calls ``orchestrator.algo:RegisterAlgo``: the method name is the
domain handler's name, resolved through :mod:`orchestrator.shared.functions`.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from google.protobuf.message import Message

from orchestrator.api import event_pb2, organization_pb2
from orchestrator.gateway.ledger.sqlite import SqliteLedger
from orchestrator.shared import codec
from orchestrator.shared.errors import ConflictError
from orchestrator.shared.functions import Function
from tests.handler_calls import HandlerCalls

#: First transaction timestamp of a test network (2022-06-01T00:00:00Z); each call adds 1 ms.
START_NS = 1_654_041_600 * 1_000_000_000


class Client(HandlerCalls):
    """One organization of the network; attribute calls are contract calls."""

    def __init__(self, network: Network, mspid: str) -> None:
        self.network = network
        self.mspid = mspid

    def call(self, function: Function, request: Message | None = None) -> Message:
        argument = codec.encode(request if request is not None else function.request(), "test")
        if function.read_only:
            reply = self.network.ledger.evaluate(self.mspid, function.name, argument)
        else:
            reply = self.network.ledger.submit(
                self.mspid, function.name, argument, tx_id=self.network.next_tx_id(),
                timestamp_ns=self.network.next_timestamp(),
            )
        return codec.decode_message(reply, function.response)

    def query_events(self, **filters: Any) -> list[event_pb2.Event]:
        """Every event matching ``filters`` (EventQueryFilter fields), ascending, all pages."""
        events: list[event_pb2.Event] = []
        token = ""
        while True:
            page = self.network.ledger.events.query(event_pb2.QueryEventsParam(
                page_token=token, page_size=500, filter=event_pb2.EventQueryFilter(**filters)))
            events.extend(page.events)
            token = page.next_page_token
            if not token:
                return events

    def ledger_events(self, **filters: Any) -> list[event_pb2.Event]:
        """Every event matching ``filters`` (equality on Event fields) in ledger order: calls, then emission order.

        QueryEvents orders the events of one call by id (EVT-8), which says nothing of the order
        they were emitted in; rules about emission order read the log in ledger order instead.
        """
        events: list[event_pb2.Event] = []
        position = 0
        while batch := self.network.ledger.events.after(position, 500):
            events += [logged.event for logged in batch
                       if all(getattr(logged.event, name) == value for name, value in filters.items())]
            position = batch[-1].seq
        return events


class Network:
    """A channel with organizations, on a fresh embedded ledger."""

    def __init__(self, path: Path, orgs: Sequence[str] = ("MyOrg1MSP", "MyOrg2MSP"), channel: str = "mychannel"
                 ) -> None:
        self.ledger = SqliteLedger(path / f"{channel}.db", channel)
        self._tx_counter = itertools.count()
        self._ts_counter = itertools.count()
        self.orgs = [Client(self, mspid) for mspid in orgs]

    @property
    def org1(self) -> Client:
        return self.orgs[0]

    @property
    def org2(self) -> Client:
        return self.orgs[1]

    def client(self, mspid: str) -> Client:
        return Client(self, mspid)

    def next_tx_id(self) -> str:
        return f"{next(self._tx_counter):064x}"

    def next_timestamp(self) -> int:
        return START_NS + next(self._ts_counter) * 1_000_000

    def with_orgs_registered(self) -> Network:
        for org in self.orgs:
            with contextlib.suppress(ConflictError):
                org.register_organization(organization_pb2.RegisterOrganizationParam())
        return self

    def close(self) -> None:
        self.ledger.close()
