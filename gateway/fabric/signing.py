"""Signing identities: an MSP ID with its X.509 certificate, and a signer for ECDSA (low-S DER) or Ed25519 keys."""

# Fabric peers verify ECDSA signatures over the SHA-256 digest of the message and reject a
# signature whose S lies in the upper half of the curve order (signature malleability), so
# the ECDSA signer always emits the low-S form. Ed25519 keys (Fabric 3) sign the whole
# message: they hash internally, so no digest is taken first.

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature, encode_dss_signature
from fabric_protos.msp import identities_pb2

# Curve orders of the NIST curves Fabric's MSP accepts.
_ORDERS: Final = {
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "secp384r1": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973", 16
    ),
}
_DIGESTS: Final = {"secp256r1": (hashlib.sha256, hashes.SHA256), "secp384r1": (hashlib.sha384, hashes.SHA384)}


class IdentityError(ValueError):
    """A certificate or key cannot serve as a signing identity; the message says which file and why."""


class Signer(Protocol):
    """Signs a message (the signer takes the digest it needs itself)."""

    @property
    def algorithm(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


class EcdsaSigner:
    """ECDSA over the digest Fabric uses for the curve (SHA-256 for P-256), DER-encoded, low-S."""

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        curve = key.curve.name
        if curve not in _ORDERS:
            raise IdentityError(f"unsupported ECDSA curve {curve} (Fabric accepts P-256 and P-384)")
        self._key = key
        self._order = _ORDERS[curve]
        self._half_order = self._order >> 1
        digest, algorithm = _DIGESTS[curve]
        self._digest = digest
        self._scheme = ec.ECDSA(Prehashed(algorithm()))
        self.algorithm = f"ECDSA-{curve}"

    def sign(self, message: bytes) -> bytes:
        der = self._key.sign(self._digest(message).digest(), self._scheme)
        r, s = decode_dss_signature(der)
        if s > self._half_order:
            return encode_dss_signature(r, self._order - s)
        return der


class Ed25519Signer:
    """Ed25519 over the full message (no prior digest: the scheme hashes internally)."""

    algorithm = "Ed25519"

    def __init__(self, key: ed25519.Ed25519PrivateKey) -> None:
        self._key = key

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


@dataclass(frozen=True)
class Identity:
    """Who signs: an MSP ID and the PEM certificate the peers check against that MSP's CAs."""

    mspid: str
    certificate: bytes  # PEM
    creator: bytes = field(init=False, repr=False, compare=False)  # serialized msp.SerializedIdentity

    def __post_init__(self) -> None:
        serialized = identities_pb2.SerializedIdentity(mspid=self.mspid, id_bytes=self.certificate)
        object.__setattr__(self, "creator", serialized.SerializeToString())


@dataclass(frozen=True)
class SigningIdentity:
    """An identity and the signer of its private key."""

    identity: Identity
    signer: Signer = field(repr=False)

    @property
    def mspid(self) -> str:
        return self.identity.mspid

    @property
    def creator(self) -> bytes:
        return self.identity.creator

    def sign(self, message: bytes) -> bytes:
        return self.signer.sign(message)


def signer_for(key: object) -> Signer:
    """The signer of a private key object.

    Raises:
        IdentityError: the key type is not one Fabric verifies.
    """
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return EcdsaSigner(key)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return Ed25519Signer(key)
    raise IdentityError(f"unsupported private key type {type(key).__name__} (ECDSA or Ed25519 expected)")


def _public_der(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def signing_identity(mspid: str, certificate_pem: bytes, key_pem: bytes, *, source: str = "") -> SigningIdentity:
    """A signing identity from PEM bytes, checking that the key belongs to the certificate.

    Raises:
        IdentityError: unreadable PEM, unsupported key, or a key that does not match the certificate.
    """
    where = f" ({source})" if source else ""
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem)
    except ValueError as exc:
        raise IdentityError(f"certificate of {mspid}{where} is not a PEM X.509 certificate: {exc}") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise IdentityError(f"private key of {mspid}{where} is not an unencrypted PEM key: {exc}") from None
    signer = signer_for(key)
    if _public_der(certificate.public_key()) != _public_der(key.public_key()):
        raise IdentityError(f"private key of {mspid}{where} does not match its certificate")
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    return SigningIdentity(Identity(mspid, pem), signer)


def load_signing_identity(mspid: str, certificate: Path, key: Path) -> SigningIdentity:
    """A signing identity from a certificate file and a key file (Fabric MSP ``signcerts`` / ``keystore``).

    Raises:
        IdentityError: a file is missing or unreadable, or the pair is not valid.
    """
    contents = []
    for what, path in (("certificate", certificate), ("key", key)):
        try:
            contents.append(Path(path).read_bytes())
        except OSError as exc:
            raise IdentityError(f"cannot read the {what} of {mspid} at {path}: {exc.strerror}") from None
    return signing_identity(mspid, contents[0], contents[1], source=f"{certificate}, {key}")


__all__ = [
    "EcdsaSigner", "Ed25519Signer", "Identity", "IdentityError", "Signer", "SigningIdentity", "load_signing_identity",
    "signer_for", "signing_identity",
]
