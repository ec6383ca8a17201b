from google.protobuf import timestamp_pb2 as _timestamp_pb2
from . import algo_pb2 as _algo_pb2
from . import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ComputeTaskCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_UNKNOWN: _ClassVar[ComputeTaskCategory]
    TASK_TRAIN: _ClassVar[ComputeTaskCategory]
    TASK_AGGREGATE: _ClassVar[ComputeTaskCategory]
    TASK_COMPOSITE: _ClassVar[ComputeTaskCategory]
    TASK_TEST: _ClassVar[ComputeTaskCategory]
    TASK_PREDICT: _ClassVar[ComputeTaskCategory]

class ComputeTaskStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATUS_UNKNOWN: _ClassVar[ComputeTaskStatus]
    STATUS_WAITING: _ClassVar[ComputeTaskStatus]
    STATUS_TODO: _ClassVar[ComputeTaskStatus]
    STATUS_DOING: _ClassVar[ComputeTaskStatus]
    STATUS_DONE: _ClassVar[ComputeTaskStatus]
    STATUS_CANCELED: _ClassVar[ComputeTaskStatus]
    STATUS_FAILED: _ClassVar[ComputeTaskStatus]

class ComputeTaskAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_ACTION_UNKNOWN: _ClassVar[ComputeTaskAction]
    TASK_ACTION_DOING: _ClassVar[ComputeTaskAction]
    TASK_ACTION_CANCELED: _ClassVar[ComputeTaskAction]
    TASK_ACTION_FAILED: _ClassVar[ComputeTaskAction]
    TASK_ACTION_DONE: _ClassVar[ComputeTaskAction]
TASK_UNKNOWN: ComputeTaskCategory
TASK_TRAIN: ComputeTaskCategory
TASK_AGGREGATE: ComputeTaskCategory
TASK_COMPOSITE: ComputeTaskCategory
TASK_TEST: ComputeTaskCategory
TASK_PREDICT: ComputeTaskCategory
STATUS_UNKNOWN: ComputeTaskStatus
STATUS_WAITING: ComputeTaskStatus
STATUS_TODO: ComputeTaskStatus
STATUS_DOING: ComputeTaskStatus
STATUS_DONE: ComputeTaskStatus
STATUS_CANCELED: ComputeTaskStatus
STATUS_FAILED: ComputeTaskStatus
TASK_ACTION_UNKNOWN: ComputeTaskAction
TASK_ACTION_DOING: ComputeTaskAction
TASK_ACTION_CANCELED: ComputeTaskAction
TASK_ACTION_FAILED: ComputeTaskAction
TASK_ACTION_DONE: ComputeTaskAction

class ParentTaskOutputRef(_message.Message):
    __slots__ = ("parent_task_key", "output_identifier")
    PARENT_TASK_KEY_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    parent_task_key: str
    output_identifier: str
    def __init__(self, parent_task_key: _Optional[str] = ..., output_identifier: _Optional[str] = ...) -> None: ...

class ComputeTaskInput(_message.Message):
    __slots__ = ("identifier", "asset_key", "parent_task_output")
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    ASSET_KEY_FIELD_NUMBER: _ClassVar[int]
    PARENT_TASK_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    identifier: str
    asset_key: str
    parent_task_output: ParentTaskOutputRef
    def __init__(self, identifier: _Optional[str] = ..., asset_key: _Optional[str] = ..., parent_task_output: _Optional[_Union[ParentTaskOutputRef, _Mapping]] = ...) -> None: ...

class ComputeTaskOutput(_message.Message):
    __slots__ = ("permissions",)
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    permissions: _common_pb2.Permissions
    def __init__(self, permissions: _Optional[_Union[_common_pb2.Permissions, _Mapping]] = ...) -> None: ...

class NewComputeTaskOutput(_message.Message):
    __slots__ = ("permissions",)
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    permissions: _common_pb2.NewPermissions
    def __init__(self, permissions: _Optional[_Union[_common_pb2.NewPermissions, _Mapping]] = ...) -> None: ...

