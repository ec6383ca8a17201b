"""Forwarder configuration: command-line flags, each with an ``ORCHESTRATOR_FORWARDER_*`` variable."""

# Precedence: flag, then environment variable, then default. ``--some-option`` reads
# ``ORCHESTRATOR_FORWARDER_SOME_OPTION``. Repeatable flags take several values in their
# variable: ``--channel`` comma-separated (``mychannel,yourchannel``), ``--queue`` separated by
# ``;`` or whitespace since a queue's channels are comma-separated
# (``MyOrg1MSP=mychannel,yourchannel;MyOrg2MSP=mychannel``).

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit

import orchestrator

ENV_PREFIX: Final = "ORCHESTRATOR_FORWARDER_"
LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")
_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class ConfigError(ValueError):
    """The configuration is invalid; the message names the setting and says why."""


@dataclass(frozen=True)
class ChannelTarget:
    """One channel to forward, and the chaincode header to send (empty: none)."""

    name: str
    chaincode: str = ""


@dataclass(frozen=True)
class ForwarderConfig:
    """Everything the forwarder needs to start."""

    gateway: str
    mspid: str
    channels: tuple[ChannelTarget, ...]
    amqp_url: str
    state_dir: Path
    queues: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    metrics_listen: str | None = None
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_server_name: str | None = None
    amqp_ca: Path | None = None
    confirm_window: int = 2000
    checkpoint_interval: float = 0.2
    startup_timeout: float = 60.0
    reconnect_max_delay: float = 10.0
    lag_interval: float = 5.0
    log_level: str = "INFO"

    @property
    def amqp_endpoint(self) -> str:
        """``host:port/vhost`` of the broker, without credentials: what logs and errors may show."""
        parts = urlsplit(self.amqp_url)
        default = 5671 if parts.scheme == "amqps" else 5672
        vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
        return f"{parts.hostname}:{parts.port or default} vhost {vhost!r}"

    @property
    def amqp_user(self) -> str:
        return unquote(urlsplit(self.amqp_url).username or "guest")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orchestrator-forwarder",
        description="Publish the events of a gateway's SubscribeToEvents streams to RabbitMQ, "
                    "in upstream's exchange/queue topology and JSON format.",
        epilog="Every option has an environment variable: --some-option reads "
               f"{ENV_PREFIX}SOME_OPTION.",
    )
    add = parser.add_argument
    add("--version", action="version", version=f"%(prog)s {orchestrator.__version__}")
    add("--gateway", metavar="HOST:PORT", help="the gateway's gRPC address (required)")
    add("--mspid", help="the organization the forwarder calls as (header mspid; required)")
    add("--channel", action="append", metavar="NAME[:CHAINCODE]",
        help="a channel to forward (repeatable; at least one); :CHAINCODE overrides --chaincode")
    add("--chaincode", help="chaincode header sent for every channel without its own (Fabric mode)")
    add("--amqp-url", metavar="URL", help="amqp://user:password@host:port/vhost or amqps://… (required)")
    add("--amqp-ca", metavar="PEM", help="CA bundle verifying the broker's certificate (amqps)")
    add("--state-dir", metavar="DIR", help="where per-channel checkpoints are kept (default: forwarder-state)")
    add("--queue", action="append", metavar="MSPID=CHANNEL[,CHANNEL...]",
        help="declare a durable queue named MSPID bound to these channels' exchanges (repeatable)")
    add("--metrics-listen", metavar="HOST:PORT", help="serve /metrics, /healthz and /readyz over HTTP")
    add("--tls-ca", metavar="PEM", help="CA bundle verifying the gateway's certificate: turns TLS on")
    add("--tls-cert", metavar="PEM", help="client certificate for mutual TLS (with --tls-key)")
    add("--tls-key", metavar="PEM", help="client private key for mutual TLS (with --tls-cert)")
    add("--tls-server-name", metavar="NAME", help="name expected in the gateway's certificate")
    add("--confirm-window", metavar="N", help="events published and not yet confirmed, at most (default 2000)")
    add("--checkpoint-interval", metavar="SECONDS", help="how often confirmed progress is saved (default 0.2)")
    add("--startup-timeout", metavar="SECONDS",
        help="how long an unreachable broker is retried at start-up before giving up (default 60)")
    add("--reconnect-max-delay", metavar="SECONDS", help="longest wait between reconnection attempts (default 10)")
    add("--lag-interval", metavar="SECONDS", help="how often the ledger's newest event is read for lag (default 5)")
    add("--log-level", choices=LOG_LEVELS, help="default INFO")
    return parser


def _value(args: argparse.Namespace, env: Mapping[str, str], name: str) -> str | None:
    given = getattr(args, name)
    if given is not None:
        return str(given)
    from_env = env.get(ENV_PREFIX + name.upper())
    return from_env if from_env not in (None, "") else None


def _values(args: argparse.Namespace, env: Mapping[str, str], name: str, separator: str) -> list[str]:
    given = getattr(args, name)
    if given:
        return list(given)
    raw = env.get(ENV_PREFIX + name.upper(), "")
    return [part.strip() for part in re.split(separator, raw) if part.strip()]


