"""``orchestrator-chaincode``: serve the chaincode to the peers (the default), or write its ccaas package."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Final

from orchestrator import __version__
from orchestrator.chaincode.config import ChaincodeConfig, ConfigError
from orchestrator.chaincode.contract import OrchestratorChaincode
from orchestrator.chaincode.package import Connection, PackageError, build_package, package_id
from orchestrator.chaincode.shim.server import ChaincodeServer

logger = logging.getLogger("orchestrator.chaincode")

#: Seconds running transactions get on SIGTERM (Kubernetes waits 30 s before SIGKILL).
SHUTDOWN_GRACE: Final = 10.0

_ENVIRONMENT: Final = """\
environment (serve):
  CHAINCODE_ID or CHAINCODE_CCID            package id the peer installed (required)
  CHAINCODE_SERVER_ADDRESS or CHAINCODE_ADDRESS
                                            listen address (default 0.0.0.0:7052)
  CHAINCODE_TLS_KEY_FILE or TLS_KEY_FILE    server TLS key (PEM)
  CHAINCODE_TLS_CERT_FILE or TLS_CERT_FILE  server TLS certificate (PEM)
  CHAINCODE_TLS_CLIENT_CACERT_FILE or TLS_ROOTCERT_FILE
                                            CA of the peers' client certificates (mutual TLS)
  CHAINCODE_TLS_DISABLED=true               serve plaintext (local use only)
  LOG_LEVEL                                 DEBUG, INFO (default), WARNING or ERROR
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orchestrator-chaincode", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Substra orchestrator chaincode, served as a Fabric external chaincode (chaincode as a service).",
        epilog=_ENVIRONMENT,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="{serve,package}")
    commands.add_parser("serve", help="serve the chaincode to the peers that dial it (the default)",
                        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_ENVIRONMENT)
    package = commands.add_parser(
        "package", help="write the ccaas package for 'peer lifecycle chaincode install'",
        description="Write the chaincode-as-a-service package (metadata.json of type ccaas and code.tar.gz with "
                    "connection.json) and print its package id.")
    package.add_argument("--address", required=True, help="HOST:PORT where the peer dials the chaincode")
    package.add_argument("--label", required=True, help="package label, e.g. mycc_1.0")
    package.add_argument("-o", "--output", required=True, type=Path, help="the .tar.gz to write")
    package.add_argument("--dial-timeout", default="10s", help="how long the peer tries to connect (default 10s)")
    package.add_argument("--tls-required", action="store_true", help="the peer connects with TLS")
    package.add_argument("--client-auth-required", action="store_true",
                         help="the peer presents a client certificate (mutual TLS)")
    package.add_argument("--root-cert", type=Path, help="PEM CA the peer verifies the chaincode's certificate with")
    package.add_argument("--client-key", type=Path, help="PEM key of the peer's client certificate")
    package.add_argument("--client-cert", type=Path, help="PEM client certificate the peer presents")
    return parser


def _pem(path: Path | None, option: str) -> str:
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise PackageError(f"{option}: cannot read {path}: {exc}") from exc


def package(args: argparse.Namespace) -> int:
    connection = Connection(
        address=args.address, dial_timeout=args.dial_timeout, tls_required=args.tls_required,
        client_auth_required=args.client_auth_required, root_cert=_pem(args.root_cert, "--root-cert"),
        client_key=_pem(args.client_key, "--client-key"), client_cert=_pem(args.client_cert, "--client-cert"),
    )
    data = build_package(args.label, connection)
    args.output.write_bytes(data)
    print(f"wrote {args.output} (package id {package_id(args.label, data)})")
    return 0


def serve(config: ChaincodeConfig) -> int:
    """Serve until SIGTERM or SIGINT, then stop gracefully."""
    server = ChaincodeServer(OrchestratorChaincode(), config.ccid, config.address, tls=config.tls)
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("received %s, stopping", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        server.start()
    except RuntimeError as exc:
        logger.error("%s", exc)
        return 1
    while not stopping.wait(1.0):
        pass
    server.stop(grace=SHUTDOWN_GRACE)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "package":
        try:
            return package(args)
        except (PackageError, OSError) as exc:
            print(f"orchestrator-chaincode package: {exc}", file=sys.stderr)
            return 2
    try:
        config = ChaincodeConfig.from_env()
    except ConfigError as exc:
        print(f"orchestrator-chaincode: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.log_level_number, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return serve(config)


if __name__ == "__main__":
    sys.exit(main())
