"""The Fabric invoker: each call is a chaincode invocation through a peer's Gateway service, signed as ``mspid``."""

# Calls are concurrent: nothing is serialized per organization (upstream's gateway ran one
# call at a time per MSP); each peer only bounds how many of our calls it serves at once
# (:mod:`orchestrator.gateway.fabric.client`). A submit is endorse → submit → commit status.
# An MVCC or phantom read conflict is retried from a fresh endorsement (new transaction id)
# with jittered backoff, a bounded number of times, then answered ABORTED. A chaincode error
# travels as :class:`ChaincodeError` (its ``OE`` code decides the status, never UNKNOWN for a
# domain error). When a commit status does not come in time but the caller's deadline leaves
# room, the call is retried like upstream did; a retry that then fails (a registration finding
# its asset, an action finding the state it would have produced) first checks whether one of
# the call's own earlier transactions committed, and if so answers that transaction's result:
# success, exactly what was written, and a genuine second registration still gets
# ALREADY_EXISTS. The events of each (channel, chaincode) are read into an event log
# (:mod:`orchestrator.gateway.fabric.events`); a submit returns once its events are in the log,
# so a ``QueryEvents`` after a write sees it.

from __future__ import annotations

import fcntl
import logging
import os
import random
import threading
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final

import grpc

from orchestrator.gateway.config import ChannelConfig
from orchestrator.gateway.fabric.client import Endpoint, GatewayClient
from orchestrator.gateway.fabric.config import FabricConfig, parse_fabric_config
from orchestrator.gateway.fabric.contract import Contract
from orchestrator.gateway.fabric.errors import (
    CommitError,
    CommitStatusError,
    EndorseError,
    EvaluateError,
    GatewayError,
    SubmitError,
)
from orchestrator.gateway.fabric.events import EventFeed
from orchestrator.gateway.fabric.gateway import Gateway
from orchestrator.gateway.fabric.proposal import PreparedTransaction
from orchestrator.gateway.invoke import register_mode
from orchestrator.gateway.invoke.base import (
    ChaincodeError,
    DataDirInUseError,
    InvocationError,
    Invoker,
    Target,
    invalid_names,
)
from orchestrator.gateway.ledger.eventlog import EventLog

if TYPE_CHECKING:
    from orchestrator.gateway.config import GatewayConfig

logger = logging.getLogger(__name__)

#: How long a submit waits for its events to reach the event log once committed.
EVENT_WAIT: Final = 10.0
#: How long checking an earlier, in-doubt attempt may wait for its commit status.
IN_DOUBT_WAIT: Final = 1.0
#: What peers say when a chaincode is not defined on the channel, or not initialized (Fabric's texts).
_LIFECYCLE_MARKERS: Final = ("has been successfully defined on channel", "has not been initialized",
                             "is already initialized but called as init",
                             "does not require initialization but called as init")


def _lock(directory: Path) -> IO[str]:
    directory.mkdir(parents=True, exist_ok=True)
    handle = open(directory / ".lock", "a+")  # noqa: SIM115 - held until close()
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise DataDirInUseError(f"{directory} is used by another gateway") from None
    return handle


