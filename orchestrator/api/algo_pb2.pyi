from google.protobuf import timestamp_pb2 as _timestamp_pb2
from . import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AlgoCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALGO_UNKNOWN: _ClassVar[AlgoCategory]
    ALGO_SIMPLE: _ClassVar[AlgoCategory]
    ALGO_AGGREGATE: _ClassVar[AlgoCategory]
    ALGO_COMPOSITE: _ClassVar[AlgoCategory]
    ALGO_METRIC: _ClassVar[AlgoCategory]
    ALGO_PREDICT: _ClassVar[AlgoCategory]
ALGO_UNKNOWN: AlgoCategory
ALGO_SIMPLE: AlgoCategory
ALGO_AGGREGATE: AlgoCategory
ALGO_COMPOSITE: AlgoCategory
ALGO_METRIC: AlgoCategory
ALGO_PREDICT: AlgoCategory

class AlgoInput(_message.Message):
    __slots__ = ("kind", "multiple", "optional")
    KIND_FIELD_NUMBER: _ClassVar[int]
    MULTIPLE_FIELD_NUMBER: _ClassVar[int]
    OPTIONAL_FIELD_NUMBER: _ClassVar[int]
    kind: _common_pb2.AssetKind
    multiple: bool
    optional: bool
    def __init__(self, kind: _Optional[_Union[_common_pb2.AssetKind, str]] = ..., multiple: bool = ..., optional: bool = ...) -> None: ...

class AlgoOutput(_message.Message):
    __slots__ = ("kind", "multiple")
    KIND_FIELD_NUMBER: _ClassVar[int]
    MULTIPLE_FIELD_NUMBER: _ClassVar[int]
    kind: _common_pb2.AssetKind
    multiple: bool
    def __init__(self, kind: _Optional[_Union[_common_pb2.AssetKind, str]] = ..., multiple: bool = ...) -> None: ...

class Algo(_message.Message):
    __slots__ = ("key", "name", "category", "description", "algorithm", "permissions", "owner", "creation_date", "metadata", "inputs", "outputs")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class InputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: AlgoInput
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[AlgoInput, _Mapping]] = ...) -> None: ...
    class OutputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: AlgoOutput
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[AlgoOutput, _Mapping]] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    CREATION_DATE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    key: str
    name: str
    category: AlgoCategory
    description: _common_pb2.Addressable
    algorithm: _common_pb2.Addressable
    permissions: _common_pb2.Permissions
    owner: str
    creation_date: _timestamp_pb2.Timestamp
    metadata: _containers.ScalarMap[str, str]
    inputs: _containers.MessageMap[str, AlgoInput]
    outputs: _containers.MessageMap[str, AlgoOutput]
    def __init__(self, key: _Optional[str] = ..., name: _Optional[str] = ..., category: _Optional[_Union[AlgoCategory, str]] = ..., description: _Optional[_Union[_common_pb2.Addressable, _Mapping]] = ..., algorithm: _Optional[_Union[_common_pb2.Addressable, _Mapping]] = ..., permissions: _Optional[_Union[_common_pb2.Permissions, _Mapping]] = ..., owner: _Optional[str] = ..., creation_date: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., inputs: _Optional[_Mapping[str, AlgoInput]] = ..., outputs: _Optional[_Mapping[str, AlgoOutput]] = ...) -> None: ...

class NewAlgo(_message.Message):
    __slots__ = ("key", "name", "category", "description", "algorithm", "new_permissions", "metadata", "inputs", "outputs")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class InputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: AlgoInput
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[AlgoInput, _Mapping]] = ...) -> None: ...
    class OutputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: AlgoOutput
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[AlgoOutput, _Mapping]] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    NEW_PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    key: str
    name: str
    category: AlgoCategory
    description: _common_pb2.Addressable
    algorithm: _common_pb2.Addressable
    new_permissions: _common_pb2.NewPermissions
    metadata: _containers.ScalarMap[str, str]
    inputs: _containers.MessageMap[str, AlgoInput]
    outputs: _containers.MessageMap[str, AlgoOutput]
    def __init__(self, key: _Optional[str] = ..., name: _Optional[str] = ..., category: _Optional[_Union[AlgoCategory, str]] = ..., description: _Optional[_Union[_common_pb2.Addressable, _Mapping]] = ..., algorithm: _Optional[_Union[_common_pb2.Addressable, _Mapping]] = ..., new_permissions: _Optional[_Union[_common_pb2.NewPermissions, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., inputs: _Optional[_Mapping[str, AlgoInput]] = ..., outputs: _Optional[_Mapping[str, AlgoOutput]] = ...) -> None: ...

class GetAlgoParam(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class QueryAlgosResponse(_message.Message):
    __slots__ = ("Algos", "next_page_token")
    ALGOS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    Algos: _containers.RepeatedCompositeFieldContainer[Algo]
    next_page_token: str
    def __init__(self, Algos: _Optional[_Iterable[_Union[Algo, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class AlgoQueryFilter(_message.Message):
    __slots__ = ("categories", "compute_plan_key")
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_PLAN_KEY_FIELD_NUMBER: _ClassVar[int]
    categories: _containers.RepeatedScalarFieldContainer[AlgoCategory]
    compute_plan_key: str
    def __init__(self, categories: _Optional[_Iterable[_Union[AlgoCategory, str]]] = ..., compute_plan_key: _Optional[str] = ...) -> None: ...

class QueryAlgosParam(_message.Message):
    __slots__ = ("page_token", "page_size", "filter")
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    page_token: str
    page_size: int
    filter: AlgoQueryFilter
    def __init__(self, page_token: _Optional[str] = ..., page_size: _Optional[int] = ..., filter: _Optional[_Union[AlgoQueryFilter, _Mapping]] = ...) -> None: ...
