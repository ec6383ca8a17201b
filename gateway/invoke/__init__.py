"""Invokers by mode: a registry so that a new mode (Fabric) plugs in without touching the servicers."""

# ``register_mode("fabric", factory, chaincode_header_required=True)`` from the module that
# implements it; :func:`create_invoker` builds the invoker the configuration asks for.

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from orchestrator.gateway.invoke.base import ChaincodeError, InvocationError, Invoker, ReportsReadiness, Target

if TYPE_CHECKING:
    from orchestrator.gateway.config import GatewayConfig


@dataclass(frozen=True)
class Mode:
    """How to build the invoker of one mode, and whether its calls must name a chaincode."""

    name: str
    factory: Callable[[GatewayConfig], Invoker]
    chaincode_header_required: bool


_MODES: dict[str, Mode] = {}

#: Modules that register a mode when imported; a missing module means the mode is not built in.
_MODE_MODULES: Final = {"fabric": "orchestrator.gateway.invoke.fabric"}


class ModeNotAvailableError(RuntimeError):
    """The configuration asks for a mode this build does not provide."""


def register_mode(
    name: str, factory: Callable[[GatewayConfig], Invoker], *, chaincode_header_required: bool
) -> None:
    """Make mode ``name`` available to :func:`create_invoker`."""
    _MODES[name] = Mode(name, factory, chaincode_header_required)


def mode(name: str) -> Mode:
    """The registered mode ``name``, importing its module on first use.

    Raises:
        ModeNotAvailableError: no such mode in this build.
    """
    if name not in _MODES and name in _MODE_MODULES:
        try:
            importlib.import_module(_MODE_MODULES[name])
        except ModuleNotFoundError as exc:
            if exc.name != _MODE_MODULES[name]:
                raise
    if name not in _MODES:
        raise ModeNotAvailableError(
            f"mode {name!r} is not available in this build (available: {', '.join(sorted(_MODES))})"
        )
    return _MODES[name]


def create_invoker(config: GatewayConfig) -> Invoker:
    """The invoker of ``config.mode``.

    Raises:
        ModeNotAvailableError: the mode is not built in.
    """
    return mode(config.mode).factory(config)


def _embedded(config: GatewayConfig) -> Invoker:
    from orchestrator.gateway.invoke.embedded import EmbeddedInvoker

    return EmbeddedInvoker(
        config.data_dir, default_chaincodes=config.channels.default_chaincodes(),
        synchronous=config.sqlite_synchronous,
        max_ledgers=None if config.channels.restricted else config.max_ledgers,
        cache_bytes=config.ledger_cache_bytes, event_cache_bytes=config.event_cache_bytes,
    )


register_mode("embedded", _embedded, chaincode_header_required=False)

__all__ = [
    "ChaincodeError", "InvocationError", "Invoker", "Mode", "ModeNotAvailableError", "ReportsReadiness", "Target",
    "create_invoker", "mode", "register_mode",
]
