"""The service bundle of one call: every service built once, on the call's one transaction."""

from __future__ import annotations

from orchestrator.shared.services import Services
from tests.network import Network
from tests.shared.ledger_checks import read_services


def test_a_bundle_builds_each_service_once_and_all_share_its_transaction(net: Network) -> None:
    def body(services: Services) -> None:
        assert services.computetask is services.computetask
        assert services.computetask.store is services.computetask.store  # its task cache lives for the call
        assert services.computetask.services.tx is services.tx

    read_services(net, body)


def test_two_calls_never_share_a_service(net: Network) -> None:
    first = read_services(net, lambda services: services.algo)
    second = read_services(net, lambda services: services.algo)
    assert first is not second
