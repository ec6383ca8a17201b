"""Commit status: the signed request that asks a peer how a submitted transaction was validated, and its answer."""

from __future__ import annotations

from dataclasses import dataclass

from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import transaction_pb2

from orchestrator.gateway.fabric.signing import SigningIdentity


def signed_commit_status_request(identity: SigningIdentity, channel: str, tx_id: str
                                 ) -> gateway_pb2.SignedCommitStatusRequest:
    """The request, signed: peers only tell a transaction's fate to identities the channel admits."""
    request = gateway_pb2.CommitStatusRequest(
        transaction_id=tx_id, channel_id=channel, identity=identity.creator
    ).SerializeToString()
    return gateway_pb2.SignedCommitStatusRequest(request=request, signature=identity.sign(request))


@dataclass(frozen=True)
class Status:
    """How a transaction was validated, and in which block."""

    tx_id: str
    code: int  # protos.TxValidationCode
    block_number: int

    @property
    def successful(self) -> bool:
        return self.code == transaction_pb2.VALID


__all__ = ["Status", "signed_commit_status_request"]
