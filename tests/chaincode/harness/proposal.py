"""Signed proposals as Fabric clients build them, and their unpacking as the endorser does it."""

# Layout (fabric protoutil / fabric-gateway proposalbuilder): ChaincodeInput(args, is_init) in
# a ChaincodeSpec in a ChaincodeInvocationSpec, in the ChaincodeProposalPayload (with the
# transient map); the header holds the ChannelHeader (ENDORSER_TRANSACTION, client timestamp,
# channel, txid, ChaincodeHeaderExtension naming the chaincode) and the SignatureHeader
# (creator = serialized identity, random nonce). txid = hex(SHA-256(nonce + creator)).
# The creator signs the serialized Proposal.

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fabric_protos.common import common_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from tests.chaincode.harness.identity import Identity, sign, signer_for, verify


def tx_id_of(nonce: bytes, creator: bytes) -> str:
    """Fabric's transaction id: hex SHA-256 of nonce then creator."""
    return hashlib.sha256(nonce + creator).hexdigest()


@dataclass(frozen=True)
class Proposal:
    """A signed proposal and what it says, for the peer (and for tests to assert on)."""

    signed: proposal_pb2.SignedProposal
    tx_id: str
    channel: str
    chaincode: str
    args: tuple[bytes, ...]
    timestamp_ns: int
    creator: bytes
    is_init: bool = False

    @property
    def function(self) -> str:
        return self.args[0].decode("utf-8", "replace") if self.args else ""


def build_proposal(
    identity: Identity, channel: str, chaincode: str, args: Sequence[bytes], *, timestamp_ns: int | None = None,
    nonce: bytes | None = None, transient: Mapping[str, bytes] | None = None, is_init: bool = False,
) -> Proposal:
    """A proposal signed by ``identity``; the timestamp defaults to now, the nonce to 24 random bytes."""
    nonce = os.urandom(24) if nonce is None else nonce
    timestamp_ns = time.time_ns() if timestamp_ns is None else timestamp_ns
    creator = identity.serialized
    tx_id = tx_id_of(nonce, creator)
    chaincode_id = chaincode_pb2.ChaincodeID(name=chaincode)
    spec = chaincode_pb2.ChaincodeInvocationSpec(chaincode_spec=chaincode_pb2.ChaincodeSpec(
        type=chaincode_pb2.ChaincodeSpec.GOLANG, chaincode_id=chaincode_id,
        input=chaincode_pb2.ChaincodeInput(args=list(args), is_init=is_init)))
    payload = proposal_pb2.ChaincodeProposalPayload(input=spec.SerializeToString(), TransientMap=dict(transient or {}))
    seconds, nanos = divmod(timestamp_ns, 1_000_000_000)
    channel_header = common_pb2.ChannelHeader(
        type=common_pb2.ENDORSER_TRANSACTION, timestamp=Timestamp(seconds=seconds, nanos=nanos), channel_id=channel,
        tx_id=tx_id, extension=proposal_pb2.ChaincodeHeaderExtension(chaincode_id=chaincode_id).SerializeToString())
    header = common_pb2.Header(channel_header=channel_header.SerializeToString(),
                               signature_header=common_pb2.SignatureHeader(creator=creator, nonce=nonce)
                               .SerializeToString())
    proposal_bytes = proposal_pb2.Proposal(header=header.SerializeToString(),
                                           payload=payload.SerializeToString()).SerializeToString()
    signed = proposal_pb2.SignedProposal(proposal_bytes=proposal_bytes,
                                         signature=sign(signer_for(identity), proposal_bytes))
    return Proposal(signed, tx_id, channel, chaincode, tuple(args), timestamp_ns, creator, is_init)


class ProposalError(ValueError):
    """The endorser refuses the proposal itself (before any chaincode runs)."""


def unpack_proposal(signed: proposal_pb2.SignedProposal, *, check_signature: bool = True) -> Proposal:
    """What a signed proposal says, checked as Fabric's endorser checks it.

    Raises:
        ProposalError: malformed, wrong header type, txid not derived from nonce and creator, or bad signature.
    """
    try:
        proposal = proposal_pb2.Proposal.FromString(signed.proposal_bytes)
        header = common_pb2.Header.FromString(proposal.header)
        channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
        signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
        payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
        spec = chaincode_pb2.ChaincodeInvocationSpec.FromString(payload.input).chaincode_spec
    except Exception as exc:
        raise ProposalError(f"error unmarshalling proposal: {exc}") from exc
    if channel_header.type != common_pb2.ENDORSER_TRANSACTION:
        raise ProposalError(f"invalid header type {channel_header.type}")
    expected = tx_id_of(signature_header.nonce, signature_header.creator)
    if channel_header.tx_id != expected:
        raise ProposalError(f"incorrectly computed txid: got [{channel_header.tx_id}], expected [{expected}]")
    if check_signature:
        from fabric_protos.msp import identities_pb2

        creator = identities_pb2.SerializedIdentity.FromString(signature_header.creator)
        if not verify(creator.id_bytes, signed.proposal_bytes, signed.signature):
            raise ProposalError("access denied: creator signature invalid")
    timestamp_ns = channel_header.timestamp.seconds * 1_000_000_000 + channel_header.timestamp.nanos
    return Proposal(signed, channel_header.tx_id, channel_header.channel_id, spec.chaincode_id.name,
                    tuple(spec.input.args), timestamp_ns, signature_header.creator, spec.input.is_init)


__all__ = ["Proposal", "ProposalError", "build_proposal", "tx_id_of", "unpack_proposal"]
