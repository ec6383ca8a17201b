"""Datasets: a read-only view of a data manager and the keys of its train and test samples (DSET-1, DSET-2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.api import dataset_pb2
from orchestrator.shared.store.datasample import DataSampleStore

if TYPE_CHECKING:
    from orchestrator.shared.services import Services


class DatasetService:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.samples = DataSampleStore(services.docs)

    def get_dataset(self, param: dataset_pb2.GetDatasetParam) -> dataset_pb2.Dataset:
        """The data manager and its sample keys split by ``test_only``, each list in PAGE-4 order (DSET-2).

        Reads the manager/test-only index, so the cost is the dataset's size.

        Raises:
            NotFoundError: no data manager with this key (DSET-1).
        """
        data_manager = self.services.datamanager.get(param.key)
        return dataset_pb2.Dataset(
            data_manager=data_manager,
            train_data_sample_keys=self.samples.keys_of_manager(data_manager.key, test_only=False),
            test_data_sample_keys=self.samples.keys_of_manager(data_manager.key, test_only=True),
        )
