"""``orchestrator-chaincode-init``: wait until the chaincode answers on its channel, then call its init function."""

# The job first reads the chaincode's definition on the channel (``_lifecycle``'s
# QueryChaincodeDefinition, evaluated on a peer) and sends an Init proposal only when the
# definition says ``init_required``: an Init to a chaincode that needs none makes every peer log an
# ERROR. Safe to run any number of times: a chaincode defined with ``--init-required`` and already
# initialized answers "already initialized", which counts as done; one defined without it gets the
# init function as a normal transaction (it writes nothing, so repeating it is harmless). When the
# peer will not answer the definition query (an access policy that refuses this identity), the
# job tries Init and falls back as before. Until the chaincode answers (peer unreachable,
# chaincode not yet committed on the channel, server not up) the job retries with backoff until
# ``--timeout``. Exit status: 0 done or already done, 1 invalid configuration or a refusal that
# retrying cannot fix, 2 timeout.

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

import grpc
from fabric_protos.peer.lifecycle import lifecycle_pb2

from orchestrator.gateway.config import ConfigError, load_config
from orchestrator.gateway.fabric.client import Endpoint, GatewayClient
from orchestrator.gateway.fabric.config import duration, parse_fabric_config
from orchestrator.gateway.fabric.contract import Contract
from orchestrator.gateway.fabric.errors import CommitError, GatewayError
from orchestrator.gateway.fabric.gateway import Gateway
from orchestrator.shared.functions import INIT_FUNCTION

logger = logging.getLogger("orchestrator.chaincode_init")

PROBE_FUNCTION: Final = "orchestrator.info:QueryVersion"
LIFECYCLE_CHAINCODE: Final = "_lifecycle"
QUERY_DEFINITION: Final = "QueryChaincodeDefinition"
DEFAULT_TIMEOUT: Final = 600.0
EXIT_DONE: Final = 0
EXIT_FAILED: Final = 1
EXIT_TIMEOUT: Final = 2
_ALREADY: Final = "is already initialized"
_NOT_REQUIRED: Final = "does not require initialization"
_NOT_YET: Final = "has not been initialized"
_REFUSALS: Final = ("access denied", "acl check", "unknown chaincode", "not found")  # the query is not served


