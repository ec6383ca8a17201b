"""The peer's membership service: who a serialized identity is, and whether it really signed a message."""

# Written from Fabric's rules, independently of the gateway's signing code, so a signing bug
# cannot hide behind a matching verification bug: the certificate must be issued by a root
# CA of the MSP it names and be valid now; ECDSA signatures are checked over the SHA-256
# (P-256) or SHA-384 (P-384) digest and refused in high-S form; Ed25519 ones over the message.

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature, encode_dss_signature
from fabric_protos.msp import identities_pb2
from google.protobuf.message import DecodeError

_HALF_ORDERS = {
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551 >> 1,
    "secp384r1": int("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
                     16) >> 1,
}
_DIGESTS = {"secp256r1": (hashlib.sha256, hashes.SHA256()), "secp384r1": (hashlib.sha384, hashes.SHA384())}


class MspError(Exception):
    """The identity is unknown or invalid, or the signature does not verify."""


@dataclass(frozen=True)
class Member:
    """A deserialized, validated identity."""

    mspid: str
    certificate: x509.Certificate
    creator: bytes


class Msp:
    """One organization: its root CAs."""

    def __init__(self, mspid: str, roots: Iterable[x509.Certificate]) -> None:
        self.mspid = mspid
        self.roots = list(roots)

    def validate(self, certificate: x509.Certificate) -> None:
        now = datetime.datetime.now(datetime.UTC)
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise MspError(f"certificate of {self.mspid} identity is expired or not yet valid")
        for root in self.roots:
            try:
                certificate.verify_directly_issued_by(root)
                return
            except (ValueError, TypeError, InvalidSignature):
                continue
        raise MspError(f"the supplied identity is not valid: certificate not issued by a CA of {self.mspid}")


class MspManager:
    """The channel's organizations."""

    def __init__(self, msps: Mapping[str, Msp]) -> None:
        self.msps = dict(msps)
        self._cache: dict[bytes, Member] = {}

    def deserialize(self, creator: bytes) -> Member:
        """The member behind a serialized identity.

        Raises:
            MspError: malformed, unknown MSP, or a certificate its MSP did not issue.
        """
        member = self._cache.get(creator)
        if member is not None:
            return member
        try:
            identity = identities_pb2.SerializedIdentity.FromString(creator)
            certificate = x509.load_pem_x509_certificate(identity.id_bytes)
        except (DecodeError, ValueError) as exc:
            raise MspError(f"could not deserialize identity: {exc}") from None
        msp = self.msps.get(identity.mspid)
        if msp is None:
            raise MspError(f"MSP {identity.mspid} is unknown")
        msp.validate(certificate)
        member = Member(identity.mspid, certificate, creator)
        self._cache[creator] = member
        return member

    def verify(self, creator: bytes, message: bytes, signature: bytes) -> Member:
        """The member, once its signature of ``message`` is checked.

        Raises:
            MspError: unknown identity or a bad signature.
        """
        member = self.deserialize(creator)
        verify_signature(member.certificate, message, signature)
        return member


def verify_signature(certificate: x509.Certificate, message: bytes, signature: bytes) -> None:
    """Check ``signature`` of ``message`` by the certificate's key, as Fabric's BCCSP does.

    Raises:
        MspError: the signature does not verify, or is an ECDSA signature in high-S form.
    """
    key = certificate.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            curve = key.curve.name
            _, s = decode_dss_signature(signature)
            if s > _HALF_ORDERS[curve]:
                raise MspError("invalid S: must be smaller than half the order")
            digest, algorithm = _DIGESTS[curve]
            key.verify(signature, digest(message).digest(), ec.ECDSA(Prehashed(algorithm)))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            raise MspError(f"unsupported key type {type(key).__name__}")
    except (InvalidSignature, ValueError):
        raise MspError("the creator's signature over the proposal is not valid") from None


def sign(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey, message: bytes) -> bytes:
    """A peer's own signature (endorsements), in the form :func:`verify_signature` accepts."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(message)
    curve = key.curve.name
    digest, algorithm = _DIGESTS[curve]
    r, s = decode_dss_signature(key.sign(digest(message).digest(), ec.ECDSA(Prehashed(algorithm))))
    order = _HALF_ORDERS[curve] * 2 + 1
    return encode_dss_signature(r, order - s if s > _HALF_ORDERS[curve] else s)


__all__ = ["Member", "Msp", "MspError", "MspManager", "sign", "verify_signature"]
