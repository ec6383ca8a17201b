"""Gateway configuration: command-line flags, ``ORCHESTRATOR_*`` variables and an optional YAML file."""

# Precedence, highest first: flag, environment variable, YAML file (``--config``), default.
# Every flag ``--some-option`` has the variable ``ORCHESTRATOR_SOME_OPTION`` and the YAML key
# ``some_option``; repeatable flags take a comma-separated variable
# (``ORCHESTRATOR_ORG_CA=Org1MSP=a.pem,Org2MSP=b.pem``). The YAML file also holds the channel
# configuration (who may use which channel, upstream's ``channels:`` file, in its short form
# ``{channel: [MSPID, ...]}`` or the long form ``{channel: {organizations: [...], chaincodes: [...]}}``)
# and, for the Fabric mode, an ``organizations:`` section kept as given.

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

import orchestrator

ENV_PREFIX: Final = "ORCHESTRATOR_"
MODE_ALIASES: Final = {"standalone": "embedded", "distributed": "fabric"}  # upstream's ORCHESTRATOR_MODE values
LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS: Final = ("text", "json")
SYNCHRONOUS: Final = ("NORMAL", "FULL")
_SIZE: Final = re.compile(r"^\s*(\d+)\s*(B|KIB|MIB|GIB|K|M|G)?\s*$", re.IGNORECASE)
_UNITS: Final = {"": 1, "B": 1, "K": 1024, "KIB": 1024, "M": 1024**2, "MIB": 1024**2, "G": 1024**3, "GIB": 1024**3}


class ConfigError(ValueError):
    """The configuration is invalid; the message says which setting and why."""


#: ``--event-buffer N`` (deprecated, a count of events) stands for N times this many bytes.
EVENT_BUFFER_BYTES_PER_EVENT: Final = 4096


@dataclass(frozen=True)
class ChannelAccess:
    """Who may use one channel, and with which chaincodes (empty: any)."""

    organizations: frozenset[str]
    chaincodes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChannelConfig:
    """Channels and their members; ``channels is None`` means no configuration: everything is allowed."""

    channels: Mapping[str, ChannelAccess] | None = None

    @property
    def restricted(self) -> bool:
        return self.channels is not None

    def default_chaincodes(self) -> dict[str, str]:
        """Per channel, the first listed chaincode: the ledger of calls without a ``chaincode`` header."""
        return {name: access.chaincodes[0] for name, access in (self.channels or {}).items() if access.chaincodes}

    def organizations(self) -> frozenset[str]:
        """Every organization listed under some channel."""
        return frozenset().union(*(access.organizations for access in (self.channels or {}).values()))


@dataclass(frozen=True)
class GatewayConfig:
    """Everything the gateway needs to start."""

    mode: str = "embedded"
    listen: str = "127.0.0.1:9000"
    data_dir: Path = Path("orchestrator-data")
    metrics_listen: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: tuple[Path, ...] = ()
    org_ca: tuple[tuple[str, Path], ...] = ()
    log_level: str = "INFO"
    log_format: str = "text"
    max_message_size: int = 4 * 1024 * 1024
    max_response_size: int = 64 * 1024 * 1024
    max_response_bytes: int = 4 * 1024 * 1024
    max_ledgers: int = 8
    subscriber_buffer_bytes: int = 8 * 1024 * 1024
    ledger_cache_bytes: int = 32 * 1024 * 1024
    event_cache_bytes: int = 4 * 1024 * 1024
    grace_period: float = 15.0
    workers: int = 8
    fabric_failover: bool = True
    event_buffer: int | None = None  # deprecated: --subscriber-buffer-bytes
    sqlite_synchronous: str = "NORMAL"
    channels: ChannelConfig = field(default_factory=ChannelConfig)
    organizations: Mapping[str, Any] = field(default_factory=dict)  # Fabric mode: identities and peers, raw
    config_file: Path | None = None

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def mutual_tls(self) -> bool:
        return bool(self.tls_client_ca or self.org_ca)


