"""The Fabric invoker: each call is a chaincode invocation through a peer's Gateway service, signed as ``mspid``."""

# Calls are concurrent and asynchronous: the server awaits :meth:`FabricInvoker.submit_async` on
# its event loop, the peers' answers wake it, and no thread waits for a peer; each peer only
# bounds how many of our calls it serves at once (:mod:`orchestrator.gateway.fabric.client`). A
# submit is endorse → submit → commit status. When no peer of the caller's organization can be
# reached, another organization's peer of the channel serves the call, still signed as the caller
# (``failover``). An MVCC or phantom read conflict is retried from a fresh endorsement (new
# transaction id) with jittered backoff, a bounded number of times, then answered ABORTED. A
# chaincode error travels as :class:`ChaincodeError` (its ``OE`` code decides the status).
#
# Once a transaction may have reached the orderer its outcome is resolved, never guessed: from
# the commit listener, then by asking any reachable peer of the channel, until the caller's
# deadline. Committed and valid: the result. Invalidated: the mapped error (conflicts retried).
# Still unknown at the deadline: DEADLINE_EXCEEDED naming the transaction (message and
# ``orchestrator-tx-id`` trailer), and the call is remembered for a while: when the backend
# retries the same request and the chaincode refuses it (the asset exists, the task moved on),
# the earlier transaction's status is asked and, if it committed, its result is the answer. A
# request of different content, or with no in-doubt answer before, keeps the refusal. The events
# of each (channel, chaincode) are read into an event log (:mod:`orchestrator.gateway.fabric.events`);
# a submit returns once its events are in the log, so a ``QueryEvents`` after a write sees it.

from __future__ import annotations

import asyncio
import fcntl
import functools
import hashlib
import json
import logging
import os
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final

import grpc

from orchestrator.gateway.config import ChannelConfig
from orchestrator.gateway.fabric.client import Endpoint, GatewayClient, run_blocking
from orchestrator.gateway.fabric.commit import Status, Watch
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
from orchestrator.gateway.fabric.stats import Circuit, FabricStats
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
#: Calls answered in doubt are remembered this long (seconds), at most this many.
IN_DOUBT_MEMORY: Final = 3600.0
IN_DOUBT_CAPACITY: Final = 10_000
#: How long before the caller's deadline a call answers, so that its status (and transaction id) arrives.
ANSWER_MARGIN: Final = 0.1
#: Allowed targets whose contracts are kept (the configuration decides what passes: checked once).
CONTRACTS_KEPT: Final = 1024
#: Least pause between two status questions when no peer of the channel answers.
STATUS_RETRY_MIN: Final = 0.1
#: Commit status failures that leave the outcome unknown: ask again.
_STATUS_UNKNOWN: Final = frozenset({grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE,
                                    grpc.StatusCode.CANCELLED})
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


def _request_content(argument: bytes) -> bytes:
    """An envelope without its request id: what makes two calls the same request (a retry gets a new id)."""
    try:
        body = json.loads(argument)
    except ValueError:
        return argument
    if not isinstance(body, dict):
        return argument
    body.pop("request_id", None)
    return json.dumps(body, sort_keys=True).encode()


@dataclass(frozen=True)
class InDoubtAttempt:
    """A transaction whose outcome was unknown when its call was answered."""

    tx_id: str
    result: bytes
    has_event: bool
    expires: float


