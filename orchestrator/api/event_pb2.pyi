from google.protobuf import timestamp_pb2 as _timestamp_pb2
from . import algo_pb2 as _algo_pb2
from . import common_pb2 as _common_pb2
from . import computeplan_pb2 as _computeplan_pb2
from . import computetask_pb2 as _computetask_pb2
from . import datamanager_pb2 as _datamanager_pb2
from . import datasample_pb2 as _datasample_pb2
from . import failure_report_pb2 as _failure_report_pb2
from . import model_pb2 as _model_pb2
from . import organization_pb2 as _organization_pb2
from . import performance_pb2 as _performance_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_UNKNOWN: _ClassVar[EventKind]
    EVENT_ASSET_CREATED: _ClassVar[EventKind]
    EVENT_ASSET_UPDATED: _ClassVar[EventKind]
    EVENT_ASSET_DISABLED: _ClassVar[EventKind]
EVENT_UNKNOWN: EventKind
EVENT_ASSET_CREATED: EventKind
EVENT_ASSET_UPDATED: EventKind
EVENT_ASSET_DISABLED: EventKind

class Event(_message.Message):
    __slots__ = ("id", "asset_key", "asset_kind", "event_kind", "channel", "timestamp", "metadata", "algo", "compute_plan", "compute_task", "data_manager", "data_sample", "failure_report", "model", "organization", "performance")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    ASSET_KEY_FIELD_NUMBER: _ClassVar[int]
    ASSET_KIND_FIELD_NUMBER: _ClassVar[int]
    EVENT_KIND_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    ALGO_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_PLAN_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_TASK_FIELD_NUMBER: _ClassVar[int]
    DATA_MANAGER_FIELD_NUMBER: _ClassVar[int]
    DATA_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REPORT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    PERFORMANCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    asset_key: str
    asset_kind: _common_pb2.AssetKind
    event_kind: EventKind
    channel: str
    timestamp: _timestamp_pb2.Timestamp
    metadata: _containers.ScalarMap[str, str]
    algo: _algo_pb2.Algo
    compute_plan: _computeplan_pb2.ComputePlan
    compute_task: _computetask_pb2.ComputeTask
    data_manager: _datamanager_pb2.DataManager
    data_sample: _datasample_pb2.DataSample
    failure_report: _failure_report_pb2.FailureReport
    model: _model_pb2.Model
    organization: _organization_pb2.Organization
    performance: _performance_pb2.Performance
    def __init__(self, id: _Optional[str] = ..., asset_key: _Optional[str] = ..., asset_kind: _Optional[_Union[_common_pb2.AssetKind, str]] = ..., event_kind: _Optional[_Union[EventKind, str]] = ..., channel: _Optional[str] = ..., timestamp: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., algo: _Optional[_Union[_algo_pb2.Algo, _Mapping]] = ..., compute_plan: _Optional[_Union[_computeplan_pb2.ComputePlan, _Mapping]] = ..., compute_task: _Optional[_Union[_computetask_pb2.ComputeTask, _Mapping]] = ..., data_manager: _Optional[_Union[_datamanager_pb2.DataManager, _Mapping]] = ..., data_sample: _Optional[_Union[_datasample_pb2.DataSample, _Mapping]] = ..., failure_report: _Optional[_Union[_failure_report_pb2.FailureReport, _Mapping]] = ..., model: _Optional[_Union[_model_pb2.Model, _Mapping]] = ..., organization: _Optional[_Union[_organization_pb2.Organization, _Mapping]] = ..., performance: _Optional[_Union[_performance_pb2.Performance, _Mapping]] = ...) -> None: ...

class QueryEventsParam(_message.Message):
    __slots__ = ("page_token", "page_size", "filter", "sort")
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    SORT_FIELD_NUMBER: _ClassVar[int]
    page_token: str
    page_size: int
    filter: EventQueryFilter
    sort: _common_pb2.SortOrder
    def __init__(self, page_token: _Optional[str] = ..., page_size: _Optional[int] = ..., filter: _Optional[_Union[EventQueryFilter, _Mapping]] = ..., sort: _Optional[_Union[_common_pb2.SortOrder, str]] = ...) -> None: ...

class EventQueryFilter(_message.Message):
    __slots__ = ("asset_key", "asset_kind", "event_kind", "metadata", "start", "end")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ASSET_KEY_FIELD_NUMBER: _ClassVar[int]
    ASSET_KIND_FIELD_NUMBER: _ClassVar[int]
    EVENT_KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    asset_key: str
    asset_kind: _common_pb2.AssetKind
    event_kind: EventKind
    metadata: _containers.ScalarMap[str, str]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    def __init__(self, asset_key: _Optional[str] = ..., asset_kind: _Optional[_Union[_common_pb2.AssetKind, str]] = ..., event_kind: _Optional[_Union[EventKind, str]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., start: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class QueryEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SubscribeToEventsParam(_message.Message):
    __slots__ = ("start_event_id",)
    START_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    start_event_id: str
    def __init__(self, start_event_id: _Optional[str] = ...) -> None: ...
