"""Our own chaincode shim: the chaincode side of Fabric's chaincode protocol, served as an external service."""

from orchestrator.chaincode.shim.handler import (
    Chaincode,
    Handler,
    PeerCapabilities,
    PeerError,
    Response,
    StreamClosedError,
)
from orchestrator.chaincode.shim.server import ChaincodeServer, TlsSettings
from orchestrator.chaincode.shim.stub import ChaincodeStub

__all__ = [
    "Chaincode", "ChaincodeServer", "ChaincodeStub", "Handler", "PeerCapabilities", "PeerError", "Response",
    "StreamClosedError", "TlsSettings",
]