def _number(text: str | None, setting: str, default: float, *, integer: bool = False) -> float:
    if text is None:
        return default
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise ConfigError(f"--{setting}: {text!r} is not a {'whole ' if integer else ''}number") from None
    if value <= 0:
        raise ConfigError(f"--{setting}: must be positive, got {text}")
    return value


def _path(text: str | None, setting: str) -> Path | None:
    if text is None:
        return None
    path = Path(text)
    if not path.is_file():
        raise ConfigError(f"--{setting}: {text} is not a readable file")
    return path


def _check_amqp_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"--amqp-url: not a valid URL ({exc})") from None
    if parts.scheme not in ("amqp", "amqps"):
        raise ConfigError(f"--amqp-url: the scheme must be amqp or amqps, got {parts.scheme or 'none'!r}")
    if not parts.hostname:
        raise ConfigError("--amqp-url: no host (expected amqp://user:password@host:port/vhost)")
    if port == 0:
        raise ConfigError("--amqp-url: port 0 is not a broker port")


def _channels(values: Sequence[str], chaincode: str) -> tuple[ChannelTarget, ...]:
    targets: dict[str, ChannelTarget] = {}
    for value in values:
        name, _, own = value.partition(":")
        name, own = name.strip(), own.strip()
        if not _NAME.match(name):
            raise ConfigError(f"--channel: {value!r} is not a channel name")
        if name in targets:
            raise ConfigError(f"--channel: {name} is given twice")
        targets[name] = ChannelTarget(name, own or chaincode)
    if not targets:
        raise ConfigError("--channel: at least one channel is required")
    return tuple(targets.values())


def _queues(values: Sequence[str], channels: Sequence[ChannelTarget]) -> dict[str, tuple[str, ...]]:
    known = {channel.name for channel in channels}
    queues: dict[str, tuple[str, ...]] = {}
    for value in values:
        mspid, sep, listed = value.partition("=")
        mspid = mspid.strip()
        names = tuple(dict.fromkeys(part.strip() for part in listed.split(",") if part.strip()))
        if not sep or not _NAME.match(mspid) or not names:
            raise ConfigError(f"--queue: {value!r} is not MSPID=CHANNEL[,CHANNEL...]")
        if mspid in queues:
            raise ConfigError(f"--queue: {mspid} is given twice")
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ConfigError(f"--queue: {mspid} is bound to {', '.join(unknown)}, which no --channel forwards")
        queues[mspid] = names
    return queues


def load_config(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> ForwarderConfig:
    """The configuration from ``argv`` (default: ``sys.argv``) and ``env`` (default: ``os.environ``).

    Raises:
        ConfigError: a required setting is missing or a value is invalid.
    """
    env = os.environ if env is None else env
    args = _parser().parse_args(argv)
    required = {name: _value(args, env, name) for name in ("gateway", "mspid", "amqp_url")}
    missing = [f"--{name.replace('_', '-')}" for name, value in required.items() if value is None]
    if missing:
        raise ConfigError(f"missing required setting(s): {', '.join(missing)}")
    gateway, mspid, amqp_url = (str(required[name]) for name in ("gateway", "mspid", "amqp_url"))
    host, sep, port = gateway.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"--gateway: {gateway!r} is not HOST:PORT")
    _check_amqp_url(amqp_url)
    channels = _channels(_values(args, env, "channel", ","), _value(args, env, "chaincode") or "")
    tls = {name: _path(_value(args, env, name), name.replace("_", "-"))
           for name in ("tls_ca", "tls_cert", "tls_key", "amqp_ca")}
    if (tls["tls_cert"] is None) != (tls["tls_key"] is None):
        raise ConfigError("--tls-cert and --tls-key go together (mutual TLS)")
    if tls["tls_cert"] is not None and tls["tls_ca"] is None:
        raise ConfigError("--tls-cert needs --tls-ca: mutual TLS runs over TLS")
    metrics_listen = _value(args, env, "metrics_listen")
    if metrics_listen is not None and not re.match(r"^(\[[0-9a-fA-F:]+\]|[^:]+):\d+$", metrics_listen):
        raise ConfigError(f"--metrics-listen: {metrics_listen!r} is not HOST:PORT")
    return ForwarderConfig(
        gateway=gateway, mspid=mspid, channels=channels, amqp_url=amqp_url,
        state_dir=Path(_value(args, env, "state_dir") or "forwarder-state"),
        queues=_queues(_values(args, env, "queue", r"[;\s]+"), channels),
        metrics_listen=metrics_listen,
        tls_ca=tls["tls_ca"], tls_cert=tls["tls_cert"], tls_key=tls["tls_key"], amqp_ca=tls["amqp_ca"],
        tls_server_name=_value(args, env, "tls_server_name"),
        confirm_window=int(_number(_value(args, env, "confirm_window"), "confirm-window", 2000, integer=True)),
        checkpoint_interval=_number(_value(args, env, "checkpoint_interval"), "checkpoint-interval", 0.2),
        startup_timeout=_number(_value(args, env, "startup_timeout"), "startup-timeout", 60.0),
        reconnect_max_delay=_number(_value(args, env, "reconnect_max_delay"), "reconnect-max-delay", 10.0),
        lag_interval=_number(_value(args, env, "lag_interval"), "lag-interval", 5.0),
        log_level=_value(args, env, "log_level") or "INFO",
    )