class InDoubtCalls:
    """Calls answered in doubt, by (target, function, request content), for ``memory`` seconds; thread-safe."""

    def __init__(self, *, memory: float = IN_DOUBT_MEMORY, capacity: int = IN_DOUBT_CAPACITY) -> None:
        self._memory = memory
        self._capacity = capacity
        self._lock = threading.Lock()
        self._calls: OrderedDict[tuple[Target, str, bytes], list[InDoubtAttempt]] = OrderedDict()
        self._functions: dict[tuple[Target, str], int] = {}  # quick "none for this call" without hashing

    @staticmethod
    def _key(target: Target, function: str, argument: bytes) -> tuple[Target, str, bytes]:
        return target, function, hashlib.sha256(_request_content(argument)).digest()

    def _drop(self, key: tuple[Target, str, bytes]) -> None:
        attempts = self._calls.pop(key)
        short = key[:2]
        self._functions[short] -= len(attempts)
        if not self._functions[short]:
            del self._functions[short]

    def remember(self, target: Target, function: str, argument: bytes, prepared: PreparedTransaction) -> None:
        key = self._key(target, function, argument)
        attempt = InDoubtAttempt(prepared.tx_id, prepared.result, prepared.event is not None,
                                 time.monotonic() + self._memory)
        with self._lock:
            self._calls.setdefault(key, []).append(attempt)
            self._calls.move_to_end(key)
            self._functions[key[:2]] = self._functions.get(key[:2], 0) + 1
            while len(self._calls) > self._capacity:
                self._drop(next(iter(self._calls)))

    def candidates(self, target: Target, function: str, argument: bytes) -> list[InDoubtAttempt]:
        """The unexpired attempts of the same request, oldest first."""
        if (target, function) not in self._functions:
            return []
        key = self._key(target, function, argument)
        now = time.monotonic()
        with self._lock:
            attempts = [a for a in self._calls.get(key, []) if a.expires > now]
            if key in self._calls and len(attempts) != len(self._calls[key]):
                self._drop(key)
                if attempts:
                    self._calls[key] = attempts
                    self._functions[key[:2]] = self._functions.get(key[:2], 0) + len(attempts)
            return attempts

    def forget(self, target: Target, function: str, argument: bytes, attempt: InDoubtAttempt) -> None:
        """The attempt's outcome is known now (answered, or invalidated)."""
        key = self._key(target, function, argument)
        with self._lock:
            attempts = self._calls.get(key)
            if attempts is None or attempt not in attempts:
                return
            self._drop(key)
            rest = [a for a in attempts if a is not attempt]
            if rest:
                self._calls[key] = rest
                self._functions[key[:2]] = self._functions.get(key[:2], 0) + len(rest)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(attempts) for attempts in self._calls.values())


