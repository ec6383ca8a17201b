"""The contract: a chaincode function name and an envelope in, an envelope out, one transaction.

Both deployables run this very dispatch: the chaincode on every endorsing peer, and the
gateway's embedded mode on its SQLite ledger, so embedded-mode tests exercise it too.
Dispatch is generated from :mod:`orchestrator.shared.functions`: function
``orchestrator.<contract>:<Method>`` calls ``Services.<contract>.<method_in_snake_case>``.
"""

from __future__ import annotations

import logging

from orchestrator.shared import codec
from orchestrator.shared.errors import UnimplementedError
from orchestrator.shared.functions import CONTRACT_FUNCTIONS, INIT_FUNCTION
from orchestrator.shared.services import Services
from orchestrator.shared.store.transaction import Transaction
from orchestrator.shared.store.worldstate import WorldState

logger = logging.getLogger(__name__)


def invoke(world_state: WorldState, function_name: str, argument: bytes) -> bytes:
    """Run one contract function on ``world_state`` and return the reply envelope.

    On success the writes and the chaincode event are flushed to ``world_state``; on any
    exception nothing is (the exception propagates: its text is the error the caller sees).

    Raises:
        UnimplementedError: unknown function name.
        InvalidAssetError: the argument does not decode.
        OrcError, IllegalTransitionError: whatever the domain raises.
    """
    if function_name == INIT_FUNCTION:
        return b""  # nothing to initialize: indexes are composite keys (see chaincode init)
    function = CONTRACT_FUNCTIONS.get(function_name)
    if function is None:
        raise UnimplementedError(f"unknown function {function_name!r}")
    envelope = codec.decode(argument, function.request)
    logger.debug("invoke %s request_id=%s tx=%s", function_name, envelope.request_id, world_state.info.tx_id)
    with Transaction(world_state) as tx:
        services = Services(tx) if envelope.max_response_bytes is None else Services(
            tx, max_response_bytes=envelope.max_response_bytes)
        service = getattr(services, function.contract)
        result = getattr(service, function.handler)(envelope.message)
        if not function.read_only:
            tx.commit()
    return codec.encode(result, envelope.request_id, upstream_json=envelope.upstream_json)