class ComputeTask(_message.Message):
    __slots__ = ("key", "category", "algo", "owner", "compute_plan_key", "parent_task_keys", "rank", "status", "worker", "creation_date", "logs_permission", "metadata", "inputs", "outputs", "test", "train", "composite", "aggregate", "predict")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class OutputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ComputeTaskOutput
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ComputeTaskOutput, _Mapping]] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    ALGO_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_PLAN_KEY_FIELD_NUMBER: _ClassVar[int]
    PARENT_TASK_KEYS_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    WORKER_FIELD_NUMBER: _ClassVar[int]
    CREATION_DATE_FIELD_NUMBER: _ClassVar[int]
    LOGS_PERMISSION_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    TEST_FIELD_NUMBER: _ClassVar[int]
    TRAIN_FIELD_NUMBER: _ClassVar[int]
    COMPOSITE_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_FIELD_NUMBER: _ClassVar[int]
    PREDICT_FIELD_NUMBER: _ClassVar[int]
    key: str
    category: ComputeTaskCategory
    algo: _algo_pb2.Algo
    owner: str
    compute_plan_key: str
    parent_task_keys: _containers.RepeatedScalarFieldContainer[str]
    rank: int
    status: ComputeTaskStatus
    worker: str
    creation_date: _timestamp_pb2.Timestamp
    logs_permission: _common_pb2.Permission
    metadata: _containers.ScalarMap[str, str]
    inputs: _containers.RepeatedCompositeFieldContainer[ComputeTaskInput]
    outputs: _containers.MessageMap[str, ComputeTaskOutput]
    test: TestTaskData
    train: TrainTaskData
    composite: CompositeTrainTaskData
    aggregate: AggregateTrainTaskData
    predict: PredictTaskData
    def __init__(self, key: _Optional[str] = ..., category: _Optional[_Union[ComputeTaskCategory, str]] = ..., algo: _Optional[_Union[_algo_pb2.Algo, _Mapping]] = ..., owner: _Optional[str] = ..., compute_plan_key: _Optional[str] = ..., parent_task_keys: _Optional[_Iterable[str]] = ..., rank: _Optional[int] = ..., status: _Optional[_Union[ComputeTaskStatus, str]] = ..., worker: _Optional[str] = ..., creation_date: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., logs_permission: _Optional[_Union[_common_pb2.Permission, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., inputs: _Optional[_Iterable[_Union[ComputeTaskInput, _Mapping]]] = ..., outputs: _Optional[_Mapping[str, ComputeTaskOutput]] = ..., test: _Optional[_Union[TestTaskData, _Mapping]] = ..., train: _Optional[_Union[TrainTaskData, _Mapping]] = ..., composite: _Optional[_Union[CompositeTrainTaskData, _Mapping]] = ..., aggregate: _Optional[_Union[AggregateTrainTaskData, _Mapping]] = ..., predict: _Optional[_Union[PredictTaskData, _Mapping]] = ...) -> None: ...

class NewComputeTask(_message.Message):
    __slots__ = ("key", "category", "algo_key", "compute_plan_key", "parent_task_keys", "metadata", "inputs", "outputs", "test", "train", "composite", "aggregate", "predict")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class OutputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: NewComputeTaskOutput
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[NewComputeTaskOutput, _Mapping]] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    ALGO_KEY_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_PLAN_KEY_FIELD_NUMBER: _ClassVar[int]
    PARENT_TASK_KEYS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    TEST_FIELD_NUMBER: _ClassVar[int]
    TRAIN_FIELD_NUMBER: _ClassVar[int]
    COMPOSITE_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_FIELD_NUMBER: _ClassVar[int]
    PREDICT_FIELD_NUMBER: _ClassVar[int]
    key: str
    category: ComputeTaskCategory
    algo_key: str
    compute_plan_key: str
    parent_task_keys: _containers.RepeatedScalarFieldContainer[str]
    metadata: _containers.ScalarMap[str, str]
    inputs: _containers.RepeatedCompositeFieldContainer[ComputeTaskInput]
    outputs: _containers.MessageMap[str, NewComputeTaskOutput]
    test: NewTestTaskData
    train: NewTrainTaskData
    composite: NewCompositeTrainTaskData
    aggregate: NewAggregateTrainTaskData
    predict: NewPredictTaskData
    def __init__(self, key: _Optional[str] = ..., category: _Optional[_Union[ComputeTaskCategory, str]] = ..., algo_key: _Optional[str] = ..., compute_plan_key: _Optional[str] = ..., parent_task_keys: _Optional[_Iterable[str]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., inputs: _Optional[_Iterable[_Union[ComputeTaskInput, _Mapping]]] = ..., outputs: _Optional[_Mapping[str, NewComputeTaskOutput]] = ..., test: _Optional[_Union[NewTestTaskData, _Mapping]] = ..., train: _Optional[_Union[NewTrainTaskData, _Mapping]] = ..., composite: _Optional[_Union[NewCompositeTrainTaskData, _Mapping]] = ..., aggregate: _Optional[_Union[NewAggregateTrainTaskData, _Mapping]] = ..., predict: _Optional[_Union[NewPredictTaskData, _Mapping]] = ...) -> None: ...

class TrainTaskData(_message.Message):
    __slots__ = ("data_manager_key", "data_sample_keys", "model_permissions")
    DATA_MANAGER_KEY_FIELD_NUMBER: _ClassVar[int]
    DATA_SAMPLE_KEYS_FIELD_NUMBER: _ClassVar[int]
    MODEL_PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    data_manager_key: str
    data_sample_keys: _containers.RepeatedScalarFieldContainer[str]
    model_permissions: _common_pb2.Permissions
    def __init__(self, data_manager_key: _Optional[str] = ..., data_sample_keys: _Optional[_Iterable[str]] = ..., model_permissions: _Optional[_Union[_common_pb2.Permissions, _Mapping]] = ...) -> None: ...

class NewTrainTaskData(_message.Message):
    __slots__ = ("data_manager_key", "data_sample_keys")
    DATA_MANAGER_KEY_FIELD_NUMBER: _ClassVar[int]
    DATA_SAMPLE_KEYS_FIELD_NUMBER: _ClassVar[int]
    data_manager_key: str
    data_sample_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, data_manager_key: _Optional[str] = ..., data_sample_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class PredictTaskData(_message.Message):
    __slots__ = ("data_manager_key", "data_sample_keys", "prediction_permissions")
    DATA_MANAGER_KEY_FIELD_NUMBER: _ClassVar[int]
    DATA_SAMPLE_KEYS_FIELD_NUMBER: _ClassVar[int]
    PREDICTION_PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    data_manager_key: str
    data_sample_keys: _containers.RepeatedScalarFieldContainer[str]
    prediction_permissions: _common_pb2.Permissions
    def __init__(self, data_manager_key: _Optional[str] = ..., data_sample_keys: _Optional[_Iterable[str]] = ..., prediction_permissions: _Optional[_Union[_common_pb2.Permissions, _Mapping]] = ...) -> None: ...

class NewPredictTaskData(_message.Message):
    __slots__ = ("data_manager_key", "data_sample_keys")
    DATA_MANAGER_KEY_FIELD_NUMBER: _ClassVar[int]
    DATA_SAMPLE_KEYS_FIELD_NUMBER: _ClassVar[int]
    data_manager_key: str
    data_sample_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, data_manager_key: _Optional[str] = ..., data_sample_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class TestTaskData(_message.Message):
    __slots__ = ("data_manager_key", "data_sample_keys", "metric_keys")
    DATA_MANAGER_KEY_FIELD_NUMBER: _ClassVar[int]
    DATA_SAMPLE_KEYS_FIELD_NUMBER: _ClassVar[int]
    METRIC_KEYS_FIELD_NUMBER: _ClassVar[int]
    data_manager_key: str
    data_sample_keys: _containers.RepeatedScalarFieldContainer[str]
    metric_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, data_manager_key: _Optional[str] = ..., data_sample_keys: _Optional[_Iterable[str]] = ..., metric_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class NewTestTaskData(_message.Message):
    __slots__ = ("data_manager_key", "data_sample_keys", "metric_keys")
    DATA_MANAGER_KEY_FIELD_NUMBER: _ClassVar[int]
    DATA_SAMPLE_KEYS_FIELD_NUMBER: _ClassVar[int]
    METRIC_KEYS_FIELD_NUMBER: _ClassVar[int]
    data_manager_key: str
    data_sample_keys: _containers.RepeatedScalarFieldContainer[str]
    metric_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, data_manager_key: _Optional[str] = ..., data_sample_keys: _Optional[_Iterable[str]] = ..., metric_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class CompositeTrainTaskData(_message.Message):
    __slots__ = ("data_manager_key", "data_sample_keys", "head_permissions", "trunk_permissions")
    DATA_MANAGER_KEY_FIELD_NUMBER: _ClassVar[int]
    DATA_SAMPLE_KEYS_FIELD_NUMBER: _ClassVar[int]
    HEAD_PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    TRUNK_PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    data_manager_key: str
    data_sample_keys: _containers.RepeatedScalarFieldContainer[str]
    head_permissions: _common_pb2.Permissions
    trunk_permissions: _common_pb2.Permissions
    def __init__(self, data_manager_key: _Optional[str] = ..., data_sample_keys: _Optional[_Iterable[str]] = ..., head_permissions: _Optional[_Union[_common_pb2.Permissions, _Mapping]] = ..., trunk_permissions: _Optional[_Union[_common_pb2.Permissions, _Mapping]] = ...) -> None: ...

class NewCompositeTrainTaskData(_message.Message):
    __slots__ = ("data_manager_key", "data_sample_keys")
    DATA_MANAGER_KEY_FIELD_NUMBER: _ClassVar[int]
    DATA_SAMPLE_KEYS_FIELD_NUMBER: _ClassVar[int]
    data_manager_key: str
    data_sample_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, data_manager_key: _Optional[str] = ..., data_sample_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class AggregateTrainTaskData(_message.Message):
    __slots__ = ("model_permissions",)
    MODEL_PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    model_permissions: _common_pb2.Permissions
    def __init__(self, model_permissions: _Optional[_Union[_common_pb2.Permissions, _Mapping]] = ...) -> None: ...

class NewAggregateTrainTaskData(_message.Message):
    __slots__ = ("worker",)
    WORKER_FIELD_NUMBER: _ClassVar[int]
    worker: str
    def __init__(self, worker: _Optional[str] = ...) -> None: ...

class RegisterTasksParam(_message.Message):
    __slots__ = ("tasks",)
    TASKS_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[NewComputeTask]
    def __init__(self, tasks: _Optional[_Iterable[_Union[NewComputeTask, _Mapping]]] = ...) -> None: ...

class RegisterTasksResponse(_message.Message):
    __slots__ = ("tasks",)
    TASKS_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[ComputeTask]
    def __init__(self, tasks: _Optional[_Iterable[_Union[ComputeTask, _Mapping]]] = ...) -> None: ...

class TaskQueryFilter(_message.Message):
    __slots__ = ("worker", "status", "category", "compute_plan_key", "algo_key")
    WORKER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_PLAN_KEY_FIELD_NUMBER: _ClassVar[int]
    ALGO_KEY_FIELD_NUMBER: _ClassVar[int]
    worker: str
    status: ComputeTaskStatus
    category: ComputeTaskCategory
    compute_plan_key: str
    algo_key: str
    def __init__(self, worker: _Optional[str] = ..., status: _Optional[_Union[ComputeTaskStatus, str]] = ..., category: _Optional[_Union[ComputeTaskCategory, str]] = ..., compute_plan_key: _Optional[str] = ..., algo_key: _Optional[str] = ...) -> None: ...

class QueryTasksParam(_message.Message):
    __slots__ = ("page_token", "page_size", "filter")
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    page_token: str
    page_size: int
    filter: TaskQueryFilter
    def __init__(self, page_token: _Optional[str] = ..., page_size: _Optional[int] = ..., filter: _Optional[_Union[TaskQueryFilter, _Mapping]] = ...) -> None: ...

class QueryTasksResponse(_message.Message):
    __slots__ = ("tasks", "next_page_token")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[ComputeTask]
    next_page_token: str
    def __init__(self, tasks: _Optional[_Iterable[_Union[ComputeTask, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetTaskParam(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class ApplyTaskActionParam(_message.Message):
    __slots__ = ("compute_task_key", "action", "log")
    COMPUTE_TASK_KEY_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    compute_task_key: str
    action: ComputeTaskAction
    log: str
    def __init__(self, compute_task_key: _Optional[str] = ..., action: _Optional[_Union[ComputeTaskAction, str]] = ..., log: _Optional[str] = ...) -> None: ...

class ApplyTaskActionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
