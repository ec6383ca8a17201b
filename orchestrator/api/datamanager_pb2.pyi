from google.protobuf import timestamp_pb2 as _timestamp_pb2
from . import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DataManager(_message.Message):
    __slots__ = ("key", "name", "owner", "permissions", "description", "opener", "type", "creation_date", "logs_permission", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    OPENER_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CREATION_DATE_FIELD_NUMBER: _ClassVar[int]
    LOGS_PERMISSION_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    key: str
    name: str
    owner: str
    permissions: _common_pb2.Permissions
    description: _common_pb2.Addressable
    opener: _common_pb2.Addressable
    type: str
    creation_date: _timestamp_pb2.Timestamp
    logs_permission: _common_pb2.Permission
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, key: _Optional[str] = ..., name: _Optional[str] = ..., owner: _Optional[str] = ..., permissions: _Optional[_Union[_common_pb2.Permissions, _Mapping]] = ..., description: _Optional[_Union[_common_pb2.Addressable, _Mapping]] = ..., opener: _Optional[_Union[_common_pb2.Addressable, _Mapping]] = ..., type: _Optional[str] = ..., creation_date: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., logs_permission: _Optional[_Union[_common_pb2.Permission, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class NewDataManager(_message.Message):
    __slots__ = ("key", "name", "new_permissions", "description", "opener", "type", "logs_permission", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NEW_PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    OPENER_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    LOGS_PERMISSION_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    key: str
    name: str
    new_permissions: _common_pb2.NewPermissions
    description: _common_pb2.Addressable
    opener: _common_pb2.Addressable
    type: str
    logs_permission: _common_pb2.NewPermissions
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, key: _Optional[str] = ..., name: _Optional[str] = ..., new_permissions: _Optional[_Union[_common_pb2.NewPermissions, _Mapping]] = ..., description: _Optional[_Union[_common_pb2.Addressable, _Mapping]] = ..., opener: _Optional[_Union[_common_pb2.Addressable, _Mapping]] = ..., type: _Optional[str] = ..., logs_permission: _Optional[_Union[_common_pb2.NewPermissions, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class GetDataManagerParam(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class QueryDataManagersParam(_message.Message):
    __slots__ = ("page_token", "page_size")
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    page_token: str
    page_size: int
    def __init__(self, page_token: _Optional[str] = ..., page_size: _Optional[int] = ...) -> None: ...

class QueryDataManagersResponse(_message.Message):
    __slots__ = ("data_managers", "next_page_token")
    DATA_MANAGERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    data_managers: _containers.RepeatedCompositeFieldContainer[DataManager]
    next_page_token: str
    def __init__(self, data_managers: _Optional[_Iterable[_Union[DataManager, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
