"""``orchestrator-forwarder``: forward events from a gateway to RabbitMQ until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from orchestrator.forwarder.checkpoint import CheckpointError
from orchestrator.forwarder.config import ConfigError, ForwarderConfig, load_config
from orchestrator.forwarder.service import Forwarder, StartupError
from orchestrator.gateway.logs import configure_logging, stop_logging

logger = logging.getLogger("orchestrator.forwarder")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the forwarder: 0 after a clean shutdown, 2 for a bad configuration, 1 when it cannot start."""
    try:
        config = load_config(argv)
    except ConfigError as exc:
        print(f"orchestrator-forwarder: {exc}", file=sys.stderr)
        return 2
    configure_logging(config.log_level, "text")
    # pika logs every failed connection attempt at ERROR with a stack; the forwarder says it in one line
    logging.getLogger("pika").setLevel(logging.DEBUG if config.log_level == "DEBUG" else logging.CRITICAL)
    try:
        asyncio.run(_run(config))
    except (StartupError, CheckpointError) as exc:
        logger.error("%s", exc)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        stop_logging()
    return 0


async def _run(config: ForwarderConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    forwarder = Forwarder(config)
    logger.info("forwarding channel(s) %s from %s to %s as %s", ", ".join(p.name for p in forwarder.pumps),
                config.gateway, config.amqp_endpoint, config.mspid)
    await forwarder.run(stop)
    logger.info("stopped")


if __name__ == "__main__":
    sys.exit(main())
