"""Data samples: batch registration, adding data managers, lookup, listing and task-side checks (DS-1…DS-13)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from orchestrator.api import common_pb2, datasample_pb2, event_pb2
from orchestrator.shared.errors import InvalidAssetError, PermissionDeniedError, conflict, not_found
from orchestrator.shared.store.datasample import KIND, DataSampleStore
from orchestrator.shared.validation import validate_new_data_sample, validate_update_data_samples

if TYPE_CHECKING:
    from orchestrator.shared.services import Services


class DataSampleService:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = DataSampleStore(services.docs)

    def register_data_samples(
        self, param: datasample_pb2.RegisterDataSamplesParam
    ) -> datasample_pb2.RegisterDataSamplesResponse:
        """Register samples one by one in request order, all or nothing (DS-1…DS-5, BATCH-1).

        Each sample is validated, its data managers checked (DM-16), then its key: the check
        sees the samples registered earlier in this call, so a key repeated in one request is
        a conflict (BATCH-3). An empty request registers nothing and succeeds (DS-1).

        Raises:
            InvalidAssetError: a sample is invalid.
            NotFoundError: a referenced data manager does not exist.
            PermissionDeniedError: a referenced data manager belongs to another organization.
            ConflictError: a sample with this key exists, or the key is repeated in the request.
        """
        owner = self.services.requester
        tx = self.services.tx
        registered = []
        for new in param.samples:  # DS-2
            validate_new_data_sample(new)
            self.services.datamanager.check_owner(new.data_manager_keys, owner)
            if self.store.exists(new.key):
                raise conflict(KIND, new.key)
            sample = datasample_pb2.DataSample(  # DS-3
                key=new.key,
                data_manager_keys=list(new.data_manager_keys),
                owner=owner,
                test_only=new.test_only,
                checksum=new.checksum,
                creation_date=tx.info.timestamp(),
            )
            self.store.add(sample)
            tx.emit(event_pb2.Event(  # DS-4
                asset_key=sample.key, asset_kind=common_pb2.ASSET_DATA_SAMPLE,
                event_kind=event_pb2.EVENT_ASSET_CREATED, data_sample=sample,
            ))
            registered.append(sample)
        return datasample_pb2.RegisterDataSamplesResponse(data_samples=registered)

    def update_data_samples(
        self, param: datasample_pb2.UpdateDataSamplesParam
    ) -> datasample_pb2.UpdateDataSamplesResponse:
        """Add data managers to samples of the caller (DS-6…DS-9).

        Each key of ``keys`` is processed in order and emits one UPDATED event, even when
        nothing changes; requested managers already on the sample are not repeated, but one
        requested twice is appended twice (upstream behaviour, DS-8).

        Raises:
            InvalidAssetError: the request is invalid (DS-6).
            NotFoundError: a data manager or a sample does not exist.
            PermissionDeniedError: a data manager or a sample belongs to another organization.
        """
        validate_update_data_samples(param)
        requester = self.services.requester
        self.services.datamanager.check_owner(param.data_manager_keys, requester)  # DS-7
        tx = self.services.tx
        for key in param.keys:  # DS-8
            sample = self.get(key)
            if sample.owner != requester:
                raise PermissionDeniedError("requester does not own the datasample")
            existing = set(sample.data_manager_keys)
            added = [manager_key for manager_key in param.data_manager_keys if manager_key not in existing]
            sample.data_manager_keys.extend(added)
            self.store.update(sample, added)
            tx.emit(event_pb2.Event(
                asset_key=sample.key, asset_kind=common_pb2.ASSET_DATA_SAMPLE,
                event_kind=event_pb2.EVENT_ASSET_UPDATED, data_sample=sample,
            ))
        return datasample_pb2.UpdateDataSamplesResponse()  # DS-9

    def get_data_sample(self, param: datasample_pb2.GetDataSampleParam) -> datasample_pb2.DataSample:
        """The sample with this key (DS-10); the key is not validated (PAGE-7).

        Raises:
            NotFoundError: no such sample.
        """
        return self.get(param.key)

    def query_data_samples(
        self, param: datasample_pb2.QueryDataSamplesParam
    ) -> datasample_pb2.QueryDataSamplesResponse:
        """Samples in PAGE-4 order, only those named by ``filter.keys`` when given (DS-11, PAGE-5).

        Raises:
            InvalidAssetError: the page token is not one this query produced (PAGE-3).
        """
        page = self.services.page_request(param)
        if param.filter.keys:
            samples, token = self.store.page_of_keys(param.filter.keys, page)
        else:
            samples, token = self.store.page(page)
        return datasample_pb2.QueryDataSamplesResponse(data_samples=samples, next_page_token=token)

    def get(self, key: str) -> datasample_pb2.DataSample:
        """The stored sample, as this call sees it.

        Raises:
            NotFoundError: no such sample.
        """
        sample = self.store.load(key)
        if sample is None:
            raise not_found(KIND, key)
        return sample

    def check_same_manager(self, dm_key: str, sample_keys: Sequence[str]) -> None:
        """Every sample exists and is attached to ``dm_key``, checked in order (DS-12).

        Raises:
            NotFoundError: a sample does not exist.
            InvalidAssetError: a sample is not attached to the data manager.
        """
        for key in sample_keys:
            if dm_key not in self.get(key).data_manager_keys:
                raise InvalidAssetError("datasamples do not share a common manager")

    def contains_test_sample(self, sample_keys: Sequence[str]) -> bool:
        """Whether one of the samples is test-only (DS-13), looking them up in order up to the first one.

        Raises:
            NotFoundError: a sample looked up does not exist.
        """
        return any(self.get(key).test_only for key in sample_keys)
