"""Transaction proposals built as Fabric does, and the prepared transactions a Gateway returns from endorsement."""

# The transaction id is the hex SHA-256 of a fresh 24-byte nonce followed by the serialized
# creator identity: peers recompute it and refuse a proposal whose id does not match, and the
# nonce makes every attempt a new transaction (a retried call must never reuse an id, or the
# ledger would invalidate it as a duplicate).

from __future__ import annotations

import functools
import hashlib
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fabric_protos.common import common_pb2
from fabric_protos.peer import chaincode_event_pb2, chaincode_pb2, proposal_pb2, proposal_response_pb2, transaction_pb2
from google.protobuf.message import DecodeError

from orchestrator.gateway.fabric.signing import SigningIdentity

NONCE_SIZE = 24


def transaction_id(nonce: bytes, creator: bytes) -> str:
    """Fabric's transaction id: hex(SHA-256(nonce || creator))."""
    return hashlib.sha256(nonce + creator).hexdigest()


@functools.lru_cache(maxsize=1024)
def _header_extension(chaincode: str) -> bytes:
    """The channel header's extension naming the chaincode: the same bytes for every proposal to it."""
    extension: bytes = proposal_pb2.ChaincodeHeaderExtension(
        chaincode_id=chaincode_pb2.ChaincodeID(name=chaincode)).SerializeToString()
    return extension


@dataclass(frozen=True)
class Proposal:
    """A signed proposal to invoke ``function`` of ``chaincode`` on ``channel``."""

    tx_id: str
    channel: str
    chaincode: str
    function: str
    signed: proposal_pb2.SignedProposal


def new_proposal(
    identity: SigningIdentity, channel: str, chaincode: str, function: str, args: Sequence[bytes] = (), *,
    is_init: bool = False, transient: Mapping[str, bytes] | None = None, timestamp_ns: int | None = None,
    nonce: bytes | None = None,
) -> Proposal:
    """Build and sign a proposal; ``Args[0]`` is the function name, then ``args``.

    ``is_init`` marks the call as the chaincode's initialization (``--init-required`` definitions).
    """
    nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
    creator = identity.creator
    tx_id = transaction_id(nonce, creator)
    channel_header = common_pb2.ChannelHeader(
        type=common_pb2.ENDORSER_TRANSACTION, channel_id=channel, tx_id=tx_id, epoch=0,
        extension=_header_extension(chaincode),
    )
    timestamp = channel_header.timestamp
    timestamp.seconds, timestamp.nanos = divmod(time.time_ns() if timestamp_ns is None else timestamp_ns,
                                                1_000_000_000)
    header = common_pb2.Header(
        channel_header=channel_header.SerializeToString(),
        signature_header=common_pb2.SignatureHeader(creator=creator, nonce=nonce).SerializeToString(),
    )
    invocation = chaincode_pb2.ChaincodeInvocationSpec(
        chaincode_spec=chaincode_pb2.ChaincodeSpec(
            chaincode_id=chaincode_pb2.ChaincodeID(name=chaincode),
            input=chaincode_pb2.ChaincodeInput(args=[function.encode("utf-8"), *args], is_init=is_init),
        )
    )
    payload = proposal_pb2.ChaincodeProposalPayload(input=invocation.SerializeToString(), TransientMap=transient or {})
    proposal_bytes = proposal_pb2.Proposal(
        header=header.SerializeToString(), payload=payload.SerializeToString()
    ).SerializeToString()
    signed = proposal_pb2.SignedProposal(proposal_bytes=proposal_bytes, signature=identity.sign(proposal_bytes))
    return Proposal(tx_id, channel, chaincode, function, signed)


class MalformedTransactionError(ValueError):
    """A prepared transaction returned by a peer cannot be read."""


@dataclass(frozen=True)
class PreparedTransaction:
    """The endorsed transaction a Gateway returned, ready to be signed and submitted."""

    tx_id: str
    envelope: common_pb2.Envelope
    result: bytes
    event: chaincode_event_pb2.ChaincodeEvent | None

    def signed(self, identity: SigningIdentity) -> common_pb2.Envelope:
        """The envelope signed by the creator, as the ordering service requires."""
        return common_pb2.Envelope(payload=self.envelope.payload, signature=identity.sign(self.envelope.payload))


def prepared_transaction(tx_id: str, envelope: common_pb2.Envelope) -> PreparedTransaction:
    """Read the chaincode's result and event from a prepared transaction envelope.

    Raises:
        MalformedTransactionError: the envelope holds no endorsed chaincode action.
    """
    try:
        payload = common_pb2.Payload.FromString(envelope.payload)
        transaction = transaction_pb2.Transaction.FromString(payload.data)
        for action in transaction.actions:
            action_payload = transaction_pb2.ChaincodeActionPayload.FromString(action.payload)
            response_payload = proposal_response_pb2.ProposalResponsePayload.FromString(
                action_payload.action.proposal_response_payload
            )
            chaincode_action = proposal_pb2.ChaincodeAction.FromString(response_payload.extension)
            event = None
            if chaincode_action.events:
                event = chaincode_event_pb2.ChaincodeEvent.FromString(chaincode_action.events)
            return PreparedTransaction(tx_id, envelope, chaincode_action.response.payload, event)
    except DecodeError as exc:
        raise MalformedTransactionError(f"prepared transaction {tx_id} cannot be decoded: {exc}") from None
    raise MalformedTransactionError(f"prepared transaction {tx_id} has no chaincode action")


__all__ = [
    "NONCE_SIZE", "MalformedTransactionError", "PreparedTransaction", "Proposal", "new_proposal",
    "prepared_transaction", "transaction_id",
]
