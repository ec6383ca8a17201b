"""The orchestrator chaincode: function name and envelope in, the shared contract run on the stub, a Response out."""

# ``Args[0]`` is the function name (``orchestrator.algo:RegisterAlgo``), ``Args[1]`` the
# envelope the gateway encodes (shared/codec.py); the reply payload is the result envelope.
# The function's read-only flag (shared/functions.py) marks the call evaluated-only, which
# allows paginated scans, as upstream's chaincode did from the function name. Every failure
# becomes an error response whose message is the error text, so the orchestration code
# (``OE0002: ...``) reaches the gateway, which maps it to a gRPC status (ERR-1).

from __future__ import annotations

import logging

from orchestrator.chaincode.shim.handler import PeerError, Response
from orchestrator.chaincode.shim.stub import ChaincodeStub
from orchestrator.shared import contract
from orchestrator.shared.errors import IllegalTransitionError, InvalidAssetError, OrcError
from orchestrator.shared.functions import CONTRACT_FUNCTIONS, INIT_FUNCTION

logger = logging.getLogger(__name__)


class OrchestratorChaincode:
    """The chaincode the shim serves: every contract function, and the init function."""

    def init(self, stub: ChaincodeStub) -> Response:
        """The chaincode init (``--isInit``): upstream's empty function name, or the init function itself."""
        if stub.function in ("", INIT_FUNCTION):
            return self._call(stub, INIT_FUNCTION)
        return self.invoke(stub)

    def invoke(self, stub: ChaincodeStub) -> Response:
        return self._call(stub, stub.function)

    def _call(self, stub: ChaincodeStub, name: str) -> Response:
        function = CONTRACT_FUNCTIONS.get(name)
        stub.set_read_only(function is not None and function.read_only)
        try:
            if len(stub.args) > 2:
                raise InvalidAssetError(f"{name} takes one argument, got {len(stub.args) - 1}")
            argument = stub.args[1] if len(stub.args) == 2 else b""
            payload = contract.invoke(stub, name, argument)
        except (OrcError, IllegalTransitionError) as exc:
            logger.debug("%s failed in transaction %s: %s", name, stub.tx_id[:8], exc)
            return Response.error(str(exc))
        except PeerError as exc:  # the peer refused a state request: its text, as Fabric reports it
            logger.warning("%s: ledger request refused in transaction %s: %s", name, stub.tx_id[:8], exc)
            return Response.error(str(exc))
        except Exception as exc:  # a defect: say so in orchestration terms, keep the trace in the log
            logger.exception("%s raised in transaction %s", name, stub.tx_id[:8])
            return Response.error(f"OE0007: internal error in {name}: {type(exc).__name__}: {exc}")
        logger.debug("%s done in transaction %s", name, stub.tx_id[:8])
        return Response.success(payload)


__all__ = ["OrchestratorChaincode"]
