"""Fabric mode settings: per organization a signing identity and peer endpoints, tuning, environment overrides."""

# The gateway's YAML file keeps an ``organizations:`` section for this module::
#
#     organizations:
#       MyOrg1MSP:
#         identity: {certificate: FILE, key: FILE}      # or {msp_dir: DIR} (signcerts/, keystore/)
#         peers:
#           - address: peer0.org1:7051
#             tls_ca: FILE                              # absent: plaintext (a warning is logged)
#             server_name_override: ""                  # TLS name to verify instead of the host
#             tls_client_certificate: FILE              # mutual TLS with the peer (both or neither)
#             tls_client_key: FILE
#             max_in_flight: 500                        # our bound on calls in flight to this peer
#         connection_profile: FILE                      # peers of this MSP from a Fabric connection profile
#
# Relative paths are relative to the configuration file. Environment variables override the
# file: ``ORCHESTRATOR_MSPID`` with ``ORCHESTRATOR_FABRIC_CERT``/``ORCHESTRATOR_FABRIC_KEY``
# (upstream's names) give that organization's identity; ``ORCHESTRATOR_FABRIC_<ORG>_CERT``,
# ``_KEY``, ``_MSP_DIR``, ``_PEERS`` (``host:port,…``), ``_TLS_CA``, ``_SERVER_NAME_OVERRIDE``,
# ``_TLS_CLIENT_CERT``, ``_TLS_CLIENT_KEY`` (``<ORG>``: the MSP ID upper-cased, other characters
# as ``_``) set any organization's; ``ORCHESTRATOR_NETWORK_CONFIG`` (upstream) or
# ``ORCHESTRATOR_FABRIC_CONNECTION_PROFILE`` names a connection profile whose peers serve the
# organizations that list none. Tuning: ``ORCHESTRATOR_FABRIC_EVALUATE_TIMEOUT``,
# ``_ENDORSE_TIMEOUT``, ``_SUBMIT_TIMEOUT``, ``_COMMIT_TIMEOUT`` (upstream's
# ``ORCHESTRATOR_FABRIC_GATEWAY_TIMEOUT`` too), ``_CALL_TIMEOUT``, ``_MVCC_RETRIES``,
# ``_RETRY_BACKOFF``, ``_RETRY_BACKOFF_MAX``, ``_MAX_IN_FLIGHT`` (seconds accept Go durations
# such as ``500ms`` or ``1m30s``).

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import grpc
import grpc.aio
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from orchestrator.gateway.config import ConfigError
from orchestrator.gateway.fabric.client import DEFAULT_MAX_IN_FLIGHT
from orchestrator.gateway.fabric.signing import IdentityError, SigningIdentity, load_signing_identity

logger = logging.getLogger(__name__)

#: Largest message to or from a peer (a 1,000-task batch's prepared transaction is several MiB).
MAX_MESSAGE: Final = 256 * 1024 * 1024
_PEER_KEYS: Final = frozenset({"address", "tls_ca", "server_name_override", "tls_client_certificate",
                               "tls_client_key", "max_in_flight"})
