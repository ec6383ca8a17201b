from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class QueryVersionParam(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class QueryVersionResponse(_message.Message):
    __slots__ = ("orchestrator", "chaincode")
    ORCHESTRATOR_FIELD_NUMBER: _ClassVar[int]
    CHAINCODE_FIELD_NUMBER: _ClassVar[int]
    orchestrator: str
    chaincode: str
    def __init__(self, orchestrator: _Optional[str] = ..., chaincode: _Optional[str] = ...) -> None: ...
