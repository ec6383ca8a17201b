"""A chaincode on a channel, as one identity sees it: evaluate, or submit (endorse, submit, wait for commit status)."""

# Which step failed is in the error type: :class:`~orchestrator.gateway.fabric.errors.EvaluateError`,
# :class:`EndorseError` (nothing was ordered), :class:`SubmitError` (the ordering service did not
# take it; usually nothing was ordered), :class:`CommitStatusError` (the outcome is unknown) and
# :class:`CommitError` (ordered but invalidated, e.g. an MVCC conflict: nothing was written).
# The ``*_async`` methods are the implementation, awaited on the caller's event loop; the plain
# ones block on a background loop, for synchronous callers.

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import grpc
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import chaincode_event_pb2

from orchestrator.gateway.fabric.client import GatewayClient, run_blocking
from orchestrator.gateway.fabric.commit import Status, Watch, signed_commit_status_request
from orchestrator.gateway.fabric.errors import (
    CommitError,
    CommitStatusError,
    EndorseError,
    EvaluateError,
    SubmitError,
)
from orchestrator.gateway.fabric.proposal import (
    MalformedTransactionError,
    PreparedTransaction,
    Proposal,
    new_proposal,
    prepared_transaction,
)

if TYPE_CHECKING:
    from orchestrator.gateway.fabric.network import Network


@dataclass(frozen=True)
class Committed:
    """A transaction committed as valid: the chaincode's result, its id, block and chaincode event."""

    result: bytes
    tx_id: str
    block_number: int
    event: chaincode_event_pb2.ChaincodeEvent | None