_ORG_KEYS: Final = frozenset({"identity", "peers", "connection_profile"})
_DURATION: Final = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS: Final = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class PeerConfig:
    """One peer endpoint of an organization, with its TLS material loaded."""

    address: str
    tls_ca: bytes | None = None
    server_name_override: str = ""
    tls_client_certificate: bytes | None = None
    tls_client_key: bytes | None = None
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT

    @property
    def tls(self) -> bool:
        return self.tls_ca is not None

    def __post_init__(self) -> None:
        if self.tls_client_certificate:
            try:
                x509.load_pem_x509_certificate(self.tls_client_certificate)
            except ValueError:
                raise ConfigError(f"peer {self.address}: tls_client_certificate is not a PEM certificate") from None

    @functools.cached_property
    def tls_cert_hash(self) -> bytes:
        """SHA-256 of the client certificate presented to the peer, or empty without mutual TLS.

        A peer that requires client certificates refuses a Deliver request whose channel header does not
        carry this hash: it binds the signed request to the TLS session that sends it.
        """
        if not self.tls_client_certificate:
            return b""
        leaf = x509.load_pem_x509_certificate(self.tls_client_certificate)  # the first of a chain
        return hashlib.sha256(leaf.public_bytes(serialization.Encoding.DER)).digest()

    def _channel_options(self) -> list[tuple[str, Any]]:
        options: list[tuple[str, Any]] = [
            ("grpc.max_receive_message_length", MAX_MESSAGE), ("grpc.max_send_message_length", MAX_MESSAGE),
            ("grpc.keepalive_time_ms", 60_000), ("grpc.keepalive_timeout_ms", 20_000),
            ("grpc.initial_reconnect_backoff_ms", 100), ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 2_000), ("grpc.enable_retries", 0),
        ]
        if self.server_name_override:
            options.append(("grpc.ssl_target_name_override", self.server_name_override))
        return options

    def _credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.tls_ca, private_key=self.tls_client_key,
            certificate_chain=self.tls_client_certificate)

    def dial(self) -> grpc.Channel:
        """A gRPC channel to the peer, meant to live as long as the process and be shared by every call.

        It reconnects within seconds after a peer restart (short reconnect backoff) and carries the large
        messages a 1,000-task batch produces.
        """
        if not self.tls:
            return grpc.insecure_channel(self.address, options=self._channel_options())
        return grpc.secure_channel(self.address, self._credentials(), options=self._channel_options())

    def dial_async(self) -> grpc.aio.Channel:
        """The same channel for the calling event loop: its calls complete on the loop, with no thread between.

        Call it from a coroutine running on that loop; the channel serves that loop only.
        """
        if not self.tls:
            return grpc.aio.insecure_channel(self.address, options=self._channel_options())
        return grpc.aio.secure_channel(self.address, self._credentials(), options=self._channel_options())


@dataclass(frozen=True)
class OrganizationConfig:
    """An organization the gateway may act for (with an identity) or read from (peers only)."""

    mspid: str
    identity: SigningIdentity | None
    peers: tuple[PeerConfig, ...]


@dataclass(frozen=True)
class FabricSettings:
    """Timeouts (seconds) and retry policy of Fabric calls."""

    evaluate_timeout: float = 30.0
    endorse_timeout: float = 30.0
    submit_timeout: float = 10.0
    commit_timeout: float = 60.0  # waiting for one transaction's commit status before retrying it
    call_timeout: float = 120.0  # a call whose client set no deadline
    mvcc_retries: int = 16
    retry_backoff: float = 0.01
    retry_backoff_max: float = 1.0
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT


@dataclass(frozen=True)
class FabricConfig:
    """Everything the Fabric invoker needs."""

    organizations: Mapping[str, OrganizationConfig]
    settings: FabricSettings = field(default_factory=FabricSettings)

    def identity(self, mspid: str) -> SigningIdentity | None:
        organization = self.organizations.get(mspid)
        return None if organization is None else organization.identity


def duration(text: str) -> float:
    """Seconds from ``"1.5"`` or a Go duration (``"500ms"``, ``"1m30s"``).

    Raises:
        ValueError: neither form.
    """
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        pos, total = 0, 0.0
        for match in _DURATION.finditer(text):
            if match.start() != pos:
                break
            total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
            pos = match.end()
        if pos != len(text) or not text:
            raise ValueError(f"{text!r} is not a duration (seconds, or like 500ms, 20s, 1m30s)") from None
        value = total
    if value < 0:
        raise ValueError(f"{text!r} is negative")
    return value


def env_name(mspid: str) -> str:
    """The ``<ORG>`` part of per-organization variables: ``MyOrg1MSP`` -> ``MYORG1MSP``."""
    return re.sub(r"[^A-Z0-9]", "_", mspid.upper())


