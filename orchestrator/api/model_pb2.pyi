from google.protobuf import timestamp_pb2 as _timestamp_pb2
from . import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ModelCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_UNKNOWN: _ClassVar[ModelCategory]
    MODEL_SIMPLE: _ClassVar[ModelCategory]
    MODEL_HEAD: _ClassVar[ModelCategory]
MODEL_UNKNOWN: ModelCategory
MODEL_SIMPLE: ModelCategory
MODEL_HEAD: ModelCategory

class Model(_message.Message):
    __slots__ = ("key", "category", "compute_task_key", "address", "permissions", "owner", "creation_date")
    KEY_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_TASK_KEY_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    CREATION_DATE_FIELD_NUMBER: _ClassVar[int]
    key: str
    category: ModelCategory
    compute_task_key: str
    address: _common_pb2.Addressable
    permissions: _common_pb2.Permissions
    owner: str
    creation_date: _timestamp_pb2.Timestamp
    def __init__(self, key: _Optional[str] = ..., category: _Optional[_Union[ModelCategory, str]] = ..., compute_task_key: _Optional[str] = ..., address: _Optional[_Union[_common_pb2.Addressable, _Mapping]] = ..., permissions: _Optional[_Union[_common_pb2.Permissions, _Mapping]] = ..., owner: _Optional[str] = ..., creation_date: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class NewModel(_message.Message):
    __slots__ = ("key", "category", "compute_task_key", "address")
    KEY_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_TASK_KEY_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    key: str
    category: ModelCategory
    compute_task_key: str
    address: _common_pb2.Addressable
    def __init__(self, key: _Optional[str] = ..., category: _Optional[_Union[ModelCategory, str]] = ..., compute_task_key: _Optional[str] = ..., address: _Optional[_Union[_common_pb2.Addressable, _Mapping]] = ...) -> None: ...

class RegisterModelsParam(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[NewModel]
    def __init__(self, models: _Optional[_Iterable[_Union[NewModel, _Mapping]]] = ...) -> None: ...

class RegisterModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[Model]
    def __init__(self, models: _Optional[_Iterable[_Union[Model, _Mapping]]] = ...) -> None: ...

class GetComputeTaskModelsParam(_message.Message):
    __slots__ = ("compute_task_key",)
    COMPUTE_TASK_KEY_FIELD_NUMBER: _ClassVar[int]
    compute_task_key: str
    def __init__(self, compute_task_key: _Optional[str] = ...) -> None: ...

class GetComputeTaskModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[Model]
    def __init__(self, models: _Optional[_Iterable[_Union[Model, _Mapping]]] = ...) -> None: ...

class CanDisableModelParam(_message.Message):
    __slots__ = ("model_key",)
    MODEL_KEY_FIELD_NUMBER: _ClassVar[int]
    model_key: str
    def __init__(self, model_key: _Optional[str] = ...) -> None: ...

class CanDisableModelResponse(_message.Message):
    __slots__ = ("can_disable",)
    CAN_DISABLE_FIELD_NUMBER: _ClassVar[int]
    can_disable: bool
    def __init__(self, can_disable: bool = ...) -> None: ...

class DisableModelParam(_message.Message):
    __slots__ = ("model_key",)
    MODEL_KEY_FIELD_NUMBER: _ClassVar[int]
    model_key: str
    def __init__(self, model_key: _Optional[str] = ...) -> None: ...

class GetModelParam(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class QueryModelsParam(_message.Message):
    __slots__ = ("category", "page_token", "page_size")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    category: ModelCategory
    page_token: str
    page_size: int
    def __init__(self, category: _Optional[_Union[ModelCategory, str]] = ..., page_token: _Optional[str] = ..., page_size: _Optional[int] = ...) -> None: ...

class QueryModelsResponse(_message.Message):
    __slots__ = ("models", "next_page_token")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[Model]
    next_page_token: str
    def __init__(self, models: _Optional[_Iterable[_Union[Model, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DisableModelResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
