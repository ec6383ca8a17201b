"""Datasets (rules.md section 7): a data manager with its train and test sample keys."""

from __future__ import annotations

import pytest

from orchestrator.api import datasample_pb2, dataset_pb2
from orchestrator.shared.errors import NotFoundError
from tests.builders import key, new_data_manager, new_data_sample
from tests.network import Network


def register(net: Network, *samples: datasample_pb2.NewDataSample) -> None:
    net.org1.register_data_samples(datasample_pb2.RegisterDataSamplesParam(samples=samples))


def dataset(net: Network, ref: str = "dm") -> dataset_pb2.Dataset:
    return net.org1.get_dataset(dataset_pb2.GetDatasetParam(key=key(ref)))


@pytest.mark.parametrize("bad_key", [key("absent"), "", "dm"])
def test_dataset_of_an_unknown_manager_is_not_found__DSET_1(net: Network, bad_key: str) -> None:
    net.org1.register_data_manager(new_data_manager())
    with pytest.raises(NotFoundError, match=rf'^OE0002: datamanager with key "{bad_key}" not found$'):
        net.org1.get_dataset(dataset_pb2.GetDatasetParam(key=bad_key))


def test_dataset_of_a_manager_without_samples_has_empty_lists__DSET_2(net: Network) -> None:
    dm = net.org1.register_data_manager(new_data_manager())
    assert dataset(net) == dataset_pb2.Dataset(data_manager=dm)


def test_dataset_splits_samples_by_test_only_and_ignores_other_managers__DSET_2(net: Network) -> None:
    dm = net.org1.register_data_manager(new_data_manager("dm"))
    net.org1.register_data_manager(new_data_manager("dm2"))
    register(net, new_data_sample("train 1"), new_data_sample("test 1", test_only=True),
             new_data_sample("elsewhere", managers=("dm2",)), new_data_sample("both", managers=("dm2", "dm")))
    result = dataset(net)
    assert result.data_manager == dm
    assert list(result.train_data_sample_keys) == sorted([key("train 1"), key("both")])
    assert list(result.test_data_sample_keys) == [key("test 1")]
    assert list(dataset(net, "dm2").train_data_sample_keys) == sorted([key("elsewhere"), key("both")])


def test_dataset_lists_keys_by_sample_creation_date_then_key__DSET_2_PAGE_4(net: Network) -> None:
    net.org1.register_data_manager(new_data_manager("dm"))
    net.org1.register_data_manager(new_data_manager("dm2"))
    first, second, third = ["z1", "z2"], ["y1", "y2", "y3"], ["x1"]
    register(net, *(new_data_sample(r) for r in first))
    register(net, *(new_data_sample(r, managers=("dm2",)) for r in second))
    register(net, *(new_data_sample(r) for r in third))
    # samples of ``second`` join ``dm`` after ``third`` was registered: they keep their creation date
    net.org1.update_data_samples(datasample_pb2.UpdateDataSamplesParam(
        keys=[key(r) for r in second], data_manager_keys=[key("dm")]))
    expected = sorted(key(r) for r in first) + sorted(key(r) for r in second) + [key("x1")]
    assert list(dataset(net).train_data_sample_keys) == expected


def test_samples_added_to_a_manager_by_update_join_its_dataset__DSET_2_DS_8(net: Network) -> None:
    net.org1.register_data_manager(new_data_manager("dm"))
    net.org1.register_data_manager(new_data_manager("dm2"))
    register(net, new_data_sample("train"), new_data_sample("test", test_only=True))
    assert dataset(net, "dm2") == dataset_pb2.Dataset(data_manager=dataset(net, "dm2").data_manager)
    net.org1.update_data_samples(datasample_pb2.UpdateDataSamplesParam(
        keys=[key("train"), key("test"), key("train")], data_manager_keys=[key("dm2"), key("dm2")]))
    result = dataset(net, "dm2")
    assert list(result.train_data_sample_keys) == [key("train")]  # listed once, however often attached
    assert list(result.test_data_sample_keys) == [key("test")]
    assert list(dataset(net, "dm").train_data_sample_keys) == [key("train")]


def test_get_dataset_writes_and_emits_nothing__DSET_2_RPC_1(net: Network) -> None:
    net.org1.register_data_manager(new_data_manager())
    register(net, new_data_sample())
    state, events = net.ledger.dump(), net.org1.query_events()
    dataset(net)
    assert net.ledger.dump() == state
    assert net.org1.query_events() == events