def _path(value: Any, base: Path | None, where: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: expected a file path")
    path = Path(value).expanduser()
    return path if path.is_absolute() or base is None else base / path


def _read(value: Any, base: Path | None, where: str) -> bytes:
    path = _path(value, base, where)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {path}: {exc.strerror}") from None


def _address(value: Any, where: str) -> str:
    text = str(value or "").strip()
    for prefix in ("grpcs://", "grpc://"):
        text = text.removeprefix(prefix)
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) <= 65535:
        raise ConfigError(f"{where}: {value!r} is not HOST:PORT")
    return text


def _peer(entry: Any, base: Path | None, where: str, default_in_flight: int) -> PeerConfig:
    if isinstance(entry, str):
        entry = {"address": entry}
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: expected a mapping with at least 'address'")
    unknown = set(entry) - _PEER_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(sorted(map(str, unknown)))}")
    client_cert, client_key = entry.get("tls_client_certificate") or "", entry.get("tls_client_key") or ""
    if bool(client_cert) != bool(client_key):
        raise ConfigError(f"{where}: tls_client_certificate and tls_client_key go together")
    in_flight = entry.get("max_in_flight", default_in_flight)
    if not isinstance(in_flight, int) or isinstance(in_flight, bool) or in_flight < 1:
        raise ConfigError(f"{where}: max_in_flight must be a positive integer")
    tls_ca = entry.get("tls_ca") or ""
    return PeerConfig(
        address=_address(entry.get("address"), f"{where}: address"),
        tls_ca=_read(tls_ca, base, f"{where}: tls_ca") if tls_ca else None,
        server_name_override=str(entry.get("server_name_override") or ""),
        tls_client_certificate=_read(client_cert, base, f"{where}: tls_client_certificate") if client_cert else None,
        tls_client_key=_read(client_key, base, f"{where}: tls_client_key") if client_key else None,
        max_in_flight=in_flight,
    )


def _msp_dir_files(directory: Path, where: str) -> tuple[Path, Path]:
    """The certificate and key of a Fabric MSP folder (``signcerts/*.pem``, ``keystore/*``)."""
    certs = sorted((directory / "signcerts").glob("*.pem"))
    keys = sorted(p for p in (directory / "keystore").glob("*") if p.is_file())
    if len(certs) != 1 or len(keys) != 1:
        raise ConfigError(f"{where}: {directory} must hold exactly one signcerts/*.pem and one keystore/ key "
                          f"(found {len(certs)} and {len(keys)})")
    return certs[0], keys[0]


def _identity(mspid: str, spec: Mapping[str, Any], base: Path | None, where: str) -> SigningIdentity | None:
    if not spec:
        return None
    unknown = set(spec) - {"certificate", "key", "msp_dir"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(sorted(map(str, unknown)))}")
    if spec.get("msp_dir"):
        certificate, key = _msp_dir_files(_path(spec["msp_dir"], base, f"{where}: msp_dir"), where)
    elif spec.get("certificate") and spec.get("key"):
        certificate = _path(spec["certificate"], base, f"{where}: certificate")
        key = _path(spec["key"], base, f"{where}: key")
    else:
        raise ConfigError(f"{where}: give certificate and key, or msp_dir")
    try:
        return load_signing_identity(mspid, certificate, key)
    except IdentityError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def connection_profile_peers(path: Path, default_in_flight: int = DEFAULT_MAX_IN_FLIGHT
                             ) -> dict[str, tuple[PeerConfig, ...]]:
    """Peers per MSP ID from a Fabric (common) connection profile, YAML or JSON.

    Raises:
        ConfigError: unreadable, or a peer without a usable ``url``.
    """
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read connection profile {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"connection profile {path} is not valid YAML/JSON: {exc}") from None
    base = path.parent
    peers_section = document.get("peers") or {}
    found: dict[str, tuple[PeerConfig, ...]] = {}
    for name, org in (document.get("organizations") or {}).items():
        mspid = (org or {}).get("mspid")
        if not mspid:
            continue
        peers = []
        for peer_name in org.get("peers") or []:
            peer = peers_section.get(peer_name)
            where = f"connection profile {path}: peer {peer_name} of {name}"
            if not isinstance(peer, Mapping) or not peer.get("url"):
                raise ConfigError(f"{where}: no url")
            url = str(peer["url"])
            tls_ca: bytes | None = None
            ca = peer.get("tlsCACerts") or {}
            if ca.get("pem"):
                tls_ca = (ca["pem"] if isinstance(ca["pem"], str) else "".join(ca["pem"])).encode()
            elif ca.get("path"):
                tls_ca = _read(ca["path"], base, f"{where}: tlsCACerts.path")
            if url.startswith("grpcs://") and tls_ca is None:
                raise ConfigError(f"{where}: grpcs:// needs tlsCACerts")
            options = peer.get("grpcOptions") or {}
            override = str(options.get("ssl-target-name-override") or options.get("hostnameOverride") or "")
            peers.append(PeerConfig(_address(url, f"{where}: url"), tls_ca if not url.startswith("grpc://") else None,
                                    override, max_in_flight=default_in_flight))
        found[mspid] = tuple(peers)
    return found


