from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NewPerformance(_message.Message):
    __slots__ = ("compute_task_key", "performance_value", "metric_key")
    COMPUTE_TASK_KEY_FIELD_NUMBER: _ClassVar[int]
    PERFORMANCE_VALUE_FIELD_NUMBER: _ClassVar[int]
    METRIC_KEY_FIELD_NUMBER: _ClassVar[int]
    compute_task_key: str
    performance_value: float
    metric_key: str
    def __init__(self, compute_task_key: _Optional[str] = ..., performance_value: _Optional[float] = ..., metric_key: _Optional[str] = ...) -> None: ...

class Performance(_message.Message):
    __slots__ = ("compute_task_key", "performance_value", "creation_date", "metric_key")
    COMPUTE_TASK_KEY_FIELD_NUMBER: _ClassVar[int]
    PERFORMANCE_VALUE_FIELD_NUMBER: _ClassVar[int]
    CREATION_DATE_FIELD_NUMBER: _ClassVar[int]
    METRIC_KEY_FIELD_NUMBER: _ClassVar[int]
    compute_task_key: str
    performance_value: float
    creation_date: _timestamp_pb2.Timestamp
    metric_key: str
    def __init__(self, compute_task_key: _Optional[str] = ..., performance_value: _Optional[float] = ..., creation_date: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., metric_key: _Optional[str] = ...) -> None: ...

class PerformanceQueryFilter(_message.Message):
    __slots__ = ("compute_task_key", "metric_key")
    COMPUTE_TASK_KEY_FIELD_NUMBER: _ClassVar[int]
    METRIC_KEY_FIELD_NUMBER: _ClassVar[int]
    compute_task_key: str
    metric_key: str
    def __init__(self, compute_task_key: _Optional[str] = ..., metric_key: _Optional[str] = ...) -> None: ...

class QueryPerformancesParam(_message.Message):
    __slots__ = ("page_token", "page_size", "filter")
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    page_token: str
    page_size: int
    filter: PerformanceQueryFilter
    def __init__(self, page_token: _Optional[str] = ..., page_size: _Optional[int] = ..., filter: _Optional[_Union[PerformanceQueryFilter, _Mapping]] = ...) -> None: ...

class QueryPerformancesResponse(_message.Message):
    __slots__ = ("Performances", "next_page_token")
    PERFORMANCES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    Performances: _containers.RepeatedCompositeFieldContainer[Performance]
    next_page_token: str
    def __init__(self, Performances: _Optional[_Iterable[_Union[Performance, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
