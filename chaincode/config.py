"""The chaincode server's configuration, from the environment the Fabric way (and upstream's names)."""

# Fabric's chaincode-as-a-service names come first (CHAINCODE_ID, CHAINCODE_SERVER_ADDRESS);
# upstream's names, which existing hlf-k8s deployments set (CHAINCODE_CCID, CHAINCODE_ADDRESS,
# TLS_KEY_FILE, TLS_CERT_FILE, TLS_ROOTCERT_FILE), are accepted too. TLS is on by default,
# with client authentication whenever a client CA is given (upstream always required both);
# CHAINCODE_TLS_DISABLED=true serves plaintext, for local use only.

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from orchestrator.chaincode.shim.server import TlsSettings

DEFAULT_ADDRESS: Final = "0.0.0.0:7052"
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"", "0", "false", "no", "off"})
_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(Exception):
    """The environment does not describe a chaincode server that can start."""


@dataclass(frozen=True)
class ChaincodeConfig:
    """Everything ``orchestrator-chaincode`` needs to serve."""

    ccid: str
    address: str = DEFAULT_ADDRESS
    tls: TlsSettings | None = None
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ChaincodeConfig:
        """Read the configuration.

        Raises:
            ConfigError: a required variable is missing, a value is invalid or a TLS file is unreadable.
        """
        env = os.environ if env is None else env
        ccid = _first(env, "CHAINCODE_ID", "CHAINCODE_CCID")
        if not ccid:
            raise ConfigError("CHAINCODE_ID (or CHAINCODE_CCID) must be set to the package id the peer installed")
        address = _first(env, "CHAINCODE_SERVER_ADDRESS", "CHAINCODE_ADDRESS") or DEFAULT_ADDRESS
        if ":" not in address or not address.rsplit(":", 1)[1].isdigit():
            raise ConfigError(f"CHAINCODE_SERVER_ADDRESS must be HOST:PORT, got {address!r}")
        log_level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
        if log_level not in _LEVELS:
            raise ConfigError(f"LOG_LEVEL must be one of {', '.join(_LEVELS)}, got {log_level!r}")
        return cls(ccid, address, None if _tls_disabled(env) else _tls(env), log_level)

    @property
    def log_level_number(self) -> int:
        return int(getattr(logging, self.log_level))


def _first(env: Mapping[str, str], *names: str) -> str:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return ""


def _tls_disabled(env: Mapping[str, str]) -> bool:
    value = env.get("CHAINCODE_TLS_DISABLED", "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"CHAINCODE_TLS_DISABLED must be true or false, got {value!r}")


def _tls(env: Mapping[str, str]) -> TlsSettings:
    key_file = _first(env, "CHAINCODE_TLS_KEY_FILE", "TLS_KEY_FILE")
    cert_file = _first(env, "CHAINCODE_TLS_CERT_FILE", "TLS_CERT_FILE")
    if not key_file or not cert_file:
        raise ConfigError("TLS is on: set CHAINCODE_TLS_KEY_FILE and CHAINCODE_TLS_CERT_FILE (or TLS_KEY_FILE and "
                          "TLS_CERT_FILE), or CHAINCODE_TLS_DISABLED=true to serve plaintext")
    client_ca_file = _first(env, "CHAINCODE_TLS_CLIENT_CACERT_FILE", "TLS_ROOTCERT_FILE")
    return TlsSettings(
        key=_read(key_file, "TLS key"), cert=_read(cert_file, "TLS certificate"),
        client_ca=_read(client_ca_file, "TLS client CA") if client_ca_file else None,
    )


def _read(path: str, what: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} {path}: {exc.strerror}") from exc
    if b"-----BEGIN" not in data:
        raise ConfigError(f"the {what} {path} is not PEM")
    return data


__all__ = ["DEFAULT_ADDRESS", "ChaincodeConfig", "ConfigError"]