class FabricInvoker:
    """:class:`~orchestrator.gateway.invoke.base.Invoker` over Fabric peers; thread-safe, many calls in flight."""

    def __init__(self, config: FabricConfig, data_dir: Path, *, channels: ChannelConfig | None = None,
                 failover: bool = True) -> None:
        self._data_dir = Path(data_dir) / "fabric"
        self._lock_file = _lock(self._data_dir)  # first: nothing to release if another gateway holds it
        self.settings = config.settings
        self._channel_config = channels or ChannelConfig()
        self.failover = failover
        self._in_doubt = InDoubtCalls()
        self._contracts: dict[Target, Contract] = {}  # targets that passed the checks
        self.stats = FabricStats(self._circuits, (self._channel_config.channels or {}).keys())
        self._grpc_channels: list[grpc.Channel] = []
        self.gateways: dict[str, Gateway] = {}
        self._clients: dict[str, GatewayClient] = {}
        for mspid, organization in config.organizations.items():
            endpoints = []
            for peer in organization.peers:
                grpc_channel = peer.dial()
                self._grpc_channels.append(grpc_channel)
                endpoints.append(Endpoint(peer.address, grpc_channel, mspid, peer.max_in_flight, peer.dial_async,
                                          peer.tls_cert_hash))
            client = GatewayClient(endpoints)
            client.on_failover = functools.partial(self.stats.failover, mspid)
            self._clients[mspid] = client
            if organization.identity is not None:
                settings = config.settings
                self.gateways[mspid] = Gateway(
                    organization.identity, client, evaluate_timeout=settings.evaluate_timeout,
                    endorse_timeout=settings.endorse_timeout, submit_timeout=settings.submit_timeout,
                    commit_status_timeout=settings.commit_timeout,
                    fallback=self._fallback_of(mspid) if self.failover else None,
                )
        self._feeds: dict[tuple[str, str], EventFeed] = {}
        self._feeds_lock = threading.Lock()
        self._closed = False
        for channel, access in (self._channel_config.channels or {}).items():
            for chaincode in access.chaincodes:
                if self._sources(channel):
                    self._feed(channel, chaincode)

    def _circuits(self) -> list[Circuit]:
        return [Circuit(*circuit) for client in self._clients.values() for circuit in client.circuits()]

    def _fallback_of(self, mspid: str) -> Callable[[str], Sequence[GatewayClient]]:
        """Per channel, the other member organizations' peers, for when ``mspid``'s cannot be reached."""

        def fallback(channel: str) -> Sequence[GatewayClient]:
            channels = self._channel_config.channels
            members = channels[channel].organizations if channels is not None and channel in channels else None
            return [client for other, client in self._clients.items()
                    if other != mspid and (members is None or other in members)]

        return fallback

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
        """The target's contract, signed by its organization's identity (checked once per target, then kept).

        Raises:
            InvocationError: no identity for ``mspid`` or the channel/chaincode is not allowed (PERMISSION_DENIED).
        """
        contract = self._contracts.get(target)
        if contract is None:
            contract = self._gateway(target).get_network(target.channel).get_contract(target.chaincode)
            if len(self._contracts) >= CONTRACTS_KEPT:  # only an unrestricted channel configuration gets here
                self._contracts.clear()
            self._contracts[target] = contract
        return contract

    def _deadline(self, timeout: float | None) -> float:
        """When to answer: the caller's deadline less a margin for the answer to reach it first."""
        if timeout is None:
            return time.monotonic() + self.settings.call_timeout
        return time.monotonic() + timeout - min(ANSWER_MARGIN, timeout / 10)

    # -- evaluate ----------------------------------------------------------------------

    async def evaluate_async(self, target: Target, function: str, argument: bytes, *,
                             timeout: float | None = None) -> bytes:
        """Run a read-only function on one peer of the caller's organization (another's when none answers).

        Raises:
            ChaincodeError: the chaincode refused the call.
            InvocationError: PERMISSION_DENIED, UNAVAILABLE or DEADLINE_EXCEEDED.
        """
        contract = self.contract(target)
        deadline = self._deadline(timeout)
        failures = 0
        while True:
            try:
                return await contract.evaluate_async(function, [argument], timeout=deadline - time.monotonic())
            except EvaluateError as exc:
                if exc.chaincode_message is not None:
                    raise ChaincodeError(exc.chaincode_message) from None
                if not self._transient(exc) or failures >= self.settings.mvcc_retries or \
                        not await self._pause(failures, deadline):
                    raise self._mapped(exc, target) from None
                failures += 1

    def evaluate(self, target: Target, function: str, argument: bytes, *, timeout: float | None = None) -> bytes:
        """:meth:`evaluate_async` for synchronous callers."""
        return run_blocking(self.evaluate_async(target, function, argument, timeout=timeout))

    # -- submit ------------------------------------------------------------------------

    async def submit_async(self, target: Target, function: str, argument: bytes, *,
                           timeout: float | None = None) -> bytes:
        """Run a function as a transaction; return its result once committed and its events logged.

        Raises:
            ChaincodeError: the chaincode refused the call (nothing written).
            InvocationError: ABORTED (invalidated, or conflicts outlasted the retries; nothing written),
                PERMISSION_DENIED, UNAVAILABLE (nothing was ordered), DEADLINE_EXCEEDED (when ordered, the
                transaction's fate was still unknown at the deadline: ``tx_id`` names it).
        """
        contract = self.contract(target)
        deadline = self._deadline(timeout)
        conflicts = failures = 0
        while True:
            unanswered = False
            if time.monotonic() >= deadline:
                raise InvocationError(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded; nothing was submitted")
            proposal = contract.new_proposal(function, [argument])
            try:
                prepared = await contract.endorse_async(proposal, deadline=deadline)
            except EndorseError as exc:
                if exc.chaincode_message is not None:
                    earlier = await self._earlier_attempt(target, contract, function, argument, deadline)
                    if earlier is not None:
                        return earlier
                    raise ChaincodeError(exc.chaincode_message) from None
                if not self._transient(exc) or failures >= self.settings.mvcc_retries or \
                        not await self._pause(failures, deadline):
                    raise self._mapped(exc, target) from None
                failures += 1
                continue
            watch = contract.watch(prepared.tx_id)
            try:
                await contract.submit_prepared_async(prepared, deadline=deadline)
            except SubmitError as exc:
                if exc.code != grpc.StatusCode.DEADLINE_EXCEEDED and not exc.unreachable:
                    # the ordering service answered through a peer: it did not take the transaction
                    contract.forget(watch)
                    if exc.code == grpc.StatusCode.UNAVAILABLE:
                        self._in_doubt.remember(target, function, argument, prepared)
                    raise self._mapped(exc, target, in_doubt=exc.code == grpc.StatusCode.UNAVAILABLE) from None
                # no answer: the transaction may have reached the orderer, so it is resolved as if accepted
                unanswered = True
            status = await self._settle(target, contract, prepared.tx_id, watch, deadline, in_doubt=unanswered)
            if status is None:
                self._in_doubt.remember(target, function, argument, prepared)
                raise InvocationError(
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                    f"deadline exceeded before the outcome of transaction {prepared.tx_id} was known; it may still "
                    "commit: retrying the same call is safe (it answers this transaction's result if it committed)",
                    tx_id=prepared.tx_id) from None
            if status.successful:
                await self._await_events(target, prepared.event is not None, status.block_number, deadline)
                return prepared.result
            error = CommitError(prepared.tx_id, status.code, status.block_number)
            if not error.conflict:
                raise InvocationError(grpc.StatusCode.ABORTED,
                                      f"{error}; nothing was written") from None
            if conflicts >= self.settings.mvcc_retries or not await self._pause(conflicts, deadline):
                raise InvocationError(
                    grpc.StatusCode.ABORTED,
                    f"transaction conflicted with concurrent updates {conflicts + 1} times "
                    f"(last: {error.code_name}); nothing was written, retry the call",
                ) from None
            conflicts += 1
            logger.debug("transaction %s: %s, retrying (%d)", prepared.tx_id, error.code_name, conflicts)

    def submit(self, target: Target, function: str, argument: bytes, *, timeout: float | None = None) -> bytes:
        """:meth:`submit_async` for synchronous callers."""
        return run_blocking(self.submit_async(target, function, argument, timeout=timeout))

    async def _settle(self, target: Target, contract: Contract, tx_id: str, watch: Watch | None, deadline: float,
                      *, in_doubt: bool = False) -> Status | None:
        """The status of an ordered transaction, asked until ``deadline``; ``None`` if still unknown then.

        The commit listener answers first; when its stream breaks, or the status takes longer than
        the commit timeout, any reachable peer of the channel is asked (the caller's organization's
        first, then the others'), again and again until one answers or the deadline passes. A
        status that did not come from the first source (``in_doubt``: nor the submit's answer) is
        counted by resolution in :attr:`stats`.

        Raises:
            InvocationError: a peer refused to tell (PERMISSION_DENIED …).
        """
        attempt = 0
        while True:
            try:
                status = await contract.commit_status_async(tx_id, deadline=deadline, watch=watch)
            except CommitStatusError as exc:
                watch, in_doubt = None, True
                if time.monotonic() >= deadline:
                    return self._resolved(target, None)
                if exc.code not in _STATUS_UNKNOWN and not exc.too_many_requests:
                    raise self._mapped(exc, target, in_doubt=True) from None
                if exc.code != grpc.StatusCode.DEADLINE_EXCEEDED:  # nothing reachable: ask again a bit later
                    if not await self._pause(attempt, deadline, floor=STATUS_RETRY_MIN):
                        return self._resolved(target, None)
                    attempt += 1
                logger.info("transaction %s: outcome unknown (%s), asking again", tx_id, exc.code.name)
            else:
                return self._resolved(target, status) if in_doubt or (watch is not None and watch.broken) else status

    def _resolved(self, target: Target, status: Status | None) -> Status | None:
        """Count how an in-doubt transaction settled (``None``: still unknown, answered DEADLINE_EXCEEDED)."""
        self.stats.in_doubt(target.channel, "unknown" if status is None else
                            "committed" if status.successful else "invalidated")
        return status

    async def _earlier_attempt(self, target: Target, contract: Contract, function: str, argument: bytes,
                               deadline: float) -> bytes | None:
        """The result of an earlier call with the same request whose answer was in doubt, if it committed.

        A backend that retries after DEADLINE_EXCEEDED (or an in-doubt UNAVAILABLE) finds its own
        write: the registration exists, the task is already in the state it asked for. When that
        earlier transaction committed, the retry answers its result; a request of different
        content, or with no in-doubt answer before, keeps the chaincode's error.
        """
        for earlier in self._in_doubt.candidates(target, function, argument):
            wait = min(deadline, time.monotonic() + IN_DOUBT_WAIT)
            try:
                status = await contract.commit_status_async(earlier.tx_id, deadline=wait)
            except GatewayError:
                continue  # still unknown: keep it for a later retry
            self._in_doubt.forget(target, function, argument, earlier)
            if status.successful:
                logger.info("transaction %s, answered in doubt earlier, committed: answering its result to the "
                            "retried call", earlier.tx_id)
                self.stats.in_doubt_retry_answered(target.channel)
                await self._await_events(target, earlier.has_event, status.block_number, deadline)
                return earlier.result
        return None

    async def _await_events(self, target: Target, has_event: bool, block_number: int, deadline: float) -> None:
        if not has_event:
            return
        feed = self._feed(target.channel, target.chaincode)
        if feed is not None and not feed.down:
            await feed.wait_for_block_async(block_number, max(0.0, min(deadline - time.monotonic(), EVENT_WAIT)))

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

    async def _pause(self, attempt: int, deadline: float, *, floor: float = 0.0) -> bool:
        """Sleep a jittered, growing backoff; False when the deadline leaves no room for another attempt."""
        base = max(floor, min(self.settings.retry_backoff * (2 ** attempt), self.settings.retry_backoff_max))
        delay = random.uniform(base / 2, base * 1.5)
        if time.monotonic() + delay >= deadline:
            return False
        await asyncio.sleep(delay)
        return True

    def _mapped(self, exc: GatewayError, target: Target, *, in_doubt: bool = False) -> InvocationError:
        summary = str(exc)
        if exc.code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return InvocationError(grpc.StatusCode.DEADLINE_EXCEEDED, summary, tx_id=exc.tx_id if in_doubt else "")
        if self._refused_identity(exc):
            return InvocationError(grpc.StatusCode.PERMISSION_DENIED,
                                   f"the Fabric network refused the identity of {target.mspid}: {summary}")
        if self._lifecycle_problem(exc):
            return InvocationError(grpc.StatusCode.FAILED_PRECONDITION,
                                   f'chaincode "{target.chaincode}" is not ready on channel "{target.channel}" '
                                   f"(defined and initialized?): {summary}")
        if in_doubt:
            summary += "; the transaction may still commit: retrying the same call is safe"
            return InvocationError(grpc.StatusCode.UNAVAILABLE, summary, tx_id=exc.tx_id)
        return InvocationError(grpc.StatusCode.UNAVAILABLE, summary)

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
    return FabricInvoker(fabric, config.data_dir, channels=config.channels, failover=config.fabric_failover)


register_mode("fabric", create_fabric_invoker, chaincode_header_required=True)

__all__ = ["FabricInvoker", "InDoubtCalls", "create_fabric_invoker"]