# -- options -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Option:
    flag: str
    help: str
    convert: Callable[[str], Any] = str
    repeatable: bool = False
    metavar: str | None = None
    choices: Sequence[str] | None = None

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.dest.upper()


def _size(text: str) -> int:
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a size (bytes, or with a unit: 512KiB, 4MiB)")
    return int(match.group(1)) * _UNITS[(match.group(2) or "").upper()]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(f"{value} is not a positive integer")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise ValueError(f"{value} is negative")
    return value


def _switch(text: str) -> bool:
    value = str(text).strip().lower()
    if value in ("on", "true", "yes", "1"):
        return True
    if value in ("off", "false", "no", "0"):
        return False
    raise ValueError(f"{text!r} is not on or off")


def _address(text: str) -> str:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{text!r} is not HOST:PORT")
    return text


def _org_ca(text: str) -> tuple[str, Path]:
    mspid, sep, path = text.partition("=")
    if not sep or not mspid.strip() or not path.strip():
        raise ValueError(f"{text!r} is not MSPID=FILE")
    return mspid.strip(), Path(path.strip())


def _upper(text: str) -> str:
    return text.strip().upper()


def _mode(text: str) -> str:
    text = text.strip().lower()
    return MODE_ALIASES.get(text, text)


OPTIONS: Final[tuple[_Option, ...]] = (
    _Option("--mode", "where the ledger lives: 'embedded' (SQLite files under --data-dir, the default) or "
            "'fabric' (a Hyperledger Fabric network); upstream's 'standalone'/'distributed' are accepted",
            _mode, metavar="MODE"),
    _Option("--listen", "gRPC address to serve on (default 127.0.0.1:9000)", _address, metavar="HOST:PORT"),
    _Option("--data-dir", "embedded mode: directory of the ledgers, one SQLite file per channel and chaincode "
            "(default ./orchestrator-data)", Path, metavar="DIR"),
    _Option("--metrics-listen", "serve Prometheus /metrics, /healthz and /readyz over HTTP on this address "
            "(off unless given)", _address, metavar="HOST:PORT"),
    _Option("--tls-cert", "server certificate (PEM); with --tls-key, serve TLS", Path, metavar="FILE"),
    _Option("--tls-key", "server private key (PEM)", Path, metavar="FILE"),
    _Option("--tls-client-ca", "require client certificates signed by this CA (PEM; repeatable): mutual TLS",
            Path, repeatable=True, metavar="FILE"),
    _Option("--org-ca", "the CA (PEM, one or more certificates) issuing the client certificates of organization "
            "MSPID; the 'mspid' header must then match the organization whose CA signed the client certificate "
            "(repeatable; implies mutual TLS)", _org_ca, repeatable=True, metavar="MSPID=FILE"),
    _Option("--config", "YAML file with any of these settings (keys like data_dir), the channel configuration "
            "('channels:') and the Fabric organizations ('organizations:')", Path, metavar="FILE"),
    _Option("--channel-config", "YAML file with only a 'channels:' section (upstream's channel configuration)",
            Path, metavar="FILE"),
    _Option("--log-level", "DEBUG, INFO (default), WARNING or ERROR", _upper, choices=LOG_LEVELS, metavar="LEVEL"),
    _Option("--log-format", "'text' (default) or 'json' (one object per line)", str.lower, choices=LOG_FORMATS,
            metavar="FORMAT"),
    _Option("--max-message-size", "largest request accepted, in bytes or with a unit (default 4MiB)", _size,
            metavar="SIZE"),
    _Option("--max-response-size", "largest message gRPC sends, whatever the call (default 64MiB); listings "
            "stay within --max-response-bytes", _size, metavar="SIZE"),
    _Option("--max-response-bytes", "a page of a listing (Query* calls) ends, with a next_page_token, before its "
            "encoded response would pass this size; a page holds at least one item (default 4MiB, gRPC's default "
            "receive limit of backends)", _size, metavar="SIZE"),
    _Option("--max-ledgers", "embedded mode without a channel configuration: ledgers (channel and chaincode pairs) "
            "opened at most; a call naming one more gets RESOURCE_EXHAUSTED (default 8; a 'channels:' "
            "configuration lifts it)", _positive_int, metavar="N"),
    _Option("--subscriber-buffer-bytes", "live events buffered per SubscribeToEvents stream, in bytes; a stream "
            "whose client reads too slowly to stay within it ends with RESOURCE_EXHAUSTED naming the event id to "
            "resume from (default 8MiB)", _size, metavar="SIZE"),
    _Option("--ledger-cache-bytes", "embedded mode: committed values each open ledger keeps in memory for its "
            "writers (default 32MiB)", _size, metavar="SIZE"),
    _Option("--event-cache-bytes", "recent events each event log keeps in memory for subscribers (default 4MiB)",
            _size, metavar="SIZE"),
    _Option("--grace-period", "on SIGTERM/SIGINT, seconds given to in-flight calls before they are cancelled "
            "(default 15)", _seconds, metavar="SECONDS"),
    _Option("--workers", "threads running ledger calls (default 8; in embedded mode small lookups and "
            "registrations run on the event loop when their ledger is free; in fabric mode calls wait for peers "
            "without a thread, and the workers only read the event log)", _positive_int, metavar="N"),
    _Option("--fabric-failover", "fabric mode: when no peer of the caller's organization can be reached, endorse "
            "and submit through another member organization's peer of the channel, still signed as the caller: "
            "'on' (default) or 'off'", _switch, metavar="on|off"),
    _Option("--event-buffer", f"deprecated, use --subscriber-buffer-bytes: N stands for N x "
            f"{EVENT_BUFFER_BYTES_PER_EVENT} bytes when that option is not given", _positive_int, metavar="N"),
    _Option("--sqlite-synchronous", "embedded mode: NORMAL (default; survives a killed process) or FULL "
            "(also survives a power loss, one fsync per write)", _upper, choices=SYNCHRONOUS, metavar="MODE"),
)
_BY_DEST: Final = {option.dest: option for option in OPTIONS}


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser; ``--help`` lists every option with its environment variable."""
    parser = argparse.ArgumentParser(
        prog="orchestrator-gateway",
        description="Serve the Substra orchestrator API over gRPC. With no arguments: embedded mode on "
                    "127.0.0.1:9000, data under ./orchestrator-data.",
        epilog="Every option can also be set by its environment variable (shown in brackets; repeatable "
               "options take a comma-separated list) or by a key of the --config file. Flags win over "
               "variables, variables over the file.",
    )
    for option in OPTIONS:
        parser.add_argument(
            option.flag, dest=option.dest, metavar=option.metavar, default=None,
            action="append" if option.repeatable else "store",
            help=f"{option.help} [{option.env}]",
        )
    parser.add_argument("--version", action="version", version=f"%(prog)s {orchestrator.__version__}")
    return parser


def load_config(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> GatewayConfig:
    """Parse flags, environment and files into a :class:`GatewayConfig`.

    Raises:
        ConfigError: an invalid value, file or combination (the message names it).
        SystemExit: ``--help``, ``--version`` or an unknown flag (argparse's behaviour).
    """
    environ = os.environ if environ is None else environ
    flags = vars(build_parser().parse_args(argv))
    raw: dict[str, tuple[str, Any]] = {}  # dest -> (where it came from, value)

    def take(dest: str) -> Any:
        if flags.get(dest) is not None:
            raw[dest] = (_BY_DEST[dest].flag, flags[dest])
        elif _BY_DEST[dest].env in environ and environ[_BY_DEST[dest].env].strip():
            value = environ[_BY_DEST[dest].env]
            raw[dest] = (_BY_DEST[dest].env, value.split(",") if _BY_DEST[dest].repeatable else value)
        return raw.get(dest)

    file_settings: dict[str, Any] = {}
    channels: Any = None
    organizations: Any = {}
    config_file = take("config")
    if config_file is not None:
        path = Path(_convert(_BY_DEST["config"], config_file[0], config_file[1]))
        document = _read_yaml(path)
        channels = document.pop("channels", None)
        organizations = document.pop("organizations", None) or {}
        if not isinstance(organizations, dict):
            raise ConfigError(f"{path}: 'organizations' must be a mapping")
        for key, value in document.items():
            dest = str(key).replace("-", "_")
            if dest not in _BY_DEST or dest == "config":
                raise ConfigError(f"{path}: unknown setting {key!r}")
            file_settings[dest] = (f"{path}: {key}", value)
    channel_file = take("channel_config")
    if channel_file is not None:
        path = Path(_convert(_BY_DEST["channel_config"], *channel_file))
        channels = _read_yaml(path).get("channels")
        if channels is None:
            raise ConfigError(f"{path}: no 'channels' section")

    values: dict[str, Any] = {}
    for option in OPTIONS:
        if option.dest in ("config", "channel_config"):
            continue
        source = take(option.dest) or file_settings.get(option.dest)
        if source is None:
            continue
        where, value = source
        if option.repeatable:
            if isinstance(value, dict):  # YAML: {Org1MSP: org1-ca.pem}
                value = [f"{k}={v}" for k, v in value.items()]
            items = value if isinstance(value, list) else [value]
            values[option.dest] = tuple(_convert(option, where, str(item)) for item in items if str(item).strip())
        else:
            values[option.dest] = _convert(option, where, str(value))

    if "event_buffer" in values and "subscriber_buffer_bytes" not in values:
        values["subscriber_buffer_bytes"] = values["event_buffer"] * EVENT_BUFFER_BYTES_PER_EVENT
    config = GatewayConfig(
        **values,
        channels=parse_channels(channels) if channels is not None else ChannelConfig(),
        organizations=organizations,
        config_file=Path(config_file[1]) if config_file else None,
    )
    _check(config)
    return config


def _convert(option: _Option, where: str, value: str) -> Any:
    try:
        converted = option.convert(value.strip() if isinstance(value, str) else value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if option.choices is not None and converted not in option.choices:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(option.choices)}")
    return converted


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return document


def parse_channels(channels: Any) -> ChannelConfig:
    """Both forms of the channel configuration.

    Raises:
        ConfigError: not a mapping of channel names to member lists.
    """
    if not isinstance(channels, dict):
        raise ConfigError("'channels' must map channel names to organizations")
    parsed: dict[str, ChannelAccess] = {}
    for name, entry in channels.items():
        organizations: list[Any]
        chaincodes: list[Any]
        if isinstance(entry, list):
            organizations, chaincodes = entry, []
        elif isinstance(entry, dict):
            unknown = set(entry) - {"organizations", "chaincodes"}
            if unknown:
                raise ConfigError(f"channel {name!r}: unknown keys {', '.join(sorted(map(str, unknown)))}")
            organizations, chaincodes = entry.get("organizations") or [], entry.get("chaincodes") or []
        else:
            raise ConfigError(f"channel {name!r}: expected a list of MSP IDs or {{organizations, chaincodes}}")
        if not all(isinstance(v, str) and v for v in [*organizations, *chaincodes]):
            raise ConfigError(f"channel {name!r}: organizations and chaincodes must be non-empty strings")
        parsed[str(name)] = ChannelAccess(frozenset(organizations), tuple(chaincodes))
    return ChannelConfig(parsed)


def _check(config: GatewayConfig) -> None:
    if (config.tls_cert is None) != (config.tls_key is None):
        raise ConfigError("--tls-cert and --tls-key go together")
    if config.mutual_tls and not config.tls:
        raise ConfigError("--tls-client-ca and --org-ca need TLS: give --tls-cert and --tls-key")
    if config.max_response_bytes > config.max_response_size:
        raise ConfigError(f"--max-response-bytes ({config.max_response_bytes}) cannot exceed --max-response-size "
                          f"({config.max_response_size}): pages would not fit in what gRPC sends")
    for name in ("max_response_bytes", "subscriber_buffer_bytes"):
        if getattr(config, name) < 1024:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1KiB")