class Contract:
    """Invocations of one chaincode on one channel, signed by the gateway's identity."""

    def __init__(self, network: Network, chaincode: str) -> None:
        self.network = network
        self.chaincode = chaincode
        self._gateway = network.gateway

    @property
    def channel(self) -> str:
        return self.network.channel

    def _deadline(self, timeout: float | None, default: float) -> float:
        return time.monotonic() + (default if timeout is None else timeout)

    def _step(self, deadline: float, step_timeout: float) -> float:
        return min(deadline, time.monotonic() + step_timeout)

    def new_proposal(self, function: str, args: Sequence[bytes] = (), *, is_init: bool = False) -> Proposal:
        """A fresh signed proposal (new nonce, new transaction id)."""
        return new_proposal(self._gateway.identity, self.channel, self.chaincode, function, args, is_init=is_init)

    @property
    def _fallback(self) -> Sequence[GatewayClient]:
        return self.network.fallback

    async def evaluate_async(self, function: str, args: Sequence[bytes] = (), *, timeout: float | None = None
                             ) -> bytes:
        """Run ``function`` on one peer's committed state and return its result; nothing is ordered.

        Raises:
            EvaluateError: the chaincode refused the call (its text in ``chaincode_message``), or no peer answered.
        """
        options = self._gateway.options
        deadline = self._deadline(timeout, options.evaluate_timeout)
        proposal = self.new_proposal(function, args)
        request = gateway_pb2.EvaluateRequest(
            transaction_id=proposal.tx_id, channel_id=self.channel, proposed_transaction=proposal.signed
        )
        response = await self._gateway.client.call(
            "Evaluate", request, deadline=self._step(deadline, options.evaluate_timeout), error=EvaluateError,
            tx_id=proposal.tx_id, fallback=self._fallback,
        )
        return bytes(response.result.payload)

    async def endorse_async(self, proposal: Proposal, *, deadline: float) -> PreparedTransaction:
        """Collect the endorsements the chaincode's policy needs.

        Raises:
            EndorseError: the chaincode refused (``chaincode_message``), or endorsement failed or timed out.
        """
        request = gateway_pb2.EndorseRequest(
            transaction_id=proposal.tx_id, channel_id=self.channel, proposed_transaction=proposal.signed
        )
        response = await self._gateway.client.call(
            "Endorse", request, deadline=self._step(deadline, self._gateway.options.endorse_timeout),
            error=EndorseError, tx_id=proposal.tx_id, fallback=self._fallback,
        )
        try:
            return prepared_transaction(proposal.tx_id, response.prepared_transaction)
        except MalformedTransactionError as exc:
            raise EndorseError(grpc.StatusCode.INTERNAL, str(exc), tx_id=proposal.tx_id) from None

    async def submit_prepared_async(self, prepared: PreparedTransaction, *, deadline: float) -> None:
        """Sign the prepared transaction and hand it to the ordering service.

        Submitting the same signed transaction again (through another peer, after a failure) is
        harmless: a second copy is invalidated as a duplicate and the first keeps its status.

        Raises:
            SubmitError: the ordering service did not accept it.
        """
        request = gateway_pb2.SubmitRequest(
            transaction_id=prepared.tx_id, channel_id=self.channel,
            prepared_transaction=prepared.signed(self._gateway.identity),
        )
        await self._gateway.client.call(
            "Submit", request, deadline=self._step(deadline, self._gateway.options.submit_timeout),
            error=SubmitError, tx_id=prepared.tx_id, fallback=self._fallback,
        )

    def watch(self, tx_id: str) -> Watch | None:
        """Watch ``tx_id``'s block on the channel's commit listener; call before submitting it."""
        listener = self.network.commit_listener()
        return None if listener is None else listener.watch(tx_id)

    def forget(self, watch: Watch | None) -> None:
        """Stop watching (the transaction was not submitted after all)."""
        if watch is not None and (listener := self.network.commit_listener()) is not None:
            listener.forget(watch)

    async def commit_status_async(self, tx_id: str, *, deadline: float, watch: Watch | None = None) -> Status:
        """Wait until the transaction is committed and return how it was validated.

        With a ``watch`` the status comes from the commit listener; without one (or if the
        listener's stream fails meanwhile) from a signed ``CommitStatus`` call, to any peer of the
        channel that can be reached.

        Raises:
            CommitStatusError: no answer before the deadline (the transaction may still commit), or
                UNAVAILABLE: no peer of the channel could be reached.
        """
        step_deadline = self._step(deadline, self._gateway.options.commit_status_timeout)
        if watch is not None:
            if not await watch.wait_async(step_deadline - time.monotonic()):
                self.forget(watch)
                raise CommitStatusError(grpc.StatusCode.DEADLINE_EXCEEDED,
                                        "the transaction was not committed before the deadline", tx_id=tx_id)
            if watch.status is not None:
                return watch.status
        request = signed_commit_status_request(self._gateway.identity, self.channel, tx_id)
        response = await self._gateway.client.call(
            "CommitStatus", request, deadline=step_deadline, error=CommitStatusError, tx_id=tx_id,
            fallback=self._fallback)
        return Status(tx_id, int(response.result), int(response.block_number))

    async def submit_transaction_async(self, function: str, args: Sequence[bytes] = (), *,
                                       timeout: float | None = None, is_init: bool = False) -> Committed:
        """Endorse, submit and wait for the commit of one transaction; ``timeout`` bounds all three steps.

        Raises:
            EndorseError, SubmitError, CommitStatusError: the step that failed (see the module docstring).
            CommitError: the transaction was invalidated; ``conflict`` tells an MVCC conflict.
        """
        deadline = self._deadline(timeout, self._gateway.options.total_submit_timeout)
        proposal = self.new_proposal(function, args, is_init=is_init)
        prepared = await self.endorse_async(proposal, deadline=deadline)
        watch = self.watch(proposal.tx_id)
        try:
            await self.submit_prepared_async(prepared, deadline=deadline)
        except SubmitError:
            self.forget(watch)  # no listener any more: the network closed meanwhile, and closing broke every watch
            raise
        status = await self.commit_status_async(proposal.tx_id, deadline=deadline, watch=watch)
        if not status.successful:
            raise CommitError(proposal.tx_id, status.code, status.block_number)
        return Committed(prepared.result, proposal.tx_id, status.block_number, prepared.event)

    # -- the same, for synchronous callers (the init job, scripts) -------------------------------

    def evaluate(self, function: str, args: Sequence[bytes] = (), *, timeout: float | None = None) -> bytes:
        """:meth:`evaluate_async`, blocking."""
        return run_blocking(self.evaluate_async(function, args, timeout=timeout))

    def endorse(self, proposal: Proposal, *, deadline: float) -> PreparedTransaction:
        """:meth:`endorse_async`, blocking."""
        return run_blocking(self.endorse_async(proposal, deadline=deadline))

    def submit_prepared(self, prepared: PreparedTransaction, *, deadline: float) -> None:
        """:meth:`submit_prepared_async`, blocking."""
        run_blocking(self.submit_prepared_async(prepared, deadline=deadline))

    def commit_status(self, tx_id: str, *, deadline: float, watch: Watch | None = None) -> Status:
        """:meth:`commit_status_async`, blocking."""
        return run_blocking(self.commit_status_async(tx_id, deadline=deadline, watch=watch))

    def submit_transaction(self, function: str, args: Sequence[bytes] = (), *, timeout: float | None = None,
                           is_init: bool = False) -> Committed:
        """:meth:`submit_transaction_async`, blocking."""
        return run_blocking(self.submit_transaction_async(function, args, timeout=timeout, is_init=is_init))

    def submit(self, function: str, args: Sequence[bytes] = (), *, timeout: float | None = None) -> bytes:
        """:meth:`submit_transaction`, returning only the chaincode's result."""
        return self.submit_transaction(function, args, timeout=timeout).result


__all__ = ["Committed", "Contract"]
