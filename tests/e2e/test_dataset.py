"""Dataset scenario DSET1 (scenarios.md 6)."""

from __future__ import annotations

from orchestrator.api import dataset_pb2
from tests.builders import key
from tests.client import GatewayClient
from tests.e2e import steps


def test_DSET1_dataset_splits_train_and_test_samples(client: GatewayClient) -> None:
    steps.register_data_manager(client)
    steps.register_sample(client, "ds1")
    steps.register_sample(client, "ds2")
    steps.register_sample(client, "testds", test_only=True)
    dataset = client.get_dataset(dataset_pb2.GetDatasetParam(key=key("dm")))
    assert list(dataset.test_data_sample_keys) == [key("testds")]
    assert sorted(dataset.train_data_sample_keys) == sorted([key("ds1"), key("ds2")])
