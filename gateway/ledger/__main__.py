"""``orchestrator-ledger``: inspect and repair embedded ledgers, with the gateway stopped.

``inspect PATH`` reports what each ledger holds and what a start would lose (exit status 1 when
it would lose acknowledged data); ``repair PATH`` keeps everything valid and drops damaged data
only with ``--accept-loss`` (exit status 1, nothing changed, without it). PATH is a ledger's
``.sqlite`` file or a data directory (every ledger under it).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from orchestrator.gateway.ledger.repair import GatewayRunning, find_ledgers, inspect, repair, stopped_gateway


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; 0: nothing lost, 1: damage found (and not repaired), 2: bad usage or a gateway running."""
    parser = argparse.ArgumentParser(prog="orchestrator-ledger", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    inspect_cmd = commands.add_parser("inspect", help="report what is valid and what would be lost; change nothing")
    inspect_cmd.add_argument("path", type=Path, help="a ledger's .sqlite file, or a data directory")
    repair_cmd = commands.add_parser("repair", help="keep what is valid; drop damaged data only with --accept-loss")
    repair_cmd.add_argument("path", type=Path, help="a ledger's .sqlite file, or a data directory")
    repair_cmd.add_argument("--accept-loss", action="store_true",
                            help="drop what is damaged (acknowledged calls, unreadable database pages)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s", stream=sys.stderr)
    ledgers = find_ledgers(args.path)
    if not ledgers or not all(path.exists() for path in ledgers):
        print(f"orchestrator-ledger: no ledger at {args.path}", file=sys.stderr)
        return 2
    try:
        with stopped_gateway(args.path):
            return _run(args.command, ledgers, accept_loss=getattr(args, "accept_loss", False))
    except GatewayRunning as exc:
        print(f"orchestrator-ledger: {exc}", file=sys.stderr)
        return 2


def _run(command: str, ledgers: list[Path], *, accept_loss: bool) -> int:
    status = 0
    for path in ledgers:
        if command == "inspect":
            report = inspect(path)
            print("\n".join(report.lines()))
            status = max(status, 1 if report.loses_data else 0)
            continue
        report, actions = repair(path, accept_loss=accept_loss)
        print("\n".join(report.lines()))
        if report.loses_data and not accept_loss:
            print("  nothing changed: repairing would lose the data above; run again with --accept-loss to accept")
            status = 1
        for action in actions:
            print(f"  repaired: {action}")
    return status


if __name__ == "__main__":
    sys.exit(main())
