from google.protobuf import timestamp_pb2 as _timestamp_pb2
from . import common_pb2 as _common_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_TYPE_UNSPECIFIED: _ClassVar[ErrorType]
    ERROR_TYPE_BUILD: _ClassVar[ErrorType]
    ERROR_TYPE_EXECUTION: _ClassVar[ErrorType]
    ERROR_TYPE_INTERNAL: _ClassVar[ErrorType]
ERROR_TYPE_UNSPECIFIED: ErrorType
ERROR_TYPE_BUILD: ErrorType
ERROR_TYPE_EXECUTION: ErrorType
ERROR_TYPE_INTERNAL: ErrorType

class FailureReport(_message.Message):
    __slots__ = ("compute_task_key", "error_type", "logs_address", "creation_date", "owner")
    COMPUTE_TASK_KEY_FIELD_NUMBER: _ClassVar[int]
    ERROR_TYPE_FIELD_NUMBER: _ClassVar[int]
    LOGS_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CREATION_DATE_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    compute_task_key: str
    error_type: ErrorType
    logs_address: _common_pb2.Addressable
    creation_date: _timestamp_pb2.Timestamp
    owner: str
    def __init__(self, compute_task_key: _Optional[str] = ..., error_type: _Optional[_Union[ErrorType, str]] = ..., logs_address: _Optional[_Union[_common_pb2.Addressable, _Mapping]] = ..., creation_date: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., owner: _Optional[str] = ...) -> None: ...

class NewFailureReport(_message.Message):
    __slots__ = ("compute_task_key", "error_type", "logs_address")
    COMPUTE_TASK_KEY_FIELD_NUMBER: _ClassVar[int]
    ERROR_TYPE_FIELD_NUMBER: _ClassVar[int]
    LOGS_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    compute_task_key: str
    error_type: ErrorType
    logs_address: _common_pb2.Addressable
    def __init__(self, compute_task_key: _Optional[str] = ..., error_type: _Optional[_Union[ErrorType, str]] = ..., logs_address: _Optional[_Union[_common_pb2.Addressable, _Mapping]] = ...) -> None: ...

class GetFailureReportParam(_message.Message):
    __slots__ = ("compute_task_key",)
    COMPUTE_TASK_KEY_FIELD_NUMBER: _ClassVar[int]
    compute_task_key: str
    def __init__(self, compute_task_key: _Optional[str] = ...) -> None: ...
