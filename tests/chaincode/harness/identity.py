"""Identities of the harness: an organization's CA, its members' certificates and keys, and TLS material."""

# Keys are ECDSA P-256 and signatures low-S DER over SHA-256, as Fabric's MSPs require.
# Creating a CA and an identity takes a few milliseconds, so each MSP ID gets one identity
# per process (``identity_for``), shared by every test that calls as that organization.

from __future__ import annotations

import datetime
import ipaddress
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from fabric_protos.msp import identities_pb2

#: Order of the P-256 group: a signature's S above half of it is "high" and Fabric rejects it.
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """ECDSA-SHA256 signature, DER, with S normalized to the lower half (Fabric's rule)."""
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    if s > _P256_ORDER // 2:
        s = _P256_ORDER - s
    return encode_dss_signature(r, s)


def verify(cert_pem: bytes, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` over ``data`` is valid and low-S for the certificate's key."""
    try:
        _, s = decode_dss_signature(signature)
        if s > _P256_ORDER // 2:
            return False
        public = x509.load_pem_x509_certificate(cert_pem).public_key()
        public.verify(signature, data, ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg, union-attr]
    except Exception:
        return False
    return True


class CertificateAuthority:
    """A self-signed CA that issues certificates (an organization's MSP CA, or a TLS CA)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
                             x509.NameAttribute(NameOID.COMMON_NAME, f"ca.{name}")])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False),
                           critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.cert_pem = _pem(self.cert)

    def issue(self, common_name: str, *, server: bool = False, client: bool = True,
              hosts: tuple[str, ...] = ()) -> tuple[bytes, bytes]:
        """A new key and certificate for ``common_name``: (key PEM, certificate PEM)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        usages = [oid for oid, wanted in ((ExtendedKeyUsageOID.SERVER_AUTH, server),
                                          (ExtendedKeyUsageOID.CLIENT_AUTH, client)) if wanted]
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.name),
                                     x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        if usages:
            builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        if hosts:
            names: list[x509.GeneralName] = []
            for host in hosts:
                try:
                    names.append(x509.IPAddress(ipaddress.ip_address(host)))
                except ValueError:
                    names.append(x509.DNSName(host))
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return _key_pem(key), _pem(builder.sign(self.key, hashes.SHA256()))


@dataclass(frozen=True)
class Identity:
    """A member of an organization: what it puts in a proposal (``serialized``) and how it signs."""

    msp_id: str
    cert_pem: bytes
    key_pem: bytes

    @property
    def serialized(self) -> bytes:
        """The ``SerializedIdentity`` that proposals carry as their creator."""
        return identities_pb2.SerializedIdentity(mspid=self.msp_id, id_bytes=self.cert_pem).SerializeToString()

    def private_key(self) -> ec.EllipticCurvePrivateKey:
        key = serialization.load_pem_private_key(self.key_pem, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key

    def sign(self, data: bytes) -> bytes:
        return sign(self.private_key(), data)


_identities: dict[str, tuple[Identity, ec.EllipticCurvePrivateKey, CertificateAuthority]] = {}
_lock = threading.Lock()


def identity_for(msp_id: str) -> Identity:
    """The (per-process) member identity of ``msp_id``, issued by that organization's own CA."""
    with _lock:
        found = _identities.get(msp_id)
        if found is None:
            ca = CertificateAuthority(msp_id)
            key_pem, cert_pem = ca.issue(f"user.{msp_id.lower()}")
            identity = Identity(msp_id, cert_pem, key_pem)
            found = (identity, identity.private_key(), ca)
            _identities[msp_id] = found
        return found[0]


def signer_for(identity: Identity) -> ec.EllipticCurvePrivateKey:
    """The loaded private key of an identity (cached for the identities ``identity_for`` made)."""
    found = _identities.get(identity.msp_id)
    if found is not None and found[0] == identity:
        return found[1]
    return identity.private_key()


def ca_of(msp_id: str) -> CertificateAuthority:
    """The CA that issued ``identity_for(msp_id)``."""
    identity_for(msp_id)
    return _identities[msp_id][2]


@dataclass(frozen=True)
class TlsMaterial:
    """TLS for a chaincode server and its peers: one CA, a server pair for 127.0.0.1/localhost, a client pair."""

    ca_pem: bytes
    server_key: bytes
    server_cert: bytes
    client_key: bytes
    client_cert: bytes

    @classmethod
    def generate(cls, name: str = "tls") -> TlsMaterial:
        ca = CertificateAuthority(f"{name}-ca")
        server_key, server_cert = ca.issue("chaincode", server=True, client=False, hosts=("127.0.0.1", "localhost"))
        client_key, client_cert = ca.issue("peer0", server=False, client=True)
        return cls(ca.cert_pem, server_key, server_cert, client_key, client_cert)

    def write(self, folder: Path) -> dict[str, Path]:
        """Write every file into ``folder``: {"ca", "server_key", "server_cert", "client_key", "client_cert"}."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name in ("ca", "server_key", "server_cert", "client_key", "client_cert"):
            path = folder / f"{name}.pem"
            path.write_bytes(self.ca_pem if name == "ca" else getattr(self, name))
            paths[name] = path
        return paths


__all__ = ["CertificateAuthority", "Identity", "TlsMaterial", "ca_of", "identity_for", "sign", "signer_for", "verify"]
