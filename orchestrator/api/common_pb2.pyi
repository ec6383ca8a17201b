from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AssetKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ASSET_UNKNOWN: _ClassVar[AssetKind]
    ASSET_ORGANIZATION: _ClassVar[AssetKind]
    ASSET_DATA_SAMPLE: _ClassVar[AssetKind]
    ASSET_DATA_MANAGER: _ClassVar[AssetKind]
    ASSET_ALGO: _ClassVar[AssetKind]
    ASSET_COMPUTE_TASK: _ClassVar[AssetKind]
    ASSET_COMPUTE_PLAN: _ClassVar[AssetKind]
    ASSET_MODEL: _ClassVar[AssetKind]
    ASSET_PERFORMANCE: _ClassVar[AssetKind]
    ASSET_FAILURE_REPORT: _ClassVar[AssetKind]

class SortOrder(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNSPECIFIED: _ClassVar[SortOrder]
    ASCENDING: _ClassVar[SortOrder]
    DESCENDING: _ClassVar[SortOrder]
ASSET_UNKNOWN: AssetKind
ASSET_ORGANIZATION: AssetKind
ASSET_DATA_SAMPLE: AssetKind
ASSET_DATA_MANAGER: AssetKind
ASSET_ALGO: AssetKind
ASSET_COMPUTE_TASK: AssetKind
ASSET_COMPUTE_PLAN: AssetKind
ASSET_MODEL: AssetKind
ASSET_PERFORMANCE: AssetKind
ASSET_FAILURE_REPORT: AssetKind
UNSPECIFIED: SortOrder
ASCENDING: SortOrder
DESCENDING: SortOrder

class Addressable(_message.Message):
    __slots__ = ("checksum", "storage_address")
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    STORAGE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    checksum: str
    storage_address: str
    def __init__(self, checksum: _Optional[str] = ..., storage_address: _Optional[str] = ...) -> None: ...

class Permissions(_message.Message):
    __slots__ = ("process", "download")
    PROCESS_FIELD_NUMBER: _ClassVar[int]
    DOWNLOAD_FIELD_NUMBER: _ClassVar[int]
    process: Permission
    download: Permission
    def __init__(self, process: _Optional[_Union[Permission, _Mapping]] = ..., download: _Optional[_Union[Permission, _Mapping]] = ...) -> None: ...

class Permission(_message.Message):
    __slots__ = ("public", "authorized_ids")
    PUBLIC_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZED_IDS_FIELD_NUMBER: _ClassVar[int]
    public: bool
    authorized_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, public: bool = ..., authorized_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class NewPermissions(_message.Message):
    __slots__ = ("public", "authorized_ids")
    PUBLIC_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZED_IDS_FIELD_NUMBER: _ClassVar[int]
    public: bool
    authorized_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, public: bool = ..., authorized_ids: _Optional[_Iterable[str]] = ...) -> None: ...
