"""TLS material: server credentials, and which organization's CA issued a client certificate."""

# The ``mspid`` check goes by signature, not by name: a client certificate belongs to
# organization X when X's CA certificate names it as issuer *and* its key verifies the
# certificate's signature. Subject names alone can be forged by any CA the server trusts.

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from orchestrator.gateway.config import ConfigError, GatewayConfig

logger = logging.getLogger(__name__)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror}") from None


def load_certificates(path: Path, what: str) -> list[x509.Certificate]:
    """Every certificate of a PEM file.

    Raises:
        ConfigError: unreadable file or no certificate in it.
    """
    data = _read(path, what)
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        certificates = []
    if not certificates:
        raise ConfigError(f"{what} {path} holds no PEM certificate")
    return certificates


@dataclass(frozen=True)
class OrgCertificateAuthorities:
    """The CA certificates of each organization (``--org-ca MSPID=FILE``)."""

    by_mspid: Mapping[str, Sequence[x509.Certificate]]

    @classmethod
    def load(cls, entries: Iterable[tuple[str, Path]]) -> OrgCertificateAuthorities:
        by_mspid: dict[str, list[x509.Certificate]] = {}
        for mspid, path in entries:
            by_mspid.setdefault(mspid, []).extend(load_certificates(path, f"CA of {mspid}"))
        return cls(by_mspid)

    def issued_by(self, mspid: str, leaf: x509.Certificate) -> bool:
        """Whether one of ``mspid``'s CAs signed ``leaf`` (issuer name and signature both checked)."""
        for ca in self.by_mspid.get(mspid, ()):
            try:
                leaf.verify_directly_issued_by(ca)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return True
        return False

    def knows(self, mspid: str) -> bool:
        return mspid in self.by_mspid

    def pem_bundle(self) -> bytes:
        """Every CA as one PEM bundle (they are trusted for client authentication)."""
        from cryptography.hazmat.primitives.serialization import Encoding

        return b"".join(ca.public_bytes(Encoding.PEM) for cas in self.by_mspid.values() for ca in cas)


def server_credentials(config: GatewayConfig, org_cas: OrgCertificateAuthorities) -> grpc.ServerCredentials:
    """TLS credentials of the gRPC port; client certificates are required when any client or org CA is given.

    Raises:
        ConfigError: unreadable or invalid files.
    """
    if config.tls_cert is None or config.tls_key is None:
        raise ConfigError("TLS needs --tls-cert and --tls-key")
    key = _read(config.tls_key, "TLS key")
    chain = _read(config.tls_cert, "TLS certificate")
    load_certificates(config.tls_cert, "TLS certificate")
    if not config.mutual_tls:
        return grpc.ssl_server_credentials([(key, chain)])
    roots = b"".join(_read(path, "client CA") for path in config.tls_client_ca)
    for path in config.tls_client_ca:
        load_certificates(path, "client CA")
    roots += org_cas.pem_bundle()
    return grpc.ssl_server_credentials([(key, chain)], root_certificates=roots, require_client_auth=True)
