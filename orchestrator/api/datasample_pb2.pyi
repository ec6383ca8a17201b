from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DataSample(_message.Message):
    __slots__ = ("key", "data_manager_keys", "owner", "test_only", "checksum", "creation_date")
    KEY_FIELD_NUMBER: _ClassVar[int]
    DATA_MANAGER_KEYS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TEST_ONLY_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    CREATION_DATE_FIELD_NUMBER: _ClassVar[int]
    key: str
    data_manager_keys: _containers.RepeatedScalarFieldContainer[str]
    owner: str
    test_only: bool
    checksum: str
    creation_date: _timestamp_pb2.Timestamp
    def __init__(self, key: _Optional[str] = ..., data_manager_keys: _Optional[_Iterable[str]] = ..., owner: _Optional[str] = ..., test_only: bool = ..., checksum: _Optional[str] = ..., creation_date: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class NewDataSample(_message.Message):
    __slots__ = ("key", "data_manager_keys", "test_only", "checksum")
    KEY_FIELD_NUMBER: _ClassVar[int]
    DATA_MANAGER_KEYS_FIELD_NUMBER: _ClassVar[int]
    TEST_ONLY_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    key: str
    data_manager_keys: _containers.RepeatedScalarFieldContainer[str]
    test_only: bool
    checksum: str
    def __init__(self, key: _Optional[str] = ..., data_manager_keys: _Optional[_Iterable[str]] = ..., test_only: bool = ..., checksum: _Optional[str] = ...) -> None: ...

class RegisterDataSamplesParam(_message.Message):
    __slots__ = ("samples",)
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    samples: _containers.RepeatedCompositeFieldContainer[NewDataSample]
    def __init__(self, samples: _Optional[_Iterable[_Union[NewDataSample, _Mapping]]] = ...) -> None: ...

class RegisterDataSamplesResponse(_message.Message):
    __slots__ = ("data_samples",)
    DATA_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    data_samples: _containers.RepeatedCompositeFieldContainer[DataSample]
    def __init__(self, data_samples: _Optional[_Iterable[_Union[DataSample, _Mapping]]] = ...) -> None: ...

class UpdateDataSamplesParam(_message.Message):
    __slots__ = ("keys", "data_manager_keys")
    KEYS_FIELD_NUMBER: _ClassVar[int]
    DATA_MANAGER_KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedScalarFieldContainer[str]
    data_manager_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, keys: _Optional[_Iterable[str]] = ..., data_manager_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateDataSamplesResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DataSampleQueryFilter(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, keys: _Optional[_Iterable[str]] = ...) -> None: ...

class QueryDataSamplesParam(_message.Message):
    __slots__ = ("page_token", "page_size", "filter")
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    page_token: str
    page_size: int
    filter: DataSampleQueryFilter
    def __init__(self, page_token: _Optional[str] = ..., page_size: _Optional[int] = ..., filter: _Optional[_Union[DataSampleQueryFilter, _Mapping]] = ...) -> None: ...

class QueryDataSamplesResponse(_message.Message):
    __slots__ = ("data_samples", "next_page_token")
    DATA_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    data_samples: _containers.RepeatedCompositeFieldContainer[DataSample]
    next_page_token: str
    def __init__(self, data_samples: _Optional[_Iterable[_Union[DataSample, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetDataSampleParam(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...