def _float(environ: Mapping[str, str], name: str, default: float) -> float:
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        return duration(value)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None


def _int(environ: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    value = environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < minimum:
        raise ConfigError(f"{name}: {value!r} is not an integer >= {minimum}")
    return int(value)


def settings_from(environ: Mapping[str, str]) -> FabricSettings:
    """Tuning from ``ORCHESTRATOR_FABRIC_*`` variables (defaults otherwise)."""
    defaults = FabricSettings()
    prefix = "ORCHESTRATOR_FABRIC_"
    commit = _float(environ, prefix + "GATEWAY_TIMEOUT", defaults.commit_timeout)
    return FabricSettings(
        evaluate_timeout=_float(environ, prefix + "EVALUATE_TIMEOUT", defaults.evaluate_timeout),
        endorse_timeout=_float(environ, prefix + "ENDORSE_TIMEOUT", defaults.endorse_timeout),
        submit_timeout=_float(environ, prefix + "SUBMIT_TIMEOUT", defaults.submit_timeout),
        commit_timeout=_float(environ, prefix + "COMMIT_TIMEOUT", commit),
        call_timeout=_float(environ, prefix + "CALL_TIMEOUT", defaults.call_timeout),
        mvcc_retries=_int(environ, prefix + "MVCC_RETRIES", defaults.mvcc_retries, 0),
        retry_backoff=_float(environ, prefix + "RETRY_BACKOFF", defaults.retry_backoff),
        retry_backoff_max=_float(environ, prefix + "RETRY_BACKOFF_MAX", defaults.retry_backoff_max),
        max_in_flight=_int(environ, prefix + "MAX_IN_FLIGHT", defaults.max_in_flight, 1),
    )


def parse_fabric_config(
    organizations: Mapping[str, Any], *, base_dir: Path | None = None, environ: Mapping[str, str] | None = None,
) -> FabricConfig:
    """The Fabric configuration from the raw ``organizations:`` section and the environment.

    Raises:
        ConfigError: a missing or unreadable file, an invalid key pair, a malformed entry (the message names it).
    """
    environ = environ if environ is not None else {}
    settings = settings_from(environ)
    raw: dict[str, dict[str, Any]] = {}
    for mspid, entry in (organizations or {}).items():
        if not isinstance(entry, Mapping):
            raise ConfigError(f"organizations: {mspid}: expected a mapping with identity and peers")
        unknown = set(entry) - _ORG_KEYS
        if unknown:
            raise ConfigError(f"organizations: {mspid}: unknown keys {', '.join(sorted(map(str, unknown)))}")
        raw[str(mspid)] = dict(entry)

    upstream_mspid = environ.get("ORCHESTRATOR_MSPID", "").strip()
    candidates = list(raw) + ([upstream_mspid] if upstream_mspid and upstream_mspid not in raw else [])
    for mspid in candidates:
        entry = raw.get(mspid, {})
        prefix = f"ORCHESTRATOR_FABRIC_{env_name(mspid)}_"

        def value(suffix: str, prefix: str = prefix) -> str:
            return environ.get(prefix + suffix, "").strip()

        cert, key = value("CERT"), value("KEY")
        if mspid == upstream_mspid:
            cert = cert or environ.get("ORCHESTRATOR_FABRIC_CERT", "").strip()
            key = key or environ.get("ORCHESTRATOR_FABRIC_KEY", "").strip()
        if cert or key:
            entry["identity"], entry["_env_identity"] = {"certificate": cert, "key": key}, True
        elif value("MSP_DIR"):
            entry["identity"], entry["_env_identity"] = {"msp_dir": value("MSP_DIR")}, True
        peer_entries = [p if isinstance(p, Mapping) else {"address": p} for p in entry.get("peers") or []]
        if value("PEERS"):
            template = {k: v for k, v in (peer_entries[0] if peer_entries else {}).items() if k != "address"}
            peer_entries = [{**template, "address": a.strip()} for a in value("PEERS").split(",") if a.strip()]
            entry["_env_peers"] = True
        for suffix, peer_key in (("TLS_CA", "tls_ca"), ("SERVER_NAME_OVERRIDE", "server_name_override"),
                                 ("TLS_CLIENT_CERT", "tls_client_certificate"),
                                 ("TLS_CLIENT_KEY", "tls_client_key")):
            if value(suffix):
                peer_entries = [{**p, peer_key: value(suffix)} for p in peer_entries]
                entry["_env_peers"] = True
        if peer_entries:
            entry["peers"] = peer_entries
        if entry:
            raw[mspid] = entry

    profile_path = environ.get("ORCHESTRATOR_FABRIC_CONNECTION_PROFILE", "").strip() or \
        environ.get("ORCHESTRATOR_NETWORK_CONFIG", "").strip()
    profile_peers: dict[str, tuple[PeerConfig, ...]] = {}
    if profile_path:
        profile_peers = connection_profile_peers(Path(profile_path), settings.max_in_flight)

    parsed: dict[str, OrganizationConfig] = {}
    for mspid, entry in raw.items():
        where = f"organizations: {mspid}"
        file_base = None if entry.get("_env_identity") else base_dir
        identity = _identity(mspid, entry.get("identity") or {}, file_base, f"{where}: identity")
        peer_base = None if entry.get("_env_peers") else base_dir
        peers = tuple(_peer(p, peer_base, f"{where}: peers[{i}]", settings.max_in_flight)
                      for i, p in enumerate(entry.get("peers") or []))
        if entry.get("connection_profile"):
            from_profile = connection_profile_peers(
                _path(entry["connection_profile"], base_dir, f"{where}: connection_profile"), settings.max_in_flight)
            peers = peers or from_profile.get(mspid, ())
        if not peers:
            peers = profile_peers.get(mspid, ())
        if not peers:
            raise ConfigError(f"{where}: no peer endpoint (give peers:, connection_profile:, "
                              f"ORCHESTRATOR_FABRIC_{env_name(mspid)}_PEERS or a connection profile listing it)")
        for peer in peers:
            if not peer.tls:
                logger.warning("peer %s of %s is reached without TLS", peer.address, mspid)
        parsed[mspid] = OrganizationConfig(mspid, identity, peers)
    if not any(org.identity is not None for org in parsed.values()):
        raise ConfigError("fabric mode needs at least one organization with a signing identity "
                          "(organizations: MSPID: identity: {certificate, key})")
    return FabricConfig(parsed, settings)


__all__ = [
    "FabricConfig", "FabricSettings", "OrganizationConfig", "PeerConfig", "connection_profile_peers", "duration",
    "env_name", "parse_fabric_config", "settings_from",
]