class FabricInvoker:
    """:class:`~orchestrator.gateway.invoke.base.Invoker` over Fabric peers; thread-safe, many calls in flight."""

    def __init__(self, config: FabricConfig, data_dir: Path, *, channels: ChannelConfig | None = None) -> None:
        self._data_dir = Path(data_dir) / "fabric"
        self._lock_file = _lock(self._data_dir)  # first: nothing to release if another gateway holds it
        self.settings = config.settings
        self._channel_config = channels or ChannelConfig()
        self._grpc_channels: list[grpc.Channel] = []
        self.gateways: dict[str, Gateway] = {}
        self._clients: dict[str, GatewayClient] = {}
        for mspid, organization in config.organizations.items():
            endpoints = []
            for peer in organization.peers:
                grpc_channel = peer.dial()
                self._grpc_channels.append(grpc_channel)
                endpoints.append(Endpoint(peer.address, grpc_channel, mspid, peer.max_in_flight))
            client = GatewayClient(endpoints)
            self._clients[mspid] = client
            if organization.identity is not None:
                settings = config.settings
                self.gateways[mspid] = Gateway(
                    organization.identity, client, evaluate_timeout=settings.evaluate_timeout,
                    endorse_timeout=settings.endorse_timeout, submit_timeout=settings.submit_timeout,
                    commit_status_timeout=settings.commit_timeout,
                )
        self._feeds: dict[tuple[str, str], EventFeed] = {}
        self._feeds_lock = threading.Lock()
        self._closed = False
        for channel, access in (self._channel_config.channels or {}).items():
            for chaincode in access.chaincodes:
                if self._sources(channel):
                    self._feed(channel, chaincode)

    # -- targets -----------------------------------------------------------------------

    def _check(self, target: Target) -> None:
        problem = invalid_names(target.channel, target.chaincode)
        if problem:
            raise InvocationError(grpc.StatusCode.INVALID_ARGUMENT, problem)
        if not target.chaincode:
            raise InvocationError(grpc.StatusCode.INVALID_ARGUMENT,
                                  "fabric mode needs a 'chaincode' header naming the chaincode to invoke")
        channels = self._channel_config.channels
        if channels is not None:
            access = channels.get(target.channel)
            if access is None or target.mspid not in access.organizations:
                raise InvocationError(grpc.StatusCode.PERMISSION_DENIED,
                                      f'organization "{target.mspid}" has no access to channel "{target.channel}"')
            if access.chaincodes and target.chaincode not in access.chaincodes:
                raise InvocationError(grpc.StatusCode.PERMISSION_DENIED,
                                      f'chaincode "{target.chaincode}" is not available on channel "{target.channel}"')

    def _gateway(self, target: Target) -> Gateway:
        self._check(target)
        gateway = self.gateways.get(target.mspid)
        if gateway is None:
            raise InvocationError(
                grpc.StatusCode.PERMISSION_DENIED,
                f'this gateway holds no signing identity for organization "{target.mspid}" '
                f"(configured: {', '.join(sorted(self.gateways)) or 'none'})",
            )
        return gateway

    def contract(self, target: Target) -> Contract:
        """The target's contract, signed by its organization's identity.

        Raises:
            InvocationError: no identity for ``mspid`` or the channel/chaincode is not allowed (PERMISSION_DENIED).
        """
        return self._gateway(target).get_network(target.channel).get_contract(target.chaincode)

    def _deadline(self, timeout: float | None) -> float:
        return time.monotonic() + (self.settings.call_timeout if timeout is None else timeout)

    # -- evaluate ----------------------------------------------------------------------

    def evaluate(self, target: Target, function: str, argument: bytes, *, timeout: float | None = None) -> bytes:
        """Run a read-only function on one peer of the caller's organization.

        Raises:
            ChaincodeError: the chaincode refused the call.
            InvocationError: PERMISSION_DENIED, UNAVAILABLE or DEADLINE_EXCEEDED.
        """
        contract = self.contract(target)
        deadline = self._deadline(timeout)
        failures = 0
        while True:
            try:
                return contract.evaluate(function, [argument], timeout=deadline - time.monotonic())
            except EvaluateError as exc:
                if exc.chaincode_message is not None:
                    raise ChaincodeError(exc.chaincode_message) from None
                if not self._transient(exc) or failures >= self.settings.mvcc_retries or \
                        not self._pause(failures, deadline):
                    raise self._mapped(exc, target) from None
                failures += 1

    # -- submit ------------------------------------------------------------------------

    def submit(self, target: Target, function: str, argument: bytes, *, timeout: float | None = None) -> bytes:
        """Run a function as a transaction; return its result once committed and its events logged.

        Raises:
            ChaincodeError: the chaincode refused the call (nothing written).
            InvocationError: ABORTED (conflicts outlasted the retries; nothing written), PERMISSION_DENIED,
                UNAVAILABLE or DEADLINE_EXCEEDED (the last two may leave a transaction to commit later).
        """
        contract = self.contract(target)
        deadline = self._deadline(timeout)
        in_doubt: list[PreparedTransaction] = []
        conflicts = failures = 0
        while True:
            if time.monotonic() >= deadline:
                raise self._deadline_error(in_doubt)
            proposal = contract.new_proposal(function, [argument])
            try:
                prepared = contract.endorse(proposal, deadline=deadline)
            except EndorseError as exc:
                done = self._resolve(target, contract, in_doubt, deadline)
                if done is not None:
                    return done
                if exc.chaincode_message is not None:
                    raise ChaincodeError(exc.chaincode_message) from None
                if exc.code == grpc.StatusCode.DEADLINE_EXCEEDED and in_doubt:
                    raise self._deadline_error(in_doubt) from None
                if not self._transient(exc) or failures >= self.settings.mvcc_retries or \
                        not self._pause(failures, deadline):
                    raise self._mapped(exc, target) from None
                failures += 1
                continue
            watch = contract.watch(prepared.tx_id)
            try:
                contract.submit_prepared(prepared, deadline=deadline)
            except SubmitError as exc:
                # no listener any more: the network closed meanwhile, and closing broke every watch
                if watch is not None and (listener := contract.network.commit_listener()) is not None:
                    listener.forget(watch)
                if exc.code in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE):
                    in_doubt.append(prepared)  # the orderer may have it
                    done = self._resolve(target, contract, in_doubt, deadline)
                    if done is not None:
                        return done
                    if exc.code == grpc.StatusCode.DEADLINE_EXCEEDED:
                        raise self._deadline_error(in_doubt) from None
                raise self._mapped(exc, target) from None
            try:
                status = contract.commit_status(prepared.tx_id, deadline=deadline, watch=watch)
            except CommitStatusError as exc:
                in_doubt.append(prepared)
                if exc.code == grpc.StatusCode.DEADLINE_EXCEEDED and time.monotonic() < deadline:
                    logger.warning("no commit status for transaction %s within %.1fs, retrying the call",
                                   prepared.tx_id, self.settings.commit_timeout)
                    continue
                if exc.code == grpc.StatusCode.DEADLINE_EXCEEDED:
                    raise self._deadline_error(in_doubt) from None
                raise self._mapped(exc, target, in_doubt=True) from None
            if status.successful:
                self._await_events(target, prepared, status.block_number, deadline)
                return prepared.result
            done = self._resolve(target, contract, in_doubt, deadline)
            if done is not None:
                return done
            error = CommitError(prepared.tx_id, status.code, status.block_number)
            if not error.conflict:
                raise InvocationError(grpc.StatusCode.ABORTED,
                                      f"{error}; nothing was written") from None
            if conflicts >= self.settings.mvcc_retries or not self._pause(conflicts, deadline):
                raise InvocationError(
                    grpc.StatusCode.ABORTED,
                    f"transaction conflicted with concurrent updates {conflicts + 1} times "
                    f"(last: {error.code_name}); nothing was written, retry the call",
                ) from None
            conflicts += 1
            logger.debug("transaction %s: %s, retrying (%d)", prepared.tx_id, error.code_name, conflicts)

    def _resolve(self, target: Target, contract: Contract, in_doubt: list[PreparedTransaction], deadline: float
                 ) -> bytes | None:
        """The result of an earlier attempt of this call that committed after all, if one did."""
        for prepared in list(in_doubt):
            wait = min(deadline, time.monotonic() + IN_DOUBT_WAIT)
            try:
                status = contract.commit_status(prepared.tx_id, deadline=wait)
            except GatewayError:
                continue
            if status.successful:
                logger.info("transaction %s, an earlier attempt of this call, committed: answering its result",
                            prepared.tx_id)
                self._await_events(target, prepared, status.block_number, deadline)
                return prepared.result
            in_doubt.remove(prepared)  # invalidated: it wrote nothing
        return None

    def _await_events(self, target: Target, prepared: PreparedTransaction, block_number: int, deadline: float
                      ) -> None:
        if prepared.event is None:
            return
        feed = self._feed(target.channel, target.chaincode)
        if feed is not None and feed.connected:
            feed.wait_for_block(block_number, max(0.0, min(deadline - time.monotonic(), EVENT_WAIT)))

    # -- errors and retries --------------------------------------------------------------

    @staticmethod
    def _refused_identity(exc: GatewayError) -> bool:
        texts = [exc.message, *(detail.message for detail in exc.details)]
        return exc.code == grpc.StatusCode.PERMISSION_DENIED or any(
            "access denied" in text or "FORBIDDEN" in text for text in texts)

    @staticmethod
    def _lifecycle_problem(exc: GatewayError) -> bool:
        """The chaincode is not defined, or not initialized, on the channel: retrying now cannot help."""
        return any(marker in text for text in (exc.message, *(d.message for d in exc.details))
                   for marker in _LIFECYCLE_MARKERS)

    def _transient(self, exc: GatewayError) -> bool:
        """Endorsement or evaluation failures worth another try: a peer-side problem, not a refusal."""
        return (exc.code == grpc.StatusCode.ABORTED and not self._refused_identity(exc)
                and not self._lifecycle_problem(exc))

    def _pause(self, attempt: int, deadline: float) -> bool:
        """Sleep a jittered, growing backoff; False when the deadline leaves no room for another attempt."""
        base = min(self.settings.retry_backoff * (2 ** attempt), self.settings.retry_backoff_max)
        delay = random.uniform(base / 2, base * 1.5)
        if time.monotonic() + delay >= deadline:
            return False
        time.sleep(delay)
        return True

    def _mapped(self, exc: GatewayError, target: Target, *, in_doubt: bool = False) -> InvocationError:
        summary = str(exc)
        if exc.code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return InvocationError(grpc.StatusCode.DEADLINE_EXCEEDED, summary)
        if self._refused_identity(exc):
            return InvocationError(grpc.StatusCode.PERMISSION_DENIED,
                                   f"the Fabric network refused the identity of {target.mspid}: {summary}")
        if self._lifecycle_problem(exc):
            return InvocationError(grpc.StatusCode.FAILED_PRECONDITION,
                                   f'chaincode "{target.chaincode}" is not ready on channel "{target.channel}" '
                                   f"(defined and initialized?): {summary}")
        if in_doubt:
            summary += "; the transaction may still commit"
        return InvocationError(grpc.StatusCode.UNAVAILABLE, summary)

    @staticmethod
    def _deadline_error(in_doubt: list[PreparedTransaction]) -> InvocationError:
        if in_doubt:
            ids = ", ".join(p.tx_id for p in in_doubt)
            return InvocationError(grpc.StatusCode.DEADLINE_EXCEEDED,
                                   f"deadline exceeded before the commit of transaction {ids} was confirmed; "
                                   "it may still commit")
        return InvocationError(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded; nothing was submitted")

    # -- events ------------------------------------------------------------------------

    def _sources(self, channel: str) -> list[Gateway]:
        channels = self._channel_config.channels
        members = channels[channel].organizations if channels is not None and channel in channels else None
        return [gateway for mspid, gateway in self.gateways.items() if members is None or mspid in members]

    def _feed(self, channel: str, chaincode: str) -> EventFeed | None:
        key = (channel, chaincode)
        feed = self._feeds.get(key)
        if feed is not None or self._closed:
            return feed
        with self._feeds_lock:
            feed = self._feeds.get(key)
            if feed is None and not self._closed:
                sources = [gateway.get_network(channel) for gateway in self._sources(channel)]
                if not sources:
                    return None
                path = self._data_dir / channel / f"{chaincode}.sqlite"
                feed = self._feeds[key] = EventFeed(path, channel, chaincode, sources)
            return feed

    def event_log(self, target: Target) -> EventLog:
        """The event log of the target's channel and chaincode, filled from the peers' chaincode events.

        Raises:
            InvocationError: the target is not allowed, or no configured identity may read the channel.
        """
        self._check(target)
        feed = self._feed(target.channel, target.chaincode)
        if feed is None:
            raise InvocationError(grpc.StatusCode.PERMISSION_DENIED,
                                  f'no configured organization may read channel "{target.channel}"')
        return feed.log

    def feed(self, channel: str, chaincode: str) -> EventFeed | None:
        """The event feed of a channel and chaincode (started on first use)."""
        return self._feed(channel, chaincode)

    # -- lifecycle ---------------------------------------------------------------------

    def ready(self) -> bool:
        """Some peer of some organization with an identity answered recently (or was not tried yet)."""
        return not self._closed and any(self._clients[mspid].ready() for mspid in self.gateways)

    def close(self) -> None:
        with self._feeds_lock:
            self._closed = True
            feeds, self._feeds = list(self._feeds.values()), {}
        for feed in feeds:
            feed.close()
        for gateway in self.gateways.values():
            gateway.close()
        for client in self._clients.values():
            client.close()
        for channel in self._grpc_channels:
            channel.close()
        self._lock_file.close()


def create_fabric_invoker(config: GatewayConfig) -> Invoker:
    """The invoker of ``--mode fabric``, from the gateway configuration and the environment.

    Raises:
        ConfigError: the ``organizations:`` section or an ``ORCHESTRATOR_FABRIC_*`` variable is invalid.
    """
    base = config.config_file.parent if config.config_file is not None else None
    fabric = parse_fabric_config(config.organizations, base_dir=base, environ=os.environ)
    return FabricInvoker(fabric, config.data_dir, channels=config.channels)


register_mode("fabric", create_fabric_invoker, chaincode_header_required=True)

__all__ = ["FabricInvoker", "create_fabric_invoker"]
