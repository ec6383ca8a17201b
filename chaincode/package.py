"""The chaincode-as-a-service package that `peer lifecycle chaincode install` accepts."""

# A ccaas package is a tar.gz holding ``metadata.json`` (type ``ccaas`` and the label) and
# ``code.tar.gz``, which holds ``connection.json``: where the peer dials the chaincode and
# with which TLS settings (PEM inlined, as Fabric's ccaas builder reads them). The archives
# are byte-reproducible (fixed order, times and owners), so building the same package twice,
# on any machine, gives the same package id (``<label>:<sha256 of the package>``).

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
from dataclasses import dataclass
from typing import Final

#: Fabric's ``persistence.LabelRegexp``.
LABEL_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
_DURATION: Final = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")  # Go's time.ParseDuration syntax


class PackageError(ValueError):
    """The package settings are inconsistent (the peer would refuse them or fail to dial)."""


@dataclass(frozen=True)
class Connection:
    """``connection.json``: Fabric's ccaas builder fields."""

    address: str
    dial_timeout: str = "10s"
    tls_required: bool = False
    client_auth_required: bool = False
    root_cert: str = ""  # CA of the chaincode server's certificate
    client_key: str = ""  # the peer's client pair, for mutual TLS
    client_cert: str = ""

    def validate(self) -> None:
        """Raises: PackageError: naming the first inconsistent setting."""
        host, _, port = self.address.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise PackageError(f"--address must be HOST:PORT, got {self.address!r}")
        if not _DURATION.match(self.dial_timeout):
            raise PackageError(f"--dial-timeout must be a duration such as 10s, got {self.dial_timeout!r}")
        if self.tls_required and not self.root_cert:
            raise PackageError("--tls-required needs --root-cert (the CA the peer verifies the chaincode with)")
        if self.client_auth_required and not self.tls_required:
            raise PackageError("--client-auth-required needs --tls-required")
        if self.client_auth_required and not (self.client_key and self.client_cert):
            raise PackageError("--client-auth-required needs --client-key and --client-cert")
        if bool(self.client_key) != bool(self.client_cert):
            raise PackageError("--client-key and --client-cert go together")

    def to_json(self) -> bytes:
        body = {"address": self.address, "dial_timeout": self.dial_timeout, "tls_required": self.tls_required}
        if self.tls_required:
            body.update(client_auth_required=self.client_auth_required, root_cert=self.root_cert,
                        client_key=self.client_key, client_cert=self.client_cert)
        return json.dumps(body, indent=2).encode("utf-8") + b"\n"


def _tar_gz(files: list[tuple[str, bytes]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def build_package(label: str, connection: Connection) -> bytes:
    """The package bytes.

    Raises:
        PackageError: invalid label or connection settings.
    """
    if not LABEL_PATTERN.match(label):
        raise PackageError(f"invalid label {label!r}: alphanumerics and '.+-_', starting with an alphanumeric")
    connection.validate()
    code = _tar_gz([("connection.json", connection.to_json())])
    metadata = json.dumps({"type": "ccaas", "label": label}).encode("utf-8")
    return _tar_gz([("metadata.json", metadata), ("code.tar.gz", code)])


def package_id(label: str, package: bytes) -> str:
    """The id the peer gives the installed package (``CHAINCODE_ID``)."""
    return f"{label}:{hashlib.sha256(package).hexdigest()}"


__all__ = ["LABEL_PATTERN", "Connection", "PackageError", "build_package", "package_id"]
