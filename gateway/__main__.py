"""``orchestrator-gateway``: serve the orchestrator API until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence

from orchestrator.gateway.config import ConfigError, GatewayConfig, load_config
from orchestrator.gateway.invoke import ModeNotAvailableError
from orchestrator.gateway.invoke.base import DataDirInUseError
from orchestrator.gateway.logs import configure_logging, stop_logging
from orchestrator.gateway.server import serve

logger = logging.getLogger("orchestrator.gateway")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the gateway; the exit status is 0 after a clean shutdown, 2 for a bad configuration, 1 otherwise."""
    try:
        config = load_config(argv)
    except ConfigError as exc:
        print(f"orchestrator-gateway: {exc}", file=sys.stderr)
        return 2
    configure_logging(config.log_level, config.log_format)
    try:
        return _serve(config)
    finally:
        stop_logging()


def _serve(config: GatewayConfig) -> int:
    try:
        asyncio.run(serve(config))
    except ConfigError as exc:
        logger.error("%s", exc)
        return 2
    except (ModeNotAvailableError, DataDirInUseError) as exc:
        logger.error("%s", exc)
        return 1
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
