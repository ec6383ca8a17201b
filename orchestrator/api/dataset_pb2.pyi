from . import datamanager_pb2 as _datamanager_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Dataset(_message.Message):
    __slots__ = ("data_manager", "train_data_sample_keys", "test_data_sample_keys")
    DATA_MANAGER_FIELD_NUMBER: _ClassVar[int]
    TRAIN_DATA_SAMPLE_KEYS_FIELD_NUMBER: _ClassVar[int]
    TEST_DATA_SAMPLE_KEYS_FIELD_NUMBER: _ClassVar[int]
    data_manager: _datamanager_pb2.DataManager
    train_data_sample_keys: _containers.RepeatedScalarFieldContainer[str]
    test_data_sample_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, data_manager: _Optional[_Union[_datamanager_pb2.DataManager, _Mapping]] = ..., train_data_sample_keys: _Optional[_Iterable[str]] = ..., test_data_sample_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class GetDatasetParam(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...
