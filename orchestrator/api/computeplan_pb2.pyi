from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ComputePlanStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLAN_STATUS_UNKNOWN: _ClassVar[ComputePlanStatus]
    PLAN_STATUS_WAITING: _ClassVar[ComputePlanStatus]
    PLAN_STATUS_TODO: _ClassVar[ComputePlanStatus]
    PLAN_STATUS_DOING: _ClassVar[ComputePlanStatus]
    PLAN_STATUS_DONE: _ClassVar[ComputePlanStatus]
    PLAN_STATUS_CANCELED: _ClassVar[ComputePlanStatus]
    PLAN_STATUS_FAILED: _ClassVar[ComputePlanStatus]
    PLAN_STATUS_EMPTY: _ClassVar[ComputePlanStatus]

class ComputePlanAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLAN_ACTION_UNKNOWN: _ClassVar[ComputePlanAction]
    PLAN_ACTION_CANCELED: _ClassVar[ComputePlanAction]
PLAN_STATUS_UNKNOWN: ComputePlanStatus
PLAN_STATUS_WAITING: ComputePlanStatus
PLAN_STATUS_TODO: ComputePlanStatus
PLAN_STATUS_DOING: ComputePlanStatus
PLAN_STATUS_DONE: ComputePlanStatus
PLAN_STATUS_CANCELED: ComputePlanStatus
PLAN_STATUS_FAILED: ComputePlanStatus
PLAN_STATUS_EMPTY: ComputePlanStatus
PLAN_ACTION_UNKNOWN: ComputePlanAction
PLAN_ACTION_CANCELED: ComputePlanAction

class ComputePlan(_message.Message):
    __slots__ = ("key", "owner", "done_count", "task_count", "status", "delete_intermediary_models", "creation_date", "waiting_count", "todo_count", "doing_count", "canceled_count", "failed_count", "tag", "metadata", "name")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    DONE_COUNT_FIELD_NUMBER: _ClassVar[int]
    TASK_COUNT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DELETE_INTERMEDIARY_MODELS_FIELD_NUMBER: _ClassVar[int]
    CREATION_DATE_FIELD_NUMBER: _ClassVar[int]
    WAITING_COUNT_FIELD_NUMBER: _ClassVar[int]
    TODO_COUNT_FIELD_NUMBER: _ClassVar[int]
    DOING_COUNT_FIELD_NUMBER: _ClassVar[int]
    CANCELED_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAILED_COUNT_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    key: str
    owner: str
    done_count: int
    task_count: int
    status: ComputePlanStatus
    delete_intermediary_models: bool
    creation_date: _timestamp_pb2.Timestamp
    waiting_count: int
    todo_count: int
    doing_count: int
    canceled_count: int
    failed_count: int
    tag: str
    metadata: _containers.ScalarMap[str, str]
    name: str
    def __init__(self, key: _Optional[str] = ..., owner: _Optional[str] = ..., done_count: _Optional[int] = ..., task_count: _Optional[int] = ..., status: _Optional[_Union[ComputePlanStatus, str]] = ..., delete_intermediary_models: bool = ..., creation_date: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., waiting_count: _Optional[int] = ..., todo_count: _Optional[int] = ..., doing_count: _Optional[int] = ..., canceled_count: _Optional[int] = ..., failed_count: _Optional[int] = ..., tag: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., name: _Optional[str] = ...) -> None: ...

class NewComputePlan(_message.Message):
    __slots__ = ("key", "tag", "metadata", "delete_intermediary_models", "name")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    DELETE_INTERMEDIARY_MODELS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    key: str
    tag: str
    metadata: _containers.ScalarMap[str, str]
    delete_intermediary_models: bool
    name: str
    def __init__(self, key: _Optional[str] = ..., tag: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., delete_intermediary_models: bool = ..., name: _Optional[str] = ...) -> None: ...

class GetComputePlanParam(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class ApplyPlanActionParam(_message.Message):
    __slots__ = ("key", "action")
    KEY_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    key: str
    action: ComputePlanAction
    def __init__(self, key: _Optional[str] = ..., action: _Optional[_Union[ComputePlanAction, str]] = ...) -> None: ...

class ApplyPlanActionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PlanQueryFilter(_message.Message):
    __slots__ = ("owner",)
    OWNER_FIELD_NUMBER: _ClassVar[int]
    owner: str
    def __init__(self, owner: _Optional[str] = ...) -> None: ...

class QueryPlansParam(_message.Message):
    __slots__ = ("page_token", "page_size", "filter")
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    page_token: str
    page_size: int
    filter: PlanQueryFilter
    def __init__(self, page_token: _Optional[str] = ..., page_size: _Optional[int] = ..., filter: _Optional[_Union[PlanQueryFilter, _Mapping]] = ...) -> None: ...

class QueryPlansResponse(_message.Message):
    __slots__ = ("plans", "next_page_token")
    PLANS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    plans: _containers.RepeatedCompositeFieldContainer[ComputePlan]
    next_page_token: str
    def __init__(self, plans: _Optional[_Iterable[_Union[ComputePlan, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