class InitFailedError(Exception):
    """The chaincode refused initialization in a way retrying cannot change."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orchestrator-chaincode-init",
        description="Wait until the orchestrator chaincode answers on a channel, then call its init function "
                    f"({INIT_FUNCTION}) as one organization. Idempotent: exits 0 when done or already done.",
        epilog="Each flag falls back to its environment variable, shown in brackets.",
    )
    parser.add_argument("--config", type=Path, help="gateway configuration file (its 'organizations:' section gives "
                        "the identity and peers) [ORCHESTRATOR_CONFIG]")
    parser.add_argument("--mspid", help="organization to sign as [ORCHESTRATOR_MSPID]")
    parser.add_argument("--channel", help="channel of the chaincode [ORCHESTRATOR_CHANNEL]")
    parser.add_argument("--chaincode", help="chaincode name [ORCHESTRATOR_CHAINCODE]")
    parser.add_argument("--timeout", help=f"seconds to keep trying (default {DEFAULT_TIMEOUT:.0f}) "
                        "[ORCHESTRATOR_INIT_TIMEOUT]")
    return parser


def _setting(value: str | None, environ: Mapping[str, str], name: str, flag: str) -> str:
    value = value or environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"{flag} (or {name}) is required")
    return value


def _contract(config_file: Path | None, mspid: str, channel: str, chaincode: str, environ: Mapping[str, str]
              ) -> tuple[Contract, Gateway, list[grpc.Channel]]:
    gateway_config = load_config(["--config", str(config_file)] if config_file else [], environ)
    base = config_file.parent if config_file else None
    fabric = parse_fabric_config(gateway_config.organizations, base_dir=base, environ=environ)
    organization = fabric.organizations.get(mspid)
    if organization is None or organization.identity is None:
        raise ConfigError(f'no signing identity configured for organization "{mspid}" '
                          f"(configured: {', '.join(sorted(fabric.organizations)) or 'none'})")
    channels = [peer.dial() for peer in organization.peers]
    endpoints = [Endpoint(peer.address, ch, mspid, peer.max_in_flight, tls_cert_hash=peer.tls_cert_hash)
                 for peer, ch in zip(organization.peers, channels, strict=True)]
    settings = fabric.settings
    gateway = Gateway(organization.identity, GatewayClient(endpoints), evaluate_timeout=settings.evaluate_timeout,
                      endorse_timeout=settings.endorse_timeout, submit_timeout=settings.submit_timeout,
                      commit_status_timeout=settings.commit_timeout)
    return gateway.get_network(channel).get_contract(chaincode), gateway, channels


def _answers(contract: Contract, timeout: float) -> bool:
    """Whether the chaincode answers a call (an error from the chaincode itself counts: it runs)."""
    try:
        contract.evaluate(PROBE_FUNCTION, [b""], timeout=timeout)
        return True
    except GatewayError as exc:
        if exc.chaincode_message is not None or any(_NOT_YET in d.message for d in exc.details):
            return True
        logger.info("waiting for chaincode %s on %s: %s", contract.chaincode, contract.channel, exc.message)
        return False


def _init_required(gateway: Gateway, channel: str, chaincode: str, timeout: float) -> bool | None:
    """Whether the chaincode's committed definition requires Init; ``None`` when the peer will not say.

    Raises:
        GatewayError: a failure worth retrying (peer unreachable, definition not committed yet).
    """
    lifecycle = gateway.get_network(channel).get_contract(LIFECYCLE_CHAINCODE)
    query = lifecycle_pb2.QueryChaincodeDefinitionArgs(name=chaincode).SerializeToString()
    try:
        result = lifecycle.evaluate(QUERY_DEFINITION, [query], timeout=timeout)
    except GatewayError as exc:
        messages = [exc.message, *(d.message for d in exc.details)]
        if exc.code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNIMPLEMENTED) or any(
                refusal in m.lower() for m in messages for refusal in _REFUSALS):
            logger.warning("cannot read the definition of %s on %s (%s): trying Init", chaincode, channel,
                           exc.message)
            return None
        raise
    return bool(lifecycle_pb2.QueryChaincodeDefinitionResult.FromString(result).init_required)


def _initialize(contract: Contract, timeout: float, *, required: bool | None) -> str:
    """Call the init function, as Init only if the definition requires it; what happened, in words.

    ``required`` is None when the definition could not be read: Init is tried, and a refusal
    saying it is not required leads to a normal invocation.

    Raises:
        InitFailedError: the chaincode refused the init function itself.
        GatewayError, CommitError: a failure worth retrying.
    """
    if required is not False:
        try:
            committed = contract.submit_transaction(INIT_FUNCTION, [b""], timeout=timeout, is_init=True)
            return f"initialized in transaction {committed.tx_id} (block {committed.block_number})"
        except GatewayError as exc:
            messages = [exc.message, *(d.message for d in exc.details)]
            if exc.chaincode_message is not None:
                raise InitFailedError(f"the chaincode refused {INIT_FUNCTION}: {exc.chaincode_message}") from None
            if any(_ALREADY in m for m in messages):
                return "already initialized"
            if required or not any(_NOT_REQUIRED in m for m in messages):
                raise
    try:  # the definition does not require init: run the function as a normal transaction
        committed = contract.submit_transaction(INIT_FUNCTION, [b""], timeout=timeout)
    except GatewayError as exc:
        if exc.chaincode_message is not None:
            raise InitFailedError(f"the chaincode refused {INIT_FUNCTION}: {exc.chaincode_message}") from None
        raise
    return f"init function invoked in transaction {committed.tx_id} (the definition does not require init)"


def run(mspid: str, channel: str, chaincode: str, *, config_file: Path | None, timeout: float,
        environ: Mapping[str, str]) -> int:
    """Wait, initialize, report; the exit status."""
    contract, gateway, channels = _contract(config_file, mspid, channel, chaincode, environ)
    deadline = time.monotonic() + timeout
    backoff, last = 0.2, "no attempt"
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                logger.error("chaincode %s on channel %s: not initialized after %.0fs: %s", chaincode, channel,
                             timeout, last)
                return EXIT_TIMEOUT
            try:
                if _answers(contract, min(remaining, 30.0)):
                    required = _init_required(gateway, channel, chaincode, min(deadline - time.monotonic(), 30.0))
                    outcome = _initialize(contract, min(deadline - time.monotonic(), 120.0), required=required)
                    logger.info("chaincode %s on channel %s: %s", chaincode, channel, outcome)
                    return EXIT_DONE
                last = "the chaincode does not answer yet"
            except InitFailedError as exc:
                logger.error("chaincode %s on channel %s: %s", chaincode, channel, exc)
                return EXIT_FAILED
            except (GatewayError, CommitError) as exc:
                last = str(exc)
                logger.info("init of %s on %s not done yet (%s), retrying", chaincode, channel, last)
            time.sleep(max(0.0, min(random.uniform(backoff / 2, backoff), deadline - time.monotonic())))
            backoff = min(backoff * 2, 10.0)
    finally:
        gateway.close()
        gateway.client.close()
        for channel_ in channels:
            channel_.close()


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Entry point of ``orchestrator-chaincode-init``."""
    environ = os.environ if environ is None else environ
    logging.basicConfig(level=environ.get("LOG_LEVEL", "INFO").upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    try:
        config_file = args.config or (Path(environ["ORCHESTRATOR_CONFIG"]) if environ.get("ORCHESTRATOR_CONFIG")
                                      else None)
        mspid = _setting(args.mspid, environ, "ORCHESTRATOR_MSPID", "--mspid")
        channel = _setting(args.channel, environ, "ORCHESTRATOR_CHANNEL", "--channel")
        chaincode = _setting(args.chaincode, environ, "ORCHESTRATOR_CHAINCODE", "--chaincode")
        raw_timeout = args.timeout or environ.get("ORCHESTRATOR_INIT_TIMEOUT", "").strip()
        try:
            timeout = duration(raw_timeout) if raw_timeout else DEFAULT_TIMEOUT
        except ValueError as exc:
            raise ConfigError(f"--timeout: {exc}") from None
        return run(mspid, channel, chaincode, config_file=config_file, timeout=timeout, environ=environ)
    except ConfigError as exc:
        logger.error("invalid configuration: %s", exc)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
