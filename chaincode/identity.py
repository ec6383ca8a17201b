"""Caller identity: the MSP ID of the transaction's creator, from its serialized identity (GEN-2)."""

# The creator is the ``SerializedIdentity`` (MSP ID and PEM certificate) in the signed
# proposal's signature header. The peer has already checked the signature against the
# channel's MSPs before the chaincode runs, so the MSP ID is trusted as it is: like
# upstream, nothing else of the certificate is used.
#
# A client signs its transactions with one identity for a long time, so the same creator bytes
# come back in every proposal: they are decoded once and remembered (a few hundred identities,
# each a few kilobytes at most; a ``Caller`` is immutable and safe to share between threads).

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Final

from fabric_protos.msp import identities_pb2
from google.protobuf.message import DecodeError


@dataclass(frozen=True)
class Caller:
    """Who submitted the transaction."""

    msp_id: str
    certificate_pem: bytes


#: Distinct creators remembered: every member of a channel's organizations, many times over.
CALLER_CACHE_SIZE: Final = 512


@functools.lru_cache(maxsize=CALLER_CACHE_SIZE)
def caller_of(creator: bytes) -> Caller:
    """The caller named by a serialized identity (decoded once per distinct ``creator``).

    Raises:
        ValueError: the creator is missing, undecodable or names no MSP.
    """
    if not creator:
        raise ValueError("the proposal names no creator")
    try:
        identity = identities_pb2.SerializedIdentity.FromString(creator)
    except DecodeError as exc:
        raise ValueError(f"failed to unmarshal the creator identity: {exc}") from exc
    if not identity.mspid:
        raise ValueError("the creator identity names no MSP")
    return Caller(identity.mspid, identity.id_bytes)


__all__ = ["CALLER_CACHE_SIZE", "Caller", "caller_of"]
