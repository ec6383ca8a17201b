"""Crypto material of a test Fabric network: per organization a signing CA, a TLS CA and what they issue."""

# Keys are ECDSA P-256 (Fabric's default) or Ed25519 (Fabric 3); TLS always uses ECDSA P-256
# (what gRPC's TLS stack negotiates everywhere). Files are written the way Fabric's MSP
# folders hold them (PEM certificate, PKCS#8 key) so the gateway reads them as in production.

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def new_key(key_type: str = "ecdsa") -> PrivateKey:
    if key_type == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"unknown key type {key_type!r}")


def _algorithm(key: PrivateKey) -> hashes.HashAlgorithm | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class Credentials:
    """A certificate, its key, and where both were written."""

    cert: x509.Certificate
    key: PrivateKey
    cert_path: Path
    key_path: Path

    @property
    def cert_pem(self) -> bytes:
        return cert_pem(self.cert)

    @property
    def key_pem(self) -> bytes:
        return key_pem(self.key)


class CertificateAuthority:
    """A self-signed CA that issues leaf certificates."""

    def __init__(self, name: str, organization: str, directory: Path, *, key_type: str = "ecdsa") -> None:
        self.key = new_key(key_type)
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                             x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, _algorithm(self.key))
        )
        self.organization = organization
        directory.mkdir(parents=True, exist_ok=True)
        self.cert_path = directory / f"{name}.pem"
        self.cert_path.write_bytes(cert_pem(self.cert))

    def issue(self, common_name: str, directory: Path, *, key_type: str = "ecdsa", organizational_unit: str = "client",
              hosts: tuple[str, ...] = (), server: bool = False) -> Credentials:
        """A leaf certificate for ``common_name`` (with ``hosts`` as subject alternative names for TLS servers)."""
        key = new_key(key_type)
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.organization),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, organizational_unit),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]))
            .issuer_name(self.cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
        )
        if hosts:
            names: list[x509.GeneralName] = []
            for host in hosts:
                try:
                    names.append(x509.IPAddress(ipaddress.ip_address(host)))
                except ValueError:
                    names.append(x509.DNSName(host))
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
            usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH] if server else \
                [ExtendedKeyUsageOID.CLIENT_AUTH]
            builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        cert = builder.sign(self.key, _algorithm(self.key))
        directory.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = directory / f"{common_name}-cert.pem", directory / f"{common_name}-key.pem"
        cert_path.write_bytes(cert_pem(cert))
        key_path.write_bytes(key_pem(key))
        return Credentials(cert, key, cert_path, key_path)


class OrgPki:
    """One organization's CAs: ``ca`` signs identities (its MSP root), ``tls_ca`` signs TLS certificates."""

    def __init__(self, mspid: str, directory: Path, *, key_type: str = "ecdsa") -> None:
        self.mspid = mspid
        self.directory = directory
        self.key_type = key_type
        self.ca = CertificateAuthority(f"ca.{mspid}", mspid, directory / "ca", key_type=key_type)
        self.tls_ca = CertificateAuthority(f"tlsca.{mspid}", mspid, directory / "tlsca")

    def identity(self, name: str, *, key_type: str | None = None, organizational_unit: str = "client"
                 ) -> Credentials:
        """A signing identity of this organization (a user, a peer)."""
        return self.ca.issue(name, self.directory / "msp" / name, key_type=key_type or self.key_type,
                             organizational_unit=organizational_unit)

    def tls_server(self, name: str, hosts: tuple[str, ...] = ("localhost", "127.0.0.1")) -> Credentials:
        return self.tls_ca.issue(name, self.directory / "tls" / name, hosts=hosts, server=True,
                                 organizational_unit="peer")

    def tls_client(self, name: str) -> Credentials:
        return self.tls_ca.issue(name, self.directory / "tls" / name, hosts=(name,))


__all__ = ["CertificateAuthority", "Credentials", "OrgPki", "cert_pem", "key_pem", "new_key"]
